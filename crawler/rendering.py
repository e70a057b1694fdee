"""The browser phase of a scan: render a sample of pages at a phone viewport,
follow links that only exist once JavaScript has run, and run Lighthouse.

It switches itself off loudly (Scrapy's ``NotConfigured``): with rendering
off, no Chromium, or no Lighthouse, the evidence kind is marked missing with
the reason and the checks that need it report ``skipped``; the scan goes on.
Lighthouse runs one page at a time after the crawl, so it never competes
with the crawl or another Lighthouse for the two cores.

Playwright is imported, and the browser looked for, only when rendering or
Lighthouse is on: the import costs 0.1 s and asking Playwright where its own
Chromium is starts its driver (0.35 s), in a thread so the crawl goes on.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.evidence import LighthouseResult, Page, RenderedPage

if TYPE_CHECKING:
    from shophealth.crawler.browser import BrowserPool

Renderer = Callable[[str], Awaitable[RenderedPage]]
POOL_SIZE = 2
log = logging.getLogger(__name__)


@dataclass
class BrowserPhase:
    """The browser pool for one shop, and what it rendered."""

    config: ScanConfig
    executable: str | None = None
    pool: BrowserPool | None = None
    rendered: dict[str, RenderedPage] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    async def start(self, stack: AsyncExitStack) -> None:
        if self.config.render == "off":
            self.missing["rendered"] = "rendering is off (render: off)"
            log.info("rendering is off (render: off)")
            if self.config.lighthouse_pages <= 0:
                self.missing["lighthouse"] = "Lighthouse is off (lighthouse_pages: 0)"
                log.info("Lighthouse is off (lighthouse_pages: 0)")
                return
        from shophealth.crawler.browser import BrowserPool, NotConfigured, find_browser

        try:
            self.executable = await asyncio.to_thread(find_browser, self.config.browser_path)
        except NotConfigured as exc:
            self.missing["rendered"] = f"not configured: {exc}"
            self.missing["lighthouse"] = f"not configured: {exc}"
            log.warning("rendering and Lighthouse skipped: %s", exc)
            return
        if self.config.render == "off":
            return
        shots = self.config.artifacts_dir or tempfile.mkdtemp(prefix="shophealth-screens-")
        pool = BrowserPool(self.executable, size=POOL_SIZE, screenshot_dir=shots)
        try:
            self.pool = await stack.enter_async_context(pool)
        except Exception as exc:  # a browser that will not start must not end the scan
            self.missing["rendered"] = f"browser failed to start: {exc}"
            log.warning("rendering skipped: the browser failed to start: %s", exc, exc_info=True)

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
    def renderer(self) -> Renderer | None:
        return self.render if self.pool is not None else None

    async def render_sample(self, pages: Sequence[Page]) -> tuple[RenderedPage, ...]:
        if self.pool is None:  # rendering is off, failed, or was stopped
            return tuple(self.rendered.values())
        from shophealth.crawler.sampling import choose_render_sample

        limit = len(pages) if self.config.render == "all" else self.config.render_pages
        urls = choose_render_sample(pages, limit)
        await asyncio.gather(*(self.render(url) for url in urls if url not in self.rendered))
        return tuple(self.rendered.values())

    async def lighthouse(self, pages: Sequence[Page]) -> tuple[LighthouseResult, ...]:
        if "lighthouse" in self.missing:
            return ()
        if self.config.lighthouse_pages <= 0:
            self.missing["lighthouse"] = "Lighthouse is off (lighthouse_pages: 0)"
            return ()
        try:
            from shophealth.crawler.browser import NotConfigured
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
        for url in urls:
            results.append(
                await run_lighthouse(
                    url,
                    self.executable,
                    runs=self.config.lighthouse_runs,
                    timeout=self.config.lighthouse_timeout,
                    lighthouse=command,
                )
            )
        return tuple(results)
