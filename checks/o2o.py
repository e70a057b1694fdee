"""The two O2O checks no other tool has: ``content.payment`` and ``content.o2o-services``.

**Payment methods** a customer learns of before checkout, read from every page
that is not a checkout page: the visible text, image ``alt`` text and file
names, ``aria-label``/``title`` attributes and inline-SVG titles (Shopify's
payment icons are ``<svg aria-labelledby="pi-visa"><title>Visa</title>``).
Methods: Visa, Mastercard, American Express, UnionPay 銀聯, JCB, credit card
信用卡, FPS 轉數快, Octopus 八達通, PayMe, Alipay/AlipayHK 支付寶, WeChat Pay
微信支付, PayPal, Apple Pay, Google Pay, Tap & Go, BoC Pay, Atome, bank transfer
銀行轉賬, cash on delivery 貨到付款. Names that mean other things too (Visa,
Octopus, JCB, FPS, AMEX, cash, bank transfer) count only in an icon or within
150 characters of payment wording ("payment", "we accept", "付款", "支付").
The methods found are the fact ``payment_methods`` (name, wording, page);
``content.payment`` (warning) when none is shown anywhere.

**O2O services** offered: store pick-up / click-and-collect ("pick up in
store", "click & collect", "門市自取", "到店自取"), return or exchange in store
("return in store", "門市退換"), store stock ("check store availability",
"門市存貨"), store appointments ("book an appointment", "預約到店"). Found
ones are the fact ``o2o_services``; ``content.o2o-services`` is ``info`` when
none is offered.

Limits: wording only in images (a banner saying "FPS accepted") is not read,
except file names and ``alt`` text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from shophealth.checks.base import Check, Fact, Finding, Options
from shophealth.checks.dom import per_site
from shophealth.crawler.evidence import Page, SiteEvidence
from shophealth.crawler.pagekind import page_kind

# name -> wording that names it anywhere
PAYMENT_METHODS: dict[str, re.Pattern[str]] = {
    "Mastercard": re.compile(r"\bmaster ?card\b|萬事達", re.I),
    "UnionPay": re.compile(r"\bunion ?pay\b|銀聯|银联", re.I),
    "credit card": re.compile(r"\bcredit cards?\b|信用卡", re.I),
    "FPS": re.compile(r"轉數快|faster payment system", re.I),
    "Octopus": re.compile(r"八達通", re.I),
    "PayMe": re.compile(r"\bpay ?me\b(?! later)", re.I),
    "Alipay": re.compile(r"\balipay ?(hk)?\b|支付寶|支付宝", re.I),
    "WeChat Pay": re.compile(r"\bwe ?chat ?pay\b|微信支付", re.I),
    "PayPal": re.compile(r"\bpaypal\b", re.I),
    "Apple Pay": re.compile(r"\bapple ?pay\b", re.I),
    "Google Pay": re.compile(r"\bgoogle ?pay\b", re.I),
    "Tap & Go": re.compile(r"\btap ?(&|and|n) ?go\b|拍住賞", re.I),
    "BoC Pay": re.compile(r"\bboc ?pay\b", re.I),
    "Atome": re.compile(r"\batome\b", re.I),
    "cash on delivery": re.compile(r"\bcash on delivery\b|貨到付款|(?-i:\bCOD\b)", re.I),
    "bank transfer": re.compile(r"銀行轉賬|銀行轉帳|銀行過數|銀行入數", re.I),
}
# name -> wording that names it only beside payment words or in an icon
AMBIGUOUS_METHODS: dict[str, re.Pattern[str]] = {
    "Visa": re.compile(r"\bvisa\b", re.I),
    "American Express": re.compile(r"\bamerican express\b|\bamex\b|美國運通", re.I),
    "JCB": re.compile(r"\bjcb\b", re.I),
    "FPS": re.compile(r"\bFPS\b"),
    "Octopus": re.compile(r"\boctopus\b", re.I),
    "bank transfer": re.compile(r"\bbank (transfer|deposit)\b", re.I),
    "cash": re.compile(r"\bcash\b|現金", re.I),
}
PAYMENT_CONTEXT = re.compile(
    r"payments?|we accept|pay (by|with|via)|checkout|付款|支付|付費|結帳|結賬|接受", re.I
)
ICON_TEXT = re.compile(
    rb"""(?:alt|aria-label|title|aria-labelledby|data-payment|class)\s*=\s*["']([^"']{1,80})["']|"""
    rb"<title[^>]*>([^<]{1,60})</title>|/([\w-]{2,40})\.(?:svg|png|jpe?g|webp|gif)",
    re.I,
)
ICON_FILLER = re.compile(r"\b(pi|icon|icons|logo|payment|svg|img|card)\b", re.I)
CONTEXT_WINDOW = 150

O2O_SERVICES: dict[str, re.Pattern[str]] = {
    "store pick-up": re.compile(
        r"\b(pick[- ]?up (in|at|from) (the |our |any )?(store|shop|branch)|(in-?store|store|self)[- ]pick[- ]?ups?|"
        r"click (&|and|n) collect|collect in store)\b|門市自取|到店自取|店舖自取|門市取貨|分店自取|自取點|到店取貨",
        re.I,
    ),
    "return or exchange in store": re.compile(
        r"\b((return|exchange)s? (it |them |items? )?(in|at) (any |our |the )?(store|shop|branch)|"
        r"in-?store (returns?|exchanges?))\b|門市退換|門市退貨|門市換貨|到店退換|分店退換|親臨門市.{0,8}(退|換)",
        re.I,
    ),
    "store stock": re.compile(
        r"\b((check )?(in-?store|store) (availability|stock)|available in (store|our stores)|"
        r"stock (in|at) (store|our stores))\b|門市存貨|門市庫存|分店存貨|查詢門市|門市有貨",
        re.I,
    ),
    "store appointment": re.compile(
        r"\b((book|make|schedule) an? (in-?store |store )?(appointment|fitting|consultation)|"
        r"(store|in-?store) appointment)\b|預約到店|門市預約|預約試身|預約服務|到店預約",
        re.I,
    ),
}


def _judged_pages(evidence: SiteEvidence) -> list[Page]:
    return [
        p
        for p in evidence.html_pages()
        if p.status == 200 and p.facts is not None and page_kind(p) not in ("checkout", "account")
    ]


# ---- payment --------------------------------------------------------------


@per_site
def payment_methods(evidence: SiteEvidence) -> list[dict[str, str]]:
    """Each payment method shown before checkout, with the words that named it and the first page."""
    found: dict[str, dict[str, str]] = {}
    for page in _judged_pages(evidence):
        for name, wording in _methods_on(page):
            found.setdefault(name, {"method": name, "wording": wording, "page": page.final_url})
    return sorted(found.values(), key=lambda m: m["method"])


def _methods_on(page: Page) -> Iterator[tuple[str, str]]:
    assert page.facts is not None
    text = page.facts.text
    icon_words = list(_icon_words(page))
    icons = " | ".join(icon_words)
    short_icons = " | ".join(w for w in icon_words if len(ICON_FILLER.sub("", w).split()) <= 2)
    for name, pattern in PAYMENT_METHODS.items():
        if (match := pattern.search(text) or pattern.search(icons)) is not None:
            yield name, match.group(0)
    for name, pattern in AMBIGUOUS_METHODS.items():
        if (match := pattern.search(short_icons)) is not None:
            yield name, match.group(0)
            continue
        for match in pattern.finditer(text):
            window = text[max(0, match.start() - CONTEXT_WINDOW) : match.end() + CONTEXT_WINDOW]
            if PAYMENT_CONTEXT.search(window):
                yield name, match.group(0)
                break


def _icon_words(page: Page) -> Iterator[str]:
    """Image alt text and file names, labels and SVG titles: where payment icons say their name."""
    for match in ICON_TEXT.finditer(page.html_bytes):
        word = next(g for g in match.groups() if g is not None)
        yield word.decode("utf-8", "replace").replace("-", " ").replace("_", " ")


def find_payment(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    methods = payment_methods(evidence)
    yield Fact("payment_methods", methods)
    if methods:
        return
    yield Finding(
        "content.payment",
        "warning",
        evidence.home,
        None,
        "No payment method is shown to customers before checkout",
        {
            "looked_for": "cards (Visa, Mastercard, AE, UnionPay), FPS 轉數快, Octopus 八達通, PayMe, Alipay, "
            "WeChat Pay, PayPal, Apple/Google Pay, cash on delivery, bank transfer: in text, icons and image names",
            "pages_read": len(_judged_pages(evidence)),
        },
    )


# ---- O2O services ---------------------------------------------------------


def o2o_services(evidence: SiteEvidence) -> list[dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for page in _judged_pages(evidence):
        assert page.facts is not None
        text = page.facts.text
        for service, pattern in O2O_SERVICES.items():
            if service not in found and (match := pattern.search(text)) is not None:
                found[service] = {"service": service, "wording": match.group(0), "page": page.final_url}
        if len(found) == len(O2O_SERVICES):
            break
    return sorted(found.values(), key=lambda s: s["service"])


def find_o2o_services(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    services = o2o_services(evidence)
    yield Fact("o2o_services", services)
    if services:
        return
    yield Finding(
        "content.o2o-services",
        "info",
        evidence.home,
        None,
        "No online-to-offline service is offered (store pick-up, return in store, store stock, appointments)",
        {
            "looked_for": "pick up in store, click & collect, 門市自取, return/exchange in store, 門市退換, "
            "store availability, 門市存貨, book an appointment, 預約到店",
            "pages_read": len(_judged_pages(evidence)),
        },
    )


CHECKS = [
    Check(
        id="content.payment",
        title="No payment method shown before checkout",
        requires=("pages",),
        run=find_payment,
        severities="warning when no payment method is named anywhere before checkout; the methods are facts",
        family_doc=__doc__ or "",
    ),
    Check(
        id="content.o2o-services",
        title="No online-to-offline service offered",
        requires=("pages",),
        run=find_o2o_services,
        severities="info when no store pick-up, in-store return, store stock or appointment is offered",
        family_doc=__doc__ or "",
    ),
]
