"""External-link verdicts kept across runs, so the nightly scan of many shops
does not ask the same payment, map and supplier URLs every night.

A verdict is kept until it expires (``ttl_s``, default three days) when it is
final: the link answered (ok), or it answered a 4xx other than 408 and 429.
Rate limits (429), server errors (5xx), timeouts and other transport errors,
and unverifiable results are never kept: they say little about tomorrow.
Only external links are looked up here; a shop's own pages are always asked.
The cache is read before a scan and written after it (by the history store,
:meth:`shophealth.reports.store.Store.cached_links`), never during, so the
crawl does no database I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shophealth.crawler.evidence import Hop, LinkResult

DEFAULT_TTL_S = 3 * 24 * 3600.0
NOT_FINAL = frozenset({408, 429})


def cacheable(result: LinkResult) -> bool:
    """Whether a verdict says something that will hold for days."""
    if result.internal or result.status is None or result.error is not None:
        return False
    if result.outcome == "ok":
        return True
    return result.outcome == "broken" and 400 <= result.status < 500 and result.status not in NOT_FINAL


def to_row(result: LinkResult) -> tuple[str, str, int | None, dict[str, Any]]:
    detail = {
        "final_url": result.final_url,
        "content_type": result.content_type,
        "method": result.method,
        "body_is_markup": result.body_is_markup,
        "redirects": [[hop.url, hop.status, hop.location] for hop in result.redirects],
    }
    return result.url, result.outcome, result.status, detail


def from_row(url: str, outcome: str, status: int | None, detail: Mapping[str, Any]) -> LinkResult:
    return LinkResult(
        url=url,
        outcome="ok" if outcome == "ok" else "broken",
        status=status,
        final_url=detail.get("final_url"),
        content_type=str(detail.get("content_type") or ""),
        method=str(detail.get("method") or "GET"),
        body_is_markup=bool(detail.get("body_is_markup")),
        redirects=tuple(Hop(str(u), int(s), str(loc)) for u, s, loc in detail.get("redirects") or ()),
    )


@dataclass
class LinkCache:
    """Verdicts read from the store (``known``) and those found in this run (``fresh``)."""

    known: dict[str, LinkResult] = field(default_factory=dict)
    ttl_s: float = DEFAULT_TTL_S
    fresh: dict[str, LinkResult] = field(default_factory=dict)
    hits: int = 0

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, str, int | None, Mapping[str, Any]]], ttl_s: float
    ) -> LinkCache:
        return cls({row[0]: from_row(*row) for row in rows}, ttl_s)

    def get(self, url: str) -> LinkResult | None:
        result = self.known.get(url)
        if result is not None:
            self.hits += 1
        return result

    def put(self, result: LinkResult) -> None:
        if cacheable(result):
            self.fresh[result.url] = result

    def fresh_rows(self) -> list[tuple[str, str, int | None, dict[str, Any]]]:
        return [to_row(result) for result in self.fresh.values()]

    def expires_at(self) -> float:
        return time.time() + self.ttl_s
