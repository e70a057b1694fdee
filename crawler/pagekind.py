"""What kind of page a page is, decided once from its facts and URL and used
by every check and phase (render and Lighthouse sampling, content checks, the
report's ``pages`` list).

Kinds (:data:`KINDS`): ``home``, ``category`` (a listing of products),
``product``, ``cart``, ``checkout``, ``account``, ``policy`` (privacy, terms,
delivery, returns), ``contact``, ``about``, ``store-locator``, ``blog`` (a blog
or news list or article), ``search``, ``other``.

Evidence, strongest first:

1. the home page's path (``/``, a bare language prefix such as ``/zh-hk/``,
   ``index.php``, OpenCart's ``route=common/home``);
2. the platform's own template name in ``<body class>``: WordPress and
   WooCommerce (``single-product``, ``tax-product_cat``, ``woocommerce-cart``,
   ``privacy-policy`` …), Magento 2 (``catalog-product-view``,
   ``checkout-cart-index`` …) and Shopify themes (``template-product`` …);
3. structured data: one schema.org ``Product``/``Offer`` (JSON-LD or microdata)
   or ``og:type`` product makes a product page; ``CollectionPage``,
   ``ItemList``, ``OfferCatalog``, ``product.group`` or several products a
   category; ``ContactPage``, ``AboutPage``, ``CheckoutPage``,
   ``SearchResultsPage`` their kinds; ``Article``/``BlogPosting`` a blog page;
4. URL patterns of Shopify, WooCommerce, Magento, OpenCart, SHOPLINE, Wix and
   custom shops, after a language prefix (``/en/``, ``/zh-hk/``) is set aside;
5. the wording of the ``<h1>`` or the title's first part, in English and
   Traditional Chinese ("Privacy Policy", "私隱政策", "購物車", "門市地址" …);
6. ``og:type`` article (WordPress sets it on many plain pages, so it comes last).

A page whose heading or title says it was not found ("Page not found", "404",
"找不到頁面") is ``other`` whatever its URL: a shop that answers 200 for a
missing product must not have it judged as a product page.

Limits: a page whose URL, markup and title say nothing (a Magento ``.html``
page without structured data or body class) is ``other``; a blog post about a
product is ``blog`` unless it carries the product's structured data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from shophealth.crawler.evidence import Page, decompress_fast

KINDS = (
    "home",
    "category",
    "product",
    "cart",
    "checkout",
    "account",
    "policy",
    "contact",
    "about",
    "store-locator",
    "blog",
    "search",
    "other",
)
LANGUAGE_PREFIX = re.compile(
    r"^/(?:(?:en|zh|ja|jp|ko|kr|fr|de|es|it|pt|ru|th|vi|id|ms|nl|tr|pl|sv|da|fi|nb|no|cs|el|hi|ar)"
    r"(?:[-_](?:hant|hans|[a-z]{2})(?:[-_][a-z]{2})?)?|tc|sc|chi|eng|hk|tw|hk-en|hk-zh)(?=/|$)",
    re.I,
)
HOME_PATHS = re.compile(r"^/?(?:index\.(?:php|html?|aspx?|jsp)|home|default\.aspx)?/?$", re.I)

# <body class> tokens that platforms write for their page templates.
BODY_CLASSES: tuple[tuple[str, frozenset[str]], ...] = (
    ("home", frozenset({"home", "cms-index-index", "template-index", "common-home"})),
    ("product", frozenset({"single-product", "catalog-product-view", "template-product", "product-product"})),
    (
        "category",
        frozenset(
            {
                "tax-product_cat",
                "tax-product_tag",
                "post-type-archive-product",
                "woocommerce-shop",
                "catalog-category-view",
                "template-collection",
                "template-list-collections",
                "product-category",
            }
        ),
    ),
    ("cart", frozenset({"woocommerce-cart", "checkout-cart-index", "template-cart", "checkout-cart"})),
    ("checkout", frozenset({"woocommerce-checkout", "checkout-index-index", "checkout-checkout"})),
    (
        "account",
        frozenset(
            {
                "woocommerce-account",
                "customer-account-login",
                "customer-account-create",
                "customer-account-index",
                "template-customers-login",
                "template-customers-account",
                "template-customers-register",
                "account-login",
            }
        ),
    ),
    ("policy", frozenset({"privacy-policy", "template-policy"})),
    ("contact", frozenset({"contact-index-index", "information-contact"})),
    (
        "search",
        frozenset({"search-results", "catalogsearch-result-index", "template-search", "product-search"}),
    ),
    ("blog", frozenset({"single-post", "blog", "template-article", "template-blog"})),
)

STRUCTURED_KINDS = {
    "collectionpage": "category",
    "itemlist": "category",
    "offercatalog": "category",
    "product.group": "category",
    "contactpage": "contact",
    "aboutpage": "about",
    "checkoutpage": "checkout",
    "searchresultspage": "search",
}
PRODUCT_TYPES = frozenset({"product", "productgroup", "offer", "og:product", "product.item"})
ARTICLE_TYPES = frozenset({"article", "blogposting", "newsarticle", "blog"})

# (kind, pattern on the path after any language prefix, or on the query)
URL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cart", re.compile(r"^/(checkout/)?(cart|basket|shopping-?cart)(/|$|\.)|route=checkout/cart", re.I)),
    (
        "checkout",
        re.compile(r"^/(\d+/)?(checkouts?|onepage|onestepcheckout)(/|$|\.)|route=checkout/checkout", re.I),
    ),
    (
        "account",
        re.compile(
            r"^/(my-?account|account|customer/account|users?/(sign_in|sign_up|login)|login|register|"
            r"sign-?in|sign-?up|member)(/|$|\.)|route=account/",
            re.I,
        ),
    ),
    ("search", re.compile(r"^/(search|catalogsearch)(/|$|\.)|route=product/search|[?&](s|q)=[^&]", re.I)),
    (
        "product",
        re.compile(
            r"/(products?|product-page|p|item|items|goods|dp)/[^/]+|/catalog/product/view/|"
            r"route=product/product|product_id=\d",
            re.I,
        ),
    ),
    (
        "category",
        re.compile(
            r"/(collections?|categories|category|product-category|product-tag|c|shop|catalog|department|"
            r"all-products|products)(/|$)|route=product/category",
            re.I,
        ),
    ),
    (
        "store-locator",
        re.compile(
            r"/(store-?locator|stores?|shops|locations?|branch(es)?|retail-stores?|find-a-store)(/|$|\.)",
            re.I,
        ),
    ),
    ("contact", re.compile(r"/(contact|contact-?us|contactus)(/|$|\.|-)|route=information/contact", re.I)),
    ("about", re.compile(r"/(about|about-?us|aboutus|our-story|who-we-are|company-profile)(/|$|\.|-)", re.I)),
    ("blog", re.compile(r"/(blogs?|news|articles?|posts?|journal|stories)(/|$)|/\d{4}/\d{2}/[^/]+", re.I)),
    (
        "policy",
        re.compile(
            r"/(polic(y|ies)|[^/]*privacy[^/]*|[^/]*-polic(y|ies)|terms[^/]*|tos|refund[^/]*|returns?[^/]*|"
            r"shipping[^/]*|delivery[^/]*|legal|disclaimer|pics)(/|$|\.)",
            re.I,
        ),
    ),
)

# Wording of a page's <h1> or the first part of its title, English and Traditional Chinese.
HEADING_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cart", re.compile(r"^(your |my )?(shopping )?(cart|basket|bag)$|^購物車|^購物籃", re.I)),
    ("checkout", re.compile(r"^(secure )?checkout$|^結帳|^結賬", re.I)),
    (
        "account",
        re.compile(
            r"^(my account|account|log ?in|sign ?in|register|create account)$|^(我的帳戶|會員登入|登入|註冊)",
            re.I,
        ),
    ),
    (
        "policy",
        re.compile(
            r"^(privacy|personal information collection|personal data|terms|shipping|delivery|refunds?|returns?|"
            r"exchanges?|cookie policy)\b|"
            r"^(私隱|隱私|個人資料|收集個人資料|條款|使用條款|條款及細則|送貨|運送|配送|退貨|退款|退換)",
            re.I,
        ),
    ),
    ("contact", re.compile(r"^(contact( us)?|get in touch)$|^聯絡我們|^聯繫我們|^聯絡", re.I)),
    (
        "about",
        re.compile(
            r"^(about( us)?|our story|who we are|company profile)$|^(關於我們|關於|品牌故事|公司簡介)", re.I
        ),
    ),
    (
        "store-locator",
        re.compile(
            r"^(store locator|our stores|find a store|store locations?|shops?|retail stores)$|^(門市|分店|店舖)",
            re.I,
        ),
    ),
    ("search", re.compile(r"^search( results)?\b|^搜尋結果|^搜索結果", re.I)),
)
ADD_TO_CART = re.compile("add to (cart|basket|bag)|加入購物車|加入购物车|放入購物車".encode(), re.I)
_ADD_TO_CART_SEEN: dict[tuple[str, int], bool] = {}
NOT_FOUND = re.compile(
    r"^\s*((the )?(page|product)( you requested| you were looking for)? (was |is )?not found|"
    r"404( - | )?(page )?(not found)?|not found|找不到(頁面|網頁|此頁|該頁面)?|(此)?頁面不存在|页面不存在)[.!。！]?\s*$",
    re.I,
)
TITLE_SEPARATORS = re.compile(r"\s+[|–—·•:-]\s+|\s*[｜|]\s*")


def page_kind(page: Page) -> str:
    """The page's kind (one of :data:`KINDS`), from its URL and facts."""
    facts = page.facts
    url = page.final_url or page.url
    if facts is None:
        return _kind(url, "", (), None, None, None)
    kind = _kind(
        url,
        facts.body_class,
        (*facts.json_ld_types, *facts.microdata_types),
        facts.og_type,
        facts.title,
        facts.h1[0] if facts.h1 else None,
    )
    if kind == "other" and _sells_one_thing(url, facts.text_z):
        return "product"
    return kind


