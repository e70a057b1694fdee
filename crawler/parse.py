"""Parse a page's HTML once into :class:`PageFacts` and its references.

The parser is selectolax (Lexbor, a C HTML5 parser), not the design card's
BeautifulSoup. Measured here on the benchmark's 60 KB product pages:
BeautifulSoup with html.parser takes about 7.5 ms a page just to list links
and text; selectolax parses and extracts every fact and reference in about
1.3 ms. At 2,000 pages that difference decides whether the crawl keeps up
with the network, so the hot path uses selectolax.

Charset: w3lib's ``html_to_unicode`` (Scrapy's), which reads the BOM, then
the Content-Type header, then ``<meta charset>``, and falls back to UTF-8.
When the bytes do not fit the charset used (a page declaring ISO-8859-1 or
GB2312 whose bytes are UTF-8, a Big5 page with no declaration), the page's
facts say so (:class:`CharsetMismatch`, for ``i18n.mojibake``), with what
charset-normalizer takes the bytes to be. A page that decoded cleanly pays one
``isascii`` or one search for U+FFFD.
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import json
import operator
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode
from w3lib.encoding import html_to_unicode

from shophealth.crawler.evidence import Blob, CharsetMismatch, Page, PageFacts, Ref, compress, compress_fast
from shophealth.crawler.urls import malformed_reason, origin_root, resolve

# The attributes of each element that name a link or resource.
REF_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "a": ("href",),
    "area": ("href",),
    "img": ("src", "srcset", "data-src", "data-srcset"),  # data-*: lazy-loading scripts
    "source": ("src", "srcset", "data-srcset"),
    "script": ("src",),
    "link": ("href",),
    "iframe": ("src",),
    "form": ("action",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
}
# One selector, so the tree is walked once, in document order; one alternative per
# tag, since an element matching two alternatives would be listed twice.
REF_SELECTOR = ",".join(
    f"{tag}[{attrs[0]}]" if len(attrs) == 1 else tag for tag, attrs in REF_ATTRIBUTES.items()
)
# <link rel=…> values whose href is a resource the page loads or names as a page.
LINK_RELS = {
    "stylesheet",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "manifest",
    "preload",
    "canonical",
}
INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg"]
MAX_TEXT = 200_000
MAX_REF_TEXT = 120
MAX_REFS = 3_000  # links and resources kept per page; a mega-menu has ~1,500, a hostile page 100,000
# Elements' references kept for the next pages of the shop, by what they were worked out
# from (see _refs): the benchmark's 2,000 pages carry 160,022 references, 12,129 distinct;
# cleared when full (on 10,000 pages 20,000 entries, not 50,000, kept the worker 8 MB smaller).
KNOWN_REFS_MAX = 20_000
ORIGIN_FREE_SCHEMES = ("http://", "https://", "mailto:", "tel:", "javascript:")
# (what they depend on: the page's origin or its URL, whether it is the origin, the references)
_KnownRefs = tuple[str | None, bool, tuple[Ref, ...]]
_known_refs: dict[tuple[str | None, ...], _KnownRefs] = {}
# Elements open at once that a page is read to. Lexbor's parse time grows with the square
# of the nesting depth (200,000 nested <div>s: over a minute, in C, which no budget can
# interrupt); Chromium itself flattens the tree below 512. Real pages stay far below.
MAX_DEPTH = 4_096
# Start and end tags of elements that leave something open: not void elements, not those
# the next of their kind closes (old shops leave <p>, <li>, <td>, <option> unclosed).
_NESTING_TAG = re.compile(
    r"<(/?)(?!(?:area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr|p|li|dt|dd"
    r"|option|optgroup|tr|td|th|thead|tbody|tfoot|colgroup|caption|rb|rt|rtc|rp|html|head|body)"
    r"[\s/>])[a-z][a-z0-9-]*",
    re.IGNORECASE,
)
_NESTING_STEP = {"": 1, "/": -1}


@dataclass(frozen=True, slots=True)
class ParsedPage:
    facts: PageFacts
    refs: tuple[Ref, ...]
    html: str  # what was parsed: the page, or its start when it nests too deep (``nesting_cut``)


def decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """The body as text and the encoding used (BOM, header, meta, UTF-8)."""
    encoding, text = html_to_unicode(content_type, body)
    return text, encoding


def parse_html(html: str, url: str) -> ParsedPage:
    """Facts and references of one HTML page fetched from ``url``."""
    html, nesting_cut = cap_nesting(html)
    tree = LexborHTMLParser(html)
    base = _base_url(tree, url)
    refs = tuple(itertools.islice(_refs(tree, base), MAX_REFS + 1))
    facts = _facts(tree, base)
    if len(refs) > MAX_REFS:
        refs = refs[:MAX_REFS]
        facts = dataclasses.replace(facts, refs_cut=True)
    if nesting_cut:
        facts = dataclasses.replace(facts, nesting_cut=True)
    return ParsedPage(facts=facts, refs=refs, html=html)


def cap_nesting(html: str) -> tuple[str, bool]:
    """``html``, or its start up to the tag that opens element :data:`MAX_DEPTH` + 1
    (then True). Cutting there again gives the same start, so a page parsed again
    (a resumed scan) is read as it was. A page with fewer tags costs one count."""
    if html.count("<") <= MAX_DEPTH:
        return html, False
    sums = list(itertools.accumulate(map(_NESTING_STEP.__getitem__, _NESTING_TAG.findall(html))))
    lows = itertools.accumulate(itertools.chain((0,), sums), min)  # stray end tags close nothing
    if max(map(operator.sub, sums, lows), default=0) <= MAX_DEPTH:
        return html, False
    depth = 0
    for match in _NESTING_TAG.finditer(html):
        depth = depth + 1 if not match.group(1) else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            return html[: match.end()], True
    return html, False  # not reached: the sums above found that depth


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    node = tree.css_first("base[href]")
    href = node.attributes.get("href") if node is not None else None
    return (resolve(url, href) if href else None) or url


def _attr(node: LexborNode, name: str) -> str:
    return (node.attributes.get(name) or "").strip()


def _short(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_REF_TEXT]


def _refs(tree: LexborHTMLParser, base: str) -> Iterator[Ref]:
    """The page's references in document order. Each element's are worked out once
    per shop (:data:`_known_refs`): the navigation, footer and related-product links
    that recur on every page are looked up, not resolved again."""
    known = _known_refs
    base_origin = _origin_key(base)
    for node in tree.css(REF_SELECTOR):
        tag = node.tag or ""
        attributes = node.attributes
        rel = attributes.get("rel") or ""
        if tag == "link" and not (set(rel.strip().lower().split()) & LINK_RELS):
            continue
        text = node.text(deep=True) if tag == "a" else attributes.get("alt")
        method = attributes.get("method") if tag == "form" else None
        key = (tag, text, rel, method, *map(attributes.get, REF_ATTRIBUTES.get(tag, ())))
        entry = known.get(key)
        if entry is None or entry[0] != (base_origin if entry[1] else base):
            entry = _known_entry(key, base, base_origin)
        yield from entry[2]


def _known_entry(key: tuple[str | None, ...], base: str, base_origin: str | None) -> _KnownRefs:
    """An element's references worked out (``key`` as made in :func:`_refs`), and
    kept with what they depend on: the page's origin alone when every URL value is
    root-relative (``/p/1``), else the page's (base) URL."""
    tag, text, rel, method, *values = key
    refs = tuple(_node_refs(base, tag or "", text, rel or "", method, values))
    by_origin = base_origin is not None and all(map(_origin_relative, values))
    entry = (base_origin if by_origin else base, by_origin, refs)
    if len(_known_refs) >= KNOWN_REFS_MAX:
        _known_refs.clear()
    _known_refs[key] = entry
    return entry


