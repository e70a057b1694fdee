"""Cheap static triage for ``mobile.overflow``: which crawled pages may scroll
sideways on a phone, so that they are rendered too.

The render sample covers the shop's kinds of page; legacy pages (old news
pages, 1200 px table layouts, a 960 px delivery table, a 1000 px chart with
``max-width: none``) fall outside it. :func:`overflow_suspects` reads every
crawled page's stored HTML once, with a few byte regular expressions and no
parse, and names the pages worth rendering, strongest evidence first. A page is
a suspect when:

* it has no viewport meta tag, one with a fixed width, one with an
  ``initial-scale`` below 1, or one with neither width nor scale (it is laid out
  980 px, that wide, or the phone's width divided by the scale);
* a ``table``, ``img``, ``iframe``, ``video``, ``embed``, ``object``,
  ``canvas``, ``td`` or ``th`` is wider than a phone by its ``width``
  attribute, and neither its inline style nor the page's own CSS caps it with
  ``max-width`` (``img { max-width: 100% }``; ``max-width: none`` caps nothing);
* an inline style sets ``width`` or ``min-width`` wider than a phone in pixels
  without a ``max-width``;
* a rule of the page's own CSS (``<style>``, outside ``@media`` blocks) does;
* a ``<pre>`` has a line over :data:`PRE_LINE_CHARS` characters and nothing
  wraps or scrolls it.

"Wider than a phone" is over :data:`WIDE_PX` CSS pixels. Known limits:
external stylesheets are not read (a theme's CSS is shared by every page of a
template, which the sample renders), nor are widths set by scripts or in
``em``/``vw``.

Measured (on a machine shared with other work, so times are high): on
``fixtures/test_shops/overflow`` (60 pages, 8 legacy pages that scroll sideways
at 375 px, none in the default sample of 8) the triage suspects exactly those 8
(no false suspect among the other 52, five of which look risky: a capped image,
a width inside ``@media``, a 100 % table, a capped iframe, a wrapped ``<pre>``)
in 0.05 ms a page, and the scan renders 8 pages more; without it
``mobile.overflow`` found 0 of the 8. On Lighthouse's mobile fixtures in the
real-world corpus it suspects all 14 pages labelled ``mobile.overflow`` and
none of the 5 clean ones, 0.03 ms a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from shophealth.crawler.evidence import Page

WIDE_PX = 400  # the widest phone of the checked range is 390 CSS px
NO_VIEWPORT_PX = 980  # the width a phone lays out a page without a viewport tag
PHONE_PX = 375  # the rendered phone's width: initial-scale=0.5 lays a page out at 750 px
PRE_LINE_CHARS = 60  # a monospace line this long is wider than a phone

_FLAGS = re.IGNORECASE | re.DOTALL
WIDE_TAG = re.compile(rb"<(table|img|iframe|video|embed|object|canvas|td|th)\b([^>]*)>", _FLAGS)
WIDTH_ATTR = re.compile(rb"\swidth\s*=\s*[\"']?\s*(\d{3,5})(?![\d.%])", _FLAGS)
STYLE_ATTR = re.compile(rb"\sstyle\s*=\s*(\"[^\"]*\"|'[^']*')", _FLAGS)
FIXED_WIDTH = re.compile(rb"(?<![-\w])(?:min-)?width\s*:\s*(\d{3,5})(?:\.\d+)?px", _FLAGS)
MAX_WIDTH = re.compile(rb"max-width\s*:\s*(?!none)", _FLAGS)
UNCAPPED = re.compile(rb"max-width\s*:\s*none", _FLAGS)
STYLE_BLOCK = re.compile(rb"<style\b[^>]*>(.*?)</style>", _FLAGS)
MEDIA_BLOCK = re.compile(rb"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", _FLAGS)
CSS_RULE = re.compile(rb"([^{}]*)\{([^{}]*)\}", _FLAGS)
PRE_BLOCK = re.compile(rb"<pre\b([^>]*)>(.*?)</pre>", _FLAGS)
PRE_TAMED = re.compile(rb"white-space\s*:\s*(pre-wrap|pre-line|normal|break-spaces)|overflow", _FLAGS)
MARKUP = re.compile(rb"<[^>]*>")
SUBJECT_TAG = re.compile(rb"[a-z0-9*]+", re.IGNORECASE)
VIEWPORT_WIDTH = re.compile(r"(?<![-\w])width\s*=\s*(\d+)", re.IGNORECASE)
VIEWPORT_SCALE = re.compile(r"initial-scale\s*=\s*(\d*\.?\d+)", re.IGNORECASE)
CAPPABLE = (b"img", b"iframe", b"video", b"embed", b"object", b"canvas", b"table", b"td", b"th", b"pre", b"*")


@dataclass(frozen=True)
class Suspect:
    """A page that may scroll sideways on a phone: its widest cause first."""

    url: str
    width: int  # the widest fixed width found, in CSS px
    reasons: tuple[str, ...]


def overflow_suspects(pages: Sequence[Page]) -> list[Suspect]:
    """The crawled HTML pages that may scroll sideways on a phone, widest first."""
    suspects = []
    for page in pages:
        if page.facts is None or page.status is None or page.status >= 400:
            continue
        causes = list(_viewport_causes(page.facts.viewport)) + list(_markup_causes(page.html_bytes))
        if causes:
            causes.sort(key=lambda cause: -cause[0])
            suspects.append(Suspect(page.final_url, causes[0][0], tuple(reason for _, reason in causes)))
    return sorted(suspects, key=lambda s: -s.width)  # stable: crawl order among equals


def _viewport_causes(viewport: str | None) -> Iterator[tuple[int, str]]:
    if viewport is None:
        yield NO_VIEWPORT_PX, "no viewport meta tag"
        return
    fixed = VIEWPORT_WIDTH.search(viewport)
    scale = VIEWPORT_SCALE.search(viewport)
    if fixed and int(fixed.group(1)) > WIDE_PX:
        yield int(fixed.group(1)), f"viewport fixed at width={fixed.group(1)}"
    elif scale and 0 < float(scale.group(1)) < 1:
        yield int(PHONE_PX / float(scale.group(1))), f"viewport initial-scale={scale.group(1)}"
    elif not fixed and "device-width" not in viewport.lower() and not scale:
        yield NO_VIEWPORT_PX, "viewport without width or initial-scale"


def _markup_causes(html: bytes) -> Iterator[tuple[int, str]]:
    capped, pre_tamed = _own_css(html)
    yield from _css_causes(html)
    for match in WIDE_TAG.finditer(html):
        tag, attributes = match.group(1).lower(), match.group(2)
        yield from _tag_causes(tag.decode(), attributes, tag in capped)
    for match in STYLE_ATTR.finditer(html):
        style = match.group(1)
        yield from _style_causes(style, "inline style")
    if not pre_tamed:
        yield from _pre_causes(html)


def _tag_causes(tag: str, attributes: bytes, capped: bool) -> Iterator[tuple[int, str]]:
    width = WIDTH_ATTR.search(attributes)
    if width is None or int(width.group(1)) <= WIDE_PX:
        return
    style = STYLE_ATTR.search(attributes)
    if style is not None and UNCAPPED.search(style.group(1)):
        capped = False  # max-width: none undoes the page's cap
    elif style is not None and MAX_WIDTH.search(style.group(1)):
        capped = True
    if capped:
        return
    yield int(width.group(1)), f'<{tag} width="{int(width.group(1))}">'


def _style_causes(declarations: bytes, where: str) -> Iterator[tuple[int, str]]:
    if MAX_WIDTH.search(declarations):
        return
    for match in FIXED_WIDTH.finditer(declarations):
        if int(match.group(1)) > WIDE_PX:
            yield int(match.group(1)), f"{where}: {match.group(0).decode(errors='replace')}"


def _own_css(html: bytes) -> tuple[set[bytes], bool]:
    """Tags the page's CSS caps with max-width, and whether it tames ``<pre>``."""
    capped: set[bytes] = set()
    pre_tamed = False
    for selector, declarations in _rules(html):
        tags = {_subject_tag(part) for part in selector.split(b",")}
        if MAX_WIDTH.search(declarations):
            capped |= {tag for tag in tags if tag in CAPPABLE}
        if b"pre" in tags and PRE_TAMED.search(declarations):
            pre_tamed = True
    if b"*" in capped:
        capped |= set(CAPPABLE)
    return capped, pre_tamed


