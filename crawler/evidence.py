"""The evidence a scan gathers, as immutable records that checks read.

Gatherers in ``crawler/`` produce these records; checks in ``checks/`` judge
them and never fetch anything themselves (Lighthouse's artifacts, in Python).

Evidence kinds (the names a check lists in ``requires``):

``pages``
    every crawled page (:class:`Page`), with its references to links and
    resources (:class:`Ref`) and the facts parsed from its HTML once
    (:class:`PageFacts`).
``links``
    the verification result of every distinct link or resource target
    (:class:`LinkResult`), one per URL however many pages carry it.
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

HTML bodies and visible text are kept compressed so a 2,000-page shop stays
small in memory; :attr:`Page.html` and :attr:`PageFacts.text` decompress on
demand. HTML, read by few checks, is kept small: Zstandard level 1 (on a
60 KB benchmark page 0.15 ms to compress, 0.05 ms to decompress, 16.5 KB;
zlib level 1 took 0.39/0.14 ms for 18 KB). Visible text, read by checks on
every page, is kept fast: LZ4 (0.06/0.01 ms for 38 KB of text, 16.8 KB;
Zstandard 0.12/0.04 ms, 11.3 KB). On the 2,000-page benchmark that is 33 MB
of HTML and 34 MB of text instead of 118 MB and 69 MB. Measured on the
benchmark's 60 KB product pages: zstd compresses in 0.16 ms and decompresses in
0.05 ms to 17 KB, zlib level 1 took 0.39 ms and 0.14 ms for 18 KB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import lz4.block
import zstandard

LinkOutcome = Literal["ok", "broken", "unverifiable"]
_COMPRESSOR = zstandard.ZstdCompressor(level=1)
_DECOMPRESSOR = zstandard.ZstdDecompressor()


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


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class PageFacts:
    """Facts parsed from a page's HTML once, shared by every check."""

    title: str | None
    meta_description: str | None
    viewport: str | None  # content of <meta name=viewport>, None when absent
    lang: str | None
    h1: tuple[str, ...]
    text_z: bytes  # visible text (scripts and styles removed, whitespace folded), UTF-8, LZ4
    og_type: str | None = None
    og_image: str | None = None
    json_ld_types: tuple[str, ...] = ()
    hreflangs: tuple[tuple[str, str], ...] = ()  # (lang, absolute URL)
    canonical: str | None = None
    meta_charset: str | None = None
    refs_cut: bool = False  # the page had more links and resources than are kept (parse.MAX_REFS)

    @property
    def text(self) -> str:
        """The page's visible text: scripts and styles removed, whitespace folded."""
        return self.text_bytes.decode("utf-8", "surrogatepass")

    @property
    def text_bytes(self) -> bytes:
        """The visible text as UTF-8 bytes, for searches that need no ``str``."""
        return decompress_fast(self.text_z)


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
    truncated: bool = False  # the body hit the byte limit
    body_z: bytes = b""  # the decoded HTML as UTF-8, Zstandard-compressed
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


def compress(text: str) -> bytes:
    """``text`` as UTF-8, Zstandard level 1: for what is kept and rarely read (the HTML)."""
    compressed = _COMPRESSOR.compress(text.encode("utf-8", "surrogatepass"))
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
    """The verdict on one distinct link or resource target."""

    url: str
    outcome: LinkOutcome
    status: int | None = None
    error: str | None = None  # transport error (timeout, DNS, TLS, connect)
    reason: str | None = None  # why unverifiable
    redirects: tuple[Hop, ...] = ()
    final_url: str | None = None
    content_type: str = ""
    method: str = "GET"
    internal: bool = False
    seen: tuple[Sighting, ...] = ()  # the first few places it was seen
    count: int = 0  # how many (page, element) places carry it
    body_is_markup: bool = False  # a GET body that starts like HTML, so not an image or file


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
