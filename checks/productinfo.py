"""Product information: ``content.product-info``.

Every product page (kind ``product``, :mod:`shophealth.crawler.pagekind`)
that answered 200 must show a description, a price and at least one photo
that loads. Structured data is read first, with ``extruct`` (JSON-LD,
including ``@graph``; microdata; Open Graph): a ``Product``'s
``description``, its ``offers`` ``price``/``lowPrice`` (or
``priceSpecification``), ``product:price:amount``, its ``image`` and
``og:image``. Markup second, from the page's BeautifulSoup tree
(:func:`shophealth.checks.dom.soup`): ``itemprop`` description/price,
description blocks of the common platforms (``product__description``,
``woocommerce-product-details__short-description``, ``#tab-description``,
Magento's ``product attribute description``) and price elements
(``price``/``data-price-amount``) holding an amount. Last, for older shops
whose markup names nothing: a paragraph of 120 characters (40 Chinese) outside
the header, footer and menus counts as a description, an amount in the text
not following "over", "spend", "delivery", "滿"… as a price, and a meta
description that differs from the home page's as a description.

A description must have at least 10 characters (4 in Chinese). A photo loads
unless the link check found every candidate broken or not an image;
candidates are the structured images and the page's own ``<img>`` (those on
at least half the shop's pages, logos and icons, are left out).

``content.product-info`` (warning): one finding per product page, naming
what is missing and what was read (``evidence.missing``, ``evidence.read``).

Cost: extruct reads each product page's structured data from lxml's tree of
the page's head alone when that reads the same as the whole page
(:mod:`shophealth.checks.structured`): 0.19-0.23 ms a benchmark page against
0.55-0.68 for the whole page (1,943 pages, decompressing included, the words it
needs found in the shared HTML pass; machine shared, load 2); the BeautifulSoup
tree is built only when structured data lacks something.

Limits: a price shown only by script after load is not seen without
rendering; a photo that loads but shows the wrong product is not detected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from shophealth.checks.base import Check, Finding, Options
from shophealth.checks.dom import home_page, site_wide_images, soup, structured_data, wants_structured_data
from shophealth.checks.images import not_an_image
from shophealth.checks.linkverdict import link_verdict
from shophealth.crawler.evidence import LinkResult, Page, SiteEvidence
from shophealth.crawler.pagekind import is_product_page

if TYPE_CHECKING:  # bs4 is imported with the first tree (checks.dom.soup), not at every start
    from bs4 import BeautifulSoup

PRODUCT_TYPES = {"Product", "ProductGroup", "IndividualProduct", "ProductModel"}
DESCRIPTION_CLASSES = re.compile(
    r"(^|[\s_-])(product[-_]*(single[-_]*)?description|product__description|short-description|"
    r"description|tab-description|product-details|product-desc)([\s_-]|$)",
    re.I,
)
PRICE_CLASSES = re.compile(r"(^|[\s_-])(price|product-price|price-item|amount|special-price)([\s_-]|$)", re.I)
AMOUNT = re.compile(r"(HK\$|HKD|US\$|\$|＄|港幣|港元|元|RMB|¥|€|£|NT\$)\s?\d|\d[\d,.]*\s?(HKD|元|港元)")
# "Free delivery over $500": an amount that is not the product's price
THRESHOLD_WORDS = re.compile(r"over|above|spend|orders? of|shipping|delivery|免運|滿|運費|以上|滿額", re.I)
OUTSIDE_CONTENT = ["header", "footer", "nav", "aside", "form"]
CJK = re.compile(r"[\u3400-\u9fff]")


@wants_structured_data
def _judged(page: Page) -> bool:
    """A page this check judges (and reads the structured data of)."""
    return page.status == 200 and is_product_page(page)


def find_product_info(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for page in evidence.html_pages():
        if not _judged(page):
            continue
        missing, read = judge_product_page(page, evidence)
        if missing:
            yield Finding(
                "content.product-info",
                "warning",
                page.final_url,
                None,
                "Product page has no " + _and(missing),
                {"missing": missing, "read": read, "title": page.facts.title if page.facts else None},
            )


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def judge_product_page(page: Page, evidence: SiteEvidence) -> tuple[list[str], dict[str, Any]]:
    """What the product page lacks (description, price, photo) and where each was looked for."""
    data = structured_data(page)
    products = [
        item for item in _walk([*data.get("json-ld", []), *data.get("microdata", [])]) if _is_product(item)
    ]
    og = data.get("opengraph") or [{}]
    read: dict[str, Any] = {"structured": [_type_name(p) for p in products][:5]}
    description = _structured_description(products) or _markup_description(page, evidence)
    price = _structured_price(products, og[0]) or _markup_price(page)
    photos = _photo_candidates(page, products, og[0], evidence)
    photo_ok = any(_loads(url, evidence) for url in photos)
    read.update(description=description, price=price, photos=photos[:5])
    missing = [
        name
        for name, ok in (("description", bool(description)), ("price", bool(price)), ("photo", photo_ok))
        if not ok
    ]
    if not photo_ok and photos:
        missing[-1] = "photo that loads"
    return missing, read


def _walk(items: list[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        if isinstance(item, list):
            yield from _walk(item)
        elif isinstance(item, dict):
            yield item
            if "@graph" in item:
                yield from _walk(_as_list(item["@graph"]))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _type_name(item: dict[str, Any]) -> str:
    kind = item.get("@type")
    return kind if isinstance(kind, str) else ",".join(str(k) for k in kind or [])


def _is_product(item: dict[str, Any]) -> bool:
    kind = item.get("@type")
    kinds = {kind} if isinstance(kind, str) else set(kind or [])
    return bool({str(k).rsplit("/", 1)[-1] for k in kinds} & PRODUCT_TYPES)


def _long_enough(text: str) -> bool:
    text = " ".join(text.split())
    return len(text) >= 10 or len(CJK.findall(text)) >= 4


def _structured_description(products: list[dict[str, Any]]) -> str | None:
    for product in products:
        value = product.get("description")
        if isinstance(value, str) and _long_enough(value):
            return "structured data: " + " ".join(value.split())[:80]
    return None


def _structured_price(products: list[dict[str, Any]], og: dict[str, Any]) -> str | None:
    for product in products:
        for offer in _walk(_as_list(product.get("offers"))):
            for candidate in (offer, *_walk(_as_list(offer.get("priceSpecification")))):
                for key in ("price", "lowPrice", "highPrice"):
                    if str(candidate.get(key, "")).strip():
                        return f"structured data: {key} {candidate[key]} {candidate.get('priceCurrency', '')}".strip()
    for key in ("product:price:amount", "og:price:amount"):
        if str(og.get(key, "")).strip():
            return f"Open Graph: {og[key]}"
    return None


def _markup_description(page: Page, evidence: SiteEvidence) -> str | None:
    tree = soup(page)
    nodes = [
        *tree.select('[itemprop="description"]'),
        *tree.find_all(class_=DESCRIPTION_CLASSES),
        *tree.find_all(id=DESCRIPTION_CLASSES),
    ]
    for node in nodes:
        text = node.get("content") if node.name == "meta" else node.get_text(" ", strip=True)
        if isinstance(text, str) and _long_enough(text):
            return "markup: " + " ".join(text.split())[:80]
    if (prose := _prose(tree)) is not None:
        return "page text: " + prose[:80]
    meta = (page.facts.meta_description or "") if page.facts else ""
    home = home_page(evidence)
    home_meta = (home.facts.meta_description or "") if home is not None and home.facts else ""
    if _long_enough(meta) and meta.strip() != home_meta.strip():
        return "meta description: " + meta[:80]
    return None


def _prose(tree: BeautifulSoup) -> str | None:
    """A paragraph of at least 120 characters (40 in Chinese) outside the header, footer and menus:
    an older shop's description has no class that names it."""
    for node in tree.find_all(["p", "div", "td", "li"]):
        if node.find(["p", "div", "td", "li", "table"]) is not None or node.find_parent(OUTSIDE_CONTENT):
            continue
        text = " ".join(node.get_text(" ", strip=True).split())
        if len(text) >= 120 or len(CJK.findall(text)) >= 40:
            return text
    return None


