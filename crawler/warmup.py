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
installed as it arrives, and the page is not warmed again. The structured data
of pages crawled here while the workers started is asked of a worker once one
answers, so that extruct runs there too; that of pages a worker sent without it (its
checks register other words) is read here, during the crawl, rather than by judging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shophealth.checks.dom import PageArtifacts, keep_structured_data, structured_wanted
from shophealth.crawler.evidence import Page
from shophealth.crawler.jobs import PageFetch

log = logging.getLogger(__name__)
ASK_WAIT_S = 1.0
ASK_BATCH = 2  # pages whose structured data is asked of a worker each time one had time for its own


class Warmup:
    """Runs ``warm`` on each page given to :meth:`add`, in the background, until :meth:`aclose`."""

    def __init__(
        self,
        warm: Callable[[Page], None],
        install: Callable[[Page, PageArtifacts], bool] | None = None,
        ask: Callable[[Page], Awaitable[PageArtifacts | None]] | None = None,
    ) -> None:
        self._warm = warm
        self._install = install  # memoises a worker's artifacts of a page; False: they don't fit
        self._ask = ask  # a worker's structured data of a page crawled in this process, or None
        self._pages: asyncio.Queue[tuple[Page, bool]] = asyncio.Queue()  # and: read its structured data
        self._task: asyncio.Task[None] | None = None
        self._unasked: list[Page] = []  # crawled here before a worker answered, their structured data wanted
        self._worker_answered = False
        self._asking: set[asyncio.Task[None]] = set()
        self.warmed = 0
        self.installed = 0  # pages whose passes a worker made
        self.asked = 0  # pages crawled here whose structured data a worker read

    def add(self, page: Page, fetched: PageFetch | None = None) -> None:
        if page.facts is None:
            return
        artifacts = fetched.artifacts if fetched is not None else None
        if artifacts is not None and self._install is not None and self._install(page, artifacts):
            self._worker_answered = True
            self._ask_workers()  # a worker had time for this page: it may read another's
            self.installed += artifacts.warm
            if artifacts.warm:
                return
        wanted = (artifacts is None or artifacts.structured is None) and structured_wanted(page)
        if wanted and not self._worker_answered and self._ask is not None:
            self._unasked.append(page)  # crawled here while the workers start
            wanted = False
        self._pages.put_nowait((page, wanted))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _ask_workers(self) -> None:
        for _ in range(min(ASK_BATCH, len(self._unasked))):
            page = self._unasked.pop()
            task = asyncio.get_running_loop().create_task(self._ask_one(page))
            self._asking.add(task)
            task.add_done_callback(self._asking.discard)

    async def _ask_one(self, page: Page) -> None:
        assert self._ask is not None and self._install is not None
        made = await self._ask(page)
        if made is not None and self._install(page, made):
            self.asked += 1

    async def _run(self) -> None:
        while True:
            page, read_structured = await self._pages.get()
            try:
                self._warm(page)
                if read_structured:  # no worker read it: read here rather than at judging
                    keep_structured_data(page)
            except Exception:  # judging will meet it again, and report it there
                log.debug("warming %s failed", page.url, exc_info=True)
            self.warmed += 1
            await asyncio.sleep(0)  # the crawl's ready work goes first

    async def aclose(self) -> None:
        """Stop; pages not reached are left to judging. Workers asked for pages' structured
        data (long answered, on a crawl that outlasted their start) get :data:`ASK_WAIT_S`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._asking:
            await asyncio.wait(self._asking, timeout=ASK_WAIT_S)
            for task in self._asking:
                task.cancel()
