"""Hostile page text never costs the page or the scan (issue 9, item 2)."""

from __future__ import annotations

from realworld import corpus_dir, manifest_entries

from shophealth.checks.crawl import find_cut_pages
from shophealth.crawler.evidence import SiteEvidence
from shophealth.crawler.parse import MAX_DEPTH, page_from_body, parse_html

DEEP_ARRAYS = "[" * 100_000 + "]" * 100_000


def _page(*json_ld: str) -> bytes:
    scripts = "".join(f'<script type="application/ld+json">{block}</script>' for block in json_ld)
    return f'<title>Shop</title>{scripts}<a href="/p">P</a>'.encode()


def test_json_ld_nested_past_the_decoders_limit_does_not_drop_the_page() -> None:
    page = page_from_body("http://127.0.0.1/", _page(DEEP_ARRAYS, '{"@type": "Store"}'))
    assert page.facts is not None and page.facts.title == "Shop"
    assert page.facts.json_ld_types == ("Store",)
    assert [ref.url for ref in page.refs] == ["http://127.0.0.1/p"]


def _nested(depth: int) -> bytes:
    return ('<title>Deep</title><a href="/before">B</a>' + "<div>" * depth + "x" + "</div>" * depth).encode()


def test_a_page_nested_past_the_depth_limit_is_read_up_to_there() -> None:
    # 60,000 nested elements took lexbor ~4 s (its time grows with the square of the depth)
    page = page_from_body("http://127.0.0.1/", _nested(60_000))
    assert page.facts is not None and page.facts.nesting_cut and page.facts.title == "Deep"
    assert [ref.url for ref in page.refs] == ["http://127.0.0.1/before"]
    assert page.html.count("<div>") == MAX_DEPTH and len(page.html) < 60_000 * 5
    again = parse_html(page.html, page.final_url)  # a resumed scan parses the kept HTML again
    assert again.facts.nesting_cut and again.html == page.html
    (finding,) = find_cut_pages(SiteEvidence(site=page.url, home=page.url, pages=(page,)), {})
    assert "nested more than 4,096 deep" in finding.message


def test_stray_end_tags_do_not_hide_deep_nesting() -> None:
    body = b"</div>" * 10_000 + _nested(10_000)
    page = page_from_body("http://127.0.0.1/", body)
    assert page.facts is not None and page.facts.nesting_cut


def test_wide_pages_and_unclosed_optional_tags_are_not_cut() -> None:
    rows = "<table>" + "<tr><td>a<td>b" * 3_000 + "</table>"
    lists = "<ul>" + "<li><p>item<img src=/i.png><br>" * 3_000 + "</ul>"
    flat = "<div><span>x</span></div>" * 5_000
    for body in (rows, lists, flat, _nested(MAX_DEPTH).decode()):
        page = page_from_body("http://127.0.0.1/", f"<title>T</title>{body}".encode())
        assert page.facts is not None and not page.facts.nesting_cut
        assert page.html.endswith(body[-20:])


def test_real_pages_are_not_cut() -> None:
    pages = [e["path"] for e in manifest_entries("") if str(e["path"]).endswith((".html", ".htm"))]
    assert len(pages) > 100
    for path in pages:
        page = page_from_body("http://127.0.0.1/", (corpus_dir() / path).read_bytes())
        assert page.facts is not None and not page.facts.nesting_cut, path