def _markup_price(page: Page) -> str | None:
    tree = soup(page)
    for node in tree.select('[itemprop="price"], [data-price-amount], [data-product-price]'):
        value = node.get("content") or node.get("data-price-amount") or node.get_text(" ", strip=True)
        if isinstance(value, str) and re.search(r"\d", value):
            return f"markup: {value.strip()[:40]}"
    for node in tree.find_all(class_=PRICE_CLASSES):
        text = node.get_text(" ", strip=True)
        if AMOUNT.search(text):
            return f"markup: {text[:40]}"
    text = page.facts.text if page.facts is not None else ""
    for match in AMOUNT.finditer(text):
        if not THRESHOLD_WORDS.search(text[max(0, match.start() - 40) : match.start()]):
            return f"page text: {text[max(0, match.start() - 20) : match.end() + 10]}"
    return None


def _photo_candidates(
    page: Page, products: list[dict[str, Any]], og: dict[str, Any], evidence: SiteEvidence
) -> list[str]:
    urls: list[str] = []
    for product in products:
        urls += _image_urls(product.get("image"))
    urls += _image_urls(og.get("og:image"))
    common = site_wide_images(evidence)
    urls += [ref.url for ref in page.refs if ref.tag == "img" and ref.url not in common]
    return list(dict.fromkeys(u for u in urls if u.startswith(("http://", "https://"))))


def _image_urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _image_urls(value.get("url") or value.get("contentUrl"))
    if isinstance(value, list):
        return [url for item in value for url in _image_urls(item)]
    return []


def _loads(url: str, evidence: SiteEvidence) -> bool:
    """Not known to fail: verified ok, or not verified (structured images are not always fetched)."""
    result: LinkResult | None = evidence.links.get(url)
    if result is None:
        return True
    verdict = link_verdict(result).outcome
    return verdict == "unverifiable" or (verdict == "ok" and not_an_image(result) is None)


CHECKS = [
    Check(
        id="content.product-info",
        title="Product pages missing a description, a price or a photo",
        requires=("pages",),
        run=find_product_info,
        severities="warning per product page, naming what is missing",
        family_doc=__doc__ or "",
    )
]
