"""Crawler traps: infinite URL spaces recognised by pattern and cut off.

A shop can offer endless distinct URLs that are the same few pages: a
calendar whose "next month" link never ends, a session id written into every
link, a query string that grows by one parameter per click, a relative link
that adds ``a/`` to the path at each step, faceted navigation with every
combination of filters. The page limit, depth limit and budget bound such a
crawl, but it then spends them on the trap and never reaches the rest of the
shop. :class:`TrapGuard` looks at each URL before it is crawled as a page and
refuses those that fall into one of these patterns:

``repeated path segments``
    a path segment that appears :data:`MAX_SEGMENT_REPEATS` times or more
    (``/a/a/a/``, ``/shop/en/shop/en/shop/en/``), or a path deeper than
    :data:`MAX_PATH_SEGMENTS`.
``session id in the URL``
    a ``jsessionid``/``phpsessid``/``sid``/``session``… parameter (or
    ``;jsessionid=`` path parameter): the URL without it is crawled once,
    every other session's copy is cut.
``ever-growing query string``
    a query longer than :data:`MAX_QUERY_CHARS`, with more than
    :data:`MAX_QUERY_PARAMS` parameters, or the same ``name=value`` twice.
``calendar``
    a date-like parameter (``month``, ``date``, ``year``, ``week``, ``day``,
    ``cal``…) or a ``/YYYY/MM/`` path: at most :data:`MAX_CALENDAR_PAGES`
    pages per path and parameter names.
``faceted navigation``
    at most :data:`MAX_QUERY_VARIANTS` query strings per path (filters,
    sorting and their combinations); pagination parameters (``page``,
    ``offset``…) are not counted, so a big category is crawled whole.

A cut URL is neither crawled nor verified; each pattern is kept once, with
the first page it was seen on, an example and a count, and the ``crawl.trap``
check reports it (``info``). Known limits: a trap whose URLs differ in the path
alone without repeats (``/p/1``, ``/p/2``… made up endlessly) is bounded only
by the page limit, depth and budget.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shophealth.crawler.evidence import CrawlCut

MAX_SEGMENT_REPEATS = 3
MAX_PATH_SEGMENTS = 20
MAX_QUERY_CHARS = 300
MAX_QUERY_PARAMS = 12
MAX_CALENDAR_PAGES = 24
MAX_QUERY_VARIANTS = 100
MAX_EXAMPLES = 3
SESSION_PARAMS = re.compile(
    r"^(?:jsessionid|phpsessid|sessionid|session_id|session|sessid|sid|cfid|cftoken|zenid|oscsid)$",
    re.IGNORECASE,
)
PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?]*", re.IGNORECASE)
DATE_PARAMS = re.compile(
    r"^(?:month|year|date|day|week|cal|calendar|ym|yyyymm|period|start_date|end_date)$", re.IGNORECASE
)
PAGINATION_PARAMS = re.compile(r"^(?:page|p|pg|paged|offset|start|limit|per_page)$", re.IGNORECASE)
DATE_PATH = re.compile(r"/(?:19|20)\d\d/(?:0?[1-9]|1[0-2])(?:/|$)")


@dataclass
class _Trap:
    reason: str
    page: str
    examples: list[str] = field(default_factory=list)
    count: int = 0

    def cut(self, url: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(url)


class TrapGuard:
    """Decides, URL by URL, whether a page URL is part of a crawler trap."""

    def __init__(self) -> None:
        self._traps: dict[tuple[str, str], _Trap] = {}
        self._without_session: set[str] = set()
        self._variants: defaultdict[str, set[str]] = defaultdict(set)
        self._calendar: defaultdict[str, set[str]] = defaultdict(set)

    def cuts(self, url: str, page: str) -> bool:
        """Whether ``url``, linked from ``page``, is cut off as a trap (and noted if so)."""
        found = self._trap(url)
        if found is None:
            return False
        reason, pattern = found
        trap = self._traps.get((reason, pattern))
        if trap is None:
            trap = self._traps[(reason, pattern)] = _Trap(reason, page)
        trap.cut(url)
        return True

    def found(self) -> tuple[CrawlCut, ...]:
        """Every trap cut off, as evidence."""
        return tuple(
            CrawlCut("trap", trap.reason, pattern, trap.page, tuple(trap.examples), trap.count)
            for (_, pattern), trap in self._traps.items()
        )

    def _trap(self, url: str) -> tuple[str, str] | None:
        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True)
        where = f"{parts.netloc}{PATH_SESSION.sub('', parts.path)}"
        return (
            _repeated_segments(parts.path, where)
            or self._session(url, parts.path, params, where)
            or _growing_query(parts.query, params, where)
            or self._calendar_page(parts.path, parts.query, params, where)
            or self._facet(params, where)
        )

    def _session(
        self, url: str, path: str, params: list[tuple[str, str]], where: str
    ) -> tuple[str, str] | None:
        session = [name for name, _ in params if SESSION_PARAMS.match(name)]
        if not session and not PATH_SESSION.search(path):
            return None
        kept = urlencode([(k, v) for k, v in params if not SESSION_PARAMS.match(k)])
        bare = urlunsplit(urlsplit(url)._replace(path=PATH_SESSION.sub("", path), query=kept))
        if bare not in self._without_session:
            self._without_session.add(bare)
            return None
        name = session[0] if session else "jsessionid"
        return "session id in the URL", f"{where}?{name}=…"

    def _calendar_page(
        self, path: str, query: str, params: list[tuple[str, str]], where: str
    ) -> tuple[str, str] | None:
        dated = [name for name, _ in params if DATE_PARAMS.match(name)]
        if not dated and not DATE_PATH.search(path):
            return None
        key = f"{where}?{'&'.join(sorted(dated))}" if dated else DATE_PATH.sub("/YYYY/MM/", where)
        pages = self._calendar[key]
        if len(pages) < MAX_CALENDAR_PAGES or f"{path}?{query}" in pages:
            pages.add(f"{path}?{query}")
            return None
        return "calendar", key if dated else key + "…"

    def _facet(self, params: list[tuple[str, str]], where: str) -> tuple[str, str] | None:
        query = urlencode([(k, v) for k, v in params if not PAGINATION_PARAMS.match(k)])
        if not query:
            return None  # pagination alone is no trap: a big category has many pages
        variants = self._variants[where]
        if len(variants) < MAX_QUERY_VARIANTS or query in variants:
            variants.add(query)
            return None
        return "faceted navigation", f"{where}?…"


def _repeated_segments(path: str, where: str) -> tuple[str, str] | None:
    segments = [s for s in path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        return "repeated path segments", f"{where.split('/', 1)[0]}/{'/'.join(segments[:3])}/…"
    counts = Counter(segments)
    repeated = next((s for s, n in counts.items() if n >= MAX_SEGMENT_REPEATS), None)
    if repeated is None:
        return None
    first = segments.index(repeated)
    return (
        "repeated path segments",
        f"{where.split('/', 1)[0]}/{'/'.join(segments[: first + 1])}/{repeated}/…",
    )


def _growing_query(query: str, params: list[tuple[str, str]], where: str) -> tuple[str, str] | None:
    repeated = len(set(params)) < len(params)  # the same name=value twice: a link that appends to itself
    if len(query) > MAX_QUERY_CHARS or len(params) > MAX_QUERY_PARAMS or repeated:
        return "ever-growing query string", f"{where}?…"
    return None
