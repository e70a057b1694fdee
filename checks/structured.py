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

The words these tests need (:data:`HEAD_WORDS`) are found in the pass every page's HTML
gets once for all checks (:data:`shophealth.checks.dom.PAGE_MARKUP`, made during the
crawl), whose reader :func:`head_end` keeps only where the head ends, if it may be read
alone. The checks read the result through :func:`shophealth.checks.dom.structured_data`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

FULL_DOCUMENT = re.compile(r"^\s*<(?:html|!doctype)", re.I)  # lxml.html.fromstring's own test
HEAD_WORDS = ("itemscope", "ld+json", "&plus", "&#", "<body", "<html", "<head")  # lower case
TAG_NAME_END = frozenset("\t\n\f\r />")
# a character of "ld+json" as a character reference (a JSON-LD script's type may be written so)
LD_JSON_REFERENCE = re.compile(r"&#(?:x0*(?:6c|64|2b|6a|73|6f|6e)|0*(?:108|100|43|106|115|111|110))", re.I)
ITEMSCOPE = re.compile("itemscope", re.I)  # where it is not, microdata is not read (it would find none)
PROBE_TAG = "shophealth-probe"
PROBE = f"<body><{PROBE_TAG}>"
SYNTAXES = ["json-ld", "microdata", "opengraph"]
SCHEMA_CONTEXT = "http://schema.org"  # extruct.extract's default
WITHOUT_MICRODATA = ["json-ld", "opengraph"]
HTML_SPACE = " \t\n\f\r"
LENGTHENED_BY_LOWER = "\u0130"  # the one character str.lower() makes two of: hits would be misplaced


def empty() -> dict[str, list[Any]]:
    return {"json-ld": [], "microdata": [], "opengraph": []}


def head_end(html: str, hits: list[tuple[int, int, int]]) -> int | None:
    """Where the page's head ends (its first ``<body`` tag) if the head alone may hold what
    extruct reads of the page, as the :data:`HEAD_WORDS` found in it (``(word, start, end)``, in
    any case) tell; else None. Whether the head really ends there is :func:`head_document`'s test."""
    if LENGTHENED_BY_LOWER in html or not FULL_DOCUMENT.match(html):
        return None
    found: dict[str, list[int]] = {}
    for word, start, _ in hits:
        found.setdefault(HEAD_WORDS[word], []).append(start)
    bodies = [start for start in found.get("<body", ()) if _is_tag(html, start)]
    if found.get("itemscope") or not bodies:
        return None
    cut = min(bodies)
    if any(
        start > cut and _is_tag(html, start) for word in ("<html", "<head") for start in found.get(word, ())
    ):
        return None
    if any(start >= cut for word in ("ld+json", "&plus") for start in found.get(word, ())):
        return None
    if any(start >= cut and LD_JSON_REFERENCE.match(html, start) for start in found.get("&#", ())):
        return None
    return cut


def _is_tag(html: str, start: int) -> bool:
    """The five characters at ``start`` (``<body``, ``<html``, ``<head``) end a tag's name."""
    return html[start + 5 : start + 6] in TAG_NAME_END


def read(html: str, url: str, cut: int | None) -> dict[str, list[Any]]:
    """``{"json-ld": [...], "microdata": [...], "opengraph": [...]}`` of the page (extruct, uniform);
    ``cut`` is :func:`head_end` of the page."""
    if not html.strip():
        return empty()
    tree = head_document(html, cut)
    if tree is not None:
        return _extract(tree, url, WITHOUT_MICRODATA)
    return _extract(html, url, SYNTAXES if ITEMSCOPE.search(html) else WITHOUT_MICRODATA)


def _extract(document: Any, url: str, syntaxes: list[str]) -> dict[str, list[Any]]:
    try:
        data = extractors().extract(document, url, syntaxes)
    except Exception:  # hostile markup must not end the check; extruct raises many kinds
        return empty()
    return {"microdata": [], **data}


