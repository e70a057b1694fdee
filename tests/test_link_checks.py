"""links.*, images.broken and seo.basics judged on hand-written evidence."""

from __future__ import annotations

import pytest

from shophealth.checks.images import find_broken_images
from shophealth.checks.links import (
    find_broken_links,
    find_redirect_problems,
    find_soft_404s,
    is_not_found_heading,
)
from shophealth.checks.linkverdict import link_verdict
from shophealth.checks.seo import find_seo_basics
from shophealth.crawler.evidence import ErrorKind, Hop, LinkResult, Sighting, SiteEvidence, compress_bytes
from shophealth.crawler.parse import page_from_body

HOME = "https://shop.example/"


def link(
    url: str, tag: str = "a", status: int | None = 200, content_type: str = "", **fields: object
) -> LinkResult:
    """A link target's facts, seen once on the home page; it answered 200 unless told."""
    seen = (Sighting(HOME, tag, "src" if tag == "img" else "href"),)
    if content_type:
        fields["headers"] = {"content-type": content_type}
    return LinkResult(url=url, status=status, seen=seen, count=1, internal=url.startswith(HOME), **fields)  # type: ignore[arg-type]


def evidence(*links: LinkResult, pages: tuple = (), probe: object = None) -> SiteEvidence:
    return SiteEvidence(site=HOME, home=HOME, links={r.url: r for r in links}, pages=pages, probe=probe)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "heading",
    [
        "Page not found",
        "404 Not Found",
        "404 | Page Not Found – Shop",
        "找不到頁面",
        "页面不存在",
        "ページが見つかりません",
        "Seite nicht gefunden",
        "Oops! This page doesn't exist",
        "找不到產品",
        "找不到產品 | 海港家品",
        "抱歉，你要找的產品已停售或不存在",
        "商品已下架",
        "此產品已停售",
        "你要找的頁面不存在",
        "This product is no longer available",
        "Sorry, this product is unavailable",
        "The page you requested could not be found",
    ],
)
def test_not_found_headings(heading: str) -> None:
    assert is_not_found_heading(heading)


@pytest.mark.parametrize(
    "heading",
    [
        'Why "Page not found" errors hurt a shop',
        "Fatal Error Graphic Tee",
        "404 Vintage Lamp",
        "Found: the perfect pot",
        "已停售產品回收計劃",
        "找不到更好的水壺",
        "This product is currently unavailable",
        None,
        "",
    ],
)
def test_headings_that_only_mention_not_found(heading: str | None) -> None:
    assert not is_not_found_heading(heading)


def test_broken_internal_link_is_error_external_is_warning() -> None:
    found = list(
        find_broken_links(
            evidence(
                link(HOME + "gone", status=404),
                link("https://other.example/x", status=404),
            ),
            {},
        )
    )
    severities = {f.target: f.severity for f in found}
    assert severities == {HOME + "gone": "error", "https://other.example/x": "warning"}


def test_broken_image_is_not_a_broken_link() -> None:
    ev = evidence(link(HOME + "a.jpg", tag="img", status=404))
    assert list(find_broken_links(ev, {})) == []
    assert [f.check for f in find_broken_images(ev, {})] == ["images.broken"]


def test_ignore_option() -> None:
    ev = evidence(link("https://partner.example/x", status=500))
    assert list(find_broken_links(ev, {"ignore": ["^https://partner"]})) == []


def test_unverifiable_is_never_broken() -> None:
    ev = evidence(link("https://walled.example/", status=403, headers={"cf-mitigated": "challenge"}))
    assert list(find_broken_links(ev, {})) == []


def test_removed_product_redirected_home_is_soft_404() -> None:
    moved = link(HOME + "products/old", redirects=(Hop(HOME + "products/old", 301, HOME),), final_url=HOME)
    language_root = link(HOME, redirects=(Hop(HOME, 302, HOME + "en/"),), final_url=HOME + "en/")
    found = list(find_soft_404s(evidence(moved, language_root), {}))
    assert [f.target for f in found] == [HOME + "products/old"]


