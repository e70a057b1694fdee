"""The i18n.* checks and their text extractor on hand-written pages.

Pages are built from bytes with ``crawler.parse.page_from_body``, as the crawler
builds a fetched page, so the checks see what they see in a scan.
"""

from __future__ import annotations

import pytest

from shophealth.checks import i18n_text
from shophealth.checks.i18n import CHECKS
from shophealth.checks.i18n_text import placeholders
from shophealth.crawler.evidence import Page, SiteEvidence
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.textblocks import text_blocks

SHOP = "https://shop.example/"
ZH_FILLER = (
    "<p>海港家品於一九九八年在尖沙咀開業，專門搜羅實用又耐用的家居用品。我們相信好的設計能令生活更輕鬆，"
    "所以每件貨品都經過同事親自試用，才會放上架。無論是廚房用具、床上用品還是浴室小物，都可以在網店或門市選購。</p>"
)
EN_FILLER = (
    "<p>Harbour Home Goods opened in Tsim Sha Tsui in 1998 with one idea: homeware that is useful, lasts for "
    "years and is a pleasure to use every day. Every item on our shelves has been tried at home by one of our "
    "team before we sell it, from kitchen tools to bedding and bathroom basics, and we answer every message.</p>"
)


def page(body: str, lang: str | None = "en", charset: str = "utf-8", headers: str = "text/html") -> Page:
    lang_attr = f' lang="{lang}"' if lang else ""
    markup = f'<!DOCTYPE html><html{lang_attr}><head><meta charset="{charset}"><title>Shop</title></head>'
    return page_from_body(SHOP + "p", f"{markup}<body>{body}</body></html>".encode(), headers)


def fired(*pages: Page) -> dict[str, list[str]]:
    evidence = SiteEvidence(site=SHOP, home=SHOP, pages=pages)
    found: dict[str, list[str]] = {}
    for check in CHECKS:
        for finding in check.run(evidence, dict(check.defaults)):
            found.setdefault(check.id, []).append(finding.message)
    return found


def test_all_six_ids_are_registered() -> None:
    assert [c.id for c in CHECKS] == [
        "i18n.untranslated",
        "i18n.script-mix",
        "i18n.lang-mismatch",
        "i18n.placeholder",
        "i18n.mojibake",
        "i18n.switcher-broken",
    ]


# -- text blocks ----------------------------------------------------------------------------


def test_blocks_leave_out_what_no_visitor_sees() -> None:
    html = (
        "<body><p>shown</p><p hidden>hidden attr</p><div style='display: none'><p>display none</p></div>"
        "<div aria-hidden=true>aria</div><template><p>template</p></template><noscript>noscript</noscript>"
        "<script>var x = '{{ a.b }}'</script><style>p{}</style><div v-cloak><p>{{ product.title }}</p></div>"
        "<ul><li><a href=/>Shoes</a></li></ul><div id=cart>Total <b>HK$1,299.00</b><p>inside</p></div></body>"
    )
    blocks = text_blocks(html)
    assert [(b.selector, b.text) for b in blocks] == [
        ("p", "shown"),
        ("ul > li", "Shoes"),
        ("div#cart", "Total HK$1,299.00"),
        ("div#cart > p", "inside"),
    ]


def test_blocks_carry_the_nearest_lang() -> None:
    blocks = text_blocks('<body><div lang="zh-HK"><p>中文</p></div><p>English</p></body>')
    assert [(b.text, b.lang) for b in blocks] == [("中文", "zh-HK"), ("English", None)]


# -- placeholders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("product.add_to_cart", "translation-key"),
        ("Shipping: checkout.shipping_method_label", "translation-key"),
        ("general.cart.title", "translation-key"),
        ("cart.checkout", "translation-key"),  # a whole button reading just a key
        ("translation missing: zh-HK.products.product.sold_out", "translation-missing"),
        ('[missing "en.cart.empty" translation]', "translation-missing"),
        ("By {{ product.vendor }}", "template"),
        ("{% if product.available %}In stock{% endif %}", "template"),
        ("<%= t('cart.title') %>", "template"),
        ('[contact-form-7 id="42" title="Contact"]', "shortcode"),
        ("%1$s items in %2$s", "format"),
        ("Only %d left", "format"),
        ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "lorem-ipsum"),
    ],
)
def test_placeholders_found(text: str, kind: str) -> None:
    assert kind in {p.kind for p in placeholders(text)}