def _subject_tag(selector: bytes) -> bytes:
    """The tag name of a selector's last compound (``.news table.wide`` → ``table``)."""
    compounds = selector.split()
    match = SUBJECT_TAG.match(compounds[-1]) if compounds else None
    return match.group(0).lower() if match else b""


def _css_causes(html: bytes) -> Iterator[tuple[int, str]]:
    for selector, declarations in _rules(html):
        name = selector.strip().decode(errors="replace")[:60]
        yield from _style_causes(declarations, f"CSS {name}")


def _rules(html: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(selector, declarations) of the page's own CSS, ``@media`` blocks left out."""
    for block in STYLE_BLOCK.finditer(html):
        css = MEDIA_BLOCK.sub(b"", block.group(1))
        for rule in CSS_RULE.finditer(css):
            yield rule.group(1), rule.group(2)


def _pre_causes(html: bytes) -> Iterator[tuple[int, str]]:
    for match in PRE_BLOCK.finditer(html):
        if PRE_TAMED.search(match.group(1)):
            continue
        text = MARKUP.sub(b"", match.group(2))
        longest = max((len(line.decode("utf-8", "replace")) for line in text.splitlines()), default=0)
        if longest > PRE_LINE_CHARS:
            yield longest * 8, f"<pre> line of {longest} characters"  # ~8 px a monospace character
