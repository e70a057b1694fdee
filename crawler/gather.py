"""Crawl one shop and verify every link and resource it carries.

One frontier owns every request start: a queue of page jobs (crawl, parse,
follow) and one of link jobs (verify a target once), each worked by
``concurrency`` tasks under the fetcher's global and per-host limits. Links are
verified while pages are still being crawled: a page job spends most of its
time being parsed (in a worker process, or here), not asking the host, so
with one queue the host's turns stood idle behind the parse while the links
waited for the last page (on the 50 ms-latency benchmark, ~20 of the 32
turns were used until then). The crawl runs within
what is left of the shop's wall-clock budget (``budget_s``, shared by every
phase: :mod:`shophealth.crawler.phases`); when it runs out, or the page limit
is reached, the crawl ends with what it has and says why.

Every target gets a :class:`LinkResult` of facts: what the last answer was
(status, the headers a verdict needs, the start of the body), the transport
error's kind, or why it was not asked (robots.txt forbids it, external links
off, the scan ended first). Whether that is ok, broken or unverifiable is
the checks' decision (``shophealth.checks.linkverdict``), not the crawler's.
Social and messaging sites block crawlers, so their links are not fetched
unless ``fetch_social`` is set.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.decoding import DecodingError, decode_capped
from shophealth.crawler.evidence import (
    BODY_HEAD,
    VERDICT_HEADERS,
    ErrorKind,
    Interner,
    LinkResult,
    Page,
    Ref,
    Sighting,
    Spool,
    compress_bytes,
    kept_as_crawled,
)
from shophealth.crawler.fetch import Fetcher, FetchResult
from shophealth.crawler.hooks import RunHooks, SiteCheckpoint
from shophealth.crawler.jobs import JobError, Jobs, LocalJobs, PageFetch, fetched_page
from shophealth.crawler.link_cache import LinkCache
from shophealth.crawler.phases import BUDGET, INTERRUPTED, INTERRUPTED_DETAIL, CrawlProgress
from shophealth.crawler.rendering import Renderer
from shophealth.crawler.robots import RobotsCache
from shophealth.crawler.traps import TrapGuard
from shophealth.crawler.urls import Scope, resolve

PAGE_TAGS = frozenset({"a", "area", "iframe"})
SOCIAL_HOSTS = (
    "facebook.com", "fb.com", "fb.me", "instagram.com", "wa.me", "whatsapp.com",
    "api.whatsapp.com", "weixin.qq.com", "wechat.com", "youtube.com", "youtu.be",
    "xiaohongshu.com", "xhslink.com", "line.me", "lin.ee", "x.com", "twitter.com",
    "linkedin.com", "tiktok.com", "pinterest.com", "weibo.com", "t.me", "threads.net",
)  # fmt: skip
MAX_SIGHTINGS = 5
SITEMAP_MAX_BYTES = 10_000_000
SITEMAP_MAX_URLS = 50_000
log = logging.getLogger(__name__)


def is_social(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in SOCIAL_HOSTS)


@dataclass
class TargetRecord:
    """A link target while the crawl runs: where it was seen, and what asking it showed."""

    url: str
    internal: bool
    seen: list[Sighting] = field(default_factory=list)
    count: int = 0
    last_page: str = ""
    result: LinkResult | None = None

    def sighted(self, page: str, ref: Ref) -> None:
        if page == self.last_page:
            return
        self.last_page = page
        self.count += 1
        if len(self.seen) < MAX_SIGHTINGS:
            self.seen.append(Sighting(page, ref.tag, ref.attr, ref.text, ref.method))


@dataclass
class CrawlStats:
    stopped_reason: str | None = None  # a stop code (crawler.phases): budget, page-limit, interrupted
    stopped_detail: str | None = None  # the same in words
    pages_limited: bool = False

    def stop(self, code: str, detail: str) -> None:
        self.stopped_reason, self.stopped_detail = code, detail


ProgressCallback = CrawlProgress  # pages done, jobs queued, links checked


class SiteCrawl:
    """Gathers the pages of one shop and the facts about every link they carry."""

    def __init__(
        self,
        config: ScanConfig,
        fetcher: Fetcher,
        scope: Scope,
        progress: ProgressCallback | None = None,
        renderer: Renderer | None = None,
        jobs: Jobs | None = None,
        stop: asyncio.Event | None = None,
        on_phase: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.link_cache: LinkCache | None = None  # external-link verdicts kept across runs
        self.checkpoint: SiteCheckpoint | None = None  # where done work is recorded as it goes
        self.on_phase = on_phase  # told "crawling" or "verifying links" as the work turns
        self.on_page: Callable[[Page, PageFetch], None] | None = None  # told of each page crawled
        self.stop = stop  # set: end now with what was gathered (the user pressed Ctrl-C)
        self.renderer = renderer
        self.fetcher = fetcher
        self.jobs = jobs or LocalJobs(fetcher, scope.is_internal)
        self.scope = scope
        self.robots = RobotsCache(fetcher)
        self.progress = progress
        self.pages: list[Page] = []
        self.targets: dict[str, TargetRecord] = {}
        self.stats = CrawlStats()
        self._page_jobs: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
        self._link_jobs: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
        self._scheduled_pages: set[str] = set()
        self._parsed_finals: set[str] = set()
        self.interner = Interner()  # equal references and header strings shared between pages
        self.spool = Spool()  # the pages' HTML and text, on disk
        self.checked = 0  # targets with their facts
        self._pages_pending = 0  # page jobs queued or running
        self._phase = "crawling"
        self.traps = TrapGuard()

    def attach(self, site: str, hooks: RunHooks | None) -> None:
        """Use the run's link cache and checkpoints; a checkpointed crawl goes on
        from where it was."""
        if hooks is None:
            return
        self.link_cache = hooks.link_cache
        if hooks.checkpoints is not None:
            self.checkpoint = hooks.checkpoints.for_site(site)
            self._restore(*self.checkpoint.restored())

    def _restore(self, pages: Sequence[Page], verdicts: Mapping[str, LinkResult]) -> None:
        """Take checkpointed pages and verdicts as done, and record the links on
        those pages again: that rebuilds where each target was seen and
        schedules what was not done yet."""
        for url, result in verdicts.items():
            record = TargetRecord(url, self.scope.is_internal(url))
            record.result = result
            self.targets[url] = record
        self.checked = len(verdicts)
        for page in pages:
            self.pages.append(kept_as_crawled(page, self.interner, self.spool))
            self._scheduled_pages.update((page.url, page.final_url) if page.facts else (page.url,))
            if page.facts is not None:
                self._parsed_finals.add(page.final_url)
        self.jobs.expect(len(self._scheduled_pages))
        for page in self.pages:
            if page.facts is not None and _done_ok(page) and self.scope.allows(page.final_url):
                self._record_all(page.final_url, page.refs, page.depth)

    # -- the frontier ---------------------------------------------------------

    async def run(self, seeds: tuple[str, ...], budget: float | None = None) -> None:
        """Crawl from ``seeds`` until done, the page limit or the budget (seconds
        left of the shop's; the whole ``budget_s`` when not given)."""
        for seed in seeds:
            self._schedule_page(seed, 0)
        workers = [
            asyncio.create_task(self._work(queue))
            for queue in (self._page_jobs, self._link_jobs)
            for _ in range(max(1, self.config.concurrency))
        ]
        try:
            async with asyncio.timeout(self.config.budget_s if budget is None else budget):
                await self._seed_from_sitemaps(seeds[0])
                if await _unless_stopped(self._all_done(), self.stop):
                    self.stats.stop(INTERRUPTED, INTERRUPTED_DETAIL)
        except TimeoutError:
            self.stats.stop(BUDGET, f"time budget of {self.config.budget_s:g} s ran out while crawling")
            log.warning("crawl of %s ended early: %s", seeds[0], self.stats.stopped_detail)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if self.stats.stopped_reason is None and self.stats.pages_limited:
            self.stats.stop("page-limit", f"page limit of {self.config.max_pages} reached")
            log.info("crawl of %s ended at the page limit of %d", seeds[0], self.config.max_pages)

    async def _all_done(self) -> None:
        await self._page_jobs.join()  # only page jobs add jobs
        await self._link_jobs.join()

    async def _work(self, queue: asyncio.Queue[tuple[str, str, int]]) -> None:
        while True:
            kind, url, depth = await queue.get()
            try:
                if kind == "page":
                    await self._crawl_page(url, depth)
                else:
                    await self._verify_link(url)
            except Exception as exc:  # one bad page or link never ends a scan
                log.debug("internal error on %s", url, exc_info=True)
                self._note(url, LinkResult(url, error_kind=ErrorKind.INTERNAL, error=_describe(exc)))
                if kind == "page" and depth == 0:  # a start page: say why the shop was not crawled
                    error = f"internal error: {_describe(exc)}"
                    page = Page(url, url, None, 0, error=error, error_kind=ErrorKind.INTERNAL)
                    self.pages.append(page)
            finally:
                queue.task_done()
                if kind == "page":
                    self._pages_pending -= 1
                    self._tell_phase()
                if self.progress is not None:
                    self.progress(
                        len(self.pages), self._page_jobs.qsize() + self._link_jobs.qsize(), self.checked
                    )

    def _tell_phase(self) -> None:
        """Say when only links are left to verify, and when pages come again."""
        if not self._pages_pending and self._link_jobs.empty():
            return  # the crawl is over
        phase = "crawling" if self._pages_pending else "verifying links"
        if phase != self._phase:
            self._phase = phase
            if self.on_phase is not None:
                self.on_phase(phase)

    def _schedule_page(self, url: str, depth: int) -> bool:
        if url in self._scheduled_pages:
            return True
        if len(self._scheduled_pages) >= self.config.max_pages or depth > self.config.max_depth:
            self.stats.pages_limited = (
                self.stats.pages_limited or len(self._scheduled_pages) >= self.config.max_pages
            )
            return False
        self._scheduled_pages.add(url)
        self._page_jobs.put_nowait(("page", url, depth))
        self._pages_pending += 1
        self._tell_phase()
        self.jobs.expect(len(self._scheduled_pages))
        return True

    def _record_all(self, page: str, refs: tuple[Ref, ...], depth: int) -> None:
        """:meth:`_record` each of a page's references, the usual case inline (a
        target known already: 148,000 of the benchmark's 160,000 references)."""
        targets = self.targets
        for ref in refs:
            record = targets.get(ref.url)
            if record is None:
                self._record(page, ref, depth)
            elif record.last_page != page:
                record.sighted(page, ref)

    def _record(self, page: str, ref: Ref, depth: int) -> None:
        record = self.targets.get(ref.url)
        if record is None:
            if ref.tag in PAGE_TAGS and self.scope.allows(ref.url) and self.traps.cuts(ref.url, page):
                return  # a crawler trap: neither crawled nor verified (crawl.trap reports it)
            record = TargetRecord(ref.url, self.scope.is_internal(ref.url))
            self.targets[ref.url] = record
            if ref.invalid is not None:  # nothing to ask: no browser could follow it either
                self._note(ref.url, LinkResult(ref.url, error_kind=ErrorKind.INVALID_URL, error=ref.invalid))
            else:
                self._dispatch(record, ref, depth)
        record.sighted(page, ref)

    def _dispatch(self, record: TargetRecord, ref: Ref, depth: int) -> None:
        wants_page = ref.tag in PAGE_TAGS and self.scope.allows(ref.url)
        if wants_page and self._schedule_page(ref.url, depth + 1):
            return
        if record.internal or (self.config.verify_external and not self._skip_social(ref.url)):
            self._link_jobs.put_nowait(("link", ref.url, depth + 1))

    def _skip_social(self, url: str) -> bool:
        return not self.config.fetch_social and is_social(url)

    # -- pages ----------------------------------------------------------------

    async def _crawl_page(self, url: str, depth: int) -> None:
        if self.config.respect_robots:
            rules = await self.robots.rules_for(url)
            if not rules.allows(url):
                reason = rules.reason or "robots.txt disallows it"
                self._note(url, LinkResult(url, not_asked=reason))
                if depth == 0:  # a start page: say why the shop was not crawled
                    why, kind = rules.unreachable or reason, rules.unreachable_kind
                    self.pages.append(
                        Page(url=url, final_url=url, status=None, depth=0, error=why, error_kind=kind)
                    )
                return
        fetched = await self.jobs.page(url, self._parsed_finals)
        page = self._page_from(fetched, depth)
        self.pages.append(page)
        if self.on_page is not None:
            self.on_page(page, fetched)
        if self.checkpoint is not None:
            self.checkpoint.page_done(page)
        self._note(url, link_facts(fetched.result, internal=True))
        if page.facts is None or not _is_success(fetched.result) or not self.scope.allows(page.final_url):
            return
        self._record_all(page.final_url, page.refs, depth)
        if self.renderer is not None and self._wants_rendering(page):
            await self._follow_rendered_links(page, depth)

    def _wants_rendering(self, page: Page) -> bool:
        """Render a page whose static HTML has few links (a menu built by JavaScript)."""
        if self.config.render == "all":
            return True
        return sum(1 for ref in page.refs if ref.tag in PAGE_TAGS) < self.config.js_links_below

    async def _follow_rendered_links(self, page: Page, depth: int) -> None:
        assert self.renderer is not None
        rendered = await self.renderer(page.final_url)
        static = {ref.url for ref in page.refs}
        for href in rendered.links:
            url = resolve(page.final_url, href)
            if url is not None and url not in static:
                static.add(url)
                self._record(page.final_url, Ref(url=url, tag="a", attr="href", text="(rendered)"), depth)

    def _page_from(self, fetched: PageFetch, depth: int) -> Page:
        final = fetched.result.final_url
        if fetched.document is None or final in self._parsed_finals:
            # not HTML, a dead-end redirect, not ours, or parsed already (a worker
            # process can't see the pages parsed meanwhile)
            return fetched_page(fetched.result, depth)
        self._parsed_finals.add(final)
        self._scheduled_pages.add(final)
        return fetched_page(fetched.result, depth, fetched.document, interner=self.interner, spool=self.spool)

    async def _seed_from_sitemaps(self, home: str) -> None:
        try:
            await self._seed_from_listed_sitemaps(home)
        except Exception:  # sitemaps only add pages: the crawl goes on from the start pages
            return

    async def _seed_from_listed_sitemaps(self, home: str) -> None:
        await self.robots.rules_for(home)
        listed = [resolve(home, s) for s in self.robots.sitemaps(home)]
        sitemaps = [s for s in listed if s] or [resolve(home, "/sitemap.xml") or home]
        for sitemap in sitemaps[:5]:
            if self.config.respect_robots and not await self.robots.allows(sitemap):
                continue
            for url in await self._sitemap_urls(sitemap, nested=True):
                if self.scope.allows(url):
                    self._schedule_page(url, 1)

    async def _sitemap_urls(self, url: str, nested: bool) -> list[str]:
        result = await self.fetcher.fetch(url, max_bytes=SITEMAP_MAX_BYTES)
        if result.status != 200 or not result.body:
            return []
        body = result.body
        if body[:2] == b"\x1f\x8b":  # sitemap.xml.gz: inflated only up to the cap (no bomb)
            try:
                body, _ = decode_capped(body, "gzip", SITEMAP_MAX_BYTES)
            except DecodingError:
                return []
        tree = LexborHTMLParser(body.decode("utf-8", "replace"))
        locs = [resolve(url, n.text(strip=True)) for n in tree.css("loc")][:SITEMAP_MAX_URLS]
        urls = [u for u in locs if u]
        if tree.css_first("sitemapindex") is None:
            return urls
        if not nested:
            return []  # an index inside an index (or including itself) is not followed
        found: list[str] = []
        for child in [u for u in urls if u != url][:20]:
            found.extend(await self._sitemap_urls(child, nested=False))
            if len(found) >= SITEMAP_MAX_URLS:
                break
        return found[:SITEMAP_MAX_URLS]

    # -- links ----------------------------------------------------------------

    async def _verify_link(self, url: str) -> None:
        record = self.targets.get(url)
        internal = record.internal if record is not None else self.scope.is_internal(url)
        if internal and self.config.respect_robots and not await self.robots.allows(url):
            self._note(url, LinkResult(url, not_asked="robots.txt disallows it"))
            return
        cached = self.link_cache.get(url) if self.link_cache is not None and not internal else None
        if cached is not None:
            self._note(url, cached)
            return
        checked = await self.jobs.link(url)
        facts = link_facts(checked.result, internal, method=checked.method)
        self._note(url, facts)
        if self.link_cache is not None:
            self.link_cache.put(facts)

    def _note(self, url: str, result: LinkResult) -> None:
        record = self.targets.get(url)
        if record is None:
            record = TargetRecord(url, self.scope.is_internal(url))
            self.targets[url] = record
        if record.result is None:
            record.result = result
            self.checked += 1
            if self.checkpoint is not None:
                self.checkpoint.link_judged(url, result)

    # -- results ----------------------------------------------------------------

    def link_results(self) -> dict[str, LinkResult]:
        """Every target's facts, with where it was seen; for one never asked, why not."""
        results: dict[str, LinkResult] = {}
        for url, record in self.targets.items():
            if not record.seen:
                continue  # a seed or sitemap page nobody links to
            facts = record.result or LinkResult(url, not_asked=self._not_asked_reason(record))
            results[url] = _with_sightings(facts, record)
        return results

    def _not_asked_reason(self, record: TargetRecord) -> str:
        if not record.internal and is_social(record.url) and not self.config.fetch_social:
            return "social site: not fetched (social sites refuse crawlers)"
        if not record.internal and not self.config.verify_external:
            return "external links not verified (verify_external is off)"
        return self.stats.stopped_detail or "not checked before the scan ended"


async def _unless_stopped(work: Coroutine[Any, Any, None], stop: asyncio.Event | None) -> bool:
    """Run ``work`` to its end, or until ``stop`` is set: then cancel it and say True."""
    if stop is None:
        await work
        return False
    running = asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        running.cancel()
        stopping.cancel()
        await asyncio.gather(running, stopping, return_exceptions=True)
    if running.done() and not running.cancelled():
        running.result()  # its exception, if it raised one
        return False
    return True


def _with_sightings(result: LinkResult, record: TargetRecord) -> LinkResult:
    return dataclasses.replace(result, internal=record.internal, seen=tuple(record.seen), count=record.count)


def _is_success(result: FetchResult) -> bool:
    return result.status is not None and result.status < 400 and result.error is None


def _done_ok(page: Page) -> bool:
    """:func:`_is_success` for a page already made."""
    return page.status is not None and page.status < 400 and page.error is None


def link_facts(result: FetchResult, internal: bool, method: str = "GET") -> LinkResult:
    """What a fetch showed about a link target: the facts a verdict is made of."""
    headers = {name: result.headers[name] for name in VERDICT_HEADERS if name in result.headers}
    head = result.body[:BODY_HEAD] if method == "GET" else b""
    return LinkResult(
        url=result.url,
        status=result.status,
        error_kind=result.error_kind,
        error=result.error,
        retries_exhausted=result.retries_exhausted,
        headers=headers,
        body_head_z=compress_bytes(head) if head else b"",
        redirects=result.hops,
        final_url=result.final_url,
        method=method,
        internal=internal,
    )


def _describe(exc: BaseException) -> str:
    """An internal error in one line: a job's own, or the one it met elsewhere."""
    return (str(exc) if isinstance(exc, JobError) else f"{type(exc).__name__}: {exc}")[:300]


def probe_path() -> str:
    """A path that cannot exist on any shop, to see its not-found page."""
    return f"/shophealth-probe-{secrets.token_hex(6)}-does-not-exist"
