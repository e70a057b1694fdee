"""A page's HTML is kept as an LZ4 frame; what was kept as Zstandard still reads."""

from __future__ import annotations

from shophealth.crawler.evidence import LZ4_FRAME_MAGIC, compress, compress_bytes, decompress
from shophealth.crawler.parse import page_from_body

HTML = "<html><body><h1>貨品</h1><p>" + "Free delivery over $500. " * 200 + "</p></body></html>"


def test_a_page_keeps_its_html_as_an_lz4_frame_that_reads_back() -> None:
    page = page_from_body("https://shop.example/p", HTML.encode())
    assert page.body_z.startswith(LZ4_FRAME_MAGIC)
    assert len(page.body_z) < len(HTML) // 4
    assert page.html == HTML


def test_decompress_reads_zstandard_as_before() -> None:
    assert decompress(compress(HTML)) == HTML.encode()
    assert decompress(compress_bytes(b"\x04\x22\x4d\x18 not a frame")) == b"\x04\x22\x4d\x18 not a frame"
    assert decompress(b"") == b""
