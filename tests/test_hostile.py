"""Hostile shops: traps, bombs, floods, trickles and malformed answers (issue 15).

The hostile shop (``shophealth.demo.hostile``) serves every behaviour on
127.0.0.1; one scan of it must finish within its bounds, report the traps
and the pages it could read only in part, and raise nothing. Name lookups go
to the suite's own DNS server, so no name (not even the IDN test host on the
odd-links page) is asked of a resolver off this machine.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fast_config
from dns_server import serve_dns

from shophealth.checks.registry import Registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.decoding import BoundedDecoder, DecodingError, decode_capped
from shophealth.crawler.evidence_store import load_evidence, save_evidence
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.crawler.gather import SITEMAP_MAX_URLS, SiteCrawl
from shophealth.crawler.parse import MAX_REFS
from shophealth.crawler.scan import Run, SiteRun, scan_site
from shophealth.crawler.traps import MAX_CALENDAR_PAGES, MAX_QUERY_VARIANTS, TrapGuard
from shophealth.crawler.urls import Scope
from shophealth.demo.hostile import BOMB_MB, gzip_bomb, serve_hostile

SHOP = "https://shop.example"

# -- traps, judged URL by URL ------------------------------------------------------------


def cut_urls(urls: list[str]) -> tuple[TrapGuard, list[str]]:
    guard = TrapGuard()
    return guard, [url for url in urls if guard.cuts(url, SHOP + "/")]


@pytest.mark.parametrize(
    ("urls", "reason"),
    [
        ([f"{SHOP}/loop/{'a/' * n}" for n in range(6)], "repeated path segments"),
        ([f"{SHOP}/{'/'.join(f's{n}' for n in range(25))}"], "repeated path segments"),
        ([f"{SHOP}/catalog?sid={n:08x}" for n in range(5)], "session id in the URL"),
        ([f"{SHOP}/p;jsessionid={n}" for n in range(5)], "session id in the URL"),
        ([f"{SHOP}/list?{'&'.join(['q=1'] * n)}" for n in range(1, 5)], "ever-growing query string"),
        ([f"{SHOP}/x?{'&'.join(f'f{i}={i}' for i in range(15))}"], "ever-growing query string"),
        ([f"{SHOP}/events?month=20{y:02d}-{m:02d}" for y in range(20, 30) for m in range(1, 13)], "calendar"),
        ([f"{SHOP}/news/20{y:02d}/{m:02d}/" for y in range(20, 30) for m in range(1, 13)], "calendar"),
        ([f"{SHOP}/search?color={c}&size={s}" for c in range(20) for s in range(20)], "faceted navigation"),
    ],
)
def test_trap_patterns_are_cut_with_their_reason(urls: list[str], reason: str) -> None:
    guard, cut = cut_urls(urls)
    assert cut, "nothing was cut"
    assert {trap.reason for trap in guard.found()} == {reason}
    (trap,) = guard.found()
    assert trap.count == len(cut) and trap.page == SHOP + "/" and trap.examples[0] == cut[0]


def test_calendar_and_facets_keep_their_first_pages() -> None:
    calendar = [f"{SHOP}/events?month=2030-{m:02d}&year={y}" for y in range(10) for m in range(1, 13)]
    facets = [f"{SHOP}/search?color={c}&size={s}" for c in range(20) for s in range(20)]
    assert len(calendar) - len(cut_urls(calendar)[1]) == MAX_CALENDAR_PAGES
    assert len(facets) - len(cut_urls(facets)[1]) == MAX_QUERY_VARIANTS


def test_an_ordinary_shop_has_no_traps() -> None:
    urls = [
        *(f"{SHOP}/products/item-{n}" for n in range(3000)),
        *(f"{SHOP}/collections/all?page={n}" for n in range(300)),  # a big category: pagination is fine
        *(f"{SHOP}/collections/all?sort=price&page={n}" for n in range(50)),
        *(f"{SHOP}/blog/2024/{m:02d}/post-{m}" for m in range(1, 13)),
        f"{SHOP}/en/shop/en/",
        f"{SHOP}/catalog?sid=abc",  # a session id, once
        f"{SHOP}/search?q=tea+pot&color=red",
    ]
    assert cut_urls(urls)[1] == []


# -- decoding with a cap -------------------------------------------------------------------


def test_a_gzip_bomb_is_inflated_only_up_to_the_cap() -> None:
    bomb = gzip_bomb(b"<html>", 64)
    tracemalloc.start()
    try:
        body, more = decode_capped(bomb, "gzip", 1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (len(body), more) == (1_000_000, True)
    assert peak < 8_000_000  # 64 MB inflated whole would show here


@pytest.mark.parametrize(
    ("coding", "data"),
    [
        ("gzip", gzip.compress(b"hello " * 100)),
        ("deflate", zlib.compress(b"hello " * 100)),
        ("deflate", zlib.compress(b"hello " * 100)[2:-4]),  # raw deflate, as some servers send it
        ("gzip, gzip", gzip.compress(gzip.compress(b"hello " * 100))),
        ("", b"hello " * 100),
        ("identity", b"hello " * 100),
    ],
)
def test_codings_are_undone(coding: str, data: bytes) -> None:
    assert decode_capped(data, coding, 10_000) == (b"hello " * 100, False)


def test_a_coding_not_asked_for_is_kept_as_sent_and_broken_data_is_an_error() -> None:
    assert decode_capped(b"\x1b\x00brotli?", "br", 100) == (b"\x1b\x00brotli?", False)
    with pytest.raises(DecodingError):
        BoundedDecoder("gzip").decode(b"not gzip at all", 100)


# -- the hostile shop, scanned ---------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_url() -> Iterator[str]:
    with serve_hostile() as url:
        yield url


@pytest.fixture(scope="module")
def nameserver() -> Iterator[str]:
    with serve_dns({}) as (address, _):  # every name unknown: nothing leaves 127.0.0.1
        yield address


@pytest.fixture(scope="module")
async def hostile_run(hostile_url: str, nameserver: str, registry: Registry) -> SiteRun:
    # the million-URL sitemap's pages and the 100,000-link page's products are left out, or they
    # would use up the page limit before the deepest trap (/loop/a/a/, depth 3) is reached, in an
    # order that depends on timing (the sitemaps' and the link cap's bounds are tested on their own)
    config = fast_config(
        max_pages=300,
        budget_s=60,
        workers=0,
        request_timeout=15,  # the shop's server shares this process (and its GIL) with the scan
        dns_servers=(nameserver,),
        exclude=(r"/products/[mp]\d",),
    )
    return await scan_site(SiteConfig(url=hostile_url, config=config), registry)


async def test_hostile_scan_ends_because_its_traps_are_cut_not_by_its_budget(hostile_run: SiteRun) -> None:
    assert hostile_run.error is None
    assert hostile_run.stats["stopped_reason"] is None  # every trap cut: the shop is crawled whole
    assert hostile_run.stats["pages"] < 300
    assert not [o for o in hostile_run.outcomes if o.status == "error"], "a check raised"


async def test_hostile_scan_reports_every_trap_once(hostile_run: SiteRun) -> None:
    traps = [f for f in hostile_run.findings if f.check == "crawl.trap"]
    reasons = sorted(f.evidence["reason"] for f in traps)
    assert {
        "calendar",
        "session id in the URL",
        "ever-growing query string",
        "repeated path segments",
        "faceted navigation",
    } <= set(reasons)
    assert all(f.severity == "info" for f in traps)


async def test_hostile_scan_reports_pages_read_in_part(hostile_run: SiteRun, hostile_url: str) -> None:
    cut = {
        f.page.removeprefix(hostile_url): f.evidence["cut"]
        for f in hostile_run.findings
        if f.check == "crawl.limit"
    }
    pages = {p.url.removeprefix(hostile_url): p for p in hostile_run.evidence.pages}
    seen = {path: (pages[path].status, pages[path].error) for path in ("bomb", "huge", "many-links")}
    assert set(cut) >= {"bomb", "huge", "many-links"}, seen
    assert "links" in cut["many-links"][0]
    assert len(pages["bomb"].html_bytes) <= 5_000_000 and pages["bomb"].truncated
    assert len(pages["many-links"].refs) == MAX_REFS


async def test_trickling_and_hanging_servers_time_out(hostile_run: SiteRun, hostile_url: str) -> None:
    links = hostile_run.evidence.links
    for path in ("drip", "hang"):
        assert links[hostile_url + path].error == "timed out after 15 s"


async def test_sitemaps_are_bounded(hostile_url: str, nameserver: str) -> None:
    config = fast_config(dns_servers=(nameserver,))
    fetcher = Fetcher(config, trust_context(), lambda url: True, hostile_url)
    crawl = SiteCrawl(config, fetcher, Scope.for_start_urls([hostile_url]))
    try:
        tracemalloc.start()
        bomb_urls = await crawl._sitemap_urls(hostile_url + "sitemap-bomb.xml.gz", nested=False)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        index_urls = await crawl._sitemap_urls(hostile_url + "sitemap.xml", nested=True)
    finally:
        await fetcher.aclose()
    assert bomb_urls == [hostile_url + "products/kettle"]
    assert peak < 60_000_000  # the 1.1 MB file inflates to 256 MB when decompressed whole
    assert BOMB_MB * 1024**2 > 100_000_000
    assert len(index_urls) == SITEMAP_MAX_URLS  # the million-URL sitemap, cut
    assert not [u for u in index_urls if "sitemap" in u]  # the index listing itself is not followed


async def test_saved_evidence_keeps_the_traps_and_cut_pages(hostile_run: SiteRun, tmp_path: Path) -> None:
    save_evidence(Run(id="hostile", started_at="2026-11-29T00:00:00+00:00", sites=[hostile_run]), tmp_path)
    (saved,) = load_evidence(tmp_path).sites
    assert saved.evidence.cuts == hostile_run.evidence.cuts
    assert [p.facts.refs_cut for p in saved.evidence.pages if p.facts] == [
        p.facts.refs_cut for p in hostile_run.evidence.pages if p.facts
    ]
