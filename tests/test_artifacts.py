"""Judging's per-page passes made in the worker process that parses the page
(crawler.artifacts): a worker-parsed page arrives with them and judging does not make
them again; they equal what judging would make itself, hostile pages included; a worker
whose checks register other words makes none, and the coordinator keeps its own path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from conftest import fast_config

from shophealth.checks import dom, i18n, o2o, structured
from shophealth.checks.registry import Registry
from shophealth.crawler.artifacts import IDLE_S, ArtifactsSpec, Maker
from shophealth.crawler.evidence import Page
from shophealth.crawler.fetch import Fetcher, FetchResult
from shophealth.crawler.jobs import PageFetch, fetched_page
from shophealth.crawler.parse import page_from_body, parse_document_and_html
from shophealth.crawler.urls import Scope
from shophealth.crawler.warmup import Warmup
from shophealth.crawler.workers import WorkerPool, WorkerSetup
from shophealth.demo.server import SHOPS_DIR, RunningShop, serve_shop

PRODUCT = "products/bamboo-board.html"
ABOUT = "http://127.0.0.1:9/pages/about"
HOSTILE_PAGES = {
    # a lone surrogate (left by undecodable bytes) is read by judging as U+FFFD
    "surrogate": "<html><head><title>x\ud800</title></head><body><p>Visa \udcff PayPal</p></body></html>",
    # the one letter lower-casing lengthens, before the words searched for
    "dotted-i": "<!doctype html><html><head></head><body><p>İİİ We accept Visa, Alipay HK</p></body></html>",
    "json-ld in the body": (
        '<!doctype html><html><head><meta property="og:type" content="product"></head><body>'
        '<script type="application/ld+json">{"@type": "Product", "name": "Pot", "offers": '
        '{"price": "12"}}</script><p>Add to cart</p></body></html>'
    ),
    "unclosed noscript": (
        '<!doctype html><html><head><noscript><body><script type="application/ld+json">'
        '{"@type":"Product","name":"x"}</script></head><body>Add to cart share</body></html>'
    ),
    "not a document": "<p>Fatal error: Uncaught Exception in /var/www/x.php</p>",
}


@pytest.fixture(scope="module")
def demo_shop() -> Iterator[RunningShop]:
    with serve_shop(SHOPS_DIR / "demo_shop") as shop:
        yield shop


def _spec(registry: Registry) -> ArtifactsSpec:
    return ArtifactsSpec.of(check.run for check in registry.checks.values())


async def _worker_fetch(url: str, spec: ArtifactsSpec | None) -> PageFetch:
    """``url`` fetched and parsed by one worker process started with ``spec``."""
    config = fast_config(workers=1)
    scope = Scope.for_start_urls([url])
    fetcher = Fetcher(config, None, scope.is_internal, url)
    pool = WorkerPool(1, WorkerSetup(config, scope, frozenset(), artifacts=spec), fetcher)
    try:
        await pool.start()
        await pool.wait_ready()
        assert pool.used == 1
        return await pool.page(url)
    finally:
        await pool.aclose()
        await fetcher.aclose()


def _page_of(fetched: PageFetch) -> Page:
    """The coordinator's record of a worker's answer, as the crawl makes it."""
    return fetched_page(fetched.result, 1, fetched.document)


def _judged_alone(page: Page) -> tuple[dom.PageHits, tuple[object, ...], dict[str, list[object]]]:
    """What judging makes of ``page`` with nothing installed (a copy, so no memo is found)."""
    alone = _copy(page)
    assert alone.facts is not None
    return dom.PAGE_ANCHORS.of(alone.facts), dom.PAGE_MARKUP.of(alone), dom.structured_data(alone)


def _derived_alone(page: Page) -> tuple[object, ...]:
    """The checks' derivations of ``page`` as judging makes them, of a copy."""
    alone = _copy(page)
    return tuple(derivation(alone) for derivation in dom.DERIVED)


def _copy(page: Page) -> Page:
    assert page.facts is not None
    return page_from_body(page.final_url, page.html_bytes)