def _origin_key(url: str) -> str | None:
    """``url``'s scheme and host (what a root-relative href resolves against), or
    None when it has none that can be read (then nothing is shared by origin)."""
    try:
        return origin_root(url)
    except ValueError:
        return None


def _origin_relative(value: str | None) -> bool:
    """Whether an attribute's URLs resolve the same on every page of one origin: absent,
    a fragment, one root-relative path (not ``//host``), an absolute http(s) URL, or a
    mailto:, tel: or javascript: link (not a srcset of several)."""
    if value is None:
        return True
    value = value.strip()
    if "," in value:
        return False
    if value[:1] == "/":
        return value[1:2] != "/"
    return not value or value[0] == "#" or value[:11].lower().startswith(ORIGIN_FREE_SCHEMES)


def _node_refs(
    base: str, tag: str, text: str | None, rel: str, method: str | None, values: list[str | None]
) -> Iterator[Ref]:
    """The references one element makes, from its tag, text (or alt) and attributes."""
    tag = sys.intern(tag)
    text = _short(text)
    rel = rel.strip().lower()
    method = ((method or "").strip().lower() or "get") if tag == "form" else ""
    for attr, value in zip(REF_ATTRIBUTES.get(tag, ()), values, strict=True):
        value = (value or "").strip()
        if not value or (attr.startswith("data-") and "{" in value):
            continue  # a lazy-loader's template such as img_{width}x.jpg is not a URL yet
        for href in _srcset_urls(value) if attr.endswith("srcset") else (value,):
            absolute = resolve(base, href)
            if absolute is not None:
                yield Ref(absolute, tag, attr, text, rel, method)
            elif (reason := malformed_reason(base, href)) is not None:
                yield Ref(url=href.strip(), tag=tag, attr=attr, text=text, rel=rel, invalid=reason)


