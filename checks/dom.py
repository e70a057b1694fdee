"""Derived evidence for the content checks, computed on first use and memoised
(Lighthouse's computed artifacts), never on the crawl's hot path.

* :func:`soup`: the page as a BeautifulSoup tree (``beautifulsoup4`` with
  lxml's parser), the form most Python scraping code is written for. Built
  lazily, a handful kept (a tree costs ~10 times its HTML in memory).
* :func:`structured_data`: JSON-LD, microdata and Open Graph of a page, read by
  ``extruct`` (Scrapinghub's library made for exactly this), uniform form, from
  the page's head alone when that reads the same (:mod:`shophealth.checks.structured`).
* :func:`anchors`: every ``<a href>`` with its raw href (``mailto:``, ``tel:``
  and ``whatsapp:`` included, which :attr:`Page.refs` leaves out) and the
  words a reader or screen reader sees on it (text, ``aria-label``, ``title``,
  ``alt`` of an image inside, class and id).
* :func:`per_site`: memoise a function of the :class:`SiteEvidence` (the
  site-wide link set, the shop's own hosts), for as long as the evidence lives.
* :func:`shop_hosts` and :func:`same_site`: which hosts are the shop's own.
* :class:`NearWords`: a regular expression tried only around its anchor words.

Checks run one after another over all pages, so what several of them derive
from one page is derived once for all of them, in one pass per page, and only
a compact result is kept while the page lives (:class:`PerPage`, found by the
facts' identity), never a decompressed or lower-cased text:

* :data:`PAGE_ANCHORS` (:class:`PageAnchors`): the anchor words of every
  :class:`NearWords`, the payment check's method names, the errors checks'
  hints and the i18n placeholder screen's literals, one Aho-Corasick pass over
  the page's lower-cased visible text; 8 bytes a hit are kept, and each user
  makes its windows from its own hits when it reads the page (a user that
  finds none of its words in any case knows the text holds none in its case).
* :data:`PAGE_MARKUP` (:class:`MarkupWords`): the payment icons' and share
  hints' words, errors.php's markup hints and the words that tell whether a
  page's structured data can be read from its head alone
  (:mod:`shophealth.checks.structured`), one pass over the page's HTML,
  decompressed and decoded once; each user keeps what it read at its hits
  (icon values, a yes or no, where the head ends).
* :class:`CaselessWords` is the search both use: as if over ``text.lower()``,
  but a Latin-1 text is searched as ASCII-lowered bytes (the same hits).

The checks stay pure functions of the evidence: a memo only saves repeating
a computation whose result depends on the page alone. So a scan may make
both passes of a page ahead of judging (:func:`warm_page`), while its crawl
waits on the network (:mod:`shophealth.crawler.warmup`), or have the worker
process that parsed the page make them with its structured data
(:func:`page_artifacts`, :mod:`shophealth.crawler.artifacts`) and install them
(:func:`install_artifacts`): judging then finds them made. Checks say which
pages' structured data they read (:func:`wants_structured_data`) so that a
worker reads those.
Other caches are keyed by the page's URL and its body's :class:`Blob` (hashed
once, compared by identity first), never by the page object nor by the body's
bytes, which a key would keep in memory and a lookup would read back from the
spool and hash again.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import re
import weakref
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urljoin, urlsplit

import ahocorasick_rs
from selectolax.lexbor import LexborHTMLParser

from shophealth.checks import structured
from shophealth.crawler.evidence import (
    Blob,
    Page,
    PageFacts,
    SiteEvidence,
    compress_fast,
    decompress,
    decompress_fast,
)

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

T = TypeVar("T")
SITE_WIDE_SHARE = 0.5  # a link on at least half the pages is in the header or footer
SOUPS_KEPT = 16


@dataclass(frozen=True, slots=True)
class Anchor:
    """One ``<a href>`` of a page."""

    href: str  # as written, trimmed
    url: str | None  # absolute http(s) URL, or None (mailto:, tel:, javascript:, #)
    text: str  # visible text and image alt, whitespace folded
    label: str  # text plus aria-label, title, class and id: the words that say what it is


def soup(page: Page) -> BeautifulSoup:
    """The page's HTML as a BeautifulSoup tree (lxml parser), built on first use."""
    return _soup(page.final_url, page.body_blob)