def test_a_worker_parsed_page_carries_its_passes_and_judging_does_not_make_them_again(
    registry: Registry, demo_shop: RunningShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched = asyncio.run(_worker_fetch(demo_shop.url + PRODUCT, _spec(registry)))
    artifacts = fetched.artifacts
    assert artifacts is not None and artifacts.warm and artifacts.structured is not None
    page = _page_of(fetched)
    hits, markup, data = _judged_alone(page)
    assert data["opengraph"], "the product page's structured data is read"

    warmup = Warmup(
        lambda page: pytest.fail("a page with its passes made is warmed again"), _spec(registry).install
    )
    warmup.add(page, fetched)
    assert warmup.installed == 1

    def made_again(*args: object) -> None:
        raise AssertionError("judging made a pass the worker had made")

    dom._structured.cache_clear()  # what _judged_alone read of the same HTML
    monkeypatch.setattr(dom.PageAnchors, "_scan", made_again)
    monkeypatch.setattr(dom.MarkupWords, "_scan", made_again)
    monkeypatch.setattr(structured, "read", made_again)
    assert page.facts is not None
    assert dom.PAGE_ANCHORS.of(page.facts) == hits
    assert dom.PAGE_MARKUP.of(page) == markup
    assert dom.structured_data(page) == data


def test_the_checks_derivations_come_made_with_the_passes(
    registry: Registry, demo_shop: RunningShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """content.payment's methods and the i18n screen of a worker-parsed page equal judging's own,
    and judging does not derive them again."""
    assert {o2o.page_payment_methods, i18n.screen} <= set(dom.DERIVED)
    fetched = asyncio.run(_worker_fetch(demo_shop.url + "pages/shipping.html", _spec(registry)))
    assert fetched.artifacts is not None and fetched.artifacts.derived is not None
    page = _page_of(fetched)
    assert fetched.artifacts.derived == _derived_alone(page)
    assert o2o.page_payment_methods(_copy(page)), "the demo shop's shipping page names payment methods"
    assert _spec(registry).install(page, fetched.artifacts)

    def derived_again(*args: object) -> None:
        raise AssertionError("judging derived again what the worker had")

    monkeypatch.setattr(o2o, "_methods_on", derived_again)
    monkeypatch.setattr(i18n, "_screen", derived_again)
    assert tuple(derivation(page) for derivation in dom.DERIVED) == fetched.artifacts.derived


@pytest.mark.parametrize("name", sorted(HOSTILE_PAGES))
def test_a_hostile_pages_artifacts_equal_judgings_own(registry: Registry, name: str) -> None:
    url = "http://127.0.0.1:9/products/x"
    document, html = parse_document_and_html(HOSTILE_PAGES[name].encode("utf-8", "surrogatepass"), None, url)
    page = fetched_page(_result(url), 1, document)
    assert _spec(registry).fingerprint == dom.shared_fingerprint()
    made = dom.page_artifacts(page, html)
    assert made is not None and made.warm
    hits, markup, data = _judged_alone(page)
    assert made.hits == hits
    assert made.markup == markup
    assert made.derived == _derived_alone(page)
    dom.install_artifacts(page, made)
    assert dom.structured_data(page) == data


def _result(url: str) -> FetchResult:
    return FetchResult(url=url, final_url=url, status=200, headers={"content-type": "text/html"})


def test_a_busy_worker_makes_only_the_structured_data_and_the_page_is_warmed(registry: Registry) -> None:
    url = "http://127.0.0.1:9/products/x"
    document, html = parse_document_and_html(HOSTILE_PAGES["json-ld in the body"].encode(), None, url)
    page = fetched_page(_result(url), 1, document)
    made = dom.page_artifacts(page, html, passes=False)
    assert made is not None and made.hits is None and made.structured is not None
    assert not made.warm
    warmed: list[Page] = []

    async def add() -> None:
        warmup = Warmup(warmed.append, _spec(registry).install)
        warmup.add(page, PageFetch(_result(url), document, made))
        async with asyncio.timeout(10):
            while not warmed:
                await asyncio.sleep(0)
        await warmup.aclose()

    asyncio.run(add())
    assert warmed == [page]
    other = fetched_page(_result(ABOUT), 1, parse_document_and_html(b"<p>About us</p>", None, ABOUT)[0])
    assert dom.page_artifacts(other, "<p>About us</p>", passes=False) is None  # nothing wanted


def test_a_worker_whose_checks_register_other_words_makes_none(
    registry: Registry, demo_shop: RunningShop
) -> None:
    spec = _spec(registry)
    other = ArtifactsSpec(spec.modules, "0" * 32)
    fetched = asyncio.run(_worker_fetch(demo_shop.url + PRODUCT, other))
    assert fetched.document is not None and fetched.artifacts is None
    assert asyncio.run(_worker_fetch(demo_shop.url + PRODUCT, None)).artifacts is None


def test_the_coordinator_installs_nothing_once_its_registrations_changed(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://127.0.0.1:9/products/x"
    document, html = parse_document_and_html(b"<p>We accept Visa</p>", None, url)
    page = fetched_page(_result(url), 1, document)
    spec = _spec(registry)
    made = dom.page_artifacts(page, html)
    assert made is not None
    monkeypatch.setattr(dom, "PAGE_ANCHORS", dom.PageAnchors())  # a plugin registered other words since
    dom.PAGE_ANCHORS.register(["visa"])
    assert not spec.install(page, made)


def test_a_page_crawled_in_process_has_its_structured_data_read_by_a_worker_once_one_answers(
    registry: Registry, demo_shop: RunningShop
) -> None:
    """Pages crawled while the workers start are parsed here: a worker reads their structured
    data once it answers with a page of its own, so that extruct runs in the worker."""
    spec = _spec(registry)
    here = page_from_body(
        demo_shop.url + "products/knife-set.html",
        (SHOPS_DIR / "demo_shop" / "products" / "knife-set.html").read_bytes(),
    )
    assert dom.structured_wanted(here)
    expected = _judged_alone(here)[2]

    async def crawl() -> Warmup:
        config = fast_config(workers=1)
        scope = Scope.for_start_urls([demo_shop.url])
        fetcher = Fetcher(config, None, scope.is_internal, demo_shop.url)
        pool = WorkerPool(1, WorkerSetup(config, scope, frozenset(), artifacts=spec), fetcher)
        warmup = Warmup(lambda page: None, spec.install, pool.structured_of)
        try:
            warmup.add(here)  # crawled in-process: no worker yet
            await pool.start()
            await pool.wait_ready()
            fetched = await pool.page(demo_shop.url + PRODUCT)
            warmup.add(_page_of(fetched), fetched)
            await warmup.aclose()  # waits for the worker's answer
        finally:
            await pool.aclose()
            await fetcher.aclose()
        return warmup

    warmup = asyncio.run(crawl())
    assert warmup.asked == 1
    dom._structured.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(structured, "read", lambda *args: pytest.fail("read again in the coordinator"))
        assert dom.structured_data(here) == expected


def test_a_worker_behind_makes_only_what_judging_would_make_after_the_crawl() -> None:
    url = "http://127.0.0.1:9/products/x"
    document, html = parse_document_and_html(HOSTILE_PAGES["json-ld in the body"].encode(), None, url)
    make = Maker()
    idle = make(document, html, _result(url))
    assert idle is not None and idle.warm
    for behind in (IDLE_S, 0.05):  # its loop runs behind: the coordinator makes the passes
        make.lag.seconds = behind
        made = make(document, html, _result(url))
        assert made is not None and made.structured is not None and made.hits is None


def test_a_page_no_worker_read_has_its_structured_data_read_by_the_warm_up(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A product page comes from a worker without artifacts (one whose checks register other
    words): the coordinator's warm-up reads its structured data during the crawl, so judging
    after it does not."""
    url = "http://127.0.0.1:9/products/x"
    document, _ = parse_document_and_html(HOSTILE_PAGES["json-ld in the body"].encode(), None, url)
    page = fetched_page(_result(url), 1, document)
    assert dom.structured_wanted(page)
    expected = dom.structured_data(_copy(page))

    async def warm() -> None:
        warmup = Warmup(dom.warm_page, _spec(registry).install)
        warmup.add(page, PageFetch(_result(url), document, None))
        deadline = asyncio.get_running_loop().time() + 10
        while not warmup.warmed and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0)
        await warmup.aclose()

    asyncio.run(warm())
    dom._structured.cache_clear()

    def read_again(*args: object) -> None:
        raise AssertionError("judging read the structured data the warm-up had read")

    monkeypatch.setattr(structured, "read", read_again)
    assert dom.structured_data(page) == expected
