"""Judging's per-page passes made in the worker process that parses the page.

The checks derive a few things from every page once (:mod:`shophealth.checks.dom`:
one pass over its visible text for every check's anchor words, one over its HTML
for the payment icons, share hints, error hints and where the head ends, and a
product or store page's structured data, read by extruct). They are a pure
function of the page's HTML and text, which the worker that fetched and parsed
the page holds decoded; in the coordinator, the crawl's busy side, they cost a
fifth of its time (HTML and text decompressed again, extruct after the crawl on
one core). So a worker makes them with the parse (:func:`maker`) and ships them
with the page (:class:`~shophealth.crawler.jobs.PageFetch` ``.artifacts``); the
coordinator installs them in the checks' memos (:func:`install`), where the
warm-up (:mod:`shophealth.crawler.warmup`) and judging find them made.

What a worker makes depends on the users check modules registered at import time
(and plugins may register), in order. The coordinator sends the check modules of
its registry, in the order it imported them, and the digest of its registrations
(:class:`ArtifactsSpec`); the worker imports the same modules and makes artifacts
only when its own digest matches; the coordinator installs them only while its
registrations are still the ones it sent. Otherwise, and for every page a worker
did not parse (in-process crawls, rendered pages, saved evidence, distributed
scans), the checks make the passes themselves, as before: what a check finds
never depends on where its passes were made.

Balance: the worker was ~70 % busy on the benchmark shop and the coordinator ~90 %;
all of the artifacts made in the worker made it the crawl's bottleneck. So a worker
makes the shared passes (and the checks' derivations) only while its event loop is
nearly idle (:class:`Lag`, under :data:`IDLE_S`), and otherwise the structured data
alone (and the HTML pass it needs), which judging would read after the crawl on one
core, importing extruct in the coordinator. The coordinator's warm-up makes the passes
of the rest. The structured data of pages crawled
in-process while the workers start is asked of a worker once one has time
(:meth:`Maker.structured_of`, through :class:`~shophealth.crawler.warmup.Warmup`).
Figures in ``bench/README.md``.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from shophealth.checks import dom
from shophealth.crawler.evidence import Page
from shophealth.crawler.fetch import FetchResult
from shophealth.crawler.jobs import fetched_page
from shophealth.crawler.parse import ParsedDocument

log = logging.getLogger(__name__)
LAG_SAMPLE_S = 0.005
# Under it, the worker makes the shared passes too; above, only what judging would do after
# the crawl (the structured data, and the HTML pass it needs): the coordinator's warm-up fills
# its own waits with the passes, and the worker's CPU is what the crawl waits for most. Gating
# the structured data too (leaving it to judging when the worker's loop ran 1 ms behind) gave
# the same wall time on the benchmark, 18 MB more peak RSS (extruct imported in both processes)
# and 0.4 CPU s more (quiet machine, 2026-11-29 18:08, bench/README.md). Gating on the worker's
# CPU share (0.75-0.85) misread the waits for a core that others held as idle time.
IDLE_S = 0.00025


@dataclass(frozen=True)
class ArtifactsSpec:
    """What a worker process needs to make the coordinator's artifacts: the check modules
    to import, in the coordinator's import order, and the digest of its registrations."""

    modules: tuple[str, ...]
    fingerprint: str

    @classmethod
    def of(cls, check_functions: Iterable[object]) -> ArtifactsSpec:
        """The spec of this process, whose checks run ``check_functions``."""
        wanted = {getattr(function, "__module__", None) for function in check_functions}
        modules = tuple(name for name in sys.modules if name in wanted)  # in the order imported
        return cls(modules, dom.shared_fingerprint())

    def install(self, page: Page, artifacts: dom.PageArtifacts) -> bool:
        """In the coordinator: memoise a worker's ``artifacts`` of ``page`` for the checks, if
        this process still registers what it did when it sent the spec; else False."""
        if page.facts is None or dom.shared_fingerprint() != self.fingerprint:
            return False
        dom.install_artifacts(page, artifacts)
        return True


def maker(spec: ArtifactsSpec) -> Maker | None:
    """In a worker: the maker of this process's artifacts, once the spec's modules are
    imported, if they register what the coordinator's did; else None (it makes none)."""
    try:
        for module in spec.modules:
            importlib.import_module(module)
    except Exception as exc:  # a plugin that fails here: the coordinator makes the passes
        log.warning("judging's passes left to the coordinator: importing checks failed: %s", exc)
        return None
    if dom.shared_fingerprint() != spec.fingerprint:
        log.info("judging's passes left to the coordinator: its checks register other words")
        return None
    return Maker()


class Lag:
    """How far behind this process's event loop runs: how long a callback queued now waited
    to run, sampled every :data:`LAG_SAMPLE_S` by :meth:`watch`. Unlike the CPU time used,
    it says "behind" also when the process waits for a core another process holds."""

    def __init__(self) -> None:
        self.seconds = 0.0

    async def watch(self) -> None:
        while True:
            queued = time.monotonic()
            await asyncio.sleep(0)
            self.seconds = time.monotonic() - queued
            await asyncio.sleep(LAG_SAMPLE_S)


class Maker:
    """A worker's maker of artifacts: of the pages it parses (called as a
    :data:`~shophealth.crawler.jobs.ArtifactMaker`),
    and the structured data of pages the coordinator parsed itself (:meth:`structured_of`)."""

    def __init__(self) -> None:
        self.lag = Lag()
        self._extruct_frozen = False

    def __call__(self, document: ParsedDocument, html: str, result: FetchResult) -> dom.PageArtifacts | None:
        page = fetched_page(result, 0, document)  # as the coordinator keeps it, for dom.derived
        made = dom.page_artifacts(page, html, passes=self.lag.seconds < IDLE_S)
        self._freeze_extruct()
        return made

    def _freeze_extruct(self) -> None:
        """Freeze extruct's modules out of garbage collections once the first product page imported
        them, as :func:`shophealth.tune_gc` did with what the worker imported before its first job."""
        if not self._extruct_frozen and "extruct.jsonld" in sys.modules:
            gc.freeze()
            self._extruct_frozen = True

    def structured_of(self, page: Page) -> dom.PageArtifacts | None:
        """The structured data (and PAGE_MARKUP's values) of ``page``, crawled by the coordinator
        while the workers started, if a check wants it: the coordinator's warm-up made its passes,
        but extruct, 0.23 s to import and ~0.4 ms a page, would run on its serial part."""
        made = dom.page_artifacts(page, page.html_bytes.decode("utf-8", "replace"), passes=False)
        self._freeze_extruct()
        return made