@pytest.mark.parametrize(
    "text",
    [
        "Firmware v2.1.3 is out",
        "Write to hello@harbourhome.com.hk",
        "Download manual.pdf or catalogue_2024.pdf",
        "HK$1,299.00",
        "Visit www.harbourhome.hk or shop.example.com",
        "e.g. linen, i.e. natural fibre",
        "Fatal Error Graphic Tee",
        "100% cotton, save 20%",
        "[Sale] Summer [Update]",
        "Node.js and Vue.js developers wanted",
        "Size 38.5 (EU)",
    ],
)
def test_real_text_is_no_placeholder(text: str) -> None:
    assert placeholders(text) == []


def test_placeholder_finding_quotes_text_and_selector() -> None:
    found = fired(page(f"{EN_FILLER}<form><button class=buy>product.add_to_cart</button></form>"))
    [message] = found["i18n.placeholder"]
    assert '"product.add_to_cart"' in message and "button.buy" in message


class Unsearchable:
    def find_matches_as_indexes(self, data: bytes) -> list[object]:
        raise AssertionError("searched again")


def test_a_clean_text_is_not_searched_again_for_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    """The screen's words come from the pass every page's text gets once (checks.dom)."""
    monkeypatch.setattr(i18n_text, "SCREEN_AUTOMATON", Unsearchable())
    assert "i18n.placeholder" not in fired(page(f"{EN_FILLER}<p>Linen, cotton and wool.</p>"))


def test_placeholder_words_in_another_case_still_get_the_exact_search() -> None:
    found = fired(
        page(f"{EN_FILLER}<p>TRANSLATION missing: en.checkout.pay</p><p>{{{{ Product.Title }}}}</p>")
    )
    assert found["i18n.placeholder"][0].endswith("(+1 more)")


# -- untranslated and lang-mismatch -------------------------------------------------------


def test_zh_page_with_brands_codes_prices_and_english_address_is_clean() -> None:
    body = (
        f"{ZH_FILLER}<ul><li>Dyson V15 Detect Absolute 無線吸塵機 HK$5,990.00</li>"
        "<li>Le Creuset Signature Round Casserole 24cm LC-21177-24</li></ul>"
        "<p>Shop 301, 3/F, Ocean Terminal, Harbour City, 3-27 Canton Road, Tsim Sha Tsui, Kowloon</p>"
        "<p>New Arrivals 新貨上架 · Free Shipping 滿HK$500免運費</p>"
    )
    assert fired(page(body, "zh-HK")) == {}


def test_english_paragraph_on_zh_page_is_untranslated() -> None:
    body = (
        ZH_FILLER
        + "<p class=desc>This slim wallet is made from full-grain leather and holds up to eight cards.</p>"
    )
    [message] = fired(page(body, "zh-HK"))["i18n.untranslated"]
    assert "English" in message and "p.desc" in message


def test_chinese_paragraph_on_en_page_is_untranslated_unless_marked() -> None:
    chinese = "<p>本店所有貨品均經同事親自試用，品質有保證，歡迎選購。</p>"
    assert "i18n.untranslated" in fired(page(EN_FILLER + chinese))
    marked = chinese.replace("<p>", '<p lang="zh-HK">')
    assert fired(page(EN_FILLER + marked)) == {}


def test_content_language_header_is_read_when_no_lang_attribute() -> None:
    wrong = page(EN_FILLER * 2, lang=None, headers="text/html; charset=utf-8")
    wrong = Page(
        **{**{s: getattr(wrong, s) for s in Page.__slots__}, "headers": {"content-language": "zh-HK"}}
    )
    [message] = fired(wrong)["i18n.lang-mismatch"]
    assert "Content-Language" in message and "English" in message


def test_page_without_lang_is_not_a_mismatch() -> None:
    assert fired(page(EN_FILLER * 2, lang=None)) == {}


# -- script-mix -----------------------------------------------------------------------------


def test_characters_shared_by_both_scripts_decide_nothing() -> None:
    # 峰, 床, 庄 and 着 are standard in Taiwan and Hong Kong; 里 is shared.
    body = ZH_FILLER + "<p>我們沿山峰走到山庄，晚上睡在木床上，看着滿天星斗，里面還有溫泉。</p>"
    assert fired(page(body, "zh-TW")) == {}


def test_switcher_labels_on_a_simplified_page_are_not_script_mix() -> None:
    simplified = (
        "<p>海港家品于一九九八年在尖沙咀开业，专门搜罗实用又耐用的家居用品，每件货品都经过同事亲自试用。</p>"
    )
    body = f"<nav><a href=/en/>English</a> <a href=/zh-hk/>繁體</a></nav>{simplified * 3}"
    assert fired(page(body, "zh-CN")) == {}