def _srcset_urls(srcset: str) -> list[str]:
    """The URLs of a srcset (``a.jpg 1x, b.jpg 2x``); data: URIs are skipped."""
    urls = []
    for candidate in srcset.split(","):
        parts = candidate.strip().split()
        if parts and not parts[0].startswith("data:"):
            urls.append(parts[0])
    return urls


def _facts(tree: LexborHTMLParser, base: str) -> PageFacts:
    title_node = tree.css_first("title")
    html_node = tree.css_first("html")
    canonical = tree.css_first("link[rel=canonical][href]")
    metas = _Metas(tree)
    json_ld = tuple(_json_ld_types(tree))
    facts_without_text = {
        "title": _short_title(title_node.text() if title_node is not None else None),
        "meta_description": metas.content("name", "description"),
        "viewport": metas.content("name", "viewport"),
        "lang": (_attr(html_node, "lang") or None) if html_node is not None else None,
        "h1": tuple(_short(n.text(deep=True)) for n in tree.css("h1"))[:10],
        "og_type": metas.content("property", "og:type"),
        "og_image": metas.content("property", "og:image"),
        "json_ld_types": json_ld,
        "hreflangs": tuple(_hreflangs(tree, base)),
        "canonical": resolve(base, _attr(canonical, "href")) if canonical is not None else None,
        "meta_charset": metas.charset,
        "body_class": " ".join(_attr(tree.body, "class").split())[:500] if tree.body is not None else "",
        "microdata_types": tuple(_microdata_types(tree)),
    }
    return PageFacts(text_blob=Blob(compress_fast(_visible_text(tree))), **facts_without_text)  # type: ignore[arg-type]


class _Metas:
    """The page's ``<meta>`` elements, read in one pass: the content of the first
    named (or with a property) each way, and the first charset declaration."""

    KEYS = ("name", "property")

    def __init__(self, tree: LexborHTMLParser) -> None:
        self._contents: dict[tuple[str, str], str] = {}
        self.charset: str | None = None
        charset_seen = False
        for node in tree.css("meta"):
            attributes = node.attributes
            for key in self.KEYS:
                if key in attributes:
                    named = (key, (attributes[key] or "").strip().lower())
                    self._contents.setdefault(named, attributes.get("content") or "")
            if not charset_seen and "charset" in attributes:
                charset_seen = True
                self.charset = (attributes["charset"] or "").strip() or None

    def content(self, key: str, value: str) -> str | None:
        """The content of the first ``<meta key=value>`` (value in any case), None if none."""
        return self._contents.get((key, value))


def _short_title(title: str | None) -> str | None:
    if title is None:
        return None
    return " ".join(title.split())[:300]


def _hreflangs(tree: LexborHTMLParser, base: str) -> Iterator[tuple[str, str]]:
    for node in tree.css("link[hreflang][href]"):
        url = resolve(base, _attr(node, "href"))
        if url is not None:
            yield _attr(node, "hreflang"), url


def _json_ld_types(tree: LexborHTMLParser) -> Iterator[str]:
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text() or "null")
        except (ValueError, RecursionError):  # not JSON, or nested past what the decoder takes
            continue
        yield from _types_in(data)  # as deep as json.loads went, within the recursion limit


