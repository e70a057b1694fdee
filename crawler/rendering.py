"""The browser phase of a scan: render a sample of pages at a phone viewport,
follow links that only exist once JavaScript has run, and run Lighthouse.

It switches itself off loudly (Scrapy's ``NotConfigured``): with rendering
off, no Chromium, or no Lighthouse, the evidence kind is marked missing with
the reason and the checks that need it report ``skipped``; the scan goes on.
Lighthouse runs one page at a time after the crawl, so it never competes
with the crawl or another Lighthouse for the two cores.

Rendering is bounded: the sample renders ``render_pages`` pages (all with
``render: all``), and pages the crawl renders because their static HTML has
few links (a menu built by JavaScript) are at most
:data:`LINK_RENDERS_PER_SAMPLE_PAGE` × ``render_pages``; past that such pages
are crawled from their HTML alone. Beyond the sample, the pages a static
triage of every crawled page suspects of scrolling sideways
(:mod:`shophealth.crawler.triage`) are rendered, widest first, at most
:data:`SUSPECTS_PER_SAMPLE_PAGE` × ``render_pages``. :meth:`BrowserPhase.stats`
reports ``rendered``, ``render_limit``, ``link_renders``, ``link_render_limit``,
``link_renders_skipped``, ``overflow_suspects``, ``overflow_suspects_rendered``
and ``overflow_suspect_limit``. Progress goes to ``progress`` as ("rendering", done,
total) and ("lighthouse", done, total). Every render has a deadline
(:class:`~shophealth.crawler.browser.BrowserPool`) and every Lighthouse run a
time limit; the caller bounds the whole phase and may cancel it, which ends
every browser process it started.

Network safety: given the scan's :class:`~shophealth.crawler.resolver.AddressGuard`
(``guard``), the phase makes its own
:class:`~shophealth.crawler.resolver.GuardedResolver` on it (the same decision
about the shop, deadline and name servers as the crawl's; :meth:`aclose` closes
it). When the guard is on, the rendered pages and Lighthouse's page ask it about
every request (:mod:`shophealth.crawler.browser`, :mod:`shophealth.crawler.devtools`),
and both Chromiums get the shop's host pinned to the address it resolved
(``--host-resolver-rules``). Refused requests are counted in
``browser_requests_refused``, the first :data:`MAX_REFUSED` kept in
:attr:`BrowserPhase.refused` and logged as warnings.

Playwright is imported, and the browser looked for, only when rendering or
Lighthouse is on: the import costs 0.1 s and asking Playwright where its own
Chromium is starts its driver (0.35 s), in a thread so the crawl goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shophealth.crawler.chromium import BrowserTrust, NotConfigured, ShopHeaders, new_profile
from shophealth.crawler.config import ScanConfig
from shophealth.crawler.evidence import LighthouseResult, Page, RenderedPage
from shophealth.crawler.resolver import AddressGuard, GuardedResolver

if TYPE_CHECKING:
    from shophealth.crawler.browser import BrowserPool, UrlGuard

Renderer = Callable[[str], Awaitable[RenderedPage]]
PhaseProgress = Callable[[str, int, "int | None"], None]  # phase name, done, total
POOL_SIZE = 2
LINK_RENDERS_PER_SAMPLE_PAGE = 2  # pages rendered for their links: at most this × render_pages
SUSPECTS_PER_SAMPLE_PAGE = 3  # overflow suspects rendered beyond the sample: at most this × render_pages
MAX_REFUSED = 50  # refused browser requests kept by URL
MAX_URL = 2000
log = logging.getLogger(__name__)


@dataclass
class BrowserPhase:
    """The browser pool for one shop, and what it rendered."""

    config: ScanConfig
    home: str = ""  # the shop's start URL: its origin alone gets the staging credentials
    certificate_error: str | None = None  # the shop's certificate failed: the browser ignores errors
    executable: str | None = None
    pool: BrowserPool | None = None
    progress: PhaseProgress | None = None  # "rendering" / "lighthouse", done, total
    rendered: dict[str, RenderedPage] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    link_renders: int = 0  # pages rendered during the crawl to find links built by scripts
    link_renders_skipped: int = 0  # ...and pages that wanted it past the limit
    overflow_suspects: int = 0  # pages the static triage suspects of overflowing (crawler.triage)
    suspects_rendered: int = 0  # ...of them rendered beyond the sample
    guard: AddressGuard | None = None  # the scan's address guard; None: the browser is not guarded
    resolver: GuardedResolver | None = None  # made on ``guard`` when the browser starts
    url_guard: UrlGuard | None = None  # set when the guard is on
    host_rules: str | None = None  # Chromium's --host-resolver-rules pinning the shop's host
    requests_refused: int = 0  # browser requests the guard refused
    refused: dict[str, str] = field(default_factory=dict)  # the first MAX_REFUSED of them: URL -> why

    async def start(self, stack: AsyncExitStack) -> None:
        if self.config.render == "off":
            self.missing["rendered"] = "rendering is off (render: off)"
            log.info("rendering is off (render: off)")
            if self.config.lighthouse_pages <= 0:
                self.missing["lighthouse"] = "Lighthouse is off (lighthouse_pages: 0)"
                log.info("Lighthouse is off (lighthouse_pages: 0)")
                return
        from shophealth.crawler.browser import BrowserPool, find_browser

        try:
            self.executable = await asyncio.to_thread(find_browser, self.config.browser_path)
        except NotConfigured as exc:
            self.missing["rendered"] = f"not configured: {exc}"
            self.missing["lighthouse"] = f"not configured: {exc}"
            log.warning("rendering and Lighthouse skipped: %s", exc)
            return
        await self._arm_guard()
        if self.config.render == "off":
            return
        profile = await new_profile(self.trust)
        stack.callback(profile.remove)
        pool = BrowserPool(
            self.executable,
            size=POOL_SIZE,
            screenshot_dir=self.config.artifacts_dir,
            profile=dataclasses.replace(profile, host_rules=self.host_rules),
            shop_headers=self.shop_headers,
            url_guard=self.url_guard,
        )
        try:
            self.pool = await stack.enter_async_context(pool)
        except Exception as exc:  # a browser that will not start must not end the scan
            self.missing["rendered"] = f"browser failed to start: {exc}"
            log.warning("rendering skipped: the browser failed to start: %s", exc, exc_info=True)

    async def _arm_guard(self) -> None:
        """Guard the browsers' requests when the address guard is on (a public shop)."""
        if self.guard is None:
            return
        self.resolver = GuardedResolver(self.guard, self.config.dns_timeout, self.config.dns_servers)
        await self.resolver.decide_guard()
        if not self.guard.allow_private:
            self.url_guard = self._refusal
            self.host_rules = await self.resolver.host_rule()

    async def _refusal(self, url: str) -> str | None:
        """Why the browser may not ask ``url``, or None; refusals are counted and logged."""
        assert self.resolver is not None
        refusal = await self.resolver.url_refusal(url)
        if refusal is not None:
            self.requests_refused += 1
            if url not in self.refused and len(self.refused) < MAX_REFUSED:
                self.refused[url[:MAX_URL]] = refusal
                log.warning("browser request to %s refused: %s", url[:200], refusal)
        return refusal

    async def aclose(self) -> None:
        """Close the browser phase's resolver (after Lighthouse)."""
        if self.resolver is not None:
            await self.resolver.close()
            self.resolver = None

    @property
    def shop_headers(self) -> ShopHeaders | None:
        return ShopHeaders.for_site(self.home, self.config.shop_headers())

    @property
    def trust(self) -> BrowserTrust:
        return BrowserTrust.for_scan(self.config.ca_bundle, self.certificate_error)

    def stop(self, reason: str) -> None:
        """Render and run nothing more; keep what was rendered."""
        log.info("rendering and Lighthouse stopped: %s", reason)
        self.missing.setdefault("lighthouse", reason)
        if self.pool is not None and not self.rendered:
            self.missing.setdefault("rendered", reason)
        self.pool = None

    async def render(self, url: str) -> RenderedPage:
        assert self.pool is not None
        if url not in self.rendered:
            self.rendered[url] = await self.pool.render(url)
        return self.rendered[url]

    @property
    def link_render_limit(self) -> int | None:
        """How many pages the crawl may render for their links (None: all, with render: all)."""
        if self.config.render == "all":
            return None
        return LINK_RENDERS_PER_SAMPLE_PAGE * self.config.render_pages

    async def render_for_links(self, url: str) -> RenderedPage:
        """``url`` rendered for the links its scripts build, within :attr:`link_render_limit`;
        past it, a page with no links that is not kept (on a shop of 500 pages with few
        links each, every page asked to be rendered)."""
        limit = self.link_render_limit
        if url not in self.rendered and limit is not None and self.link_renders >= limit:
            self.link_renders_skipped += 1
            return RenderedPage(url, 0, 0, 0, error=f"not rendered: link render limit of {limit} reached")
        self.link_renders += url not in self.rendered
        return await self.render(url)

    @property
    def renderer(self) -> Renderer | None:
        return self.render_for_links if self.pool is not None else None

    def stats(self) -> dict[str, int | None]:
        """The browser phase's figures for the report's ``stats``."""
        return {
            "rendered": len(self.rendered),
            "render_limit": len(self.rendered) if self.config.render == "all" else self.config.render_pages,
            "link_renders": self.link_renders,
            "link_render_limit": self.link_render_limit,
            "link_renders_skipped": self.link_renders_skipped,
            "overflow_suspects": self.overflow_suspects,
            "overflow_suspects_rendered": self.suspects_rendered,
            "overflow_suspect_limit": self.suspect_limit,
            "browser_requests_refused": self.requests_refused,
        }

    @property
    def suspect_limit(self) -> int | None:
        """How many overflow suspects are rendered beyond the sample (None: all, with render: all)."""
        return None if self.config.render == "all" else SUSPECTS_PER_SAMPLE_PAGE * self.config.render_pages

    @staticmethod
    def no_stats() -> dict[str, int | None]:
        """:meth:`stats` of a shop where nothing was rendered (never scanned): every field, 0."""
        return dict.fromkeys(BrowserPhase(ScanConfig()).stats(), 0)

    def _announce(self, phase: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(phase, done, total)

    async def render_sample(self, pages: Sequence[Page]) -> tuple[RenderedPage, ...]:
        if self.pool is None:  # rendering is off, failed, or was stopped
            return tuple(self.rendered.values())
        urls = await self._to_render(pages)
        done = 0
        self._announce("rendering", done, len(urls))

        async def render_one(url: str) -> None:
            nonlocal done
            await self.render(url)
            done += 1
            self._announce("rendering", done, len(urls))

        await asyncio.gather(*(render_one(url) for url in urls))
        return tuple(self.rendered.values())

    async def _to_render(self, pages: Sequence[Page]) -> list[str]:
        """The sample, then the overflow suspects outside it (up to :attr:`suspect_limit`)."""
        from shophealth.crawler.sampling import choose_render_sample
        from shophealth.crawler.triage import overflow_suspects

        if self.config.render == "all":
            return [url for url in choose_render_sample(pages, len(pages)) if url not in self.rendered]
        sample = choose_render_sample(pages, self.config.render_pages)
        suspects = await asyncio.to_thread(overflow_suspects, pages)
        self.overflow_suspects = len(suspects)
        chosen = set(sample)
        extra = [s.url for s in suspects if s.url not in chosen and s.url not in self.rendered]
        extra = extra[: self.suspect_limit or 0]
        self.suspects_rendered = len(extra)
        return [url for url in sample if url not in self.rendered] + extra

    async def lighthouse(self, pages: Sequence[Page]) -> tuple[LighthouseResult, ...]:
        if "lighthouse" in self.missing:
            return ()
        if self.config.lighthouse_pages <= 0:
            self.missing["lighthouse"] = "Lighthouse is off (lighthouse_pages: 0)"
            return ()
        try:
            from shophealth.crawler.lighthouse import find_lighthouse, run_lighthouse
            from shophealth.crawler.sampling import choose_lighthouse_sample
        except ImportError as exc:
            self.missing["lighthouse"] = f"not configured: {exc}"
            log.warning("Lighthouse skipped: %s", exc)
            return ()
        try:
            command = find_lighthouse()
        except NotConfigured as exc:
            self.missing["lighthouse"] = f"not configured: {exc}"
            log.warning("Lighthouse skipped: %s", exc)
            return ()
        assert self.executable is not None
        urls = choose_lighthouse_sample(pages)[: self.config.lighthouse_pages]
        results = []
        for done, url in enumerate(urls):
            self._announce("lighthouse", done, len(urls))
            results.append(
                await run_lighthouse(
                    url,
                    self.executable,
                    runs=self.config.lighthouse_runs,
                    timeout=self.config.lighthouse_timeout,
                    lighthouse=command,
                    trust=self.trust,
                    shop_headers=self.shop_headers,
                    url_guard=self.url_guard,
                    host_rules=self.host_rules,
                )
            )
        self._announce("lighthouse", len(urls), len(urls))
        return tuple(results)