@functools.lru_cache(maxsize=SOUPS_KEPT)
def _soup(url: str, body: Blob) -> BeautifulSoup:
    from bs4 import BeautifulSoup  # imported on first use: every scan starts without it

    return BeautifulSoup(decompress(body.read()), "lxml")


def structured_data(page: Page) -> dict[str, list[Any]]:
    """``{"json-ld": [...], "microdata": [...], "opengraph": [...]}`` of the page (extruct, uniform)."""
    if page.facts is not None and (shipped := _SHIPPED_STRUCTURED.get(page.facts)) is not None:
        data: dict[str, list[Any]] = pickle.loads(decompress_fast(shipped))
        return data
    return _structured(page.final_url, page.body_blob, PAGE_MARKUP.of(page)[HEAD_END])


def keep_structured_data(page: Page) -> None:
    """Read the page's :func:`structured_data` now and keep it (packed) while the page lives,
    for judging to find made (a scan's warm-up does it for pages no worker read it of)."""
    if page.facts is not None and _SHIPPED_STRUCTURED.get(page.facts) is None:
        _SHIPPED_STRUCTURED.put(page.facts, _packed(structured_data(page)))


def _packed(data: dict[str, list[Any]]) -> bytes:
    return compress_fast(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))


def wants_structured_data(predicate: Callable[[Page], bool]) -> Callable[[Page], bool]:
    """Register ``predicate``, the pages whose :func:`structured_data` a check reads, so that
    the worker process that parses such a page reads it there (:func:`page_artifacts`). A hint
    only: any other page's is read when a check asks, as before."""
    _STRUCTURED_WANTED.append(predicate)
    return predicate


def structured_wanted(page: Page) -> bool:
    """A check reads the page's :func:`structured_data` (:func:`wants_structured_data`)."""
    return any(wants(page) for wants in _STRUCTURED_WANTED)


_STRUCTURED_WANTED: list[Callable[[Page], bool]] = []


@functools.lru_cache(maxsize=256)
def _structured(url: str, body_blob: Blob, head_end: int | None) -> dict[str, list[Any]]:
    return structured.read(decompress(body_blob.read()).decode("utf-8", "replace"), url, head_end)


def anchors(page: Page) -> tuple[Anchor, ...]:
    """Every ``<a href>``/``<area href>`` of the page, in document order."""
    return _anchors(page.final_url, page.body_blob)


@functools.lru_cache(maxsize=512)
def _anchors(url: str, body: Blob) -> tuple[Anchor, ...]:
    html = decompress(body.read())
    if not html:
        return ()
    tree = LexborHTMLParser(html)
    found = []
    for node in tree.css("a[href], area[href]"):
        attrs = node.attributes
        href = (attrs.get("href") or "").strip()
        alts = " ".join((img.attributes.get("alt") or "") for img in node.css("img[alt]"))
        text = " ".join(f"{node.text(deep=True, separator=' ')} {alts}".split())
        extra = " ".join(attrs.get(name) or "" for name in ("aria-label", "title", "class", "id"))
        found.append(Anchor(href, _absolute(url, href), text[:200], f"{text} {extra}".strip()[:300]))
    return tuple(found)


def _absolute(base: str, href: str) -> str | None:
    if not href or href.startswith("#"):
        return None
    try:
        absolute = urljoin(base, href)
    except ValueError:
        return None
    return absolute if absolute.startswith(("http://", "https://")) else None


