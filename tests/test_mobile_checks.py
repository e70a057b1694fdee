"""mobile.viewport, mobile.overflow and mobile.lighthouse: evidence literals, then seeded pages in Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shophealth.checks.mobile import CHECKS, overflow_problems, parse_viewport, viewport_problems
from shophealth.checks.registry import CheckOutcome, run_check
from shophealth.crawler.browser import BrowserNotFound, BrowserPool, find_browser
from shophealth.crawler.evidence import LighthouseResult, Page, RenderedPage, SiteEvidence
from shophealth.crawler.parse import page_from_body
from shophealth.demo.server import serve_app

CHECK = {c.id: c for c in CHECKS}
SHOP = "http://shop.example/"


def judge(check_id: str, **evidence: object) -> CheckOutcome:
    return run_check(CHECK[check_id], SiteEvidence(site=SHOP, home=SHOP, **evidence), {})  # type: ignore[arg-type]


def html_page(path: str, viewport: str | None, status: int = 200) -> Page:
    meta = f'<meta name="viewport" content="{viewport}">' if viewport is not None else ""
    body = f"<html><head>{meta}<title>t</title></head><body>x</body></html>".encode()
    return page_from_body(SHOP + path, body, status=status)


@pytest.mark.parametrize(
    ("content", "problems"),
    [
        ("width=device-width, initial-scale=1", []),
        ("width = device-width ; initial-scale = 1", []),
        ("initial-scale=1", []),
        ("width=device-width, viewport-fit=cover", []),
        (None, ["no <meta name=viewport>"]),
        ("width=device-width, initial-scale=1, user-scalable=no", ["zoom is disabled"]),
        ("width=device-width, user-scalable=0", ["zoom is disabled"]),
        ("width=device-width, maximum-scale=1.0", ["zoom is limited (maximum-scale=1"]),
        ("width=1200", ["the width is fixed at 1200 px"]),
        ("initial-scale=0.5", ["not sized to the phone"]),
        ("nonsense=true", ["not sized to the phone"]),
    ],
)
def test_viewport_problems(content: str | None, problems: list[str]) -> None:
    found = viewport_problems(content)
    assert len(found) == len(problems)
    assert all(p in f for p, f in zip(problems, found, strict=True))


def test_viewport_parse_reads_numbers_like_chromium() -> None:
    viewport = parse_viewport("WIDTH=device-width,initial-scale=1.0abc maximum-scale=5")
    assert (viewport.width, viewport.initial_scale, viewport.maximum_scale) == ("device-width", 1.0, 5.0)
    assert viewport.user_scalable


def test_viewport_finds_one_warning_per_html_page_that_answered() -> None:
    pages = (
        html_page("", "width=device-width, initial-scale=1"),
        html_page("old", None),
        html_page("zoom", "width=device-width, user-scalable=no, maximum-scale=1"),
        html_page("gone", None, status=404),
    )
    outcome = judge("mobile.viewport", pages=pages)
    assert outcome.status == "warn"
    assert [(f.page, f.severity) for f in outcome.findings] == [
        (SHOP + "old", "warning"),
        (SHOP + "zoom", "warning"),
    ]
    assert outcome.findings[1].evidence["problems"] == [
        "zoom is disabled (user-scalable=no)",
        "zoom is limited (maximum-scale=1, below 2)",
    ]


def rendered(
    path: str, client: int = 375, scroll: int = 375, elements: int = 0, error: str | None = None
) -> RenderedPage:
    overflowing = tuple({"selector": f"div.item:nth-of-type({i})", "right": 500} for i in range(elements))
    return RenderedPage(SHOP + path, 375, scroll, client, overflowing=overflowing, error=error)


def test_overflow_severity_and_wording() -> None:
    outcome = judge(
        "mobile.overflow",
        rendered=(
            rendered("fits"),
            rendered("desktop", client=980, scroll=980),
            rendered("slightly", scroll=420, elements=1),
            rendered("wide", scroll=1200, elements=7),
            rendered("timeout", error="Page.goto: Timeout 20000ms exceeded."),
        ),
    )
    severities = {f.page.removeprefix(SHOP): f.severity for f in outcome.findings}
    assert severities == {"desktop": "warning", "slightly": "warning", "wide": "error", "timeout": "info"}
    assert outcome.status == "fail"
    wide = next(f for f in outcome.findings if f.page.endswith("wide"))
    assert "scrolls sideways to 1200 px" in wide.message
    assert "div.item:nth-of-type(0)" in wide.message and "and 2 more" in wide.message
    assert len(wide.evidence["elements"]) == 7


def test_overflow_error_ratio_is_an_option() -> None:
    evidence = SiteEvidence(site=SHOP, home=SHOP, rendered=(rendered("wide", scroll=1200),))
    outcome = run_check(CHECK["mobile.overflow"], evidence, {"error_ratio": 10})
    assert [f.severity for f in outcome.findings] == ["warning"]


def test_overflow_on_a_fitting_page_is_silent() -> None:
    assert overflow_problems(rendered("fits", scroll=376)) == []


def test_overflow_when_every_render_failed_is_an_error_with_the_reason() -> None:
    outcome = judge("mobile.overflow", rendered=(rendered("a", error="browser crashed"),))
    assert outcome.status == "error"
    assert outcome.detail is not None and "browser crashed" in outcome.detail


def test_overflow_is_skipped_when_nothing_was_rendered() -> None:
    outcome = judge("mobile.overflow", missing={"rendered": "no Chromium found"})
    assert (outcome.status, outcome.detail) == ("skipped", "rendered: no Chromium found")


def lighthouse(path: str, error: str | None = None, **scores: float) -> LighthouseResult:
    named = {k.replace("_", "-"): v for k, v in scores.items()}
    return LighthouseResult(SHOP + path, scores=named, spread={k: 4.0 for k in named}, runs=3, error=error)


def test_lighthouse_below_default_thresholds_is_a_warning() -> None:
    outcome = judge(
        "mobile.lighthouse",
        lighthouse=(
            lighthouse("", performance=45, accessibility=95, best_practices=100, seo=92),
            lighthouse("p/1", performance=70, accessibility=79, best_practices=80, seo=80),
            lighthouse("c/1", performance=50, accessibility=80, best_practices=80, seo=80),
        ),
    )
    assert outcome.status == "warn"
    assert [(f.page, f.evidence["below"]) for f in outcome.findings] == [
        (SHOP, ["performance"]),
        (SHOP + "p/1", ["accessibility"]),
    ]
    assert outcome.findings[0].message == (
        "Lighthouse on a phone scores low (median of 3 runs): performance 45 (threshold 50)"
    )


def test_lighthouse_thresholds_and_severity_are_options() -> None:
    evidence = SiteEvidence(site=SHOP, home=SHOP, lighthouse=(lighthouse("", performance=70, seo=85),))
    outcome = run_check(
        CHECK["mobile.lighthouse"], evidence, {"thresholds": {"performance": 90}, "severity": "error"}
    )
    assert outcome.status == "fail"
    assert outcome.findings[0].evidence["below"] == ["performance"]


def test_lighthouse_failure_is_status_error_with_the_reason() -> None:
    outcome = judge(
        "mobile.lighthouse", lighthouse=(lighthouse("", error="Lighthouse took longer than 90 s"),)
    )
    assert outcome.status == "error"
    assert outcome.detail is not None and "took longer than 90 s" in outcome.detail


def test_lighthouse_failure_on_one_page_of_several_is_info() -> None:
    outcome = judge(
        "mobile.lighthouse",
        lighthouse=(lighthouse("", performance=99), lighthouse("p/1", error="NO_FCP: no paint")),
    )
    assert outcome.status == "pass"
    assert [(f.severity, f.page) for f in outcome.findings] == [("info", SHOP + "p/1")]


# --- seeded pages rendered in Chromium ------------------------------------------------

PHONE = '<meta name="viewport" content="width=device-width, initial-scale=1">'
SEEDED = {
    "no-viewport": "<html><head><title>Old</title></head><body><p>Tea towels</p></body></html>",
    "zoom-disabled": '<html><head><meta name="viewport" content="width=device-width, initial-scale=1, '
    'user-scalable=no"></head><body><p>Tea towels</p></body></html>',
    "fixed-1200": f'<html><head>{PHONE}</head><body><div class="page" style="width:1200px">'
    "<p>Tea towels</p></div></body></html>",
    "responsive": f"<html><head>{PHONE}<style>img{{max-width:100%}}</style></head><body>"
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="900" height="10" alt="">'
    '<pre style="overflow-x:auto">a long line of code that would otherwise stick out ........................'
    "..........................</pre></body></html>",
}
EXPECTED = {
    "mobile.viewport": {"no-viewport", "zoom-disabled"},
    "mobile.overflow": {"no-viewport", "fixed-1200"},
}


@pytest.fixture(scope="module")
async def seeded_shop() -> AsyncIterator[str]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=SEEDED[request.match_info["name"]], content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", page)
    async with serve_app(app) as url:
        yield url


async def test_seeded_mobile_problems_are_found_and_the_responsive_page_is_not(seeded_shop: str) -> None:
    try:
        chromium = find_browser()
    except BrowserNotFound as exc:
        pytest.skip(str(exc))
    pages = tuple(page_from_body(seeded_shop + name, html.encode()) for name, html in SEEDED.items())
    async with BrowserPool(chromium, size=2, nav_timeout=10) as pool:
        renders = tuple([await pool.render(seeded_shop + name) for name in SEEDED])
    evidence = SiteEvidence(site=seeded_shop, home=seeded_shop, pages=pages, rendered=renders)
    for check_id, expected in EXPECTED.items():
        outcome = run_check(CHECK[check_id], evidence, {})
        flagged = {f.page.removeprefix(seeded_shop) for f in outcome.findings}
        assert flagged == expected, (check_id, [f.message for f in outcome.findings])
