"""The evidence a scan gathers, as immutable records that checks read.

Gatherers in ``crawler/`` produce these records; checks in ``checks/`` judge
them and never fetch anything themselves (Lighthouse's artifacts, in Python).

Evidence kinds (the names a check lists in ``requires``):

``pages``
    every crawled page (:class:`Page`), with its references to links and
    resources (:class:`Ref`) and the facts parsed from its HTML once
    (:class:`PageFacts`).
``links``
    what asking every distinct link or resource target showed
    (:class:`LinkResult`), one per URL however many pages carry it: the
    status, the headers a verdict needs, the start of the body, the
    transport error as an :class:`ErrorKind`, or why it was not asked.
    Facts only: whether that makes a link ok, broken or unverifiable is
    decided by the checks (``shophealth.checks.linkverdict``).
``probe``
    the answer to a URL that cannot exist on the shop, which shows what its
    not-found page looks like (:class:`Page`, or absent when it failed).
``tls``
    TLS facts per host (:class:`TlsFacts`).
``plain_http``
    the shop's home asked over http://, after redirects (:class:`Page`, or
    absent when nothing answered on the plain-HTTP port).
``rendered``
    pages rendered in the browser at a phone viewport (:class:`RenderedPage`).
``lighthouse``
    Lighthouse results for sampled pages (:class:`LighthouseResult`).

HTML bodies and visible text are kept compressed, and during a crawl on disk:
each is a :class:`Blob`, which a crawl (and the saved-evidence loader) puts in a
:class:`Spool`, an append-only temporary file of the scan, so that memory does
not grow with a shop's pages (a page keeps two small handles); :attr:`Page.html`
and :attr:`PageFacts.text` read and decompress on demand. HTML, read by few
checks, is kept small: Zstandard level 1. Visible text, read by checks on every
page, is kept fast: LZ4. The start of a link target's body is Zstandard too.
The figures behind these choices are in ``bench/README.md``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import lz4.block
import zstandard

VERDICT_HEADERS = ("cf-mitigated", "server", "retry-after", "content-type", "location")
BODY_HEAD = 4096  # bytes of a link target's body kept
MARKUP_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?php")
_COMPRESSOR = zstandard.ZstdCompressor(level=1)
_DECOMPRESSOR = zstandard.ZstdDecompressor()
log = logging.getLogger(__name__)


class ErrorKind(StrEnum):
    """Why a request got no usable answer, as a kind a check can match on.

    The message that goes with it (``error``) is for people; the kind is for code."""

    DNS = "dns"  # the host name does not resolve
    DNS_TIMEOUT = "dns-timeout"  # the name lookup did not answer in time (crawler.resolver)
    REFUSED = "refused"  # a public shop led to a private or local address (crawler.resolver)
    CONNECT = "connect"  # refused, reset or unreachable
    TLS = "tls"  # the handshake failed or the certificate is not trusted
    TIMEOUT = "timeout"  # no answer, or not all of it, in time
    PROTOCOL = "protocol"  # the answer is not HTTP, or malformed
    TOO_LARGE = "too-large"  # a status line or header longer than HTTP clients accept
    INVALID_URL = "invalid-url"  # the href cannot be asked (bad syntax, not http or https)
    REDIRECT_LOOP = "redirect-loop"
    TOO_MANY_REDIRECTS = "too-many-redirects"
    BAD_REDIRECT = "bad-redirect"  # a Location that is not an http(s) URL
    INTERNAL = "internal"  # a bug in shophealth met on this URL; its traceback is in the log


def starts_like_markup(body: bytes) -> bool:
    """Whether a body starts like an HTML (or PHP source) document."""
    return body[:512].lstrip().lower().startswith(MARKUP_STARTS)


class Blob:
    """Bytes a record keeps (compressed HTML or text), held in memory.

    Equal and hashed by content; pickled as its bytes (a worker's page, a
    checkpoint), so a spooled one arrives elsewhere as a plain one."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes = b"") -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data

    @property
    def size(self) -> int:
        return len(self._data)

    def __bool__(self) -> bool:
        return self.size > 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and (self is other or self.read() == other.read())

    def __hash__(self) -> int:
        return hash(self.read())

    def __reduce__(self) -> tuple[Any, ...]:
        return (Blob, (self.read(),))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.size} bytes)"


EMPTY = Blob()


class Spooled(Blob):
    """Bytes kept in a :class:`Spool` file: where they are, read back on demand."""

    __slots__ = ("_hash", "_offset", "_size", "_spool")

    def __init__(self, spool: Spool, offset: int, size: int) -> None:
        super().__init__()
        self._spool, self._offset, self._size = spool, offset, size
        self._hash: int | None = None

    def __hash__(self) -> int:
        # kept: blobs are checks' memo keys (read back and hashed once, not on every lookup)
        if self._hash is None:
            self._hash = hash(self.read())
        return self._hash

    def read(self) -> bytes:
        return self._spool.read(self._offset, self._size)

    @property
    def size(self) -> int:
        return self._size


