"""The phases of one shop's scan, each within what is left of its budget.

After the crawl, a scan gathers the not-found probe, the plain-HTTP answer,
the browser renders, Lighthouse and TLS. :class:`Phases` runs each one so
that it fails alone: an exception, the wall-clock budget running out or the
user's Ctrl-C ends that phase, marks its evidence kind missing with the
reason, and the scan goes on with what the others gathered. Once the budget
is spent or the stop event is set, the phases not begun are not started
(their kinds are marked missing with that reason), so a shop never runs
past its budget and Ctrl-C is honoured in every phase.

Progress: :class:`SiteProgress` is what a scan reports while it runs, the
crawl's counts (pages, queued, links judged) and the name of each phase as it
begins (``crawling``, ``probing``, ``rendering``, ``lighthouse``, …) with
``done``/``total`` when known, so a renderer or Lighthouse run can say
"rendering 3/8".

Stop codes (``stats.stopped_reason``, stable): ``budget``, ``page-limit``,
``interrupted``, ``unreachable``, ``unavailable``, ``refused``,
``disallowed``, ``not-started``, ``bad-input``, ``internal-error``; ``stats.stopped_detail``
says it in words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
CrawlProgress = Callable[[int, int, int], None]  # pages done, jobs queued, links judged
PhaseProgress = Callable[[str, int, "int | None"], None]  # phase name, done, total (None: unknown)

BUDGET = "budget"
INTERRUPTED = "interrupted"
INTERRUPTED_DETAIL = "interrupted (Ctrl-C): the report holds what was gathered until then"
PHASE_NAMES = {
    "home_tls": "checking the certificate",
    "probe": "probing the not-found page",
    "plain_http": "asking over plain HTTP",
    "rendered": "rendering",
    "lighthouse": "lighthouse",
    "tls": "inspecting certificates",
}


@dataclass(frozen=True)
class SiteProgress:
    """Callbacks a scan calls for one shop: the crawl's counts and each phase's start."""

    crawl: CrawlProgress
    phase: PhaseProgress


class Stopped(Exception):
    """The stop event was set while a phase ran."""


class Phases:
    """Runs one shop's phases within its budget, each failing alone."""

    def __init__(
        self,
        budget_s: float,
        stop: asyncio.Event | None = None,
        progress: SiteProgress | None = None,
    ) -> None:
        self.budget_s = budget_s
        self.deadline = asyncio.get_running_loop().time() + budget_s
        self.stop = stop
        self.progress = progress
        self.missing: dict[str, str] = {}
        self.stopped: str | None = None  # a stop code, once the budget or the user ended the scan
        self.stopped_detail: str | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - asyncio.get_running_loop().time())

    def announce(self, phase: str, done: int = 0, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress.phase(phase, done, total)

    def halted(self, during: str = "") -> bool:
        """Whether the scan must start nothing more (budget spent, or Ctrl-C)."""
        if self.stopped is None and self.stop is not None and self.stop.is_set():
            self._halt(INTERRUPTED, INTERRUPTED_DETAIL)
        if self.stopped is None and self.remaining() <= 0:
            where = f" during {during}" if during else ""
            self._halt(BUDGET, f"time budget of {self.budget_s:g} s ran out{where}")
        return self.stopped is not None

    def _halt(self, code: str, detail: str) -> None:
        self.stopped, self.stopped_detail = code, detail

    async def run(self, kind: str, work: Coroutine[Any, Any, T], default: T) -> T:
        """``work``'s result, or ``default`` with ``kind`` marked missing when it
        raised, ran out of budget, was interrupted or was not started."""
        name = PHASE_NAMES.get(kind, kind)
        if self.halted(during=name):
            work.close()
            self.missing.setdefault(kind, f"not gathered: {self.stopped_detail}")
            return default
        self.announce(name)
        try:
            async with asyncio.timeout(self.remaining()) as deadline:
                return await self._until_stopped(work)
        except Stopped:
            self.halted()
            self.missing[kind] = f"cut short: {self.stopped_detail}"
        except TimeoutError:
            if deadline.expired():
                self.halted(during=name)
                self.missing[kind] = f"cut short: {self.stopped_detail}"
            else:
                self.missing[kind] = "failed: timed out"
        except Exception as exc:  # one failing phase never loses the others' evidence
            self.missing[kind] = f"failed: {type(exc).__name__}: {exc}"[:300]
        return default

    async def _until_stopped(self, work: Coroutine[Any, Any, T]) -> T:
        if self.stop is None:
            return await work
        running = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not running.done():
                running.cancel()
            await asyncio.gather(running, stopping, return_exceptions=True)
        if running.cancelled():
            raise Stopped
        return running.result()
