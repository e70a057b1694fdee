"""How evidence is kept in memory: equal records shared between pages, bodies and texts on disk."""

from __future__ import annotations

import errno
import os
import pickle
import random
import tracemalloc
from pathlib import Path

import pytest
from conftest import fast_config, scan_url
from test_workers import small_shop  # noqa: F401 (a fixture)

from shophealth.checks import i18n
from shophealth.checks.registry import Registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.evidence import (
    EMPTY,
    Blob,
    LinkResult,
    Page,
    PageFacts,
    Sighting,
    SiteEvidence,
    Spool,
    Spooled,
    compress,
    compress_fast,
)
from shophealth.crawler.evidence_store import load_evidence, save_evidence
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.crawler.gather import SiteCrawl
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.scan import Run, SiteRun
from shophealth.crawler.urls import Scope
from shophealth.demo.server import RunningShop

NAV = b'<nav><a href="/shirts">Shirts</a><a href="/about">About us</a></nav>'


def _shared_refs(evidence: SiteEvidence) -> tuple[int, int]:
    """(references on every page, distinct reference objects among them)."""
    refs = [ref for page in evidence.pages for ref in page.refs]
    return len(refs), len({id(ref) for ref in refs})


async def test_a_crawl_keeps_one_copy_of_the_links_its_pages_share(
    small_shop: RunningShop,  # noqa: F811 (the fixture imported above)
    registry: Registry,
) -> None:
    for workers in (0, 2):
        run = await scan_url(small_shop.url, registry, workers=workers)
        pages = [p for p in run.evidence.pages if p.url.endswith(".html") and "/p" in p.url]
        homes = [ref for page in pages for ref in page.refs if ref.url == small_shop.url]
        assert len(homes) == len(pages) > 20, workers
        assert len({id(ref) for ref in homes}) == 1, workers  # every product page's link home: one tuple
        assert len({id(p.headers["content-type"]) for p in pages}) == 1, workers


def test_saved_evidence_is_loaded_with_shared_links(tmp_path: Path) -> None:
    pages = tuple(
        page_from_body(f"https://shop.example/p{i}", b"<html><body>" + NAV + b"</body></html>")
        for i in range(3)
    )
    shirts = "https://shop.example/shirts"
    seen = tuple(Sighting(p.final_url, "a", "href", "Shirts") for p in pages)
    links = {shirts: LinkResult(shirts, status=200, seen=seen, count=3)}
    evidence = SiteEvidence("https://shop.example/", "https://shop.example/", pages=pages, links=links)
    site = SiteRun(SiteConfig(url="https://shop.example/"), evidence, [], {"pages": 3})
    save_evidence(Run(id="r", started_at="2026-01-01T00:00:00+00:00", sites=[site]), tmp_path)
    loaded = load_evidence(tmp_path).sites[0].evidence
    assert [p.refs for p in loaded.pages] == [p.refs for p in pages]
    assert _shared_refs(loaded) == (6, 2)
    link = loaded.links[shirts]
    assert link.seen == seen
    assert [s.page for s in link.seen] == [p.final_url for p in loaded.pages]
    assert all(s.page is p.final_url for s, p in zip(link.seen, loaded.pages, strict=True))
    assert link.url is loaded.pages[0].refs[0].url and link.seen[0].text is loaded.pages[0].refs[0].text


async def test_a_crawl_keeps_page_bodies_and_texts_on_disk(
    small_shop: RunningShop,  # noqa: F811 (the fixture imported above)
    registry: Registry,
) -> None:
    for workers in (0, 2):
        run = await scan_url(small_shop.url, registry, workers=workers)
        parsed = [p for p in run.evidence.pages if p.facts is not None and p.url.endswith("/p3.html")]
        page = parsed[0]
        assert page.facts is not None
        assert isinstance(page.body_blob, Spooled) and isinstance(page.facts.text_blob, Spooled), workers
        assert page.facts.h1 == ("Product 3",) and "Product 3" in page.facts.text, workers
        assert 'href="/missing-3"' in page.html, workers
        copy = pickle.loads(pickle.dumps(page))  # a checkpoint: the bytes, not the file
        assert type(copy.body_blob) is Blob and copy.html == page.html and copy == page


def test_saved_evidence_is_loaded_into_a_spool(tmp_path: Path) -> None:
    page = page_from_body("https://shop.example/", b"<html><body><h1>Hello</h1>" + NAV + b"</body></html>")
    evidence = SiteEvidence("https://shop.example/", "https://shop.example/", pages=(page,))
    site = SiteRun(SiteConfig(url="https://shop.example/"), evidence, [], {"pages": 1})
    save_evidence(Run(id="r", started_at="2026-01-01T00:00:00+00:00", sites=[site]), tmp_path)
    loaded = load_evidence(tmp_path).sites[0].evidence.pages[0]
    assert isinstance(loaded.body_blob, Spooled) and loaded.facts is not None
    assert loaded.html == page.html and loaded.facts.text == "Hello Shirts About us" == page.facts.text


def test_a_spool_that_cannot_write_keeps_the_bytes_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    spool = Spool()
    first = spool.put(b"first")

    def disk_full(*_args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", disk_full)
    second = spool.put(b"second")
    assert isinstance(first, Spooled) and first.read() == b"first"
    assert type(second) is Blob and second.read() == b"second"
    assert spool.failed == "No space left on device"
    assert spool.put(b"") is EMPTY and not EMPTY


def test_judging_spooled_pages_keeps_their_texts_on_disk() -> None:
    """The i18n checks' per-page memos are keyed by the page's blob, not by its bytes read back."""
    spool = Spool()
    words = [f"word{n}" for n in range(5000)]
    pages = []
    for i in range(60):
        text = " ".join(random.Random(i).choices(words, k=4000)).encode()  # ~36 KB, ~15 KB compressed
        facts = PageFacts("t", None, None, "en", (), text_blob=spool.put(compress_fast(text)))
        body = spool.put(compress(f"<html><body><p>{text.decode()}</p></body></html>"))
        pages.append(
            Page(
                f"https://shop.example/p{i}",
                f"https://shop.example/p{i}",
                200,
                1,
                body_blob=body,
                facts=facts,
            )
        )
    tracemalloc.start()
    try:
        for page in pages:
            i18n.screen(page)
            i18n.blocks(page)
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 500_000  # the pages' texts and bodies are ~2.6 MB compressed


async def test_pages_restored_from_a_checkpoint_are_kept_as_crawled() -> None:
    home = "https://shop.example/"
    pages = [
        page_from_body(f"{home}p{i}", b"<html><body><h1>Hi</h1>" + NAV + b"</body></html>") for i in range(2)
    ]
    scope = Scope.for_start_urls([home])
    config = fast_config()
    fetcher = Fetcher(config, trust_context(None), scope.is_internal)
    try:
        crawl = SiteCrawl(config, fetcher, scope)
        crawl._restore(pages, {})
    finally:
        await fetcher.aclose()
    assert crawl.pages == pages
    assert all(isinstance(p.body_blob, Spooled) for p in crawl.pages)
    assert _shared_refs(SiteEvidence(home, home, pages=tuple(crawl.pages))) == (4, 2)
