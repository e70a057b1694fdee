"""A shop that is down gets no clean bill of health (issue 9, item 1).

Each down shop is a fixture shop on loopback: its home answers 500, 503 with a
long Retry-After, 401 without or with wrong credentials, redirects in a loop,
or is asked for TLS on a port that speaks plain HTTP. The scan must say why,
mark every check skipped with that reason, score nothing, and exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import scan_url
from test_cli import run_cli

from shophealth.checks.registry import Registry
from shophealth.demo.server import RunningShop, serve_shop

# name -> (routes.yaml, words the reason must hold)
DOWN_SHOPS: dict[str, tuple[str, str]] = {
    "home-500": ('/: {status: 500, body: "<h1>Internal Server Error</h1>"}\n', "HTTP 500"),
    "unavailable": ("/: {status: 503, retry_after: 3600}\n", "Retry-After"),
    "auth": ('"*": {auth: "user:secret"}\n', "HTTP 401"),
    "redirect-loop": (
        "/: {redirect: /a}\n/a: {redirect: /b}\n/b: {redirect: /}\n",
        "redirect loop",
    ),
    "redirect-nowhere": ("/: {redirect: 'ftp://shop.example/'}\n", "redirect to an invalid URL"),
}


def _shop(root: Path, routes: str) -> Path:
    root.mkdir()
    (root / "routes.yaml").write_text(routes)
    (root / "index.html").write_text('<title>Shop</title><a href="/p">P</a>')
    (root / "p.html").write_text("<title>P</title>")
    return root


@pytest.fixture(scope="module")
def down_shops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """name -> (URL to scan, words its reason must hold)"""
    root = tmp_path_factory.mktemp("down")
    with ExitStack() as stack:
        shops: dict[str, tuple[str, str]] = {}
        for name, (routes, words) in DOWN_SHOPS.items():
            shop: RunningShop = stack.enter_context(serve_shop(_shop(root / name, routes)))
            shops[name] = (shop.url, words)
        plain = shops["home-500"][0]
        shops["tls-on-http-port"] = (plain.replace("http://", "https://"), "TLS")
        yield shops


@pytest.mark.parametrize("name", [*DOWN_SHOPS, "tls-on-http-port"])
async def test_down_shop_is_reported_with_the_reason(
    down_shops: dict[str, tuple[str, str]], registry: Registry, name: str
) -> None:
    url, words = down_shops[name]
    run = await scan_url(url, registry)
    assert run.error is not None and words in run.error, run.error
    assert {o.check for o in run.outcomes} == set(registry.checks)
    assert {o.status for o in run.outcomes} == {"skipped"}
    assert all(words in str(o.detail) for o in run.outcomes)
    assert run.stats["complete"] is False
    assert run.stats["stopped_reason"] in ("unreachable", "unavailable", "refused")
    assert words in run.stats["stopped_detail"]


async def test_wrong_credentials_are_named(
    down_shops: dict[str, tuple[str, str]], registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPHEALTH_TEST_AUTH", "user:wrong")
    run = await scan_url(down_shops["auth"][0], registry, credentials_env="SHOPHEALTH_TEST_AUTH")
    assert run.error is not None and "refused" in run.error and "SHOPHEALTH_TEST_AUTH" in run.error


async def test_503_is_retried_within_max_retry_after(registry: Registry, tmp_path: Path) -> None:
    routes = "/: {status: 503, retry_after: 1, times: 1, file: index.html}\n"
    with serve_shop(_shop(tmp_path / "busy", routes)) as shop:
        run = await scan_url(shop.url, registry)
        assert shop.server.hits["/"] == 2
    assert run.error is None
    assert run.stats["complete"] is True
    assert {p.url: p.status for p in run.evidence.pages}[shop.url] == 200


async def test_503_still_refused_after_the_retries_is_unavailable(registry: Registry, tmp_path: Path) -> None:
    with serve_shop(_shop(tmp_path / "busy", "/: {status: 503, retry_after: 1}\n")) as shop:
        run = await scan_url(shop.url, registry, retries=1)
        assert shop.server.hits["/"] == 2
    assert run.error is not None and "HTTP 503" in run.error and "retries" in run.error
    assert run.stats["stopped_reason"] == "unavailable"


def test_a_set_of_down_shops_exits_non_zero_and_says_why_for_each(
    down_shops: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    sites = tmp_path / "sites.yaml"
    entries = "".join(f"  - {{url: '{url}', name: {name}}}\n" for name, (url, _) in down_shops.items())
    sites.write_text(
        "defaults: {render: 'off', lighthouse_pages: 0, request_timeout: 3, max_retry_after: 3}\nsites:\n"
        + entries
    )
    report_path = tmp_path / "report.json"
    result = run_cli("scan", "--sites", str(sites), "--json", str(report_path), "--quiet")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(report_path.read_text())
    assert [s["name"] for s in report["sites"]] == list(down_shops)
    for site in report["sites"]:
        words = down_shops[site["name"]][1]
        assert words in site["error"], site
        assert site["scores"]["overall"] is None
        assert words in site["scores"]["reason"]
        assert site["stats"]["complete"] is False
        assert {c["status"] for c in site["checks"]} == {"skipped"}
        assert f"could not scan {site['site']}" in result.stderr