def test_page_like_the_probe_is_soft_404() -> None:
    home = page_from_body(HOME, b"<title>Shop</title><h1>Welcome</h1>")
    gone = page_from_body(HOME + "p/x", b"<title>Oh no | Shop</title><p>Sorry</p>")
    probe = page_from_body(HOME + "probe", b"<title>Oh no | Shop</title>", status=404)
    found = list(find_soft_404s(evidence(pages=(home, gone), probe=probe), {}))
    assert [f.target for f in found] == [HOME + "p/x"]


def test_removed_product_page_unlike_the_shops_not_found_page_is_soft_404() -> None:
    home = page_from_body(HOME, "<title>海港家品</title><h1>歡迎</h1>".encode())
    gone = page_from_body(
        HOME + "products/kettle",
        "<title>找不到產品</title><main><h2>抱歉，你要找的產品已停售或不存在</h2></main>".encode(),
    )
    probe = page_from_body(HOME + "probe", "<title>404 | 海港家品</title>".encode(), status=404)
    found = list(find_soft_404s(evidence(pages=(home, gone), probe=probe), {}))
    assert [(f.target, f.evidence["title"]) for f in found] == [(HOME + "products/kettle", "找不到產品")]


def test_product_page_mentioning_a_discontinued_item_is_not_soft_404() -> None:
    product = page_from_body(
        HOME + "products/kettle-2",
        "<title>經典水壺二代 | 海港家品</title><h1>經典水壺二代</h1><p>舊款經典水壺已停售，"
        "找不到舊款的顧客請選購此款。</p><p>Our first kettle is no longer available; this one "
        "replaces it. Page not found? Contact us.</p>".encode(),
    )
    assert list(find_soft_404s(evidence(pages=(product,)), {})) == []


def test_redirect_loop_and_long_chain() -> None:
    loop = link(HOME + "a", status=301, error_kind=ErrorKind.REDIRECT_LOOP, error="redirect loop")
    hops = tuple(Hop(HOME + f"h{i}", 301, HOME + f"h{i + 1}") for i in range(4))
    chain = link(HOME + "h0", redirects=hops, final_url=HOME + "h4")
    short = link(HOME + "s", redirects=hops[:3], final_url=HOME + "h3")
    found = {f.target: f.severity for f in find_redirect_problems(evidence(loop, chain, short), {})}
    assert found == {HOME + "a": "error", HOME + "h0": "warning"}
    assert list(find_broken_links(evidence(loop), {})) == []


def test_image_served_as_html() -> None:
    ev = evidence(link(HOME + "p.jpg", tag="img", content_type="text/html; charset=utf-8"))
    assert [f.message.startswith("Image URL is not an image") for f in find_broken_images(ev, {})] == [True]


def test_seo_duplicate_and_missing() -> None:
    a = page_from_body(HOME + "a", b'<title>Same</title><meta name="description" content="d">')
    b = page_from_body(HOME + "b", b'<title>Same</title><meta name="description" content="d">')
    c = page_from_body(HOME + "c", b"<p>no title</p>")
    found = [(f.page, f.severity, f.message) for f in find_seo_basics(evidence(pages=(a, b, c)), {})]
    assert (HOME + "c", "warning", "Page has no title") in found
    assert (HOME + "c", "info", "Page has no meta description") in found
    assert (HOME + "a", "warning", "2 pages share the title 'Same'") in found
    assert len(found) == 3


def test_post_form_endpoint_is_judged_only_on_transport() -> None:
    post = Sighting(HOME, "form", "action", "", "post")
    answered = LinkResult(url=HOME + "cart/add", status=404, seen=(post,), count=1, internal=True)
    refused = LinkResult(
        url="https://pay.example/x",
        error_kind=ErrorKind.CONNECT,
        error="connection refused",
        seen=(post,),
        count=1,
    )
    found = [f.target for f in find_broken_links(evidence(answered, refused), {})]
    assert found == ["https://pay.example/x"]


def test_get_form_endpoint_is_judged_like_a_link() -> None:
    search = Sighting(HOME, "form", "action", "", "get")
    result = LinkResult(url=HOME + "search", status=404, seen=(search,), count=1, internal=True)
    assert [f.target for f in find_broken_links(evidence(result), {})] == [HOME + "search"]