def _types_in(data: object) -> Iterator[str]:
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("@type")
        if isinstance(kind, str):
            yield kind
        elif isinstance(kind, list):
            yield from (k for k in kind if isinstance(k, str))
        if "@graph" in item:
            yield from _types_in(item["@graph"])


def _microdata_types(tree: LexborHTMLParser) -> Iterator[str]:
    """The schema.org type names of ``itemtype`` attributes, in document order (at most 50)."""
    for node in tree.css("[itemtype]")[:50]:
        for url in _attr(node, "itemtype").split():
            yield url.rstrip("/").rsplit("/", 1)[-1]


def _visible_text(tree: LexborHTMLParser) -> bytes:
    """The page's visible text as UTF-8, whitespace folded to single spaces.

    Lexbor strips each text node; what whitespace is left (inside a node) is
    folded on the bytes, since ``" ".join(text.split())`` made 5,000-odd word
    objects a page: 0.06 ms for the text and 0.06-0.1 ms to fold it on a
    benchmark product page, against 0.29 ms. Only ASCII whitespace is folded
    (a no-break space stays)."""
    tree.strip_tags(INVISIBLE_TAGS)
    root = tree.body or tree.root
    if root is None:
        return b""
    text = root.text(separator=" ", strip=True)[:MAX_TEXT]
    return fold_spaces(text.encode("utf-8", "surrogatepass"))


_WHITESPACE_TO_SPACE = bytes.maketrans(b"\t\n\r\x0b\x0c", b"     ")
_OTHER_WHITESPACE = (b"\t", b"\n", b"\r", b"\x0b", b"\x0c")
_SPACE_RUN = re.compile(b" +")
FOLD_RUNS_MAX = 256


def fold_spaces(data: bytes) -> bytes:
    """``data`` with runs of ASCII whitespace made one space, and trimmed.

    A search for two spaces in a text full of single ones is slow (0.05 ms on
    34 KB, as slow as replacing them), so the text is searched once, from run
    to run, and cut around them: on the benchmark's pages (about one run a
    page) half the time of replacing until nothing changes. A text with many
    runs (a hostile page) is folded by halving its runs from the
    :data:`FOLD_RUNS_MAX`-th on, which takes a few passes whatever their number."""
    if any(char in data for char in _OTHER_WHITESPACE):
        data = data.translate(_WHITESPACE_TO_SPACE)
    pieces: list[bytes] = []
    start = 0
    while (run := data.find(b"  ", start)) != -1:
        if len(pieces) == FOLD_RUNS_MAX:
            pieces.append(_halve_runs(data[start:]))
            return b"".join(pieces).strip(b" ")
        pieces.append(data[start : run + 1])
        start = _SPACE_RUN.match(data, run).end()  # type: ignore[union-attr]  # a run starts there
    if not pieces:
        return data.strip(b" ")
    pieces.append(data[start:])
    return b"".join(pieces).strip(b" ")


def _halve_runs(data: bytes) -> bytes:
    while len(folded := data.replace(b"  ", b" ")) != len(data):
        data = folded
    return data


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class ParsedDocument:
    """A fetched HTML body, decoded, parsed and compressed: what a :class:`Page` keeps."""

    charset: str
    body_z: bytes
    facts: PageFacts
    refs: tuple[Ref, ...]


def parse_document(body: bytes, content_type: str | None, url: str) -> ParsedDocument:
    """Decode, parse and compress one HTML body fetched as ``url``."""
    return parse_document_and_html(body, content_type, url)[0]


def parse_document_and_html(body: bytes, content_type: str | None, url: str) -> tuple[ParsedDocument, str]:
    """:func:`parse_document`, and the HTML it keeps (compressed in the document) as text."""
    html, encoding = decode(body, content_type)
    parsed = parse_html(html, url)
    facts = parsed.facts
    mismatch = charset_mismatch(body, encoding, html)
    if mismatch is not None:
        facts = dataclasses.replace(facts, charset_mismatch=mismatch)
    return ParsedDocument(encoding, compress(parsed.html), facts, parsed.refs), parsed.html


MISMATCH_SAMPLE_BEFORE = 30
MISMATCH_SAMPLE_AFTER = 60


