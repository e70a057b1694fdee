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
from dataclasses import dataclass

from shophealth.checks.base import Check, Fact, Finding, Options
from shophealth.checks.dom import PAGE_ANCHORS, PAGE_MARKUP, NearWords, derived, per_site
from shophealth.crawler.evidence import Page, PageFacts, SiteEvidence
from shophealth.crawler.pagekind import page_kind


@dataclass(frozen=True)
class Method:
    """A payment method: its name, the words that name it, and the anchor words those begin with."""

    name: str
    pattern: re.Pattern[str]
    anchors: tuple[str, ...]
    ambiguous: bool = False  # names other things too: counts beside payment wording or in an icon


METHODS = (
    Method("Visa", re.compile(r"\bvisa\b", re.I), ("visa",), ambiguous=True),
    Method("Mastercard", re.compile(r"\bmaster ?card\b|萬事達", re.I), ("master", "萬事達")),
    Method(
        "American Express",
        re.compile(r"\bamerican express\b|\bamex\b|美國運通", re.I),
        ("american express", "amex", "美國運通"),
        ambiguous=True,
    ),
    Method(
        "UnionPay",
        re.compile(r"\bunion ?pay\b|銀聯|银联", re.I),
        ("unionpay", "union pay", "union_pay", "union-pay", "銀聯", "银联"),
    ),
    Method("JCB", re.compile(r"\bjcb\b", re.I), ("jcb",), ambiguous=True),
    Method("credit card", re.compile(r"\bcredit cards?\b|信用卡", re.I), ("credit card", "信用卡")),
    Method("FPS", re.compile(r"轉數快|faster payment system", re.I), ("轉數快", "faster payment")),
    Method("FPS", re.compile(r"\bFPS\b"), ("fps",), ambiguous=True),
    Method("Octopus", re.compile(r"八達通"), ("八達通",)),
    Method("Octopus", re.compile(r"\boctopus\b", re.I), ("octopus",), ambiguous=True),
    Method("PayMe", re.compile(r"\bpay ?me\b(?! later)", re.I), ("payme", "pay me")),
    Method("Alipay", re.compile(r"\balipay ?(hk)?\b|支付寶|支付宝", re.I), ("alipay", "支付寶", "支付宝")),
    Method("WeChat Pay", re.compile(r"\bwe ?chat ?pay\b|微信支付", re.I), ("wechat", "we chat", "微信支付")),
    Method("PayPal", re.compile(r"\bpaypal\b", re.I), ("paypal",)),
    Method(
        "Apple Pay", re.compile(r"\bapple ?pay\b", re.I), ("apple pay", "applepay", "apple_pay", "apple-pay")
    ),
    Method(
        "Google Pay",
        re.compile(r"\bgoogle ?pay\b|\bgpay\b", re.I),
        ("google pay", "googlepay", "google_pay", "google-pay", "gpay"),
    ),
    Method(
        "Tap & Go",
        re.compile(r"\btap ?(&|and|n) ?go\b|拍住賞", re.I),
        (
            "tap & go",
            "tap &amp; go",
            "tap and go",
            "tapngo",
            "tap n go",
            "tap&go",
            "tap_go",
            "tap-go",
            "拍住賞",
        ),
    ),
    Method("BoC Pay", re.compile(r"\bboc ?pay\b", re.I), ("boc pay", "bocpay", "boc_pay", "boc-pay")),
    Method("Atome", re.compile(r"\batome\b", re.I), ("atome",)),
    Method(
        "cash on delivery",
        re.compile(r"\bcash on delivery\b|貨到付款", re.I),
        ("cash on", "貨到付款"),
    ),
    Method("bank transfer", re.compile(r"銀行轉賬|銀行轉帳|銀行過數|銀行入數", re.I), ("銀行",)),
    Method(
        "bank transfer",
        re.compile(r"\bbank (transfer|deposit)\b", re.I),
        ("bank transfer", "bank deposit", "bank_transfer", "bank-transfer"),
        ambiguous=True,
    ),
    Method("cash", re.compile(r"\bcash\b|現金", re.I), ("cash", "現金"), ambiguous=True),
)
ANCHOR_WORDS = sorted({a for m in METHODS for a in m.anchors})
ANCHOR_METHODS = [[m for m in METHODS if word in m.anchors] for word in ANCHOR_WORDS]


TEXT_ANCHORS = PAGE_ANCHORS.register(ANCHOR_WORDS)  # found in the visible text with NearWords' anchors
PAYMENT_CONTEXT = re.compile(
    r"payments?|we accept|pay (by|with|via)|checkout|付款|支付|付費|結帳|結賬|接受", re.I
)
# attributes whose value names an icon: alt="Visa", aria-labelledby="pi-visa", src=".../visa.svg"
ICON_ATTRIBUTE = re.compile(
    r"""(?:alt|aria-label|aria-labelledby|title|src|class|data-[\w-]+)\s*=\s*["']?$""", re.I
)
ICON_FILLER = re.compile(r"\b(pi|icon|icons|logo|payment|svg|png|jpe?g|webp|img|card|\d+x\d+)\b", re.I)
CONTEXT_WINDOW = 150
WINDOW = 40

