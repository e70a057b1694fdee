"""A page's structured data (JSON-LD, microdata, Open Graph) exactly as ``extruct``
reads it from the whole page (``uniform=True``), parsing only the page's head when
that gives the same result.

extruct parses the whole page with lxml (libxml2) and reads three things of the tree:
``<script type="application/ld+json">`` anywhere, the ``<meta property content>``
children of ``<head>`` (and the ``prefix`` attributes of ``<html>``/``<head>``), and
``itemscope`` subtrees. On a shop's product page that parse is nearly all of its
cost (0.35 ms of a 55 KB benchmark page) and the head is a quarter of the page.
libxml2 builds its tree as it reads, never moving what it has placed, so the tree
of the text before ``<body>`` is the whole tree's beginning. The head alone is given
to extruct when all of these hold, else the whole page is (as before):

* the page holds no ``itemscope`` (microdata can be anywhere) and looks like a whole
  document to ``lxml.html.fromstring`` (else it returns a fragment, whose scripts differ);
* the first ``<body`` really is a tag, closing the head: it follows a ``>`` (and white
  space), so it is not inside a tag, and the head's text followed by
  ``<body><shophealth-probe>`` puts the probe element in the tree outside any head (inside a
  comment, script, title or quoted attribute it would be text; after a ``<noscript>`` left
  open in the head, libxml2 keeps ``<body>`` and the unknown probe element inside the head);
* a head was seen before it (libxml2 makes one later for a ``<meta>`` only if none was),
  and no ``<html``/``<head`` tag follows it (libxml2 would merge or reopen them);
* nothing after it can be a JSON-LD script: no ``ld+json`` (any case), and no
  character reference that could spell one of its characters (``&#108;``, ``&plus;``…).

The checks read the result through :func:`shophealth.checks.dom.structured_data`.
"""

from __future__ import annotations

import re
from typing import Any

# lxml.html.fromstring's own test (on the text, where \s is wider: a page it misses is read whole)
FULL_DOCUMENT = re.compile(rb"^\s*<(?:html|!doctype)", re.I)
BODY_TAG = re.compile(rb"<body[\t\n\f\r />]")  # searched in lower-cased bytes
HTML_OR_HEAD_TAG = re.compile(rb"<(?:html|head)[\t\n\f\r />]")
# a character of "ld+json" as a character reference (a JSON-LD script's type may be written so)
LD_JSON_REFERENCE = re.compile(
    rb"&(?:plus|#(?:x0*(?:6c|64|2b|6a|73|6f|6e)|0*(?:108|100|43|106|115|111|110)))"
)
PROBE_TAG = "shophealth-probe"
PROBE = f"<body><{PROBE_TAG}>"
WITHOUT_MICRODATA = ["json-ld", "opengraph"]
HTML_SPACE = b" \t\n\f\r"


def empty() -> dict[str, list[Any]]:
    return {"json-ld": [], "microdata": [], "opengraph": []}


def read(html_bytes: bytes, url: str) -> dict[str, list[Any]]:
    """``{"json-ld": [...], "microdata": [...], "opengraph": [...]}`` of the page (extruct, uniform)."""
    html = html_bytes.decode("utf-8", "replace")
    if not html.strip():
        return empty()
    lowered = html_bytes.lower()
    if b"itemscope" in lowered:
        return _extract(html, url, ["json-ld", "microdata", "opengraph"])
    tree = head_document(html_bytes, lowered)
    return _extract(html if tree is None else tree, url, WITHOUT_MICRODATA)


def _extract(document: Any, url: str, syntaxes: list[str]) -> dict[str, list[Any]]:
    import extruct  # 0.3 s to import (rdflib, mf2py): only scans with product pages pay it

    try:
        data: dict[str, list[Any]] = extruct.extract(
            document, base_url=url, syntaxes=syntaxes, uniform=True, errors="ignore"
        )
    except Exception:  # hostile markup must not end the check; extruct raises many kinds
        return empty()
    return {"microdata": [], **data}


def head_document(html_bytes: bytes, lowered: bytes | None = None) -> Any:
    """lxml's tree of the page's head (and a probe element), if it holds all that extruct reads
    of a page without microdata, else None; ``lowered`` is ``html_bytes.lower()`` if made already."""
    lowered = html_bytes.lower() if lowered is None else lowered
    body_tag = BODY_TAG.search(lowered)
    if body_tag is None or not FULL_DOCUMENT.match(html_bytes):
        return None
    cut = body_tag.start()
    if not html_bytes[:cut].rstrip(HTML_SPACE).endswith(b">"):
        return None  # the "<body" may be inside a tag: only after a ">" is it surely one, or text
    if HTML_OR_HEAD_TAG.search(lowered, cut + 1) or _json_ld_may_follow(lowered, cut):
        return None
    # the bytes before an ASCII "<" decode to the same characters alone as in the whole page
    return _head_tree(html_bytes[:cut].decode("utf-8", "replace") + PROBE)


def _head_tree(html: str) -> Any:
    """lxml's tree of the head and the probe, if the probe shows the head ended there; else None."""
    from extruct.utils import parse_html

    try:
        tree = parse_html(html, encoding="UTF-8")
    except Exception:  # the whole page would fail the same way or not: let extruct judge it
        return None
    probe = next(tree.iter(PROBE_TAG), None)
    if probe is None or tree.find("head") is None:
        return None
    if any(ancestor.tag == "head" for ancestor in probe.iterancestors()):
        return None  # libxml2 leaves an unknown element in an open head: "<body" did not close it
    return tree


def _json_ld_may_follow(lowered: bytes, start: int) -> bool:
    """A JSON-LD script may follow ``start``: its type, written plainly or with character references."""
    return lowered.find(b"ld+json", start) >= 0 or LD_JSON_REFERENCE.search(lowered, start) is not None
