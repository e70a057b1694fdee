"""privacy.*, social.* and content.* on fixture shops built like Shopify (Chinese), WooCommerce
(English) and Magento (English and Chinese): silence on the good shops, each seeded problem found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from o2o_shops import HOSTS, Pages, changed, evidence_of, render_shop
from realworld import corpus_dir, manifest_entries

from shophealth.checks.base import Fact, Finding
from shophealth.checks.privacy import last_updated
from shophealth.checks.registry import Registry, run_checks
from shophealth.crawler.evidence import LinkResult, RenderedPage, SiteEvidence
from shophealth.crawler.parse import page_from_body

FAMILIES = ("privacy", "social", "content")
AS_OF = {"privacy.stale": {"as_of": "2026-06-01"}}  # the fixtures' dates are judged on a fixed day


def judge(registry: Registry, evidence: SiteEvidence) -> tuple[list[Finding], dict[str, Any]]:
    checks = [c for c in registry.checks.values() if c.id.split(".")[0] in FAMILIES]
    outcomes = run_checks(checks, evidence, AS_OF)
    assert [o.check for o in outcomes if o.status == "error"] == [], [o.detail for o in outcomes]
    facts = {f.name: f.value for o in outcomes for f in o.facts}
    return [f for o in outcomes for f in o.findings], facts


def shop(name: str) -> tuple[Pages, str]:
    return render_shop(name), HOSTS[name]


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_good_shops_are_silent(registry: Registry, name: str) -> None:
    pages, host = shop(name)
    findings, facts = judge(registry, evidence_of(pages, host))
    assert [(f.check, f.page, f.message) for f in findings] == []
    assert facts["privacy_policy"] and facts["payment_methods"] and facts["o2o_services"] and facts["stores"]


def test_facts_name_what_the_shop_offers(registry: Registry) -> None:
    pages, host = shop("shopify_zh")
    _, facts = judge(registry, evidence_of(pages, host))
    assert {m["method"] for m in facts["payment_methods"]} == {
        "Visa",
        "Mastercard",
        "credit card",
        "FPS",
        "PayMe",
        "Octopus",
    }
    assert {s["service"] for s in facts["o2o_services"]} == {"store pick-up", "return or exchange in store"}
    assert facts["social_profiles"] == {
        "facebook": ["https://www.facebook.com/harbourhomehk"],
        "instagram": ["https://www.instagram.com/harbourhome.hk"],
        "whatsapp": ["https://wa.me/85291234568"],
    }
    assert [s["hours"] for s in facts["stores"]] == [["11:00-20:00"], ["10:00-21:00"]]


@dataclass(frozen=True)
class Seeded:
    """One problem seeded into a good shop, and the finding it must give."""

    shop: str
    seed: Callable[[Pages], Pages]
    check: str
    page: str  # the finding's page, as a path
    says: str = ""  # words of its message
    statuses: tuple[tuple[str, int], ...] = ()
    findings: int = 1  # one per missing topic, where a check says so


WOO_PRIVACY_LINK = '<li><a href="https://kowloonkitchen.hk/privacy-policy/">Privacy Policy</a></li>'
ZH_PRIVACY_LINK = (
    '<li><a href="/policies/privacy-policy" class="link--text list-menu__item--link">私隱政策</a></li>'
)
WOO_SITE = "Our website address is: https://kowloonkitchen.hk."

CUSTOM_PICS_LINK = (
    '<li><a href="https://www.peakteahouse.hk/index.php?route=information/information&amp;information_id=3">'
    "收集個人資料聲明</a></li>"
)
CUSTOM_PRODUCT = "/index.php?route=product/product&product_id=42"
CUSTOM_PICS = "/index.php?route=information/information&information_id=3"

SEEDED = {
    "custom: PICS only beside the contact form": Seeded(
        "custom_tc",
        lambda p: changed(
            changed(p, "*", CUSTOM_PICS_LINK, ""),
            "/index.php?route=information/contact",
            "</form>",
            '<p>提交即表示同意<a href="index.php?route=information/information&amp;information_id=3">'
            "收集個人資料聲明</a></p></form>",
        ),
        "privacy.hidden",
        "/index.php?route=information/contact",
        "not linked from the home page",
    ),
    "custom: PICS template text": Seeded(
        "custom_tc",
        lambda p: changed(p, CUSTOM_PICS, "山頂茶莊有限公司（「本公司」）", "【公司名稱】（「本公司」）"),
        "privacy.stale",
        CUSTOM_PICS,
        "placeholder",
    ),
    "custom: microdata product without price": Seeded(
        "custom_tc",
        lambda p: changed(
            changed(p, CUSTOM_PRODUCT, "<h2>HK$168.00</h2>", ""),
            CUSTOM_PRODUCT,
            '<meta itemprop="price" content="168.00">',
            "",
        ),
        "content.product-info",
        CUSTOM_PRODUCT,
        "has no price",
    ),
    "custom: share of another product": Seeded(
        "custom_tc",
        lambda p: changed(p, CUSTOM_PRODUCT, "product%26product_id=42", "product%26product_id=43"),
        "social.share-broken",
        CUSTOM_PRODUCT,
        "not this page",
    ),
    "privacy missing": Seeded(
        "woo_en",
        lambda p: changed(changed(p, "*", WOO_PRIVACY_LINK, ""), "/privacy-policy/"),
        "privacy.missing",
        "/",
        "No privacy policy",
    ),
    "privacy link broken": Seeded(
        "woo_en",
        lambda p: p,
        "privacy.missing",
        "/",
        "does not work",
        statuses=(("/privacy-policy/", 404),),
    ),
    "privacy only at checkout": Seeded(
        "shopify_zh",
        lambda p: changed(
            changed(p, "*", ZH_PRIVACY_LINK, ""),
            "/cart",
            "您的購物車是空的",
            '您的購物車是空的 <a href="/policies/privacy-policy">收集個人資料聲明</a>',
        ),
        "privacy.hidden",
        "/cart",
        "not linked from the home page",
    ),
    "privacy old chinese date": Seeded(
        "shopify_zh",
        lambda p: changed(p, "/policies/privacy-policy", "最後更新：2025年9月1日", "最後更新：2014年3月3日"),
        "privacy.stale",
        "/policies/privacy-policy",
        "last updated 2014-03-03",
    ),
    "privacy old english date": Seeded(
        "woo_en",
        lambda p: changed(p, "/privacy-policy/", "Last updated: 3 March 2025", "Last updated: 3 March 2014"),
        "privacy.stale",
        "/privacy-policy/",
        "last updated 2014-03-03",
    ),
    "privacy wordpress sample text": Seeded(
        "woo_en",
        lambda p: changed(
            p, "/privacy-policy/", WOO_SITE, "Suggested text: Our website address is: http://example.com."
        ),
        "privacy.stale",
        "/privacy-policy/",
        "placeholder",
    ),
    "privacy of another site": Seeded(
        "woo_en",
        lambda p: changed(
            p, "/privacy-policy/", WOO_SITE, "Our website address is: https://www.cheapwoks.com."
        ),
        "privacy.stale",
        "/privacy-policy/",
        "names another site (cheapwoks.com)",
    ),
    "privacy of another company": Seeded(
        "custom_tc",
        lambda p: changed(p, CUSTOM_PICS, "山頂茶莊有限公司（「本公司」）", "金輝貿易有限公司（「本公司」）"),
        "privacy.stale",
        CUSTOM_PICS,
        "another company (金輝貿易有限公司)",
    ),
    "privacy of another english company": Seeded(
        "woo_en",
        lambda p: changed(
            p,
            "/privacy-policy/",
            'Kowloon Kitchenware Limited ("we") collects',
            'Golden Dragon Trading Limited ("we") collects',
        ),
        "privacy.stale",
        "/privacy-policy/",
        "another company (Golden Dragon Trading Limited)",
    ),
    "share to localhost": Seeded(
        "shopify_zh",
        lambda p: changed(
            p,
            "/products/celadon-teapot",
            "sharer.php?u=https%3A%2F%2Fharbourhome.com.hk",
            "sharer.php?u=http%3A%2F%2Flocalhost%3A3000",
        ),
        "social.share-broken",
        "/products/celadon-teapot",
        "a local address (localhost)",
    ),
    "share of the blog index": Seeded(
        "woo_en",
        lambda p: changed(
            p,
            "/2025/06/summer-table/",
            "url=https%3A%2F%2Fkowloonkitchen.hk%2F2025%2F06%2Fsummer-table%2F",
            "url=https%3A%2F%2Fkowloonkitchen.hk%2Fblog%2F",
        ),
        "social.share-broken",
        "/2025/06/summer-table/",
        "shares /blog",
    ),
    "share to the network home": Seeded(
        "shopify_zh",
        lambda p: changed(
            p,
            "/products/celadon-teapot",
            "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fharbourhome.com.hk%2Fproducts%2Fceladon-teapot",
            "https://www.facebook.com/",
        ),
        "social.share-broken",
        "/products/celadon-teapot",
        "home page",
    ),
    "mail share without the page": Seeded(
        "woo_en",
        lambda p: changed(
            p,
            "/2025/06/summer-table/",
            "body=https%3A%2F%2Fkowloonkitchen.hk%2F2025%2F06%2Fsummer-table%2F",
            "body=",
        ),
        "social.share-broken",
        "/2025/06/summer-table/",
        "shares no link",
    ),
    "instagram placeholder": Seeded(
        "shopify_zh",
        lambda p: changed(
            p, "*", "https://www.instagram.com/harbourhome.hk", "https://www.instagram.com/yourusername"
        ),
        "social.profile-broken",
        "/",
        "placeholder",
    ),
    "whatsapp without a number": Seeded(
        "shopify_zh",
        lambda p: changed(p, "*", "https://wa.me/85291234568", "https://wa.me/852XXXXXXXX"),
        "social.profile-broken",
        "/",
        "placeholder instead of a phone number",
    ),
    "theme demo facebook": Seeded(
        "shopify_zh",
        lambda p: changed(
            p, "*", "https://www.facebook.com/harbourhomehk", "https://www.facebook.com/shopify"
        ),
        "social.profile-broken",
        "/",
        "demo account",
    ),
    "profile without https": Seeded(
        "woo_en",
        lambda p: changed(
            p, "*", "https://www.youtube.com/@kowloonkitchenware", "www.youtube.com/@kowloonkitchenware"
        ),
        "social.profile-broken",
        "/",
        "without https://",
    ),
    "youtube channel without id": Seeded(
        "woo_en",
        lambda p: changed(
            p, "*", "https://www.youtube.com/@kowloonkitchenware", "https://www.youtube.com/channel/"
        ),
        "social.profile-broken",
        "/",
        "channel",
    ),
    "no about page": Seeded(
        "magento_bi",
        lambda p: changed(
            changed(
                changed(p, "*", '<a href="https://www.lantaulinen.com/en/about-us">About Us</a>', ""),
                "*",
                '<a href="https://www.lantaulinen.com/zh-hk/about-us">關於我們</a>',
                "",
            ),
            "/en/about-us",
        ),
        "content.about",
        "/en/",
        "About us",
    ),
    "no contact channel": Seeded(
        "magento_bi",
        lambda p: changed(
            changed(changed(p, "/en/contact/"), "/en/stores", "<p>Tel: 2109 8877</p>", ""),
            "/zh-hk/stores",
            "<p>電話：2109 8877</p>",
            "",
        ),
        "content.contact",
        "/en/",
        "No way to contact",
    ),
    "no delivery or returns": Seeded(
        "woo_en",
        lambda p: changed(
            changed(
                p,
                "*",
                '<li><a href="https://kowloonkitchen.hk/delivery-returns/">Delivery &amp; Returns</a></li>',
                "",
            ),
            "/delivery-returns/",
        ),
        "content.policies",
        "/",
        "delivery or shipping",
        findings=2,
    ),
    "product without description": Seeded(
        "shopify_zh",
        lambda p: changed(
            changed(
                p,
                "/products/bamboo-tray",
                '<div class="product__description rte"><p>天然孟宗竹製成，表面以食用級木蠟油處理，尺寸 40 x 28 厘米。</p></div>',
                "",
            ),
            "/products/bamboo-tray",
            '"description":"天然孟宗竹製成，表面以食用級木蠟油處理，尺寸 40 x 28 厘米。",',
            "",
        ),
        "content.product-info",
        "/products/bamboo-tray",
        "has no description",
    ),
    "product without price": Seeded(
        "magento_bi",
        lambda p: changed(
            changed(p, "/en/washed-linen-duvet-cover.html", ' data-price-amount="1280"', ""),
            "/en/washed-linen-duvet-cover.html",
            '<span class="price">HK$ 1,280.00</span>',
            "",
        ),
        "content.product-info",
        "/en/washed-linen-duvet-cover.html",
        "has no price",
    ),
    "hours differ between languages": Seeded(
        "magento_bi",
        lambda p: changed(p, "/zh-hk/stores", "上午11時至晚上8時", "上午10時至晚上9時"),
        "content.store-info",
        "/zh-hk/stores",
        "different opening hours",
    ),
    "no store information": Seeded(
        "woo_en",
        lambda p: changed(
            changed(
                p,
                "*",
                '<li class="menu-item"><a href="https://kowloonkitchen.hk/our-stores/">Our Stores</a></li>',
                "",
            ),
            "/our-stores/",
        ),
        "content.store-info",
        "/",
        "No physical store address or opening hours",
    ),
    "no payment method": Seeded(
        "woo_en",
        lambda p: changed(
            changed(p, "*", "<p>We accept Visa, Mastercard, AlipayHK and FPS.</p>", ""),
            "/privacy-policy/",
            " and AlipayHK",
            "",
        ),
        "content.payment",
        "/",
        "No payment method",
    ),
    "no o2o service": Seeded(
        "woo_en",
        lambda p: changed(
            changed(
                p,
                "/our-stores/",
                "<p>Orders can be collected from the Mong Kok shop (click &amp; collect).</p>",
                "",
            ),
            "/product/carbon-steel-wok/",
            "Check in-store availability at our Mong Kok shop.",
            "",
        ),
        "content.o2o-services",
        "/",
        "No online-to-offline service",
    ),
}


@pytest.mark.parametrize("scenario", sorted(SEEDED))
def test_seeded_problem_is_found_and_nothing_else(registry: Registry, scenario: str) -> None:
    seeded = SEEDED[scenario]
    pages, host = shop(seeded.shop)
    evidence = evidence_of(seeded.seed(pages), host, statuses=dict(seeded.statuses))
    findings, _ = judge(registry, evidence)
    expected = [(seeded.check, seeded.page)] * seeded.findings
    assert [(f.check, f.page.removeprefix(host)) for f in findings] == expected, [f.message for f in findings]
    assert seeded.says in findings[0].message


def test_share_bar_broken_on_every_page_is_one_finding(registry: Registry) -> None:
    pages, host = shop("shopify_zh")
    bar = '<a class="share" href="https://www.facebook.com/sharer/sharer.php?u=">Share</a></main>'
    findings, _ = judge(registry, evidence_of(changed(pages, "*", "</main>", bar), host))
    assert len(findings) == 1
    assert findings[0].check == "social.share-broken" and findings[0].evidence["count"] == len(pages)
    assert "missing or empty" in findings[0].message


def test_script_built_share_urls_are_judged(registry: Registry) -> None:
    pages, host = shop("woo_en")
    page = f"{host}/product/carbon-steel-wok/"
    good = RenderedPage(
        url=page,
        viewport_width=375,
        scroll_width=375,
        client_width=375,
        share_targets=(
            {"selector": "a.share-facebook", "url": "https://www.facebook.com/sharer/sharer.php?u=" + page},
            {"selector": "a.share-x", "url": f"https://x.com/intent/post?text=Carbon%20Steel%20Wok%20{page}"},
        ),
    )
    findings, _ = judge(registry, evidence_of(pages, host, rendered=(good,)))
    assert findings == []
    staging = page.replace("kowloonkitchen.hk", "staging.kowloonkitchen-dev.com")
    bad = RenderedPage(
        url=page,
        viewport_width=375,
        scroll_width=375,
        client_width=375,
        share_targets=({"selector": "a.share-x", "url": "https://twitter.com/intent/tweet?url=" + staging},),
    )
    findings, _ = judge(registry, evidence_of(pages, host, rendered=(bad,)))
    assert [(f.check, f.evidence["control"]) for f in findings] == [("social.share-broken", "a.share-x")]
    assert "a staging address" in findings[0].message


def test_product_photo_that_does_not_load(registry: Registry) -> None:
    pages, host = shop("woo_en")
    photos = [
        "https://kowloonkitchen.hk/wp-content/uploads/2025/02/cleaver-600x600.jpg",
    ]
    links = {url: LinkResult(url=url, status=404) for url in photos}
    findings, _ = judge(registry, evidence_of(pages, host, links=links))
    assert [(f.check, f.page.removeprefix(host), f.evidence["missing"]) for f in findings] == [
        ("content.product-info", "/product/cleaver/", ["photo that loads"])
    ]


def test_price_only_in_json_ld_is_a_price(registry: Registry) -> None:
    pages, host = shop("shopify_zh")
    tray = pages["/products/bamboo-tray"]
    assert "HK$120" not in tray.split("</main>")[0].split("<main")[1]  # no price in the page's markup
    findings, _ = judge(registry, evidence_of(pages, host))
    assert findings == []


def test_hours_finding_quotes_both_languages(registry: Registry) -> None:
    seeded = SEEDED["hours differ between languages"]
    pages, host = shop(seeded.shop)
    findings, _ = judge(registry, evidence_of(seeded.seed(pages), host))
    evidence = findings[0].evidence
    assert evidence["first"]["hours"] == ["11:00-20:00"] and "Opening hours" in evidence["first"]["text"]
    assert (
        evidence["second"]["hours"] == ["10:00-21:00"] and "上午10時至晚上9時" in evidence["second"]["text"]
    )


def test_facts_are_not_findings(registry: Registry) -> None:
    pages, host = shop("woo_en")
    checks = [registry.checks["content.payment"]]
    outcome = run_checks(checks, evidence_of(pages, host))[0]
    assert outcome.status == "pass" and outcome.findings == ()
    assert [type(f) for f in outcome.facts] == [Fact]


def _real_product_pages() -> list[dict[str, Any]]:
    return [e for e in manifest_entries("clean/") if e.get("page_type") == "product" and e["role"] == "case"]


def test_real_product_pages_show_their_description_price_and_photo(registry: Registry) -> None:
    """Real shops' product pages (2009-2019, several platforms; the corpus in ../shared/realworld):
    each has a description and a price, structured or only in markup or text, except BOOK☆WALKER's
    page, stored without its price."""
    shop = "https://shop.example"
    home = page_from_body(shop + "/", b'<html><head><meta name="description" content="A shop"></head></html>')
    missing = {}
    for entry in _real_product_pages():
        page = page_from_body(shop + "/products/item", (corpus_dir() / entry["path"]).read_bytes())
        evidence = SiteEvidence(site=shop + "/", home=shop + "/", pages=(home, page))
        outcome = run_checks([registry.checks["content.product-info"]], evidence)[0]
        missing[entry["path"].rsplit("/", 1)[-1]] = [
            m for f in outcome.findings for m in f.evidence["missing"]
        ]
    assert len(missing) >= 10
    assert {name: m for name, m in missing.items() if m} == {
        "postlight_bookwalker_ebook_product.html": ["price"]
    }


def test_bare_share_endpoint_is_left_to_the_browser(registry: Registry) -> None:
    """qdaily.com's share links are bare endpoints that its script completes on click."""
    pages, host = shop("woo_en")
    bare = '<a class="share" href="http://service.weibo.com/share/share.php">微博</a></article>'
    findings, _ = judge(
        registry, evidence_of(changed(pages, "/2025/06/summer-table/", "</article>", bare), host)
    )
    assert findings == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Last updated: 3 March 2014. We collect…", "2014-03-03"),
        ("最後更新：2014年3月3日", "2014-03-03"),
        ("更新日期：２０２３年１１月５日", "2023-11-05"),
        ("Effective date 2014-03-03", "2014-03-03"),
        ("Revised: 03/04/2014", "2014-04-03"),  # day first, as written in Hong Kong
        ("Last updated on March 3rd, 2014.", "2014-03-03"),
        ("生效日期：2024年1月15日 本公司…", "2024-01-15"),
        ("We updated nothing. Call 2522 0000.", None),
    ],
)
def test_policy_dates_read_in_english_and_chinese(text: str, date: str | None) -> None:
    read = last_updated(text)
    assert (read[0].isoformat() if read else None) == date


def test_current_chinese_policy_date_is_read_and_judged_current(registry: Registry) -> None:
    pages, host = shop("shopify_zh")
    policy = evidence_of(pages, host).pages
    text = next(p for p in policy if p.url.endswith("/policies/privacy-policy")).facts
    assert text is not None
    assert last_updated(text.text) == (dt.date(2025, 9, 1), "最後更新：2025年9月1日")