O2O_SERVICES: dict[str, NearWords] = {
    "store pick-up": NearWords(
        re.compile(
            r"\b(pick[- ]?up (in|at|from) (the |our |any )?(store|shop|branch)|(in-?store|store|self)[- ]pick[- ]?ups?|"
            r"click (&|and|n) collect|collect in store)\b|門市自取|到店自取|店舖自取|門市取貨|分店自取|自取點|到店取貨",
            re.I,
        ),
        ("pick", "collect", "自取", "取貨"),
        before=60,
        after=60,
    ),
    "return or exchange in store": NearWords(
        re.compile(
            r"\b((return|exchange)s? (it |them |items? )?(in|at) (any |our |the )?(store|shop|branch)|"
            r"in-?store (returns?|exchanges?))\b|門市退換|門市退貨|門市換貨|到店退換|分店退換|親臨門市.{0,8}(退|換)",
            re.I,
        ),
        (
            "in store",
            "at store",
            "in-store",
            "instore",
            "in our",
            "at our",
            "in any",
            "at any",
            "in the store",
            "at the store",
            "門市退",
            "門市換",
            "到店退",
            "分店退",
            "親臨門市",
        ),
        before=40,
        after=30,
    ),
    "store stock": NearWords(
        re.compile(
            r"\b((check )?(in-?store|store) (availability|stock)|available in (store|our stores)|"
            r"stock (in|at) (store|our stores))\b|門市存貨|門市庫存|分店存貨|查詢門市|門市有貨",
            re.I,
        ),
        (
            "availability",
            "store stock",
            "available in",
            "stock in",
            "stock at",
            "存貨",
            "庫存",
            "查詢門市",
            "有貨",
        ),
    ),
    "store appointment": NearWords(
        re.compile(
            r"\b((book|make|schedule) an? (in-?store |store )?(appointment|fitting|consultation)|"
            r"(store|in-?store) appointment)\b|預約到店|門市預約|預約試身|預約服務|到店預約",
            re.I,
        ),
        ("appointment", "fitting", "consultation", "預約"),
        before=40,
        after=30,
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
        for name, wording in page_payment_methods(page):
            found.setdefault(name, {"method": name, "wording": wording, "page": page.final_url})
    return sorted(found.values(), key=lambda m: m["method"])


@derived
def page_payment_methods(page: Page) -> tuple[tuple[str, str], ...]:
    """Each payment method ``page`` names, once, with the words that named it: in its visible
    text first, then in its icons (memoised and made ahead of judging: :func:`derived`)."""
    if page.facts is None:
        return ()
    return tuple(_methods_on(page))


def _methods_on(page: Page) -> Iterator[tuple[str, str]]:
    assert page.facts is not None
    known: set[str] = set()  # each method once: the first words that name it
    text = page.facts.text
    for method, start in _text_candidates(page.facts, known):
        window = text[max(0, start - WINDOW) : start + WINDOW]
        match = method.pattern.search(window)
        if match is None:
            continue
        if method.ambiguous:
            context = text[max(0, start - CONTEXT_WINDOW) : start + CONTEXT_WINDOW]
            if not PAYMENT_CONTEXT.search(context):
                continue
        known.add(method.name)
        yield method.name, match.group(0)
    yield from _icon_methods(page, known)


def _text_candidates(facts: PageFacts, known: set[str]) -> Iterator[tuple[Method, int]]:
    """(method, position) for each anchor word of a method not yet found in the page's visible text."""
    hits = PAGE_ANCHORS.of(facts).of(TEXT_ANCHORS)
    for i in range(0, len(hits), 2):
        for method in ANCHOR_METHODS[hits[i]]:
            if method.name not in known:
                yield method, hits[i + 1]


def _icon_values(html: str, hits: list[tuple[int, int, int]]) -> tuple[tuple[int, str], ...]:
    """What the shared pass over a page's HTML keeps for the payment check: (anchor word,
    the attribute value or SVG title it stands in) for each anchor that stands in one."""
    return tuple((word, value) for word, start, _ in hits if (value := _icon_value(html, start)) is not None)


ICON_WORDS = PAGE_MARKUP.register(ANCHOR_WORDS, _icon_values)


def _icon_methods(page: Page, known: set[str]) -> Iterator[tuple[str, str]]:
    """Methods named by an icon: an attribute value (alt, aria-label, src …) or an SVG title."""
    icons: tuple[tuple[int, str], ...] = PAGE_MARKUP.of(page)[ICON_WORDS]
    for word, value in icons:
        for method in ANCHOR_METHODS[word]:
            if method.name in known:
                continue
            words = ICON_FILLER.sub(" ", value.replace("-", " ").replace("_", " ").replace("/", " "))
            if method.ambiguous and len(words.split()) > 2:
                continue  # "octopus plush toy.jpg" is a product, "visa.svg" an icon
            if (match := method.pattern.search(words)) is not None:
                known.add(method.name)
                yield method.name, match.group(0)


def _icon_value(html: str, at: int) -> str | None:
    """The attribute value or ``<title>`` text that position ``at`` is in, if any."""
    # searched only as far as the limits below reach: a page without a ' after a hit
    # was otherwise read to its end once per hit (42 "cash…" hits on a benchmark page)
    since = max(0, at - 80)
    opening = max(html.rfind('"', since, at), html.rfind("'", since, at), html.rfind(">", since, at))
    if opening < 0:
        return None
    # what the value is in is checked first: most hits (a "cash" of "cashmere") are in neither
    if html[opening] == ">":
        if html[max(0, opening - 60) : opening].lower().rfind("<title") < 0:
            return None
    elif not ICON_ATTRIBUTE.search(html[max(0, opening - 40) : opening + 1]):
        return None
    closing = min((i for i in (html.find(c, at, opening + 121) for c in "\"'<") if i >= 0), default=-1)
    return html[opening + 1 : closing] if closing >= 0 else None


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
        for service, words in O2O_SERVICES.items():
            if service not in found and (match := words.search_page(page)) is not None:
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
