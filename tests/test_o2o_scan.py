"""An end-to-end scan of a fixture shop served on loopback: the shop-content checks run in the
real pipeline, and the JSON report carries each page's kind and the shop's facts."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_url
from o2o_shops import HOSTS, changed, render_shop, write_shop

from shophealth.checks.registry import Registry
from shophealth.crawler.scan import Run
from shophealth.demo.server import serve_shop
from shophealth.reports.report import build_report, check_report

FAMILIES = ("privacy.", "social.", "content.")


async def test_scanned_shop_reports_kinds_facts_and_the_seeded_profile(
    registry: Registry, tmp_path: Path
) -> None:
    host = HOSTS["shopify_zh"]
    pages = changed(
        render_shop("shopify_zh"), "*", "https://www.instagram.com/harbourhome.hk", "https://instagram.com/"
    )
    write_shop(pages, tmp_path, host)
    with serve_shop(tmp_path) as shop:
        run = await scan_url(
            shop.url,
            registry,
            workers=0,
            verify_external=False,
            checks={"privacy.stale": ["warning", {"as_of": "2026-06-01"}]},
        )
    ours = [(f.check, f.target) for f in run.findings if f.check.startswith(FAMILIES)]
    assert ours == [("social.profile-broken", "https://instagram.com/")]
    whole = build_report(Run(id="o2o", started_at="", sites=[run]))
    check_report(whole)  # pages and facts fit reports/report.schema.json
    report = whole["sites"][0]
    kinds = {p["url"].removeprefix(shop.url.rstrip("/")): p["kind"] for p in report["pages"]}
    assert kinds["/"] == "home"
    assert kinds["/products/celadon-teapot"] == "product"
    assert kinds["/policies/privacy-policy"] == "policy"
    assert kinds["/pages/stores"] == "store-locator"
    assert {m["method"] for m in report["facts"]["payment_methods"]} >= {"Visa", "FPS", "Octopus", "PayMe"}
    assert report["facts"]["privacy_policy"] == [shop.url + "policies/privacy-policy"]