class CaselessWords:
    """Words (lower case) found in a text as if in ``text.lower()``: the hits of
    ``AhoCorasick(words).find_matches_as_indexes(text.lower(), overlapping=True)``, in that order.

    A text whose characters are all Latin-1 (an English page's, ``©`` included) is searched
    as bytes, lower-cased as ASCII (``bytes.lower``, 3 times faster than ``str.lower``): the
    words are ASCII or hold characters beyond Latin-1, so they match the same places in both,
    and offsets are the same in a one-byte encoding. Both automata are DFAs: 0.12 ms for a
    benchmark page's 36 KB of text, against 0.34 for ``ahocorasick-rs``'s default."""

    def __init__(self, words: Sequence[str]) -> None:
        dfa = ahocorasick_rs.Implementation.DFA
        self._automaton = ahocorasick_rs.AhoCorasick(list(words), implementation=dfa)
        ascii_words = [(i, w) for i, w in enumerate(words) if w.isascii()]
        latin_words = [w for w in words if not w.isascii() and max(w) < "\u0100"]
        self._bytes_ids = [i for i, _ in ascii_words]
        self._bytes_automaton = (
            ahocorasick_rs.BytesAhoCorasick([w.encode() for _, w in ascii_words], implementation=dfa)
            if ascii_words and not latin_words
            else None
        )

    def find(self, text: str) -> tuple[list[tuple[int, int, int]], bool]:
        """The hits, and whether lower-casing lengthened the text (then they are offsets in the lowered text)."""
        if self._bytes_automaton is not None:
            try:
                data = text.encode("latin-1")
            except UnicodeEncodeError:
                pass
            else:
                ids = self._bytes_ids
                hits = self._bytes_automaton.find_matches_as_indexes(data.lower(), overlapping=True)
                return [(ids[word], start, end) for word, start, end in hits], False
        lowered = text.lower()
        return self._automaton.find_matches_as_indexes(lowered, overlapping=True), len(lowered) != len(text)


class PerPage(Generic[T]):
    """Values memoised per page while the page's facts live, found by the facts' identity:
    hashing :class:`PageFacts` hashes its text, which is read back from the crawl's spool."""

    def __init__(self) -> None:
        self._values: dict[int, T] = {}

    def get(self, facts: PageFacts) -> T | None:
        return self._values.get(id(facts))

    def put(self, facts: PageFacts, value: T) -> T:
        key = id(facts)
        if key not in self._values:
            weakref.finalize(facts, self._values.pop, key, None)
        self._values[key] = value
        return value

    def clear(self) -> None:
        self._values.clear()


@dataclass(frozen=True, slots=True)
class PageHits:
    """What :class:`PageAnchors` keeps of one page: each user's hits, as (word, start) pairs."""

    # lower-casing lengthened the text (a few letters do): the hits are offsets in the lowered text
    lengthened: bool
    length: int  # of the lowered text
    hits: tuple[array[int], ...]  # per user: its word's index, start, word, start… in the automaton's order

    def of(self, user: int) -> array[int]:
        return self.hits[user]


class PageAnchors:
    """The anchor words of every user (each :class:`NearWords`, the payment check), found in one
    Aho-Corasick pass over a page's lower-cased visible text, memoised while the page lives.

    Only the hits are kept, 8 bytes each (~180 on a benchmark page, 1.4 KB), never the lowered
    text; a user turns its own into windows when it reads the page, so the words of a check
    that stopped reading (the policies check stops at its first two topics) cost nothing more."""

    def __init__(self) -> None:
        self._users: list[tuple[str, ...]] = []
        self._words: CaselessWords | None = None
        self._owners: list[tuple[tuple[int, int], ...]] = []  # per word: (user, the user's index of it)
        self._found: PerPage[PageHits] = PerPage()

    def register(self, words: Sequence[str]) -> int:
        """Add a user (lower-case ``words``); its number is what :meth:`PageHits.of` takes."""
        self._users.append(tuple(words))
        self._words = None
        self._found.clear()
        return len(self._users) - 1

    def of(self, facts: PageFacts) -> PageHits:
        return self._found.get(facts) or self._found.put(facts, self._scan(facts.text))

    def __len__(self) -> int:
        return len(self._users)

    def scan(self, text: str) -> PageHits:
        """The hits in ``text`` (a page's visible text), not memoised: for a worker process."""
        return self._scan(text)

    def install(self, facts: PageFacts, hits: PageHits) -> None:
        """Memoise ``hits``, made elsewhere by :meth:`scan` of ``facts.text``, for the page."""
        self._found.put(facts, hits)

    def spec(self) -> tuple[tuple[str, ...], ...]:
        """Every user's words, in order: what :meth:`scan` depends on."""
        return tuple(self._users)

    def _scan(self, text: str) -> PageHits:
        words = self._words or self._build()
        found, lengthened = words.find(text)
        hits: list[list[int]] = [[] for _ in self._users]
        for word, start, _ in found:
            for user, index in self._owners[word]:
                hits[user] += (index, start)
        length = len(text.lower()) if lengthened else len(text)
        return PageHits(lengthened, length, tuple(array("i", mine) for mine in hits))

    def _build(self) -> CaselessWords:
        self._owners, self._words = _one_automaton(self._users)
        return self._words


