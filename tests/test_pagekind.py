"""Page kinds from platform URLs, body classes, structured data and headings (EN and zh-HK)."""

from __future__ import annotations

import pytest
from realworld import corpus_dir, manifest_entries

from shophealth.crawler.pagekind import KINDS, page_kind
from shophealth.crawler.parse import page_from_body


def kind_of(url: str, head: str = "", body: str = "", body_class: str = "") -> str:
    html = f'<html><head>{head}</head><body class="{body_class}">{body}</body></html>'
    return page_kind(page_from_body(url, html.encode()))


URL_CASES = [
    # home, with and without a language prefix
    ("https://shop.hk/", "home"),
    ("https://shop.hk/zh-hk/", "home"),
    ("https://shop.hk/en", "home"),
    ("https://shop.hk/index.php?route=common/home", "home"),
    # Shopify
    ("https://shop.hk/products/teapot", "product"),
    ("https://shop.hk/collections/bag/products/tote", "product"),
    ("https://shop.hk/collections/kitchen", "category"),
    ("https://shop.hk/cart", "cart"),
    ("https://shop.hk/12345/checkouts/abc", "checkout"),
    ("https://shop.hk/account/login", "account"),
    ("https://shop.hk/policies/privacy-policy", "policy"),
    ("https://shop.hk/pages/refund-policy", "policy"),
    ("https://shop.hk/pages/contact", "contact"),
    ("https://shop.hk/pages/about-us", "about"),
    ("https://shop.hk/zh-hk/pages/store-locator", "store-locator"),
    ("https://shop.hk/blogs/news/our-new-return-policy", "blog"),
    ("https://shop.hk/search?q=tea", "search"),
    # WooCommerce / WordPress
    ("https://shop.hk/product/teapot/", "product"),
    ("https://shop.hk/product-category/mugs/", "category"),
    ("https://shop.hk/shop/", "category"),
    ("https://shop.hk/my-account/", "account"),
    ("https://shop.hk/?s=tea&post_type=product", "search"),
    ("https://shop.hk/2024/03/spring-sale/", "blog"),
    # Magento
    ("https://shop.hk/checkout/cart/", "cart"),
    ("https://shop.hk/customer/account/login/", "account"),
    ("https://shop.hk/catalogsearch/result/?q=tea", "search"),
    ("https://shop.hk/privacy-policy-cookie-restriction-mode", "policy"),
    # OpenCart
    ("https://shop.hk/index.php?route=product/product&product_id=42", "product"),
    ("https://shop.hk/index.php?route=product/category&path=20", "category"),
    ("https://shop.hk/index.php?route=checkout/cart", "cart"),
    ("https://shop.hk/index.php?route=information/contact", "contact"),
    # SHOPLINE and custom
    ("https://shop.hk/categories/tea", "category"),
    ("https://shop.hk/users/sign_in", "account"),
    ("https://shop.hk/blog/posts/tea-guide", "blog"),
    ("https://shop.hk/zh-hant/p/1234", "product"),
]


@pytest.mark.parametrize(("url", "kind"), URL_CASES)
def test_platform_url_patterns(url: str, kind: str) -> None:
    assert kind_of(url) == kind


@pytest.mark.parametrize(
    ("body_class", "kind"),
    [
        ("page-product-configurable catalog-product-view product-bag", "product"),
        ("page-products categorypath-gear catalog-category-view", "category"),
        ("cms-page-view page-layout-1column", "other"),
        ("archive tax-product_cat woocommerce", "category"),
        ("page-template-default page privacy-policy", "policy"),
    ],
)
def test_platform_body_classes_decide_ambiguous_urls(body_class: str, kind: str) -> None:
    assert kind_of("https://shop.hk/gear/bag-12.html", body_class=body_class) == kind


def test_structured_data_decides_before_the_url() -> None:
    product_ld = '<script type="application/ld+json">{"@type": "Product", "name": "Tea"}</script>'
    assert kind_of("https://shop.hk/tea-1.html", head=product_ld) == "product"
    assert kind_of("https://shop.hk/x", head='<meta property="og:type" content="product">') == "product"
    card = '<div itemscope itemtype="https://schema.org/Product"></div>'
    assert kind_of("https://shop.hk/tea.html", body=card) == "product"
    assert kind_of("https://shop.hk/tea.html", body=card * 4) == "category"  # one card per product
    assert kind_of("https://shop.hk/products/tea", body=card * 4) == "product"  # related products below
    contact_ld = '<script type="application/ld+json">{"@type": "ContactPage"}</script>'
    assert kind_of("https://shop.hk/reach-us", head=contact_ld) == "contact"


@pytest.mark.parametrize(
    ("title", "h1", "kind"),
    [
        ("私隱政策 | 港灣家品", "", "policy"),
        ("Privacy Statement – Harbour Home", "", "policy"),
        ("", "關於我們", "about"),
        ("", "門市地址", "store-locator"),
        ("聯絡我們 | 港灣家品", "", "contact"),
        ("購物車", "", "cart"),
        ("Our Mission Statement", "Our Mission Statement", "other"),
    ],
)
def test_headings_in_english_and_chinese(title: str, h1: str, kind: str) -> None:
    head = f"<title>{title}</title>" if title else ""
    body = f"<h1>{h1}</h1>" if h1 else ""
    url = "https://shop.hk/index.php?route=information/information&information_id=4"
    assert kind_of(url, head=head, body=body) == kind


def test_add_to_cart_wording_marks_a_product_page_only_once() -> None:
    assert kind_of("https://shop.hk/tea", body="<p>$98</p><button>加入購物車</button>") == "product"
    listing = "".join(f"<li>Tea {i} <button>Add to cart</button></li>" for i in range(6))
    assert kind_of("https://shop.hk/tea", body=listing) == "other"


def test_every_kind_is_listed() -> None:
    assert {kind for _, kind in URL_CASES} <= set(KINDS)


def test_real_product_pages_with_structured_data_are_products() -> None:
    with_markup = [
        e["path"]
        for e in manifest_entries("clean/")
        if e.get("page_type") == "product" and ("extruct_" in e["path"] or "trafilatura_" in e["path"])
    ]
    assert len(with_markup) >= 3
    for path in with_markup:
        page = page_from_body("https://shop.example/item.html", (corpus_dir() / path).read_bytes())
        assert page_kind(page) == "product", path


def test_a_not_found_page_at_a_product_address_is_not_a_product() -> None:
    assert kind_of("https://shop.hk/products/gone", head="<title>Page not found | Shop</title>") == "other"
    assert kind_of("https://shop.hk/products/gone", body="<h1>找不到頁面</h1>") == "other"
    assert kind_of("https://shop.hk/products/found", body="<h1>Not Found Tee</h1>") == "product"
