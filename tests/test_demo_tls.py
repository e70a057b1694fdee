"""``shophealth demo``'s HTTPS shops: each seeded TLS problem found with its severity.

Serves the demo's shops once for the module (the plain demo shop and one HTTPS
shop per certificate problem, certificates made at demo time), scans the HTTPS
ones as ``run_demo`` does and reads the JSON report. The plain demo shop is
only served here, for the mixed-content shop's http:// resources:
tests/test_crawl.py judges it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shophealth.checks.registry import load_registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.scan import scan
from shophealth.demo.run import DEMO_SHOP_NAME, TLS_DEMO_SHOPS, TLS_SEEDED, TlsDemoShop, demo_sites
from shophealth.reports.report import build_report

CERTIFICATE_CHECKS = {"tls.expired", "tls.invalid"}
BAD_CERTIFICATE_SHOPS = sorted(
    shop.name for shop in TLS_DEMO_SHOPS if {c for c, _ in shop.expected} & CERTIFICATE_CHECKS
)
GOOD_CERTIFICATE_SHOPS = sorted(set(TLS_SEEDED) - set(BAD_CERTIFICATE_SHOPS))
VALID_SHOP = "TLS: valid certificate"
MIXED_CONTENT_SHOP = "TLS: mixed content"


@pytest.fixture(scope="module")
def scanned() -> tuple[list[SiteConfig], dict[str, Any]]:
    """The sites the demo serves, and the report of its TLS shops (test_crawl scans the rest)."""
    with demo_sites() as served:
        tls_sites = [site for site in served if site.name in TLS_SEEDED]
        run = asyncio.run(scan(tls_sites, registry=load_registry()))
    return served, build_report(run)


@pytest.fixture(scope="module")
def served(scanned: tuple[list[SiteConfig], dict[str, Any]]) -> list[SiteConfig]:
    return scanned[0]


@pytest.fixture(scope="module")
def sites(scanned: tuple[list[SiteConfig], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {site["name"]: site for site in scanned[1]["sites"]}


def _tls_findings(site: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["check"], f["severity"]) for f in site["findings"] if f["check"].startswith("tls."))


def test_demo_serves_the_plain_shop_then_every_tls_shop(served: list[SiteConfig]) -> None:
    assert [site.name for site in served] == [DEMO_SHOP_NAME, *TLS_SEEDED]
    assert served[0].url.startswith("http://127.0.0.1:")
    assert all(site.url.startswith("https://127.0.0.1:") for site in served[1:])
    assert all(site.config.ca_bundle for site in served[1:])


def test_every_tls_shop_is_scanned(sites: dict[str, dict[str, Any]]) -> None:
    assert set(sites) == set(TLS_SEEDED)
    assert all(site["error"] is None for site in sites.values())


@pytest.mark.parametrize("name", sorted(TLS_SEEDED))
def test_tls_shop_gets_exactly_its_seeded_findings(sites: dict[str, dict[str, Any]], name: str) -> None:
    assert _tls_findings(sites[name]) == sorted(TLS_SEEDED[name])


def test_valid_shop_is_clean(sites: dict[str, dict[str, Any]]) -> None:
    assert TLS_SEEDED[VALID_SHOP] == set()
    valid = sites[VALID_SHOP]
    assert valid["findings"] == []
    assert [t["valid"] for t in valid["tls"]] == [True]


def test_seeded_shops_cover_every_certificate_problem() -> None:
    assert len(BAD_CERTIFICATE_SHOPS) == 4  # expired, other host, self-signed, no intermediate
    assert {c for expected in TLS_SEEDED.values() for c, _ in expected} == {
        "tls.expired",
        "tls.expiring",
        "tls.invalid",
        "tls.mixed-content",
    }


@pytest.mark.parametrize("name", BAD_CERTIFICATE_SHOPS)
def test_shop_with_bad_certificate_is_crawled_unverified(sites: dict[str, dict[str, Any]], name: str) -> None:
    stats = sites[name]["stats"]
    assert stats["pages"] >= 1
    assert stats["tls_verification"].startswith("off")


@pytest.mark.parametrize("name", GOOD_CERTIFICATE_SHOPS)
def test_shop_with_good_certificate_is_crawled_verified(sites: dict[str, dict[str, Any]], name: str) -> None:
    stats = sites[name]["stats"]
    assert stats["pages"] >= 1
    assert stats["tls_verification"] == "on"


@pytest.mark.parametrize("shop", TLS_DEMO_SHOPS, ids=lambda shop: shop.name)
def test_report_gives_days_left_of_every_https_host(
    sites: dict[str, dict[str, Any]], shop: TlsDemoShop
) -> None:
    site = sites[shop.name]
    home_host = site["site"].removeprefix("https://").rstrip("/")
    assert [t["host"] for t in site["tls"]] == [home_host]
    days_left = site["tls"][0]["days_left"]
    assert days_left is not None and abs(days_left - shop.valid_until_days) < 0.2


def test_mixed_content_names_the_http_script_and_image(
    served: list[SiteConfig], sites: dict[str, dict[str, Any]]
) -> None:
    plain_shop = served[0].url
    findings = sites[MIXED_CONTENT_SHOP]["findings"]
    assert {f["target"]: (f["severity"], f["evidence"]["element"]) for f in findings} == {
        plain_shop + "assets/site.js": ("error", "script"),
        plain_shop + "images/glass-jar.png": ("warning", "image"),
    }
