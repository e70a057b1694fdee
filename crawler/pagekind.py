"""What kind of page a page is, decided once from its facts and URL and used
by every check and phase (render and Lighthouse sampling, content checks).

Kinds: home, product, category, cart, policy, contact, other. Structured
data (JSON-LD ``@type``, ``og:type``) decides first; URL patterns of the
common platforms second.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from shophealth.crawler.evidence import Page

PAGE_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("cart", re.compile(r"/(cart|basket|bag|checkout)(/|$|\.)", re.I)),
    ("policy", re.compile(r"(privacy|polic|terms|refund|return|shipping|delivery|faq)", re.I)),
    ("contact", re.compile(r"(contact|about|store-?locat|stores?(/|$))", re.I)),
    ("product", re.compile(r"/(products?|p|item|items|goods|dp)/[^/]+", re.I)),
    ("category", re.compile(r"/(collections?|categor(y|ies)|c|shop|catalog|department)(/|$)", re.I)),
)
PRODUCT_TYPES = {"product", "productgroup", "og:product", "product.item"}
CATEGORY_TYPES = {"collectionpage", "itemlist", "offercatalog"}


def page_kind(page: Page) -> str:
    """home, product, category, cart, policy, contact or other, from facts and URL."""
    path = urlsplit(page.final_url or page.url).path
    if path in ("", "/") or re.fullmatch(r"/[a-z]{2}([-_][a-z]{2,4})?/?", path, re.I):
        return "home"
    facts = page.facts
    types = {t.lower() for t in facts.json_ld_types} if facts else set()
    og_type = (facts.og_type or "").lower() if facts else ""
    if types & PRODUCT_TYPES or og_type in PRODUCT_TYPES:
        return "product"
    if types & CATEGORY_TYPES:
        return "category"
    for kind, pattern in PAGE_KINDS:
        if pattern.search(path):
            return kind
    return "other"


def is_product_page(page: Page) -> bool:
    """A page that sells one product (the one meaning of "product page")."""
    return page_kind(page) == "product"