def _one_automaton(
    users: Sequence[tuple[str, ...]],
) -> tuple[list[tuple[tuple[int, int], ...]], CaselessWords]:
    """The words of all ``users`` in one automaton, and per word its owners: (user, the user's index of it)."""
    owners: dict[str, list[tuple[int, int]]] = {}
    for user, words in enumerate(users):
        for index, word in enumerate(words):
            owners.setdefault(word, []).append((user, index))
    return [tuple(users) for users in owners.values()], CaselessWords(list(owners))


PAGE_ANCHORS = PageAnchors()


Reader = Callable[[str, list[tuple[int, int, int]]], Any]  # the HTML, a user's hits -> what it keeps


class MarkupWords:
    """The words of every user (the payment check's icons, the share check's hints) found in
    one pass over a page's HTML as if lower-cased (:class:`CaselessWords`), the HTML
    decompressed and decoded once for all of them (it was 4 times a page, 0.44 s of the
    benchmark shop's judging). Each user's reader takes what it needs from the HTML at its
    hits (a few values, a yes or no), kept while the page lives; the HTML is not kept."""

    def __init__(self) -> None:
        self._users: list[tuple[tuple[str, ...], Reader]] = []
        self._words: CaselessWords | None = None
        self._owners: list[tuple[tuple[int, int], ...]] = []
        self._read: PerPage[tuple[Any, ...]] = PerPage()

    def register(self, words: Sequence[str], reader: Reader) -> int:
        """Add a user (lower-case ``words``) and its reader; its number indexes :meth:`of`."""
        self._users.append((tuple(words), reader))
        self._words = None
        self._read.clear()
        return len(self._users) - 1

    def of(self, page: Page) -> tuple[Any, ...]:
        """What each user read of the page's HTML (decoded with replacement characters)."""
        if page.facts is None:
            return self._scan(page.html_bytes.decode("utf-8", "replace"))
        read = self._read.get(page.facts)
        if read is None:
            read = self._read.put(page.facts, self._scan(page.html_bytes.decode("utf-8", "replace")))
        return read

    def __len__(self) -> int:
        return len(self._users)

    def scan(self, html: str) -> tuple[Any, ...]:
        """What each user reads of ``html`` (a page's, decoded with replacement characters),
        not memoised: for a worker process."""
        return self._scan(html)

    def install(self, facts: PageFacts, read: tuple[Any, ...]) -> None:
        """Memoise ``read``, made elsewhere by :meth:`scan` of the page's HTML, for the page."""
        self._read.put(facts, read)

    def spec(self) -> tuple[tuple[tuple[str, ...], str], ...]:
        """Every user's words and its reader's name, in order: what :meth:`scan` depends on."""
        return tuple((words, f"{reader.__module__}.{reader.__qualname__}") for words, reader in self._users)

    def _scan(self, html: str) -> tuple[Any, ...]:
        words = self._words or self._build()
        hits: list[list[tuple[int, int, int]]] = [[] for _ in self._users]
        for word, start, end in words.find(html)[0]:
            for user, index in self._owners[word]:
                hits[user].append((index, start, end))
        return tuple(reader(html, mine) for (_, reader), mine in zip(self._users, hits, strict=True))

    def _build(self) -> CaselessWords:
        self._owners, self._words = _one_automaton([words for words, _ in self._users])
        return self._words


