"""The shared anchor-word pass of ``checks.dom``: it finds what a separate search per user found.

``CaselessWords`` must give the hits of ``AhoCorasick(words)`` over ``text.lower()`` (same
words, places and order), and every ``NearWords`` of the checks must find the same matches on
a page's text through the one pass for all (``finditer_page``) as through its own automaton
(``finditer``), on the real-world corpus's pages and on texts made to be awkward.
"""

from __future__ import annotations

import gc

import ahocorasick_rs
import pytest

from shophealth.checks import content, o2o, social, storeinfo
from shophealth.checks.dom import PAGE_ANCHORS, CaselessWords, NearWords, PerPage
from shophealth.crawler.evidence import Page
from shophealth.crawler.parse import page_from_body
from tests.realworld import corpus_dir, manifest_entries

NEAR_WORDS: list[NearWords] = [
    content.PHONE_IN_TEXT,
    *content.TOPIC_PHRASES.values(),
    storeinfo.ADDRESS_NEAR,
    storeinfo.HOURS_NEAR,
    *o2o.O2O_SERVICES.values(),
]
AWKWARD_TEXTS = [
    "",
    "Opening hours: Mon-Sun 10:00-21:00 | Address: Shop 101, 1 Queen's Road Central, Hong Kong",
    "İSTANBUL store: pick up in store İİ, opening HOURS 10am-8pm © 2024, CASH on delivery",  # lengthens
    "À LA CARTE delivery Café ÉTÉ: VISA, MasterCard, AMEX accepted; return in store within 7 days",  # Latin-1
    "營業時間：星期一至日 上午10時至晚上9時 地址：九龍彌敦道1號地下 門市自取 轉數快 八達通 銀行轉賬",
    "KELVIN \u212a BANK TRANSFER, ﬁ ligature, ß, ΣΑΣ payme PAYPAL 支付寶 tap &amp; go",
]


def corpus_pages() -> list[Page]:
    """The corpus's HTML pages as fetched pages; none when the corpus is absent (then
    :func:`test_corpus_is_read` is skipped, saying so)."""
    if not (corpus_dir() / "MANIFEST.json").is_file():
        return []
    entries = [e for e in manifest_entries("") if str(e["path"]).endswith((".html", ".htm"))]
    pages = []
    for entry in entries:
        body = (corpus_dir() / entry["path"]).read_bytes()
        pages.append(page_from_body(f"http://127.0.0.1/{entry['path']}", body))
    return [p for p in pages if p.facts is not None]


def texts() -> list[str]:
    return AWKWARD_TEXTS + [p.facts.text for p in corpus_pages() if p.facts is not None]


@pytest.fixture(scope="module")
def pages() -> list[Page]:
    return corpus_pages() + [
        page_from_body("http://127.0.0.1/x", f"<p>{t}</p>".encode()) for t in AWKWARD_TEXTS
    ]


@pytest.mark.parametrize(
    "words",
    [o2o.ANCHOR_WORDS, sorted({w for near in NEAR_WORDS for w in near.words}), ["cash", "visa", "é"]],
    ids=["payment", "near-words", "latin-1 word"],
)
def test_caseless_words_find_what_a_search_of_the_lowered_text_finds(words: list[str]) -> None:
    separate = ahocorasick_rs.AhoCorasick(words)
    caseless = CaselessWords(words)
    for text in texts():
        lowered = text.lower()
        hits, lengthened = caseless.find(text)
        assert list(hits) == separate.find_matches_as_indexes(lowered, overlapping=True), text[:80]
        assert lengthened == (len(lowered) != len(text))


def test_latin1_texts_are_searched_as_bytes() -> None:
    """The fast path is taken (and so tested above) for English pages, not for Chinese ones."""
    caseless = CaselessWords(o2o.ANCHOR_WORDS)
    assert caseless._bytes_automaton is not None
    assert CaselessWords(["cash", "é"])._bytes_automaton is None  # a Latin-1 word: str only


def test_one_pass_for_all_finds_what_each_near_words_finds(pages: list[Page]) -> None:
    for page in pages:
        assert page.facts is not None
        text = page.facts.text
        for near in NEAR_WORDS:
            alone = [(m.span(), m.group(0)) for m in near.finditer(text)]
            shared = [(m.span(), m.group(0)) for m in near.finditer_page(page)]
            assert shared == alone, (page.url, near.pattern.pattern[:40])