class Spool:
    """An append-only temporary file that keeps a scan's page bodies and texts off the heap.

    Unlinked as it is made (``tempfile.TemporaryFile``), so nothing is left on
    disk whatever happens; the file is closed once no :class:`Spooled` refers to
    it. Reads are ``pread``, served from the page cache, which is not the
    process's RSS. A write that fails (a full disk) keeps those bytes in memory
    instead, and the crawl goes on."""

    def __init__(self, directory: str | None = None) -> None:
        # closed when the last page referring to it is gone, not at the end of a block
        self._file = tempfile.TemporaryFile(prefix="shophealth-spool-", dir=directory)  # noqa: SIM115
        self._fd = self._file.fileno()
        self._end = 0
        self.failed: str | None = None  # why bytes stay in memory, after a write failed

    def put(self, data: bytes) -> Blob:
        if not data:
            return EMPTY
        if self.failed is None:
            try:
                return self._append(data)
            except OSError as exc:
                self.failed = exc.strerror or str(exc)
                log.warning("cannot write page bodies to a temporary file (%s): kept in memory", self.failed)
        return Blob(data)

    def _append(self, data: bytes) -> Spooled:
        offset = self._end
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self._end)
            self._end += written
            view = view[written:]
        return Spooled(self, offset, len(data))

    def read(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class Hop:
    """One redirect answer: the URL asked and the status it gave."""

    url: str
    status: int
    location: str


class Ref(NamedTuple):
    """One place a page points at a link or resource.

    A named tuple, not a dataclass: a page carries ~80 of them and building
    (or unpickling, when a worker process parsed the page) a tuple costs a
    third of what a frozen dataclass does."""

    url: str  # absolute, without fragment
    tag: str  # a, img, script, link, iframe, source, form, video, audio, embed
    attr: str  # href, src, srcset, action, poster
    text: str = ""  # anchor text or alt, trimmed
    rel: str = ""  # the link's rel attribute (stylesheet, icon, canonical, …)
    method: str = ""  # a form's method, lower case ("get", "post")
    invalid: str | None = None  # why the href is unusable (then ``url`` is the raw href)

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt by tuple.__new__ in C, not by the named tuple's Python __new__
        return (tuple.__new__, (Ref, tuple(self)))


class Interner:
    """Shares equal small records between the pages of one shop.

    The pages of a shop repeat the same navigation, footer and related-product
    links: on the benchmark's 2,000 pages, 160,022 :class:`Ref` s of which 12,129
    are distinct, and a page parsed in a worker process (or read from saved
    evidence) arrives with its own copies of them. One dict keeps the first of
    each, so equal references are one tuple (and their strings one string) for
    the whole shop; response headers share their names and short values."""

    SHORT = 64  # header values up to this long are shared (content types, servers)

    def __init__(self) -> None:
        self._refs: dict[Ref, Ref] = {}
        self._strings: dict[str, str] = {}

    def refs(self, refs: tuple[Ref, ...]) -> tuple[Ref, ...]:
        known = self._refs
        return tuple([known.get(ref) or self._first(ref) for ref in refs])

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        string = self.string
        return {sys.intern(k): string(v) if len(v) <= self.SHORT else v for k, v in headers.items()}

    def string(self, text: str) -> str:
        return self._strings.setdefault(text, text)

    def sightings(self, seen: tuple[Sighting, ...]) -> tuple[Sighting, ...]:
        string = self.string
        return tuple(
            Sighting(string(s.page), sys.intern(s.tag), sys.intern(s.attr), string(s.text), string(s.method))
            for s in seen
        )

    def _first(self, ref: Ref) -> Ref:
        string = self.string
        url, tag, attr, text, rel, method, invalid = ref
        shared = tuple.__new__(
            Ref,
            (
                string(url),
                sys.intern(tag),
                sys.intern(attr),
                string(text),
                string(rel),
                string(method),
                invalid,
            ),
        )
        self._refs[shared] = shared
        return shared


class CharsetMismatch(NamedTuple):
    """The page's bytes are not in the charset they were decoded with (set at parse time).

    ``used`` is the charset the page was read in (header, ``<meta>``, else UTF-8);
    ``likely`` the one its bytes are in (UTF-8 when they are valid UTF-8, else
    charset-normalizer's best guess, None when it has none); ``shown`` and
    ``intended`` a short piece of visible text as decoded and as it was meant."""

    used: str
    likely: str | None
    shown: str
    intended: str


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class PageFacts:
    """Facts parsed from a page's HTML once, shared by every check."""

    title: str | None
    meta_description: str | None
    viewport: str | None  # content of <meta name=viewport>, None when absent
    lang: str | None
    h1: tuple[str, ...]
    text_blob: Blob  # visible text (scripts and styles removed, whitespace folded), UTF-8, LZ4
    og_type: str | None = None
    og_image: str | None = None
    json_ld_types: tuple[str, ...] = ()
    hreflangs: tuple[tuple[str, str], ...] = ()  # (lang, absolute URL)
    canonical: str | None = None
    meta_charset: str | None = None
    body_class: str = ""  # the <body> class attribute: platforms name their page templates there
    microdata_types: tuple[str, ...] = ()  # schema.org types of the page's itemtype attributes
    charset_mismatch: CharsetMismatch | None = None  # None: the bytes decoded cleanly
    refs_cut: bool = False  # the page had more links and resources than are kept (parse.MAX_REFS)
    nesting_cut: bool = False  # the page nests elements deeper than is read (parse.MAX_DEPTH)

    @property
    def text(self) -> str:
        """The page's visible text: scripts and styles removed, whitespace folded."""
        return self.text_bytes.decode("utf-8", "surrogatepass")

    @property
    def text_bytes(self) -> bytes:
        """The visible text as UTF-8 bytes, for searches that need no ``str``."""
        return decompress_fast(self.text_z)

    @property
    def text_z(self) -> bytes:
        """The visible text as kept: UTF-8, LZ4."""
        return self.text_blob.read()


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched page: what was asked, what came back, and what it links to."""

    url: str  # the URL as requested
    final_url: str  # after redirects
    status: int | None  # None when no HTTP answer came
    depth: int
    headers: Mapping[str, str] = field(default_factory=dict)
    redirects: tuple[Hop, ...] = ()
    elapsed_ms: float = 0.0
    content_type: str = ""
    charset: str | None = None
    error: str | None = None  # transport error, or why the body was not parsed
    error_kind: ErrorKind | None = None  # the transport error's kind
    truncated: bool = False  # the body hit the byte limit
    body_blob: Blob = EMPTY  # the decoded HTML as UTF-8, Zstandard-compressed
    facts: PageFacts | None = None
    refs: tuple[Ref, ...] = ()

    def __repr__(self) -> str:
        return f"Page({self.url!r}, status={self.status}, refs={len(self.refs)})"

    @property
    def html(self) -> str:
        """The decoded HTML, or an empty string for non-HTML answers."""
        return self.html_bytes.decode("utf-8", "surrogatepass")

    @property
    def html_bytes(self) -> bytes:
        """The decoded HTML as UTF-8 bytes, for searches that need no ``str``."""
        return decompress(self.body_z)

    @property
    def body_z(self) -> bytes:
        """The decoded HTML as kept: UTF-8, Zstandard level 1 (empty for non-HTML answers)."""
        return self.body_blob.read()


def kept_as_crawled(page: Page, interner: Interner, spool: Spool) -> Page:
    """``page`` (read from saved evidence, or a checkpoint) kept as a crawl keeps its
    pages: equal references and header strings shared, its HTML and text in ``spool``."""
    facts = page.facts
    if facts is not None:
        facts = dataclasses.replace(facts, text_blob=spool.put(facts.text_z))
    return dataclasses.replace(
        page,
        url=interner.string(page.url),
        final_url=interner.string(page.final_url),
        refs=interner.refs(page.refs),
        headers=interner.headers(page.headers),
        body_blob=spool.put(page.body_z),
        facts=facts,
    )


def compress(text: str) -> bytes:
    """``text`` as UTF-8, Zstandard level 1: for what is kept and rarely read (the HTML)."""
    return compress_bytes(text.encode("utf-8", "surrogatepass"))


def compress_bytes(data: bytes) -> bytes:
    """``data``, Zstandard level 1."""
    compressed = _COMPRESSOR.compress(data)
    # zstandard returns its worst-case-sized output buffer (about the input's
    # size): kept as is, 2,000 pages cost 60 MB more RSS than a copy does.
    return bytes(memoryview(compressed))


def decompress(data: bytes) -> bytes:
    return _DECOMPRESSOR.decompress(data) if data else b""


def compress_fast(data: bytes) -> bytes:
    """``data`` LZ4-compressed: for what checks read on every page (the visible text)."""
    compressed: bytes = lz4.block.compress(data)
    return compressed


def decompress_fast(data: bytes) -> bytes:
    if not data:
        return b""
    text: bytes = lz4.block.decompress(data)
    return text


@dataclass(frozen=True, slots=True)
class Sighting:
    """Where a link target was seen: the page and the element."""

    page: str
    tag: str
    attr: str
    text: str = ""
    method: str = ""  # for a form: its method


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What asking one distinct link or resource target showed: facts, no verdict.

    ``not_asked`` says why the crawler did not ask (robots.txt, a social site,
    external links off, the scan ended); then there are no other facts."""

    url: str
    status: int | None = None  # the last answer's, None when no HTTP answer came
    error_kind: ErrorKind | None = None
    error: str | None = None  # the error's message, for people
    not_asked: str | None = None
    retries_exhausted: bool = False  # still 429/503 after every retry
    headers: Mapping[str, str] = field(default_factory=dict)  # the last answer's VERDICT_HEADERS
    body_head_z: bytes = b""  # the first BODY_HEAD bytes of a GET answer's body, Zstandard
    redirects: tuple[Hop, ...] = ()
    final_url: str | None = None
    method: str = "GET"
    internal: bool = False
    seen: tuple[Sighting, ...] = ()  # the first few places it was seen
    count: int = 0  # how many pages carry it (a page linking it twice counts once)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def body_head(self) -> bytes:
        """The first few KB of the body (empty for HEAD answers and errors)."""
        return decompress(self.body_head_z)


def day_of(iso: str | None) -> str:
    """The date of an ISO-8601 timestamp (``2026-11-29``), for messages."""
    return iso[:10] if iso else "an unknown date"


@dataclass(frozen=True, slots=True)
class TlsFacts:
    """What a host's TLS handshake showed."""

    host: str
    port: int
    valid: bool
    error: str | None = None  # plain-words reason when not valid
    error_kind: str | None = (
        None  # expired, not-yet-valid, hostname, self-signed, untrusted, incomplete-chain, handshake
    )
    issuer: str | None = None
    subject: str | None = None
    sans: tuple[str, ...] = ()
    not_before: str | None = None  # ISO-8601
    not_after: str | None = None  # ISO-8601
    days_left: float | None = None
    lifetime_days: float | None = None
    protocol: str | None = None
    chain_length: int = 0


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page rendered in the browser at a phone viewport."""

    url: str
    viewport_width: int
    scroll_width: int
    client_width: int
    overflowing: tuple[Mapping[str, Any], ...] = ()  # elements sticking out, with selector and right edge
    screenshot: str | None = None  # path of the PNG
    links: tuple[str, ...] = ()
    share_targets: tuple[Mapping[str, str], ...] = ()  # {"selector", "url"} captured on click
    error: str | None = None


@dataclass(frozen=True, slots=True)
class LighthouseResult:
    """Lighthouse category scores (0-100) for one page, median of the runs."""

    url: str
    scores: Mapping[str, float] = field(default_factory=dict)
    spread: Mapping[str, float] = field(default_factory=dict)
    runs: int = 0
    failing_audits: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    note: str | None = None  # how it was run, when not plainly (certificate errors ignored, a CA bundle)
    report_z: bytes = b""  # the median run's Lighthouse report (LHR) JSON, Zstandard

    @property
    def report(self) -> Mapping[str, Any] | None:
        """The median run's Lighthouse report, or None when there was none."""
        return json.loads(decompress(self.report_z)) if self.report_z else None


@dataclass(frozen=True, slots=True)
class CrawlCut:
    """Something the crawl cut off on purpose (a crawler trap), and where."""

    kind: str  # "trap"
    reason: str  # which pattern: "calendar", "session id in the URL", …
    pattern: str  # the URLs it stands for, e.g. "shop.example/events?month"
    page: str  # the first page that led into it
    examples: tuple[str, ...] = ()
    count: int = 0  # URLs cut


@dataclass(frozen=True)
class SiteEvidence:
    """Everything gathered about one shop; the single input of every check.

    ``missing`` maps an evidence kind that was not gathered to the reason,
    so a check that needs it is reported ``skipped`` with that reason.
    """

    site: str
    home: str
    pages: tuple[Page, ...] = ()
    links: Mapping[str, LinkResult] = field(default_factory=dict)
    probe: Page | None = None
    tls: tuple[TlsFacts, ...] = ()
    rendered: tuple[RenderedPage, ...] = ()
    lighthouse: tuple[LighthouseResult, ...] = ()
    missing: Mapping[str, str] = field(default_factory=dict)
    plain_http: Page | None = None  # the shop's home asked over http://, after redirects
    cuts: tuple[CrawlCut, ...] = ()  # crawler traps cut off (crawler.traps)

    def __repr__(self) -> str:
        # Short on purpose: Python 3.11's asyncio.run formats the repr of the main
        # task's result (through signal.getsignal), which for a whole shop cost
        # seconds and hundreds of MB.
        return f"SiteEvidence({self.site!r}, pages={len(self.pages)}, links={len(self.links)})"

    def html_pages(self) -> list[Page]:
        """Pages that answered with HTML that was parsed."""
        return [p for p in self.pages if p.facts is not None]