def test_traditional_on_a_simplified_page() -> None:
    simplified = (
        "<p>海港家品于一九九八年在尖沙咀开业，专门搜罗实用又耐用的家居用品，每件货品都经过同事亲自试用。</p>"
    )
    body = simplified * 3 + "<p class=promo>全店貨品免費送貨，歡迎選購。</p>"
    [message] = fired(page(body, "zh-CN"))["i18n.script-mix"]
    assert "p.promo" in message and "全店货品免费送货" in message


# -- mojibake -------------------------------------------------------------------------------


def test_big5_page_declared_big5_is_clean() -> None:
    body = f"<body>{ZH_FILLER}</body>"
    markup = f'<html lang="zh-HK"><head><meta charset="big5"><title>目錄</title></head>{body}</html>'
    clean = page_from_body(SHOP + "big5", markup.encode("big5hkscs"))
    assert clean.facts is not None and clean.facts.charset_mismatch is None
    assert fired(clean) == {}


def test_big5_bytes_without_declaration_are_found_with_the_intended_text() -> None:
    markup = f'<html lang="zh-HK"><head><title>目錄</title></head><body>{ZH_FILLER}</body></html>'
    garbled = page_from_body(SHOP + "big5", markup.encode("big5hkscs"))
    assert garbled.facts is not None and garbled.facts.charset_mismatch is not None
    assert garbled.facts.charset_mismatch.likely in ("big5", "big5hkscs", "cp950")
    [message] = fired(garbled)["i18n.mojibake"]
    assert "海港家品於一九九八年" in message


def test_utf8_under_a_latin1_declaration_but_a_utf8_header_is_clean() -> None:
    # the HTTP header wins over <meta>, in browsers and here
    clean = page(EN_FILLER + "<p>£20 – £100</p>", charset="iso-8859-1", headers="text/html; charset=utf-8")
    assert fired(clean) == {}
    garbled = page(EN_FILLER + "<p>£20 – £100</p>", charset="iso-8859-1")
    [message] = fired(garbled)["i18n.mojibake"]
    assert "Â£20" in message and "£20 – £100" in message


def test_replacement_characters_are_mojibake() -> None:
    [message] = fired(page(EN_FILLER + "<p class=note>Delivery in 2\ufffd3 days</p>"))["i18n.mojibake"]
    assert "p.note" in message


def test_zh_listing_of_english_product_names_is_clean() -> None:
    names = [
        "Dyson V15 Detect Absolute Cordless Vacuum",
        "Le Creuset Signature Round Casserole 24cm",
        "Zwilling Pro Chef's Knife 20cm",
        "MUJI Ultrasonic Aroma Diffuser",
        "Philips Sonicare DiamondClean 9000",
        "Nespresso Vertuo Next Coffee Machine",
        "Brita Marella Water Filter Jug 2.4L",
        "Tefal Ingenio Essential Frying Pan Set",
    ]
    items = "".join(
        f"<li><a href=/p/{n}>{name}</a> <span>HK${n}99.00</span></li>" for n, name in enumerate(names)
    )
    body = f"<h1>本週精選</h1><ul>{items * 3}</ul><p>網上訂單滿HK$500免運費。</p>"
    assert fired(page(body, "zh-HK")) == {}


def hreflang_page(path: str, lang: str, body: str, alternates: dict[str, str]) -> Page:
    links = "".join(
        f'<link rel="alternate" hreflang="{code}" href="{href}">' for code, href in alternates.items()
    )
    markup = f'<!DOCTYPE html><html lang="{lang}"><head><title>Stores</title>{links}</head><body>{body}</body></html>'
    return page_from_body(SHOP.rstrip("/") + path, markup.encode())


@pytest.mark.parametrize(
    ("back", "reciprocal"),
    [
        ({"zh-HK": SHOP + "zh-hk/stores", "en": SHOP + "en/stores"}, True),
        ({"zh-HK": "HTTPS://SHOP.EXAMPLE/zh-hk/stores/", "en": SHOP + "en/stores"}, True),  # slash, case
        ({"en": SHOP + "en/stores"}, False),
    ],
)
def test_hreflang_must_link_back(back: dict[str, str], reciprocal: bool) -> None:
    zh = hreflang_page(
        "/zh-hk/stores", "zh-HK", ZH_FILLER, {"zh-HK": SHOP + "zh-hk/stores", "en": SHOP + "en/stores"}
    )
    en = hreflang_page("/en/stores", "en", EN_FILLER, back)
    found = fired(zh, en).get("i18n.switcher-broken", [])
    assert (found == []) is reciprocal
    if not reciprocal:
        assert "not reciprocal" in found[0]
