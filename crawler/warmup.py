"""Judging's per-page work done during the crawl, in the time the crawl waits.

The checks derive a few things from every page once, memoised while the page
lives (:mod:`shophealth.checks.dom`: one pass over the page's visible text for
every check's anchor words, one over its HTML for the payment icons and share
hints). Made after the crawl, they are a third of judging a 2,000-page shop,
on one core while the crawl's worker processes have ended. :class:`Warmup`
makes them as pages arrive instead, in a task of the crawl's event loop: one
page at a time, giving way to the crawl's own work between pages, so it fills
the time the coordinator waits on the network and on its workers. Pages it
has not reached when the crawl ends are simply made at judging, as before:
what a check finds never depends on it. A page a worker process parsed may come
with its passes made there (:mod:`shophealth.crawler.artifacts`): they are
installed as it arrives, and the page is not warmed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from shophealth.checks.dom import PageArtifacts
from shophealth.crawler.evidence import Page
from shophealth.crawler.jobs import PageFetch

log = logging.getLogger(__name__)


class Warmup:
    """Runs ``warm`` on each page given to :meth:`add`, in the background, until :meth:`aclose`."""

    def __init__(
        self, warm: Callable[[Page], None], install: Callable[[Page, PageArtifacts], bool] | None = None
    ) -> None:
        self._warm = warm
        self._install = install  # memoises a worker's artifacts of a page; False: they don't fit
        self._pages: asyncio.Queue[Page] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.warmed = 0
        self.installed = 0  # pages whose passes a worker made

    def add(self, page: Page, fetched: PageFetch | None = None) -> None:
        if page.facts is None:
            return
        artifacts = fetched.artifacts if fetched is not None else None
        if artifacts is not None and self._install is not None and self._install(page, artifacts):
            self.installed += artifacts.warm
            if artifacts.warm:  # else the worker was busy and made only the structured data
                return
        self._pages.put_nowait(page)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            page = await self._pages.get()
            try:
                self._warm(page)
            except Exception:  # judging will meet it again, and report it there
                log.debug("warming %s failed", page.url, exc_info=True)
            self.warmed += 1
            await asyncio.sleep(0)  # the crawl's ready work goes first

    async def aclose(self) -> None:
        """Stop; pages not reached are left to judging."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