PAGE_MARKUP = MarkupWords()
HEAD_END = PAGE_MARKUP.register(structured.HEAD_WORDS, structured.head_end)  # for structured_data


class Derived(Generic[T]):
    """A check's derivation of one page: a pure function of the page, memoised while the
    page lives, and made ahead of judging with the shared passes, by the worker process that
    parsed the page (:func:`page_artifacts`) or by the warm-up (:func:`warm_page`). Made with
    :func:`derived`; called as the function it wraps."""

    def __init__(self, derive: Callable[[Page], T]) -> None:
        self._derive = derive
        self._memo: PerPage[T] = PerPage()
        self.name = f"{derive.__module__}.{derive.__qualname__}"
        self.__doc__ = derive.__doc__

    def __call__(self, page: Page) -> T:
        if page.facts is None:
            return self._derive(page)
        value = self._memo.get(page.facts)
        if value is None:
            value = self._memo.put(page.facts, self._derive(page))
        return value

    def install(self, facts: PageFacts, value: T) -> None:
        """Memoise ``value``, made elsewhere of the page whose facts are ``facts``."""
        self._memo.put(facts, value)


DERIVED: list[Derived[Any]] = []


def derived(derive: Callable[[Page], T]) -> Derived[T]:
    """Register ``derive``, a pure function of one page (never None) that a check reads of
    every page, as a :class:`Derived`: memoised, and made ahead of judging."""
    made = Derived(derive)
    DERIVED.append(made)
    return made


# structured_data made ahead (by a worker, or the warm-up): pickled, LZ4
_SHIPPED_STRUCTURED: PerPage[bytes] = PerPage()


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class PageArtifacts:
    """Judging's shared passes of one page, made by the worker process that parsed it
    (:func:`page_artifacts`) and installed where the checks run (:func:`install_artifacts`)."""

    hits: PageHits | None  # PAGE_ANCHORS's; None: not made
    markup: tuple[Any, ...] | None  # PAGE_MARKUP's; None: not made
    structured: bytes | None = None  # structured_data, pickled and LZ4-compressed; None: not read
    derived: tuple[Any, ...] | None = None  # every Derived's value, in DERIVED's order; None: not made

    @property
    def warm(self) -> bool:
        """Both shared passes and the derivations are made: the page needs no warming."""
        return self.hits is not None and self.markup is not None and self.derived is not None


def page_artifacts(page: Page, html: str, passes: bool = True) -> PageArtifacts | None:
    """What judging would make of ``page`` (facts and final URL as parsed), whose HTML is
    ``html``, made where it was parsed: the shared passes (unless not ``passes``) and, if a check
    wants it (:func:`wants_structured_data`), its structured data; None when that is nothing.
    The result depends on the users registered in this process, whose :func:`shared_fingerprint`
    must match the judging one's."""
    assert page.facts is not None
    wanted = structured_wanted(page)
    if not (passes or wanted):
        return None
    html = _as_read(html)
    markup = PAGE_MARKUP.scan(html)
    structured_blob = None
    if wanted:
        data = structured.read(html, page.final_url, markup[HEAD_END])
        structured_blob = _packed(data)
    if not passes:
        return PageArtifacts(None, markup, structured_blob)
    hits = PAGE_ANCHORS.scan(page.facts.text)
    install_artifacts(page, PageArtifacts(hits, markup))  # for the derivations to read
    return PageArtifacts(hits, markup, structured_blob, tuple(derivation(page) for derivation in DERIVED))


def _as_read(html: str) -> str:
    """``html`` as judging reads it: from UTF-8 with replacement characters (a lone surrogate,
    which a page's undecodable bytes may leave, is read as U+FFFDs)."""
    try:
        html.encode("utf-8")
    except UnicodeEncodeError:
        return html.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return html