def charset_mismatch(body: bytes, encoding: str, html: str) -> CharsetMismatch | None:
    """Whether ``body`` is not really in ``encoding`` (the charset it was decoded with)."""
    likely = _likely_charset(body, _codec_name(encoding), html)
    if likely is None:
        return None
    if likely == "":
        return CharsetMismatch(encoding, None, _visible(html)[:MISMATCH_SAMPLE_AFTER], "")
    shown, intended = _first_difference(_visible(html), _visible(body.decode(likely, "replace")))
    return CharsetMismatch(encoding, likely, shown, intended)


def _likely_charset(body: bytes, used: str, html: str) -> str | None:
    """None when the bytes fit ``used``; else the charset they are likely in ("" unknown)."""
    if used == "utf-8":
        if "\ufffd" not in html or _is_utf8(body):
            return None  # a U+FFFD written in the page itself is the text checks' business
        return _guess(body)
    if body.isascii():
        return None
    if _is_utf8(body):
        return "utf-8"
    try:
        body.decode(used)
    except (UnicodeDecodeError, LookupError):
        return _guess(body)
    return None


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _guess(body: bytes) -> str:
    import charset_normalizer  # only for the rare page that does not decode: ~80 ms to import

    best = charset_normalizer.from_bytes(body[:MAX_TEXT]).best()
    return _codec_name(best.encoding) if best is not None else ""


def _visible(html: str) -> str:
    tree = LexborHTMLParser(html)
    return _visible_text(tree).decode("utf-8", "surrogatepass")


def _first_difference(shown: str, intended: str) -> tuple[str, str]:
    """The pieces of the two texts around where they first differ."""
    same = 0
    for a, b in zip(shown, intended, strict=False):
        if a != b:
            break
        same += 1
    start = max(0, same - MISMATCH_SAMPLE_BEFORE)
    end = same + MISMATCH_SAMPLE_AFTER
    return shown[start:end], intended[start:end]


def page_from_body(url: str, body: bytes, content_type: str = "text/html", status: int = 200) -> Page:
    """A :class:`Page` for a body that was fetched (or read from disk) as ``url``."""
    document = parse_document(body, content_type, url)
    return Page(
        url=url,
        final_url=url,
        status=status,
        depth=0,
        headers={"content-type": content_type},
        content_type=content_type,
        charset=document.charset,
        body_blob=Blob(document.body_z),
        facts=document.facts,
        refs=document.refs,
    )


# Elements that start a new block of text on screen: an error printed into one
# of them ends where the element ends. A table is one block (its cells read as
# rows of one message, as in Django's debug page), as is a definition list.
BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "details",
        "dialog",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "ul",
    }
)


def block_spans(html: str, text: str) -> list[tuple[int, int]] | None:
    """Where each block of ``text``, the page's visible text, starts and ends.

    ``text`` is :attr:`PageFacts.text` of ``html``; the text is rebuilt here
    node by node as :func:`_visible_text` builds it, noting where the nearest
    block element changes. None when the rebuilt text does not match (then
    the caller judges without blocks). Read only for pages with a finding.
    (:mod:`crawler.textblocks` gives blocks with selectors for ``i18n.*``, but
    not their place in this text, which ``errors.server`` needs.)"""
    tree = LexborHTMLParser(html)
    tree.strip_tags(INVISIBLE_TAGS)
    root = tree.body or tree.root
    if root is None:
        return None
    spans: list[tuple[int, int]] = []
    pieces: list[str] = []
    length, block = 0, None
    for node, node_block in _text_nodes(root):
        piece = fold_spaces((node.text_content or "").encode("utf-8", "surrogatepass"))
        if not piece:
            continue
        start = length + (1 if pieces else 0)
        pieces.append(piece.decode("utf-8", "surrogatepass"))
        length = start + len(pieces[-1])
        if node_block != block or not spans:
            spans.append((start, length))
            block = node_block
        else:
            spans[-1] = (spans[-1][0], length)
    return spans if " ".join(pieces).startswith(text) else None


def _text_nodes(root: LexborNode) -> Iterator[tuple[LexborNode, int]]:
    """The text nodes under ``root`` in document order, each with its nearest block's id."""
    for node in root.traverse(include_text=True):
        if node.is_text_node:
            yield node, _block_id(node)


def _block_id(node: LexborNode) -> int:
    parent = node.parent
    while parent is not None and parent.tag not in BLOCK_TAGS:
        parent = parent.parent
    return parent.mem_id if parent is not None else 0
