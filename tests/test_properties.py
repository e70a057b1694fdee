"""Property-based tests (hypothesis): whatever a shop serves, nothing raises.

Random HTML (tag soup, error-message fragments, CJK text, odd hrefs), random
headers and charsets, random bytes and random URLs go through decoding,
parsing, URL normalisation, the trap guard, the bounded decoder and every
registered check. A check that raises shows as status ``error``, which these
tests refuse. Each example has a generous deadline (seconds, not the usual
200 ms: the machine may be busy) so a pattern that backtracks without end is
caught; no result is timed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shophealth.checks.registry import Registry, load_registry, run_check
from shophealth.crawler.decoding import BoundedDecoder, DecodingError
from shophealth.crawler.evidence import ErrorKind, Hop, LinkResult, Page, Sighting, SiteEvidence, TlsFacts
from shophealth.crawler.fetch import FetchResult, retry_after_seconds
from shophealth.crawler.jobs import looks_like_html, needs_get
from shophealth.crawler.parse import block_spans, page_from_body
from shophealth.crawler.traps import TrapGuard
from shophealth.crawler.urls import BadURLError, malformed_reason, normalize, parse_start_url, resolve

HOME = "https://shop.example/"
SETTINGS = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REGISTRY: Registry = load_registry(autoload_plugins=False)

SCHEMES = st.sampled_from(
    ["http://", "https://", "//", "", "javascript:", "mailto:", "tel:", "data:", "ftp://", "file:///"]
)
HOSTS = st.sampled_from(
    [
        "shop.example",
        "例子.测试",
        "xn--fsqu00a.xn--0zwm56d",
        "[::1]",
        "127.0.0.1:8080",
        "a b",
        "",
        "..",
        "shop.example:99999",
    ]
)
PATH_CHARS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
URLS = st.builds(
    lambda s, h, p, q: f"{s}{h}/{p}{q}",
    SCHEMES,
    HOSTS,
    PATH_CHARS,
    st.sampled_from(["", "?a=1&a=1", "?sid=x", "#top", "?%zz", "?month=2026-01"]),
)
HREFS = st.one_of(
    URLS, PATH_CHARS, st.sampled_from(["/", "#", "?", "../../..", "%", "http://[::1", "/a/a/a/a/"])
)
FRAGMENTS = st.sampled_from([
    "Liquid error (product line 3): comparison failed", "Fatal error: Uncaught Error: x in /var/www/a.php:3",
    "Warning: Undefined array key \"p\" in /var/www/p.php on line 12", "Traceback (most recent call last):",
    'File "/srv/app.py", line 8, in f', "at com.shop.A.b(A.java:12)", "找不到產品", "抱歉，你要找的產品已停售或不存在",
    "Page not found", "lorem ipsum", "{{ product.title }}", "Ã©", "\ufffd", "<br /><b>Notice</b>: x in <b>/a.php</b> on line <b>1</b>",
])  # fmt: skip
TAGS = st.sampled_from(
    [
        "a",
        "img",
        "script",
        "link",
        "iframe",
        "form",
        "source",
        "video",
        "audio",
        "embed",
        "p",
        "div",
        "h1",
        "title",
        "meta",
        "base",
        "table",
        "td",
        "pre",
        "footer",
        "html",
        "body",
        "head",
    ]
)
ATTRS = st.sampled_from(
    [
        "href",
        "src",
        "srcset",
        "action",
        "poster",
        "rel",
        "name",
        "content",
        "charset",
        "lang",
        "data-src",
        "style",
        "width",
    ]
)


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 25))):
        tag = draw(TAGS)
        attrs = " ".join(f'{draw(ATTRS)}="{draw(HREFS)}"' for _ in range(draw(st.integers(0, 3))))
        text = draw(st.one_of(FRAGMENTS, PATH_CHARS))
        closing = draw(st.sampled_from([f"</{tag}>", "", "</", "<!--", "]]>"]))
        parts.append(f"<{tag} {attrs}>{text}{closing}")
    return "".join(parts)


CHARSETS = st.sampled_from(
    ["utf-8", "big5", "gb2312", "shift_jis", "latin-1", "utf-16", "no-such-charset", "", "utf-8; x=\x00"]
)
BODIES = st.one_of(
    html_documents().map(lambda html: html.encode("utf-8", "surrogatepass")),
    st.binary(max_size=2000),
    st.builds(
        lambda html, cs: html.encode(cs, "replace"),
        html_documents(),
        st.sampled_from(["big5", "gb2312", "latin-1", "utf-16"]),
    ),
)


@SETTINGS
@given(base=URLS, href=HREFS)
def test_url_resolution_never_raises_and_gives_normal_web_urls(base: str, href: str) -> None:
    malformed_reason(base, href)
    absolute = resolve(base if base.startswith("http") else HOME, href)
    if absolute is not None:
        assert absolute.startswith(("http://", "https://"))
        assert normalize(absolute) == absolute


@SETTINGS
@given(raw=st.one_of(URLS, PATH_CHARS))
def test_a_start_url_is_either_taken_or_refused_with_bad_url_error(raw: str) -> None:
    try:
        url = parse_start_url(raw)
    except BadURLError:
        return
    assert url.startswith(("http://", "https://"))


@SETTINGS
@given(urls=st.lists(URLS, max_size=30))
def test_the_trap_guard_takes_any_url(urls: list[str]) -> None:
    guard = TrapGuard()
    for url in urls:
        guard.cuts(url, HOME)
    assert all(cut.count > 0 for cut in guard.found())


@SETTINGS
@given(
    data=st.binary(max_size=3000),
    coding=st.sampled_from(["gzip", "deflate", "gzip, deflate", "br", "", "x-gzip", "identity, gzip"]),
    room=st.integers(0, 5000),
)
def test_the_bounded_decoder_gives_at_most_what_is_asked_or_a_decoding_error(
    data: bytes, coding: str, room: int
) -> None:
    try:
        out, _ = BoundedDecoder(coding).decode(data, room)
    except DecodingError:
        return
    assert len(out) <= room


@SETTINGS
@given(body=BODIES, charset=CHARSETS)
def test_any_body_parses_into_a_page(body: bytes, charset: str) -> None:
    page = page_from_body(HOME + "p", body, f"text/html; charset={charset}")
    assert page.facts is not None
    block_spans(page.html, page.facts.text)
    for ref in page.refs:
        assert ref.invalid is not None or ref.url.startswith(("http://", "https://"))


def _link(ref_url: str, draw: st.DrawFn, page: str) -> LinkResult:
    return LinkResult(
        url=ref_url,
        status=draw(st.sampled_from([None, 200, 301, 403, 404, 429, 500, 999])),
        error_kind=draw(st.sampled_from([None, *ErrorKind])),
        error=draw(st.sampled_from([None, "timed out after 3 s", "DNS lookup failed: host not found", ""])),
        headers=draw(
            st.dictionaries(
                st.sampled_from(["content-type", "server", "cf-mitigated", "location"]),
                PATH_CHARS,
                max_size=3,
            )
        ),
        redirects=tuple(Hop(ref_url, 301, h) for h in draw(st.lists(URLS, max_size=4))),
        final_url=draw(st.one_of(st.none(), URLS)),
        internal=draw(st.booleans()),
        seen=(Sighting(page, draw(TAGS), draw(ATTRS), draw(PATH_CHARS)),),
        count=draw(st.integers(1, 100)),
    )


@st.composite
def evidence_bundles(draw: st.DrawFn) -> SiteEvidence:
    pages: list[Page] = []
    for n in range(draw(st.integers(1, 4))):
        url = HOME if n == 0 else f"{HOME}p/{n}"
        page = page_from_body(
            url, draw(BODIES), f"text/html; charset={draw(CHARSETS)}", draw(st.sampled_from([200, 404, 500]))
        )
        pages.append(page)
    links = {ref.url: _link(ref.url, draw, page.url) for page in pages for ref in page.refs[:20]}
    days = draw(st.floats(-1000, 1000, allow_nan=False))
    tls = TlsFacts(
        host="shop.example",
        port=443,
        valid=draw(st.booleans()),
        days_left=days,
        lifetime_days=draw(st.floats(1, 900)),
        error_kind=draw(st.sampled_from([None, "expired", "hostname", "self-signed"])),
    )
    return SiteEvidence(
        site=HOME,
        home=HOME,
        pages=tuple(pages),
        links=links,
        probe=pages[-1],
        tls=(tls,),
        plain_http=pages[0],
    )


@settings(SETTINGS, max_examples=40)
@given(evidence=evidence_bundles())
def test_every_check_judges_any_evidence_without_raising(evidence: SiteEvidence) -> None:
    failures: dict[str, Any] = {}
    for check in REGISTRY.checks.values():
        outcome = run_check(check, evidence, {})
        if outcome.status == "error":
            failures[check.id] = outcome.detail
    assert failures == {}


HEADER_VALUES = st.one_of(
    PATH_CHARS,
    st.sampled_from(["0", "-1", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "text/html; charset=\"", ";;;", "\x00"]),
)  # fmt: skip


@SETTINGS
@given(
    headers=st.dictionaries(
        st.sampled_from(["content-type", "retry-after", "location", "content-encoding", "server"]),
        HEADER_VALUES,
    ),
    body=st.binary(max_size=600),
)
def test_any_answer_headers_are_read_without_raising(headers: dict[str, str], body: bytes) -> None:
    result = FetchResult(url=HOME, final_url=HOME, status=200, headers=headers, body=body)
    looks_like_html(result)
    needs_get(result)
    assert retry_after_seconds(headers.get("retry-after"), default=1.0) >= 0
