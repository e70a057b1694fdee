"""The parser's shortcuts give what parsing from scratch gives.

``crawler.parse`` keeps each element's references for the next pages of the
shop (keyed on the page's origin when the element's URLs are root-relative or
absolute, else on the page's URL), and folds the visible text's whitespace by
cutting around runs. Both are checked here against the plain computation, on
random hrefs read from pages at different addresses (hypothesis), so a cache
key that leaves out something the answer depends on shows up as a difference.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import HREFS, URLS

from shophealth.crawler import parse, urls
from shophealth.crawler.evidence import Ref
from shophealth.crawler.parse import fold_spaces, parse_html

SETTINGS = settings(
    max_examples=80,
    deadline=timedelta(seconds=5),
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
BASES = st.one_of(
    URLS,
    st.sampled_from(
        [
            "https://shop.example/a/b",
            "https://shop.example/c/",
            "http://shop.example/a/b",
            "https://other.example/a/b?q=1",
            "https://shop.example:8443/x",
        ]
    ),
).filter(lambda url: url.startswith(("http://", "https://")))
ELEMENTS = st.sampled_from(
    [
        '<a href="{0}">Go</a>',
        '<img src="{0}" srcset="{0} 1x, {1} 2x" alt="pic">',
        '<link rel="stylesheet" href="{0}">',
        '<form action="{0}" method="post"></form>',
        '<img data-src="{0}" data-srcset="{1}">',
        '<iframe src="{1}"></iframe>',
    ]
)


def _fresh_refs(html: str, url: str) -> tuple[Ref, ...]:
    parse._known_refs.clear()
    return parse_html(html, url).refs


@SETTINGS
@given(
    element=ELEMENTS,
    hrefs=st.lists(HREFS, min_size=2, max_size=2),
    bases=st.lists(BASES, min_size=2, max_size=3),
    with_base_tag=st.booleans(),
)
def test_references_read_on_another_page_are_those_of_that_page(
    element: str, hrefs: list[str], bases: list[str], with_base_tag: bool
) -> None:
    quoted = [h.replace("&", "&amp;").replace('"', "&quot;") for h in hrefs]
    body = element.format(*quoted)
    head = f'<base href="{quoted[1]}">' if with_base_tag else ""
    html = f"<html><head>{head}</head><body>{body}{body}</body></html>"
    expected = [_fresh_refs(html, base) for base in bases]
    parse._known_refs.clear()
    assert [parse_html(html, base).refs for base in bases] == expected
    assert [parse_html(html, base).refs for base in reversed(bases)] == expected[::-1]


def test_the_same_links_on_pages_of_two_folders_and_two_shops() -> None:
    html = '<a href="next">n</a><a href="/about">a</a><a href="https://x.example/p">x</a><a href="#top">t</a>'
    parse._known_refs.clear()
    urls = {
        base: [ref.url for ref in parse_html(html, base).refs]
        for base in ("https://a.example/x/1", "https://a.example/y/1", "http://b.example/x/1")
    }
    assert urls == {
        "https://a.example/x/1": [
            "https://a.example/x/next",
            "https://a.example/about",
            "https://x.example/p",
        ],
        "https://a.example/y/1": [
            "https://a.example/y/next",
            "https://a.example/about",
            "https://x.example/p",
        ],
        "http://b.example/x/1": ["http://b.example/x/next", "http://b.example/about", "https://x.example/p"],
    }


def _fold_reference(data: bytes) -> bytes:
    return b" ".join(data.split())  # bytes.split() splits on runs of ASCII whitespace


@SETTINGS
@given(
    st.lists(
        st.sampled_from([b" ", b"  ", b"   ", b"\t", b"\n\r", b"a", b"\xc2\xa0", b"\x0b\x0c"]), max_size=60
    )
)
def test_folding_spaces_is_splitting_on_ascii_whitespace(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert fold_spaces(data) == _fold_reference(data)


def test_folding_a_text_of_many_runs_past_the_cut_over() -> None:
    data = b"a  b   c \n " * (parse.FOLD_RUNS_MAX + 10) + b"    end   "
    assert fold_spaces(data) == _fold_reference(data)


ROOTS = st.one_of(
    st.sampled_from(
        [
            "https://shop.example/",
            "http://127.0.0.1:8080/",
            "https://a..b/",
            "https://shop.example:99999/",
            "https://Shop.example/",
            "http://shop.example:80/",
            "https://.shop/",
        ]
    ),
    URLS.map(lambda url: urls.origin_root(url) if url.startswith("http") else "https://x.example/"),
)
ROOT_RELATIVE = st.text(alphabet="/.?;:@%#=&~+!$'()*,-_aZ9 é", max_size=20).map(lambda path: "/" + path)


@SETTINGS
@given(root=ROOTS, href=st.one_of(ROOT_RELATIVE, HREFS))
def test_the_short_way_to_resolve_a_path_gives_what_the_long_way_gives(root: str, href: str) -> None:
    assert urls._resolve.__wrapped__(root, href) == urls._resolve_joined(root, href)  # type: ignore[attr-defined]


def test_the_short_way_takes_canonical_paths_and_leaves_the_rest() -> None:
    root = "https://shop.example/"
    for href in ("/p/1", "/a?b=c", "/a//b", "/a/./b", "/a/../b", "/a?", "/é", "/a%7e", "/;", "/a;b", "/a?;"):
        assert urls._resolve.__wrapped__(root, href) == urls._resolve_joined(root, href)  # type: ignore[attr-defined]