class _Extruct:
    """``extruct.extract(document, base_url=url, syntaxes=…, uniform=True, errors="ignore")`` for
    the three syntaxes read here, made of extruct's own extractors and uniform functions.

    extruct's package imports every syntax's extractor: RDFa's (rdflib) and microformats'
    (mf2py, bs4), 9.7 MB of a process and ~0.1 s never used here, in the worker process that
    reads structured data and in the coordinator. So its modules for these syntaxes are imported
    without running its package's ``__init__`` (a later ``import extruct`` runs it as usual), and
    :meth:`extract` does what ``extruct.extract`` does for them, step for step: parse a string
    with ``parse_html`` (a failure gives ``{}``), extract each syntax in its order (a failure
    leaves it out), then make microdata and Open Graph uniform (a failure empties that syntax;
    a syntax left out raises, as extruct's own lookup does)."""

    def __init__(self) -> None:
        with _without_package_init("extruct"):
            from extruct.jsonld import JsonLdExtractor
            from extruct.opengraph import OpenGraphExtractor
            from extruct.uniform import _umicrodata_microformat, _uopengraph
            from extruct.utils import parse_html
            from extruct.w3cmicrodata import MicrodataExtractor

        self.parse_html = parse_html
        self._extractors = {  # in extruct.extract's order
            "microdata": MicrodataExtractor(add_html_node=False).extract_items,
            "json-ld": JsonLdExtractor().extract_items,
            "opengraph": OpenGraphExtractor().extract_items,
        }
        self._uniform: dict[str, Callable[[list[Any]], list[Any]]] = {  # in extruct.extract's order
            "microdata": functools.partial(_umicrodata_microformat, schema_context=SCHEMA_CONTEXT),
            "opengraph": functools.partial(_uopengraph, with_og_array=False),
        }

    def extract(self, document: Any, url: str, syntaxes: list[str]) -> dict[str, list[Any]]:
        if isinstance(document, str):
            try:
                document = self.parse_html(document, encoding="UTF-8")
            except Exception:
                return {}
        output: dict[str, list[Any]] = {}
        for syntax, extract in self._extractors.items():
            if syntax in syntaxes:
                with contextlib.suppress(Exception):  # errors="ignore": the syntax is left out
                    output[syntax] = list(extract(document, base_url=url))
        for syntax, make_uniform in self._uniform.items():
            if syntax in syntaxes:
                raw = output[syntax]  # a syntax left out raises here, as in extruct.extract
                try:
                    output[syntax] = make_uniform(raw)
                except Exception:  # errors="ignore": the syntax is emptied
                    output[syntax] = []
        return output


@functools.cache
def extractors() -> _Extruct:
    """extruct's extractors for the syntaxes read here, imported once (:class:`_Extruct`)."""
    return _Extruct()


@contextlib.contextmanager
def _without_package_init(name: str) -> Iterator[None]:
    """While in it, ``name``'s submodules import without the package's ``__init__`` running: a
    bare package module stands in for it, and is taken out again after (an ``import name``
    later runs the ``__init__``, reusing the submodules imported meanwhile)."""
    if name in sys.modules:
        yield
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"no package {name}")
    stand_in = sys.modules[name] = importlib.util.module_from_spec(spec)
    try:
        yield
    finally:
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]


def head_document(html: str, cut: int | None) -> Any:
    """lxml's tree of the page's head up to ``cut`` (:func:`head_end`) and a probe element, if the
    head ended there; else None."""
    if cut is None:
        return None
    head = html[:cut]
    if not head.rstrip(HTML_SPACE).endswith(">"):
        return None  # the "<body" may be inside a tag: only after a ">" is it surely one, or text
    return _head_tree(head + PROBE)


def _head_tree(html: str) -> Any:
    """lxml's tree of the head and the probe, if the probe shows the head ended there; else None."""
    try:
        tree = extractors().parse_html(html, encoding="UTF-8")
    except Exception:  # the whole page would fail the same way or not: let extruct judge it
        return None
    probe = next(tree.iter(PROBE_TAG), None)
    if probe is None or tree.find("head") is None:
        return None
    if any(ancestor.tag == "head" for ancestor in probe.iterancestors()):
        return None  # libxml2 leaves an unknown element in an open head: "<body" did not close it
    return tree