def test_the_pass_is_made_once_per_page(pages: list[Page]) -> None:
    page = next(p for p in pages if p.facts is not None and "hours" in p.facts.text.lower())
    assert page.facts is not None
    first = PAGE_ANCHORS.of(page.facts)
    assert PAGE_ANCHORS.of(page.facts) is first


def test_a_page_without_facts_has_no_matches() -> None:
    page = Page(url="http://127.0.0.1/a.pdf", final_url="http://127.0.0.1/a.pdf", status=200, depth=0)
    assert list(storeinfo.HOURS_NEAR.finditer_page(page)) == []


def test_corpus_is_read() -> None:
    if not (corpus_dir() / "MANIFEST.json").is_file():
        pytest.skip(f"real-world corpus not found at {corpus_dir()} (set SHOPHEALTH_REALWORLD)")
    assert len(corpus_pages()) > 100


ICON_PAGES = [
    '<footer><img alt="Visa" src="/i/visa.svg"><svg aria-labelledby="pi-master"><title>Mastercard</title></svg>'
    '<img src="/cdn/payment-icons/alipay_hk.png"><span class="icon icon--octopus"></span>'
    "<p>Our cashmere jumper, paid by CASH on delivery</p></footer>",
    '<div data-method="PAYME"><img alt="Octopus plush toy in a gift box.jpg"></div><p>İ VİSA ©</p>',
    '<ul><li><img alt="轉數快 FPS"></li><li><img title="WeChat Pay 微信支付"></li></ul>',
]


def _icon_methods_alone(html: str) -> list[tuple[str, str]]:
    """What the payment check's icon search found before the shared pass (its own automaton
    over the lowered HTML, every candidate read), for a page read first (nothing known)."""
    automaton = ahocorasick_rs.AhoCorasick(o2o.ANCHOR_WORDS)
    known: set[str] = set()
    found = []
    for index, start, _ in automaton.find_matches_as_indexes(html.lower(), overlapping=True):
        for method in o2o.ANCHOR_METHODS[index]:
            if method.name in known:
                continue
            value = o2o._icon_value(html, start)
            if value is None:
                continue
            words = o2o.ICON_FILLER.sub(" ", value.replace("-", " ").replace("_", " ").replace("/", " "))
            if method.ambiguous and len(words.split()) > 2:
                continue
            if (match := method.pattern.search(words)) is not None:
                known.add(method.name)
                found.append((method.name, match.group(0)))
    return found


@pytest.fixture(scope="module")
def markup_pages(pages: list[Page]) -> list[Page]:
    icons = [
        page_from_body("http://127.0.0.1/icons", f"<html><body>{b}</body></html>".encode())
        for b in ICON_PAGES
    ]
    return icons + pages


def test_the_shared_html_pass_finds_the_icons_a_pass_of_their_own_found(markup_pages: list[Page]) -> None:
    for page in markup_pages:
        html = page.html_bytes.decode("utf-8", "replace")
        assert list(o2o._icon_methods(page, set())) == _icon_methods_alone(html), page.url


def test_icon_pages_name_methods(markup_pages: list[Page]) -> None:
    """The hand-written icon pages do exercise the search (a test that can fail)."""
    names = {name for page in markup_pages[: len(ICON_PAGES)] for name, _ in o2o._icon_methods(page, set())}
    assert {"Visa", "Mastercard", "Alipay", "FPS", "WeChat Pay"} <= names


def test_share_hints_as_a_pass_of_their_own_over_the_lowered_bytes(markup_pages: list[Page]) -> None:
    alone = ahocorasick_rs.BytesAhoCorasick(
        [b"share", b"sharer", "分享".encode(), b"wa.me", b"whatsapp", b"mailto:?", b"qr"]
    )
    for page in markup_pages:
        assert social._may_share(page) == bool(alone.find_matches_as_indexes(page.html_bytes.lower()))


def test_per_page_values_go_with_the_page() -> None:
    memo: PerPage[int] = PerPage()
    page = page_from_body("http://127.0.0.1/gone", b"<p>x</p>")
    assert page.facts is not None
    memo.put(page.facts, 1)
    assert memo.get(page.facts) == 1
    del page
    gc.collect()
    assert memo._values == {}