def is_product_page(page: Page) -> bool:
    """A page that sells one product (the one meaning of "product page")."""
    return page_kind(page) == "product"


@lru_cache(maxsize=16384)
def _kind(
    url: str,
    body_class: str,
    types: tuple[str, ...],
    og_type: str | None,
    title: str | None,
    h1: str | None,
) -> str:
    parts = urlsplit(url)
    path = LANGUAGE_PREFIX.sub("", unquote(parts.path)) or "/"
    if HOME_PATHS.fullmatch(path) and not _query_names_page(parts.query):
        return "home"
    if NOT_FOUND.search(h1 or "") or NOT_FOUND.search(TITLE_SEPARATORS.split(title or "", maxsplit=1)[0]):
        return "other"  # a not-found page answered 200 at a product's address is not a product page
    url_kind = _from_url(path, parts.query)
    return (
        _from_body_class(body_class)
        or _from_structured_data([t.lower() for t in types], (og_type or "").lower(), url_kind)
        or url_kind
        or _from_headings(title or "", h1 or "")
        or ("blog" if (og_type or "").lower() in ARTICLE_TYPES else "other")
    )


def _sells_one_thing(url: str, text_z: bytes) -> bool:
    """One or two "Add to cart" controls in the page's text (a listing has one per product).

    Remembered by URL and the text's hash, so the text is not kept alive by the cache."""
    key = (url, hash(text_z))
    if key not in _ADD_TO_CART_SEEN:
        if len(_ADD_TO_CART_SEEN) > 16384:
            _ADD_TO_CART_SEEN.clear()
        _ADD_TO_CART_SEEN[key] = len(ADD_TO_CART.findall(decompress_fast(text_z))) in (1, 2)
    return _ADD_TO_CART_SEEN[key]


