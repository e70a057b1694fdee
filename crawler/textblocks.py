"""A page's visible text, block by block, each with where it is on the page.

Derived from the stored HTML (:attr:`Page.html`) with selectolax, for checks
that judge text one block at a time (the ``i18n.*`` checks): headings,
paragraphs, list items, table cells, buttons, labels, links and leaf
``div``/``span`` elements that hold text of their own. What a visitor never
sees is left out: ``script``, ``style``, ``template``, ``noscript``, ``svg``,
and every element (with what it holds) that is ``hidden``, ``aria-hidden``,
or styled ``display:none`` / ``visibility:hidden`` inline. Front-end
templates that a script renders (an element with Vue's ``v-cloak`` or an
Angular ``ng-app``/``ng-controller``) are left out too: their ``{{ … }}`` is
never shown once the script has run.

A block is the outermost of those elements with no structural element
(paragraph, list, heading, table, ``div``…) inside: inline elements (links,
``strong``, ``span``…) stay part of it, so ``<li><a>Shoes</a></li>`` is one
block, the list item, and a ``<div>`` counts only when no block sits inside it.
Each block carries a CSS selector a shop owner can paste into the browser's
developer tools (from the nearest ancestor with an id, else the last four
levels, with ``:nth-of-type`` where siblings share a tag; hidden elements
removed before counting, so a count can be off by those), and the ``lang``
attribute nearest to it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from selectolax.lexbor import LexborHTMLParser, LexborNode

BLOCK_TAGS = frozenset(
    [
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "li",
        "dt",
        "dd",
        "td",
        "th",
        "caption",
        "figcaption",
        "blockquote",
        "button",
        "label",
        "legend",
        "summary",
        "option",
        "a",
        "div",
        "span",
        "strong",
        "em",
        "b",
        "small",
        "address",
    ]
)
# Inline elements stay part of the block around them; any other block tag inside makes
# the outer element a container, and the blocks are found inside it.
INLINE_TAGS = frozenset(
    [
        "a",
        "span",
        "strong",
        "em",
        "b",
        "i",
        "u",
        "small",
        "label",
        "sup",
        "sub",
        "abbr",
        "code",
        "font",
        "mark",
        "time",
    ]
)
STRUCTURAL_TAGS = BLOCK_TAGS - INLINE_TAGS | {"ul", "ol", "dl", "table", "section", "article", "nav", "form"}
INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg", "head"]
HIDDEN_SELECTOR = (
    "[hidden], [aria-hidden=true], [style*=display], [style*=visibility], [v-cloak], [ng-app], "
    "[ng-controller], [ng-cloak]"
)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
ALWAYS_HIDDEN_ATTRIBUTES = ("hidden", "v-cloak", "ng-app", "ng-controller", "ng-cloak")
MAX_BLOCK_CHARS = 2000
MAX_BLOCKS = 2000
SELECTOR_DEPTH = 4
ASCII_SPACES = re.compile(r"[ \t\n\r\f\v]+")
VALID_ID = re.compile(r"[A-Za-z][\w-]*")
VALID_CLASS = re.compile(r"[A-Za-z_][\w-]*")


@dataclass(frozen=True, slots=True)
class TextBlock:
    """One block of visible text."""

    tag: str
    selector: str
    text: str  # whitespace folded, at most MAX_BLOCK_CHARS
    lang: str | None = None  # the nearest lang attribute, on the block or an ancestor


def text_blocks(html: str) -> tuple[TextBlock, ...]:
    """The visible text blocks of ``html``, in document order."""
    if not html:
        return ()
    tree = LexborHTMLParser(html)
    title = tree.css_first("title")
    title_block = _title_block(title)
    tree.strip_tags(INVISIBLE_TAGS)
    for node in tree.css(HIDDEN_SELECTOR):
        if _is_hidden(node):
            node.decompose()
    root = tree.body
    if root is None:
        return title_block
    return title_block + tuple(_blocks_under(root))


class _Place(NamedTuple):
    """Where a node sits: its selector path (innermost last) and the nearest lang."""

    path: tuple[str, ...]
    lang: str | None


def _blocks_under(root: LexborNode) -> list[TextBlock]:
    """The blocks under ``root``, top down: a block element with no structural element
    inside is one block; anything else is looked into. Selectors are built on the way
    down, so each element's siblings are counted once."""
    blocks: list[TextBlock] = []
    stack = _placed_children(root, _Place((), None))[::-1]
    while stack and len(blocks) < MAX_BLOCKS:
        node, place = stack.pop()
        if node.tag in BLOCK_TAGS and not _has_structure_inside(node):
            _add_block(blocks, node, place, node.text(deep=True, separator=" "))
            continue
        children = _placed_children(node, place)
        inline = {child.mem_id for child, _ in children if _is_inline_leaf(child)}
        _add_block(blocks, node, place, _own_text(node, inline))  # text beside the blocks inside
        stack.extend(placed for placed in children[::-1] if placed[0].mem_id not in inline)
    return blocks


