"""What a scan borrows from outside the crawler: the history store's link
cache and checkpoints, the run id to continue, and per-host limits shared
with the other workers of a distributed scan. The crawler knows them
only through these small interfaces; :mod:`shophealth.reports.store`
implements them. A scan without hooks behaves as one with empty ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shophealth.crawler.evidence import LinkResult, Page
from shophealth.crawler.fetch import SharedLimits
from shophealth.crawler.link_cache import LinkCache


class SiteCheckpoint(Protocol):
    """Where one shop's crawl records what it has done, as it goes (batched by
    the implementation: these calls must be cheap and never block)."""

    def restored(self) -> tuple[Sequence[Page], Mapping[str, LinkResult]]:
        """The pages and link verdicts done before an interruption (empty when new)."""
        ...

    def page_done(self, page: Page) -> None: ...

    def link_judged(self, url: str, result: LinkResult) -> None: ...


class Checkpoints(Protocol):
    def for_site(self, site: str) -> SiteCheckpoint: ...

    def finished(self, site: str) -> Mapping[str, Any] | None:
        """The shop's report (its part of the JSON report) if it finished in the run
        being resumed: the scan reuses it instead of scanning the shop again."""
        ...


@dataclass
class RunHooks:
    run_id: str | None = None  # continue this run (``--resume``) instead of starting one
    link_cache: LinkCache | None = None
    checkpoints: Checkpoints | None = None
    shared_limits: SharedLimits | None = None  # external hosts' limits, shared through the broker
