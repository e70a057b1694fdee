"""Judging's per-page passes made during the crawl (crawler.warmup): every parsed page is
warmed once, a failure is left to judging, and closing stops the work."""

from __future__ import annotations

import asyncio

import pytest

from shophealth.checks import dom
from shophealth.crawler.evidence import Page
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.warmup import Warmup


def _page(n: int) -> Page:
    return page_from_body(f"http://127.0.0.1/{n}", f"<title>P{n}</title><p>We accept Visa</p>".encode())


async def test_each_parsed_page_is_warmed_once_in_order() -> None:
    warmed: list[str] = []

    def warm(page: Page) -> None:
        if page.url.endswith("/1"):
            raise ValueError("hostile page")
        warmed.append(page.url)

    warmup = Warmup(warm)
    pages = [_page(n) for n in range(4)]
    for page in pages:
        warmup.add(page)
    warmup.add(Page("http://127.0.0.1/pdf", "http://127.0.0.1/pdf", 200, 1))  # no parsed HTML
    while warmup.warmed < 4:
        await asyncio.sleep(0)
    await warmup.aclose()
    assert warmed == [pages[0].url, pages[2].url, pages[3].url]
    assert warmup.warmed == 4


async def test_closing_leaves_the_rest_to_judging() -> None:
    warmup = Warmup(lambda page: None)
    for n in range(100):
        warmup.add(_page(n))
    await warmup.aclose()  # before the task ran
    assert warmup.warmed == 0


def test_a_warmed_page_is_judged_from_its_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    page = _page(7)
    assert page.facts is not None
    dom.warm_page(page)
    scans: list[str] = []
    original = dom.PageAnchors._scan

    def counted(self: dom.PageAnchors, text: str) -> dom.PageHits:
        scans.append(text)
        return original(self, text)

    monkeypatch.setattr(dom.PageAnchors, "_scan", counted)
    dom.PAGE_ANCHORS.of(page.facts)
    assert scans == []
    dom.PAGE_ANCHORS.of(_page(8).facts)  # type: ignore[arg-type]
    assert len(scans) == 1


def test_warming_makes_the_checks_per_page_derivations(monkeypatch: pytest.MonkeyPatch) -> None:
    """content.payment's methods of a page and the i18n screen are made by warm_page, so that
    judging after the crawl only reads them."""
    from shophealth.checks import i18n, o2o

    assert {o2o.page_payment_methods, i18n.screen} <= set(dom.DERIVED)
    page = _page(9)
    dom.warm_page(page)

    def derived_again(*args: object) -> None:
        raise AssertionError("judging derived again what the warm-up had")

    monkeypatch.setattr(o2o, "_methods_on", derived_again)
    monkeypatch.setattr(i18n, "_screen", derived_again)
    assert o2o.page_payment_methods(page) == (("Visa", "Visa"),)
    assert i18n.screen(page).content is not None