def _placed_children(node: LexborNode, place: _Place) -> list[tuple[LexborNode, _Place]]:
    children = _children(node)
    per_tag = Counter(child.tag for child in children)
    seen: Counter[str | None] = Counter()
    placed = []
    for child in children:
        seen[child.tag] += 1
        nth = f":nth-of-type({seen[child.tag]})" if per_tag[child.tag] > 1 else ""
        lang = (child.attributes.get("lang") or "").strip() or place.lang
        placed.append((child, _Place(_extend(place.path, child, nth), lang)))
    return placed


def _extend(path: tuple[str, ...], node: LexborNode, nth: str) -> tuple[str, ...]:
    element_id = (node.attributes.get("id") or "").strip()
    if element_id and VALID_ID.fullmatch(element_id):
        return (f"{node.tag}#{element_id}",)
    return (*path[-(SELECTOR_DEPTH - 1) :], f"{node.tag}{_class_part(node)}{nth}")


def _title_block(title: LexborNode | None) -> tuple[TextBlock, ...]:
    text = _fold(title.text()) if title is not None else ""
    return (TextBlock("title", "title", text),) if text else ()


def _is_hidden(node: LexborNode) -> bool:
    attributes = node.attributes
    if any(name in attributes for name in ALWAYS_HIDDEN_ATTRIBUTES):
        return True
    if (attributes.get("aria-hidden") or "").strip().lower() == "true":
        return True
    return bool(HIDDEN_STYLE.search(attributes.get("style") or ""))


def _add_block(blocks: list[TextBlock], node: LexborNode, place: _Place, text: str) -> None:
    folded = _fold(text)
    if folded:
        selector = " > ".join(place.path)
        blocks.append(TextBlock(node.tag or "", selector, folded[:MAX_BLOCK_CHARS], place.lang))


def _is_inline_leaf(node: LexborNode) -> bool:
    return node.tag in INLINE_TAGS and not _has_structure_inside(node)


def _own_text(node: LexborNode, inline: set[int]) -> str:
    """The text directly inside ``node``, with that of its ``inline`` children."""
    parts = []
    child = node.child
    while child is not None:
        if child.tag == "-text":
            parts.append(child.text_content or "")
        elif child.mem_id in inline:
            parts.append(child.text(deep=True, separator=" "))
        child = child.next
    return " ".join(parts)


def _has_structure_inside(node: LexborNode) -> bool:
    nodes = node.traverse(include_text=False)
    next(nodes, None)  # the node itself
    return any(n.tag in STRUCTURAL_TAGS for n in nodes)


def _fold(text: str | None) -> str:
    """Runs of ASCII whitespace made one space; a no-break space stays (as in ``PageFacts.text``):
    mis-decoded UTF-8 often ends in one (``Ã\xa0`` for à)."""
    return ASCII_SPACES.sub(" ", text or "").strip(" ")


def _class_part(node: LexborNode) -> str:
    classes = [c for c in (node.attributes.get("class") or "").split() if VALID_CLASS.fullmatch(c)]
    return "".join(f".{c}" for c in classes[:2])


def _children(node: LexborNode) -> list[LexborNode]:
    children = []
    child = node.child
    while child is not None:
        if child.tag != "-text":
            children.append(child)
        child = child.next
    return children