@pytest.mark.parametrize("path", ["account/logout", "cart", "locale/zh-hk", "en/"])
def test_links_that_fairly_lead_home_are_not_soft_404(path: str) -> None:
    moved = link(HOME + path, redirects=(Hop(HOME + path, 302, HOME),), final_url=HOME)
    assert list(find_soft_404s(evidence(moved), {})) == []


def test_variants_naming_one_canonical_are_not_duplicate_titles() -> None:
    head = b'<link rel="canonical" href="https://shop.example/p"><title>Pot</title><meta name="description" content="d">'
    a = page_from_body(HOME + "p", head)
    b = page_from_body(HOME + "p?variant=2", head)
    assert list(find_seo_basics(evidence(pages=(a, b)), {})) == []


def test_image_with_unknown_type_but_image_bytes_is_fine() -> None:
    avif = link(HOME + "a.avif", tag="img", content_type="application/octet-stream")
    markup = compress_bytes(b"<!DOCTYPE html><html><title>Not found</title>")
    html = link(HOME + "b.jpg", tag="img", content_type="application/octet-stream", body_head_z=markup)
    assert [f.target for f in find_broken_images(evidence(avif, html), {})] == [HOME + "b.jpg"]


def test_pages_of_one_list_may_share_a_title() -> None:
    head = b'<title>Bags</title><meta name="description" content="d">'
    pages = tuple(page_from_body(HOME + path, head) for path in ("bags", "bags/page/2", "bags?page=3"))
    assert list(find_seo_basics(evidence(pages=pages), {})) == []


@pytest.mark.parametrize(
    "href", ["file:///C:/shop/catalogue.pdf", "http://.example.org/", "//////", "http://"]
)
def test_links_no_browser_can_follow_are_broken_without_a_request(href: str) -> None:
    page = page_from_body(HOME, f'<a href="{href}">x</a><a href="mailto:a@b.c">mail</a>'.encode())
    assert [(r.url, r.invalid is not None) for r in page.refs] == [(href, True)]


def test_lazy_loaded_images_are_found_once_and_templates_skipped() -> None:
    page = page_from_body(
        HOME,
        b'<img src="/ph.gif" srcset="/s.jpg 2x" data-src="/real.jpg" data-srcset="/a.jpg 1x, /b.jpg 2x">'
        b'<img data-src="//cdn.example/img_{width}x.jpg">',
    )
    assert [(r.url.removeprefix(HOME), r.attr) for r in page.refs] == [
        ("ph.gif", "src"),
        ("s.jpg", "srcset"),
        ("real.jpg", "data-src"),
        ("a.jpg", "data-srcset"),
        ("b.jpg", "data-srcset"),
    ]


CHALLENGE = compress_bytes(b"<html><title>Just a moment...</title>")


@pytest.mark.parametrize(
    ("facts", "outcome", "reason"),
    [
        (link("https://x.example/", status=999), "unverifiable", "bot wall: HTTP 999"),
        (link("https://x.example/", status=403, body_head_z=CHALLENGE), "unverifiable", "challenge page"),
        (link("https://x.example/", status=503, retries_exhausted=True), "unverifiable", "rate limited"),
        (link("https://x.example/", status=403), "unverifiable", "another site's page"),
        (link("https://x.example/a.jpg", tag="img", status=403), "broken", None),
        (link(HOME + "x", status=403), "broken", None),
        (
            link(HOME + "x", status=None, error_kind=ErrorKind.INTERNAL, error="E: x"),
            "unverifiable",
            "internal",
        ),
        (link(HOME + "x", status=None, not_asked="robots.txt disallows it"), "unverifiable", "robots.txt"),
        (link(HOME + "x", status=None, error_kind=ErrorKind.DNS, error="DNS lookup failed"), "broken", None),
        (link(HOME + "x", status=200, body_head_z=CHALLENGE), "ok", None),
    ],
)
def test_link_verdict_from_facts(facts: LinkResult, outcome: str, reason: str | None) -> None:
    verdict = link_verdict(facts)
    assert verdict.outcome == outcome
    assert (verdict.reason is None) if reason is None else (reason in str(verdict.reason))
