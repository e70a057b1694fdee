"""Structured data read from a page's head alone (checks.structured) equals what extruct
reads of the whole page, on hostile and odd markup and on the real-world corpus."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import extruct
import pytest

from shophealth.checks import dom, structured
from shophealth.crawler.evidence import Page
from shophealth.crawler.parse import page_from_body
from tests.realworld import corpus_dir

URL = "https://shop.example/p/1"
DOCTYPE = "<!doctype html>"
OG_TITLE = '<meta property="og:title" content="Scarf">'
OG_LATE = '<meta property="og:price:amount" content="99">'
LD = '<script type="application/ld+json">{"@type": "Product", "name": "%s"}</script>'


def page(head: str, body: str = "<p>Wool scarf</p>", start: str = DOCTYPE + "<html lang=en>") -> str:
    return f"{start}<head><title>Scarf</title>{head}</head>\n<body>{body}</body></html>"


# pages whose head holds everything: read from the head alone
HEAD_ONLY = {
    "JSON-LD and Open Graph in the head": page(OG_TITLE + LD % "a"),
    "several JSON-LD blocks": page(
        LD % "a" + LD % "b" + '<script type="application/ld+json">[{"@type": "Offer"}]</script>'
    ),
    "HTML comment around JSON-LD": page(
        '<script type="application/ld+json"><!--\n{"@type": "Product"}\n--></script>'
    ),
    "broken JSON-LD": page('<script type="application/ld+json">{"@type": "Product",</script>' + OG_TITLE),
    "prefix attributes": page(
        '<meta property="fb:app_id" content="1">', start=DOCTYPE + '<html prefix="fb: http://ogp.me/ns/fb#">'
    ),
    "text in the head ends it": page("Hello" + OG_TITLE),
    "meta in the body": page(OG_TITLE, body=OG_LATE + "<p>x</p>"),
    "script in the body that is not JSON-LD": page(OG_TITLE, body='<script>var a = "<b>";</script>'),
    "body tag in upper case": page(OG_TITLE).replace("<body>", "<BODY class=x>"),
}
# pages where the head may not tell: read from the whole page
WHOLE_PAGE = {
    "JSON-LD in the body": page(OG_TITLE, body=LD % "b"),
    "JSON-LD type as a character reference": page(
        "", body='<script type="application/ld&#x2b;json">{"@type": "Product"}</script>'
    ),
    "JSON-LD type as a named reference": page(
        "", body='<script type="application/ld&plus;json">{"@type": "Product"}</script>'
    ),
    "a comment before the body": page(OG_TITLE).replace("\n<body>", "<!-- <body> -->\n<body>"),
    "body inside a comment in the head": page("<!-- <body> -->" + OG_LATE),
    "body inside a script in the head": page('<script>document.write("<body>")</script>' + OG_LATE),
    "body inside a quoted attribute": page('<meta name="x" content="a> <body>">' + OG_LATE),
    "body inside an unquoted attribute": page("<meta name=a<body >" + OG_LATE),
    "body inside a title": DOCTYPE
    + "<html><head><title>a> <body> b</title>"
    + OG_LATE
    + "</head><body></body></html>",
    "noscript left open in the head": DOCTYPE + "<html><head><noscript>\n<body>" + OG_LATE + "</body></html>",
    "html tag after the body": page(OG_TITLE, body='<html prefix="product: http://x/">'),
    "head tag after the body": page("", body="<head>" + OG_LATE + "</head>"),
    "no head": DOCTYPE + "<html><body>" + OG_TITLE + "</body></html>",
    "no body tag": DOCTYPE + "<html><head>" + OG_TITLE + "</head><p>x</p></html>",
    "not a whole document": "<!-- shop -->" + page(OG_TITLE + LD % "a"),
    "end of html in the head": DOCTYPE + "<html><head>" + OG_TITLE + "</html>" + OG_LATE + "<body></body>",
    "a dotted capital I (lower-casing lengthens the text)": page(OG_TITLE + "<title>İstanbul</title>"),
    "microdata": page(
        OG_TITLE,
        body='<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">S</span></div>',
    ),
}


def page_of(html: str | bytes, content_type: str = "text/html; charset=utf-8") -> Page:
    return page_from_body(URL, html.encode() if isinstance(html, str) else html, content_type)


def read_from_head(page: Page) -> bool:
    return structured.head_document(page.html, dom.PAGE_MARKUP.of(page)[dom.HEAD_END]) is not None


def whole_page_reading(page: Page) -> dict[str, list[Any]]:
    """What extruct reads of the whole page, as checks.dom read it before."""
    html = page.html_bytes.decode("utf-8", "replace")
    if not html.strip():
        return structured.empty()
    data = extruct.extract(
        html, base_url=URL, syntaxes=["json-ld", "microdata", "opengraph"], uniform=True, errors="ignore"
    )
    return {"microdata": [], **data}


@pytest.mark.parametrize("html", list(HEAD_ONLY.values()), ids=list(HEAD_ONLY))
def test_a_page_whose_head_holds_everything_is_read_from_the_head_alone(html: str) -> None:
    page = page_of(html)
    assert read_from_head(page)
    assert dom.structured_data(page) == whole_page_reading(page)


@pytest.mark.parametrize("html", list(WHOLE_PAGE.values()), ids=list(WHOLE_PAGE))
def test_a_page_whose_head_may_not_tell_is_read_whole(html: str) -> None:
    page = page_of(html)
    assert not read_from_head(page)
    assert dom.structured_data(page) == whole_page_reading(page)


def test_late_meta_and_body_scripts_are_read() -> None:
    """The whole-page cases above do find what follows the false "<body" (the test can fail)."""
    data = dom.structured_data(page_of(WHOLE_PAGE["body inside a comment in the head"]))
    assert data["opengraph"] and data["opengraph"][0]["og:price:amount"] == "99"
    ld = dom.structured_data(page_of(WHOLE_PAGE["JSON-LD in the body"]))["json-ld"]
    assert [item["name"] for item in ld] == ["b"]


def test_every_real_world_page_reads_the_same() -> None:
    paths = sorted(corpus_dir().rglob("*.html"))
    if not paths:
        pytest.skip(f"real-world corpus not found at {corpus_dir()} (set SHOPHEALTH_REALWORLD)")
    for path in paths:
        page = page_of(path.read_bytes(), "text/html")
        assert dom.structured_data(page) == whole_page_reading(page), path


HOSTILE_STRUCTURED = {
    "broken json-ld": '<html><head><script type="application/ld+json">{"@type": "Product",</script></head></html>',
    "json-ld list and comment": (
        '<html><head><script type="application/ld+json">// c\n[{"@type": "Product"}, {"@type": "Offer"}]'
        "</script></head></html>"
    ),
    "microdata": (
        '<html><body><div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Pot</span>'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<meta itemprop="price" content="12"></div></div></body></html>'
    ),
    "og with prefix": (
        '<html prefix="og: http://ogp.me/ns#"><head><meta property="og:type" content="product">'
        '<meta property="product:price:amount" content="9"></head></html>'
    ),
    "not html": "\x00\x01 <<<>>> \ud800",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_STRUCTURED))
def test_the_extractors_read_what_extruct_extract_reads(name: str) -> None:
    html = HOSTILE_STRUCTURED[name]
    for syntaxes in (structured.SYNTAXES, structured.WITHOUT_MICRODATA):
        try:
            expected: Any = extruct.extract(
                html, base_url=URL, syntaxes=syntaxes, uniform=True, errors="ignore"
            )
        except Exception:
            expected = structured.empty()
        else:
            expected = {"microdata": [], **expected}
        assert structured._extract(html, URL, syntaxes) == expected


def test_reading_structured_data_does_not_import_extruct_s_other_syntaxes() -> None:
    """rdflib (RDFa), mf2py and bs4 (microformats): 9.7 MB and ~0.1 s a process never used here;
    an ``import extruct`` afterwards still gets the whole package."""
    probe = (
        "import sys\n"
        "from shophealth.checks import structured\n"
        'html = \'<html><head><script type="application/ld+json">{"@type": "Product"}</script>'
        '<meta property="og:type" content="product"></head><body itemscope></body></html>\'\n'
        "data = structured.read(html, 'http://127.0.0.1/p', None)\n"
        "assert data['json-ld'] and data['opengraph'], data\n"
        "print(sorted(m for m in ('rdflib', 'mf2py', 'bs4', 'extruct') if m in sys.modules))\n"
        "import extruct\n"
        "print(callable(extruct.extract))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["[]", "True"], done.stderr
