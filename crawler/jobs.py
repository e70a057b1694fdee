"""The per-URL work of a crawl: fetch and parse a page, or verify a link.

This is the part of a crawl that costs CPU (HTTP, decoding, parsing,
compressing), kept free of crawl state so that it runs the same in the
coordinating process (:class:`LocalJobs`) or in worker processes
(:class:`shophealth.crawler.workers.WorkerPool`). Both give the coordinator the same
records: a :class:`PageFetch` for a page, a :class:`LinkFetch` for a link.

Bodies are cut to :data:`~shophealth.crawler.evidence.BODY_HEAD` bytes before
they leave a job: the coordinator keeps only their start, as link evidence; a
page's HTML travels parsed and compressed in its :class:`ParsedDocument`.
:func:`fetched_page` makes the evidence record of a fetch, the same wherever it ran.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shophealth.crawler.evidence import (
    BODY_HEAD,
    EMPTY,
    Blob,
    ErrorKind,
    Interner,
    Page,
    Ref,
    Spool,
    starts_like_markup,
)
from shophealth.crawler.fetch import REDIRECT_CODES, Fetcher, FetchResult
from shophealth.crawler.parse import ParsedDocument, parse_document_and_html

if TYPE_CHECKING:
    from shophealth.checks.dom import PageArtifacts

# What judging's shared passes make of a parsed page where it was parsed (crawler.artifacts), or None
ArtifactMaker = Callable[[ParsedDocument, str, FetchResult], "PageArtifacts | None"]

LINK_MAX_BYTES = 65_536  # a GET after a failed HEAD reads at most this much
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Failures of the host or the redirect chain, which a GET meets as well as a HEAD.
HOST_FAILURES = frozenset(
    {
        ErrorKind.DNS,
        ErrorKind.CONNECT,
        ErrorKind.TLS,
        ErrorKind.TIMEOUT,
        ErrorKind.REDIRECT_LOOP,
        ErrorKind.TOO_MANY_REDIRECTS,
        ErrorKind.BAD_REDIRECT,
    }
)


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class PageFetch:
    """A page as fetched: the answer (body cut short) and, for HTML of the shop, its parse."""

    result: FetchResult
    document: ParsedDocument | None = None
    artifacts: PageArtifacts | None = None  # judging's passes of the document, made with it


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class LinkFetch:
    """A link target as verified: the last answer (body cut short) and the method that gave it."""

    result: FetchResult
    method: str


@dataclass(frozen=True)
class Fetched:
    """A page job's requests are over (``seconds`` on the clock of the process that made
    them); its parse follows. A worker process says so before it parses."""

    seconds: float


class JobError(RuntimeError):
    """A job failed where it ran (a worker process); the message names the original error."""


class Jobs(Protocol):
    """Where a crawl's per-URL work runs."""

    async def page(self, url: str, parsed: Container[str] = ()) -> PageFetch: ...

    async def link(self, url: str) -> LinkFetch: ...

    def expect(self, pages: int) -> None:
        """Told how many pages the crawl knows of, each time that grows."""


class LocalJobs:
    """Runs the jobs in this process, on the crawl's own fetcher."""

    def __init__(self, fetcher: Fetcher, is_internal: Callable[[str], bool]) -> None:
        self.fetcher = fetcher
        self.is_internal = is_internal

    async def page(self, url: str, parsed: Container[str] = ()) -> PageFetch:
        return await fetch_page(self.fetcher, self.is_internal, url, parsed)

    async def link(self, url: str) -> LinkFetch:
        return await verify_link(self.fetcher, url)

    def expect(self, pages: int) -> None:
        pass


async def fetch_page(
    fetcher: Fetcher,
    is_internal: Callable[[str], bool],
    url: str,
    parsed: Container[str] = (),
    on_fetched: Callable[[], None] | None = None,
    make_artifacts: ArtifactMaker | None = None,
) -> PageFetch:
    """Fetch ``url``; parse the answer when it is HTML of the shop whose final URL
    is not in ``parsed`` (a redirect to a page already parsed), and make what
    ``make_artifacts`` makes of the parse. ``on_fetched`` is called once the
    requests are over, before the parse."""
    result = await fetcher.fetch(url)
    if on_fetched is not None:
        on_fetched()
    final = result.final_url
    worth_parsing = (
        looks_like_html(result)
        and result.status not in REDIRECT_CODES
        and is_internal(final)
        and final not in parsed
    )
    if not worth_parsing:
        return PageFetch(_cut(result))
    document, html = parse_document_and_html(result.body, result.content_type or None, final)
    artifacts = make_artifacts(document, html, result) if make_artifacts is not None else None
    return PageFetch(_cut(result), document, artifacts)


async def verify_link(fetcher: Fetcher, url: str) -> LinkFetch:
    """HEAD ``url``; ask again with a byte-capped GET when the HEAD answer can't be trusted."""
    result = await fetcher.fetch(url, method="HEAD")
    if not needs_get(result):
        return LinkFetch(result, "HEAD")
    result = await fetcher.fetch(url, max_bytes=LINK_MAX_BYTES)
    return LinkFetch(_cut(result), "GET")


def _cut(result: FetchResult) -> FetchResult:
    if len(result.body) <= BODY_HEAD:
        return result
    return dataclasses.replace(result, body=result.body[:BODY_HEAD])


def needs_get(head: FetchResult) -> bool:
    """Many servers answer HEAD wrongly: ask again with a byte-capped GET."""
    if head.error_kind is not None:  # a GET cannot help where the host itself failed
        return head.error_kind not in HOST_FAILURES
    if head.status is not None and head.status >= 400:
        return True
    ctype = head.content_type.split(";")[0].strip().lower()
    return ctype in ("", "application/octet-stream")


def looks_like_html(result: FetchResult) -> bool:
    ctype = result.content_type.split(";")[0].strip().lower()
    if ctype:
        return ctype in HTML_TYPES
    return starts_like_markup(result.body)


def fetched_page(
    result: FetchResult,
    depth: int,
    document: ParsedDocument | None = None,
    refs: tuple[Ref, ...] | None = None,
    interner: Interner | None = None,
    spool: Spool | None = None,
) -> Page:
    """The evidence record of a fetch, with its parsed document when it was HTML
    (and ``refs`` in place of the document's own, when given), its references
    and headers shared with other pages' through ``interner``, its HTML and text
    kept in ``spool`` (else in memory)."""
    if refs is None:
        refs = document.refs if document is not None else ()
    keep = spool.put if spool is not None else Blob
    facts = document.facts if document is not None else None
    if facts is not None and spool is not None:
        facts = dataclasses.replace(facts, text_blob=spool.put(facts.text_z))
    return Page(
        url=result.url,
        final_url=result.final_url,
        status=result.status,
        depth=depth,
        headers=interner.headers(result.headers) if interner is not None else result.headers,
        redirects=result.hops,
        elapsed_ms=result.elapsed_ms,
        content_type=result.content_type,
        error=result.error,
        error_kind=result.error_kind,
        truncated=result.truncated,
        charset=document.charset if document is not None else None,
        body_blob=keep(document.body_z) if document is not None else EMPTY,
        facts=facts,
        refs=interner.refs(refs) if interner is not None else refs,
    )
