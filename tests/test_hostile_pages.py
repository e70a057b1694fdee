"""Hostile page text never costs the page or the scan (issue 9, item 2)."""

from __future__ import annotations

from shophealth.crawler.parse import page_from_body

DEEP_ARRAYS = "[" * 100_000 + "]" * 100_000


def _page(*json_ld: str) -> bytes:
    scripts = "".join(f'<script type="application/ld+json">{block}</script>' for block in json_ld)
    return f'<title>Shop</title>{scripts}<a href="/p">P</a>'.encode()


def test_json_ld_nested_past_the_decoders_limit_does_not_drop_the_page() -> None:
    page = page_from_body("http://127.0.0.1/", _page(DEEP_ARRAYS, '{"@type": "Store"}'))
    assert page.facts is not None and page.facts.title == "Shop"
    assert page.facts.json_ld_types == ("Store",)
    assert [ref.url for ref in page.refs] == ["http://127.0.0.1/p"]