def install_artifacts(page: Page, artifacts: PageArtifacts) -> None:
    """Memoise what a worker process made of ``page`` (:func:`page_artifacts`, made under the
    same :func:`shared_fingerprint`) for the checks to find."""
    facts = page.facts
    assert facts is not None
    if artifacts.hits is not None:
        PAGE_ANCHORS.install(facts, artifacts.hits)
    if artifacts.markup is not None:
        PAGE_MARKUP.install(facts, artifacts.markup)
    if artifacts.structured is not None:
        _SHIPPED_STRUCTURED.put(facts, artifacts.structured)
    for derivation, value in zip(DERIVED, artifacts.derived or (), strict=False):
        derivation.install(facts, value)


def shared_fingerprint() -> str:
    """A digest of every registered user of the shared passes (their words, their readers',
    :func:`wants_structured_data` predicates' and :func:`derived` functions' names, in order):
    two processes whose fingerprints match make the same :class:`PageArtifacts` of a page."""
    return _fingerprint(len(PAGE_ANCHORS), len(PAGE_MARKUP), len(_STRUCTURED_WANTED), len(DERIVED))


@functools.lru_cache(maxsize=4)
def _fingerprint(*counts: int) -> str:  # users are only ever added: their numbers name the set
    wanted = tuple(f"{w.__module__}.{w.__qualname__}" for w in _STRUCTURED_WANTED)
    derivations = tuple(derivation.name for derivation in DERIVED)
    spec = repr((PAGE_ANCHORS.spec(), PAGE_MARKUP.spec(), wanted, derivations))
    return hashlib.blake2b(spec.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def warm_page(page: Page) -> None:
    """Make the shared passes of ``page`` (:data:`PAGE_ANCHORS`, :data:`PAGE_MARKUP`) and the
    checks' derivations (:func:`derived`) now, for the checks to find memoised; a
    page without parsed HTML has none."""
    if page.facts is not None:
        PAGE_ANCHORS.of(page.facts)
        PAGE_MARKUP.of(page)
        for derivation in DERIVED:
            derivation(page)


class NearWords:
    """A regular expression searched only near its anchor words.

    The anchors are found by Aho-Corasick (``ahocorasick-rs``, already used by the
    error checks) over the lower-cased text, and the expression is tried only in a
    window around each hit (``before``/``after`` characters). Patterns that begin
    with an alternation are slow to search through a whole page with ``re``: on a
    generated 2,300-page shop (machine shared with other jobs) the payment, O2O,
    contact and store checks took 35-110 s each that way.

    On a page's text (:meth:`finditer_page`) the anchors of every ``NearWords`` are
    found together, in one pass per page (:data:`PAGE_ANCHORS`); on any other text
    (:meth:`finditer`) by this one's own automaton."""

    def __init__(self, pattern: re.Pattern[str], anchors: Sequence[str], before: int = 80, after: int = 160):
        self.pattern = pattern
        self.before, self.after = before, after
        self.words = tuple(dict.fromkeys(a.lower() for a in anchors))
        self._automaton = ahocorasick_rs.AhoCorasick(list(self.words))
        self._user = PAGE_ANCHORS.register(self.words)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Matches in ``text`` that overlap a window around an anchor, in order, each once."""
        lowered = text.lower()
        hits = self._automaton.find_matches_as_indexes(lowered, overlapping=True)
        windows = self._windows(((start, end) for _, start, end in hits), len(lowered))
        yield from self._matches(text if len(lowered) == len(text) else lowered, windows)

    def search(self, text: str) -> re.Match[str] | None:
        return next(self.finditer(text), None)

    def finditer_page(self, page: Page) -> Iterator[re.Match[str]]:
        """:meth:`finditer` on the page's visible text, from the anchors found on it once for all users."""
        if page.facts is None:
            return
        found = PAGE_ANCHORS.of(page.facts)
        hits = found.of(self._user)
        if not hits:
            return
        words = self.words
        spans = ((hits[i + 1], hits[i + 1] + len(words[hits[i]])) for i in range(0, len(hits), 2))
        windows = self._windows(spans, found.length)
        text = page.facts.text
        yield from self._matches(text.lower() if found.lengthened else text, windows)

    def search_page(self, page: Page) -> re.Match[str] | None:
        return next(self.finditer_page(page), None)

    def _matches(self, haystack: str, windows: list[tuple[int, int]]) -> Iterator[re.Match[str]]:
        end_seen = -1
        for lo, hi in windows:
            for match in self.pattern.finditer(haystack, max(lo, end_seen), hi):
                end_seen = match.end()
                yield match

    def _windows(self, hits: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
        """The windows around the anchor hits (start, end; in the automaton's order), merged."""
        windows = []
        lo = hi = -1
        before, after = self.before, self.after
        for start, end in hits:
            window_lo, window_hi = max(0, start - before), min(length, end + after)
            if window_lo > hi:
                if hi >= 0:
                    windows.append((lo, hi))
                lo = window_lo
            hi = max(hi, window_hi)
        if hi >= 0:
            windows.append((lo, hi))
        return windows


def per_site(function: Callable[[SiteEvidence], T]) -> Callable[[SiteEvidence], T]:
    """Memoise ``function(evidence)`` while that evidence lives (evidence is not hashable)."""
    cache: dict[int, T] = {}

    @functools.wraps(function)
    def memoised(evidence: SiteEvidence) -> T:
        key = id(evidence)
        if key not in cache:
            cache[key] = function(evidence)
            weakref.finalize(evidence, cache.pop, key, None)
        return cache[key]

    return memoised


def home_page(evidence: SiteEvidence) -> Page | None:
    """The shop's home page as crawled: the start URL, else the shallowest page."""
    pages = evidence.html_pages()
    for page in pages:
        if evidence.home in (page.url, page.final_url):
            return page
    return min(pages, key=lambda p: p.depth, default=None)


@per_site
def site_wide_links(evidence: SiteEvidence) -> frozenset[str]:
    """Absolute URLs linked from at least half the shop's pages (header, footer, menus)."""
    return _on_most_pages(evidence, ("a", "area"))


@per_site
def site_wide_images(evidence: SiteEvidence) -> frozenset[str]:
    """Images on at least half the shop's pages: logos, icons, banners, not product photos."""
    return _on_most_pages(evidence, ("img",))


def _on_most_pages(evidence: SiteEvidence, tags: tuple[str, ...]) -> frozenset[str]:
    pages = [p for p in evidence.html_pages() if p.status == 200]
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({ref.url for ref in page.refs if ref.tag in tags})
    needed = max(2, int(len(pages) * SITE_WIDE_SHARE))
    return frozenset(url for url, n in counts.items() if n >= needed)


@per_site
def shop_hosts(evidence: SiteEvidence) -> frozenset[str]:
    """Hosts that are the shop's own: the start URL's, the crawled pages', and those its
    canonical and hreflang links name (a staging shop names its production host there)."""
    urls = [evidence.site, evidence.home]
    for page in evidence.html_pages():
        urls.append(page.final_url)
        if page.facts is not None:
            urls += [page.facts.canonical or "", *(url for _, url in page.facts.hreflangs)]
    return frozenset(bare_host(u) for u in urls if bare_host(u))


@functools.lru_cache(maxsize=65536)
def bare_host(url: str) -> str:
    """The URL's host, lower case, without ``www.`` (and without the port)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def snippet_of(text: str, match: re.Match[str], around: int = 60) -> str:
    """The words around a regex match, on one line (what a finding quotes)."""
    start, end = max(0, match.start() - around), min(len(text), match.end() + around)
    return " ".join(text[start:end].split())


def same_site(url: str, hosts: frozenset[str]) -> bool:
    """``url`` is on one of ``hosts`` or a subdomain of one (``shop.brand.hk`` of ``brand.hk``)."""
    host = bare_host(url)
    return bool(host) and any(host == h or host.endswith("." + h) or h.endswith("." + host) for h in hosts)
