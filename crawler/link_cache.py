"""External-link answers kept across runs, so the nightly scan of many shops
does not ask the same payment, map and supplier URLs every night.

What asking an external target showed (:class:`LinkResult`: status, verdict
headers, the head of the body, redirects) is kept until it expires
(``ttl_s``, default three days) when it is final: the target answered below
400, or with a 4xx other than 401/403 (a wall, or a verdict that depends on
where the link was seen), 408 and 429. Rate limits, server errors (5xx,
999), timeouts and other transport errors, and targets not asked are never
kept: they say little about tomorrow. Only external links are looked up; a
shop's own pages are always asked. The verdict is made from the kept facts
the same way as from fresh ones (``checks/linkverdict.py``). The cache is
read before a scan and written after it (by the history store,
:meth:`shophealth.reports.store.Store.cached_links`), never during, so the
crawl does no database I/O.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shophealth.crawler.evidence import Hop, LinkResult

DEFAULT_TTL_S = 3 * 24 * 3600.0
NOT_FINAL = frozenset({401, 403, 408, 429})
Row = tuple[str, str, int | None, dict[str, Any]]  # url, outcome, status, the other facts


def cacheable(result: LinkResult) -> bool:
    """Whether what a target answered will hold for days."""
    if result.internal or result.not_asked is not None or result.error_kind is not None:
        return False
    if result.status is None or result.retries_exhausted:
        return False
    return result.status < 400 or (result.status < 500 and result.status not in NOT_FINAL)


def to_row(result: LinkResult) -> Row:
    facts = {
        "headers": dict(result.headers),
        "body_head_z": base64.b64encode(result.body_head_z).decode("ascii"),
        "final_url": result.final_url,
        "method": result.method,
        "redirects": [[hop.url, hop.status, hop.location] for hop in result.redirects],
    }
    outcome = "ok" if result.status is not None and result.status < 400 else "broken"
    return result.url, outcome, result.status, facts


def from_row(url: str, _outcome: str, status: int | None, facts: Mapping[str, Any]) -> LinkResult:
    return LinkResult(
        url=url,
        status=status,
        headers={str(k): str(v) for k, v in (facts.get("headers") or {}).items()},
        body_head_z=base64.b64decode(facts.get("body_head_z") or ""),
        final_url=facts.get("final_url"),
        method=str(facts.get("method") or "GET"),
        redirects=tuple(Hop(str(u), int(s), str(loc)) for u, s, loc in facts.get("redirects") or ()),
    )


@dataclass
class LinkCache:
    """Answers read from the store (``known``) and those found in this run (``fresh``)."""

    known: dict[str, LinkResult] = field(default_factory=dict)
    ttl_s: float = DEFAULT_TTL_S
    fresh: dict[str, LinkResult] = field(default_factory=dict)
    hits: int = 0

    @classmethod
    def from_rows(cls, rows: Iterable[Row], ttl_s: float) -> LinkCache:
        return cls({row[0]: from_row(*row) for row in rows}, ttl_s)

    def get(self, url: str) -> LinkResult | None:
        result = self.known.get(url)
        if result is not None:
            self.hits += 1
        return result

    def put(self, result: LinkResult) -> None:
        if cacheable(result):
            self.fresh[result.url] = result

    def fresh_rows(self) -> list[Row]:
        return [to_row(result) for result in self.fresh.values()]

    def expires_at(self) -> float:
        return time.time() + self.ttl_s
