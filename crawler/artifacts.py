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
all of the passes in the worker made it the crawl's bottleneck. So the structured
data (after the crawl, on the serial part, otherwise) is always read there, and the
two passes only while the worker has been less than :data:`BUSY` of a core busy
lately (:class:`Load`); the coordinator's warm-up makes the rest (``bench/README.md``).
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from shophealth.checks import dom
from shophealth.crawler.evidence import Blob, Page
from shophealth.crawler.fetch import FetchResult
from shophealth.crawler.parse import ParsedDocument

log = logging.getLogger(__name__)
LOAD_SAMPLE_S = 0.05
LOAD_WINDOW_S = 0.5
# A worker busier than this (CPU seconds per second) leaves the shared passes to the coordinator
BUSY = 0.85


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


class Load:
    """This process's CPU seconds per wall second lately: an exponential average over about
    :data:`LOAD_WINDOW_S`, brought up to date at most every :data:`LOAD_SAMPLE_S`."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.monotonic(), time.process_time()
        self.share = 0.0

    def now(self) -> float:
        wall, cpu = time.monotonic(), time.process_time()
        elapsed = wall - self._wall
        if elapsed >= LOAD_SAMPLE_S:
            weight = min(1.0, elapsed / LOAD_WINDOW_S)
            self.share += weight * ((cpu - self._cpu) / elapsed - self.share)
            self._wall, self._cpu = wall, cpu
        return self.share


class Maker:
    """A worker's maker of artifacts: of the pages it parses (called as a
    :data:`~shophealth.crawler.jobs.ArtifactMaker`),
    and the structured data of pages the coordinator parsed itself (:meth:`structured_of`)."""

    def __init__(self) -> None:
        self.load = Load()

    def __call__(self, document: ParsedDocument, html: str, result: FetchResult) -> dom.PageArtifacts | None:
        page = Page(  # as the coordinator will keep it, for the checks' derivations (dom.derived)
            url=result.url,
            final_url=result.final_url,
            status=result.status,
            depth=0,
            headers=result.headers,
            content_type=result.content_type,
            charset=document.charset,
            body_blob=Blob(document.body_z),
            facts=document.facts,
            refs=document.refs,
        )
        return dom.page_artifacts(page, html, passes=self.load.now() < BUSY)

    def structured_of(self, page: Page) -> dom.PageArtifacts | None:
        """The structured data (and PAGE_MARKUP's values) of ``page``, crawled by the coordinator
        while the workers started, if a check wants it: the coordinator's warm-up made its passes,
        but extruct, 0.23 s to import and ~0.4 ms a page, would run on its serial part."""
        return dom.page_artifacts(page, page.html_bytes.decode("utf-8", "replace"), passes=False)
