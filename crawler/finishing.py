"""What ``shophealth scan`` does with each shop as soon as it is judged.

A multi-shop run (a nightly ``scan --sites FILE --store …`` of fifty shops)
must not hold every shop's evidence until the last one is done: pages,
link facts, Lighthouse reports and screenshots of one 500-page shop take
10-30 MB. So each shop, once judged, is finished at once, in the coordinator,
while its slot is still held (:func:`shophealth.crawler.scan.scan`'s
``finish``):

1. with ``--save-evidence DIR``, its evidence is written to ``DIR/site-NN``
   (the manifest, naming every shop written, is written at the end);
2. its part of the JSON report (SPEC §3) is built: findings, checks, stats,
   TLS, Lighthouse scores, pages, facts and scores;
3. with ``--store``, that part is stored in the run (status ``running``) and,
   unless Ctrl-C cut the shop short, checkpointed as finished, so that
   ``--resume`` reuses it instead of scanning the shop again
   (:mod:`shophealth.reports.store.checkpoint`);

and the run keeps only that report part (a :class:`ReportedSite`, packed:
15 KB for a 500-page shop); the evidence is dropped, and so are the memos of
URLs (:func:`forget_url_memos`). The final outputs (JSON, HTML, exit code,
the store's run, the diff and notifications) are built from those parts as
before, so they are the same as when every shop was kept to the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from shophealth.checks import base
from shophealth.crawler import pagekind, urls
from shophealth.crawler.evidence_store import EvidenceError, save_site_evidence, write_manifest
from shophealth.crawler.scan import ReportedSite, Run, SiteRun
from shophealth.reports.report import site_report

if TYPE_CHECKING:
    from shophealth.crawler.nightly import Nightly


@dataclass
class ShopFinisher:
    """Finishes each judged shop (see the module docstring); a :data:`SiteFinisher`."""

    evidence_folder: Path | None = None
    nightly: Nightly | None = None
    announce: Callable[[Mapping[str, Any]], None] | None = None  # told each shop's report part
    evidence_errors: list[str] = field(default_factory=list)  # said once the scan ends
    _saved: dict[int, dict[str, Any]] = field(default_factory=dict)  # manifest entries by position

    def __call__(self, position: int, site_run: SiteRun, cut_short: bool) -> ReportedSite:
        if self.evidence_folder is not None:
            self._save_evidence(position, site_run, self.evidence_folder)
        report = site_report(site_run)
        if self.announce is not None:
            self.announce(report)
        if self.nightly is not None:
            self.nightly.site_done(position, report, finished=not cut_short)
        forget_url_memos()
        return ReportedSite.of(site_run.site, report)

    def _save_evidence(self, position: int, site_run: SiteRun, folder: Path) -> None:
        try:
            self._saved[position] = save_site_evidence(site_run, folder, position)
        except EvidenceError as exc:
            self.evidence_errors.append(str(exc))

    def write_manifest(self, run: Run) -> None:
        """The evidence folder's manifest, naming the shops whose evidence was written
        (a shop reused by ``--resume`` has none in this run's folder)."""
        if self.evidence_folder is None:
            return
        try:
            write_manifest(run, [self._saved[p] for p in sorted(self._saved)], self.evidence_folder)
        except EvidenceError as exc:
            self.evidence_errors.append(str(exc))


# Modules whose functools caches are keyed by URL: URL normalisation and resolution,
# page kinds, finding fingerprints' canonical locations.
URL_MEMOS: tuple[ModuleType, ...] = (urls, pagekind, base)


def forget_url_memos() -> None:
    """Empty the caches keyed by URLs, which another shop rarely meets again: filled
    shop after shop, up to 65,536 entries each, they grew a 12-shop run (500 pages a
    shop) by 23 MB, a third of what the evidence had cost (a shop still being crawled
    computes again what it needs, at a cost of microseconds per URL)."""
    for module in URL_MEMOS:
        for function in vars(module).values():
            if callable(getattr(function, "cache_clear", None)) and function.__module__ == module.__name__:
                function.cache_clear()