def _query_names_page(query: str) -> bool:
    """A home path whose query asks for another page (``index.php?route=product/product``)."""
    params = dict(parse_qsl(query))
    route = params.get("route", "")
    return bool(route and route != "common/home") or bool(params.get("s") or params.get("p"))


def _from_body_class(body_class: str) -> str | None:
    tokens = set(body_class.lower().split())
    for kind, classes in BODY_CLASSES:
        if tokens & classes:
            return kind
    return None


def _from_structured_data(types: list[str], og_type: str, url_kind: str | None) -> str | None:
    products = sum(1 for t in types if t in PRODUCT_TYPES and t != "offer")
    if products >= 3 and url_kind != "product":  # a listing whose cards each carry Product markup
        return "category"
    if products or "offer" in types or og_type in PRODUCT_TYPES:
        return "product"
    for kind_type in (*types, og_type):
        if kind_type in STRUCTURED_KINDS:
            return STRUCTURED_KINDS[kind_type]
    if any(t in ARTICLE_TYPES for t in types):
        return "blog"
    return None


def _from_url(path: str, query: str) -> str | None:
    target = f"{path}?{query}" if query else path
    for kind, pattern in URL_PATTERNS:
        if pattern.search(target):
            return kind
    return None


def _from_headings(title: str, h1: str) -> str | None:
    first_part = TITLE_SEPARATORS.split(title, maxsplit=1)[0]
    for heading in (h1, first_part):
        text = heading.strip()
        for kind, pattern in HEADING_PATTERNS:
            if text and pattern.search(text):
                return kind
    return None
