"""The HTML report: scores and sections a shop owner reads, shop text never run as code.

The end-to-end test scans a hostile fixture shop (script payloads in its title,
link texts, URLs and a PHP error) on loopback, writes the report and opens it
in a real Chromium.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_SHOPS, scan_url
from playwright.async_api import Browser, async_playwright

from shophealth.checks.registry import Registry, load_registry
from shophealth.crawler.browser import BrowserNotFound, chromium_args, find_browser
from shophealth.crawler.scan import Run
from shophealth.demo.server import serve_shop
from shophealth.reports.guidance import check_guide
from shophealth.reports.renderers.html import shop_filename, write_html
from shophealth.reports.report import build_report
from shophealth.reports.scoring import score_site

PAYLOAD = '<script>window.__pwned="name"</script><img src=x onerror="window.__pwned=1">'


def hand_made_report() -> dict[str, Any]:
    site: dict[str, Any] = {
        "site": "https://shop.example/",
        "name": "Shop " + PAYLOAD,
        "error": None,
        "stats": {"pages": 2},
        "checks": [
            {"check": "links.broken", "status": "fail", "findings": 1, "detail": None},
            {"check": "privacy.missing", "status": "skipped", "findings": 0, "detail": PAYLOAD},
        ],
        "findings": [
            {
                "check": "links.broken",
                "severity": "error",
                "page": "https://shop.example/" + PAYLOAD,
                "target": "javascript:alert(1)",
                "message": "Broken " + PAYLOAD,
                "evidence": {"status": 404, "count": 3, "snippet": PAYLOAD},
            }
        ],
        "lighthouse": [],
        "rendered": [],
        "tls": [{"host": "shop.example:443", "valid": False, "error": "expired " + PAYLOAD, "days_left": -3}],
        "unverifiable": [{"target": "https://www.facebook.com/" + PAYLOAD, "reason": "bot wall " + PAYLOAD}],
    }
    site["scores"] = score_site(site)
    down = {"site": "https://down.example/", "name": None, "error": "refused " + PAYLOAD, "findings": []}
    return {"run": {"started_at": "2026-11-29T09:00:00+00:00"}, "sites": [site, down]}


def test_shop_text_is_escaped_and_javascript_urls_are_not_links(tmp_path: Path) -> None:
    write_html(hand_made_report(), tmp_path)
    page = (tmp_path / shop_filename(1, "https://shop.example/")).read_text()
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__pwned" in page
    assert 'href="javascript:' not in page
    assert 'id="certificates"' in page and "expired &lt;script&gt;" in page
    assert 'id="unverifiable"' in page and "bot wall &lt;script&gt;" in page
    assert "script-src" not in page or "script-src 'none'" in page
    index = (tmp_path / "index.html").read_text()
    assert index.count("<script") == 1 and "&lt;script&gt;" in index


def test_a_report_with_only_the_required_fields_renders(tmp_path: Path) -> None:
    finding = {"check": "acme.stock", "severity": "info", "page": "https://s.example/", "message": "m"}
    site = {
        "site": "https://s.example/",
        "findings": [finding],
        "checks": [{"check": "acme.stock", "status": "pass"}],
    }
    site["lighthouse"] = [{"url": "https://s.example/"}]
    write_html({"sites": [site]}, tmp_path)
    assert "acme.stock" in (tmp_path / shop_filename(1, "https://s.example/")).read_text()


def test_labels_in_traditional_chinese(tmp_path: Path) -> None:
    write_html(hand_made_report(), tmp_path, lang="zh-HK")
    page = (tmp_path / shop_filename(1, "https://shop.example/")).read_text()
    assert 'lang="zh-HK"' in page
    assert "需要處理的問題" in page and "顧客意識" in page and "失效連結及資源" in page
    assert "無法掃描" in (tmp_path / "index.html").read_text()


@pytest.mark.parametrize("lang", ["en", "zh-HK"])
def test_every_built_in_check_has_a_title_and_advice(lang: str) -> None:
    for check in load_registry(autoload_plugins=False).checks:
        guide = check_guide(check, lang)
        assert guide.title != check and guide.why and guide.fix, (check, lang)


def test_unknown_language_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="en, zh-HK"):
        write_html(hand_made_report(), tmp_path, lang="fr")


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    try:
        executable = find_browser()
    except BrowserNotFound as exc:
        pytest.skip(f"no Chromium to open the report in: {exc}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=list(chromium_args()))
        yield browser
        await browser.close()


async def test_hostile_shop_report_opens_in_chromium_with_no_shop_script_run(
    registry: Registry, chromium: Browser, tmp_path: Path
) -> None:
    with serve_shop(TEST_SHOPS / "hostile") as shop:
        site_run = await scan_url(shop.url, registry, max_pages=20)
    run = Run(id="t", started_at="2026-11-29T09:00:00+00:00", sites=[site_run])
    report = build_report(run)
    checks_found = {f["check"] for f in report["sites"][0]["findings"]}
    assert {"links.broken", "errors.php", "seo.basics"} <= checks_found  # the payloads reached the report
    (tmp_path / "run.json").write_text(json.dumps(report))
    index = write_html(report, tmp_path / "html")

    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(index.as_uri())
    await page.click("#shops th:nth-child(2)")  # our own sorting script runs under the page's CSP
    assert await page.evaluate("document.body.dataset.sortedBy") == "1"
    await page.click("#shops a")
    await page.wait_for_selector("#overall-score")
    overall = report["sites"][0]["scores"]["overall"]
    assert await page.inner_text("#overall-score") == f"{overall:.0f}"
    for section in ("#scores", "#area-chart", "#indicators", "#indicator-chart", "#problems", "#checks"):
        assert await page.is_visible(section), section
    assert await page.locator("[data-check='links.broken'] li").count() >= 2
    assert await page.evaluate("typeof window.__pwned") == "undefined"
    assert await page.evaluate("document.querySelectorAll('script, [onerror], iframe, object').length") == 0
    problems = await page.inner_text("#problems")
    assert '<script>window.__pwned="php"</script>' in problems  # shown as text, quoted
    assert errors == []
    await page.close()


def test_phone_screenshot_is_embedded_and_other_files_are_not(tmp_path: Path) -> None:
    report = hand_made_report()
    png = tmp_path / "home.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    not_png = tmp_path / "secret.txt"
    not_png.write_text("not an image")
    report["sites"][0]["rendered"] = [
        {"url": "https://shop.example/other", "screenshot": str(not_png)},
        {"url": "https://shop.example/", "screenshot": str(png)},
    ]
    write_html(report, tmp_path / "html")
    page = (tmp_path / "html" / shop_filename(1, "https://shop.example/")).read_text()
    assert 'src="data:image/png;base64,iVBORw0KGgo' in page
    assert "bm90IGFuIGltYWdl" not in page  # base64 of the text file
