"""Shop content a customer looks for: ``content.about``, ``content.contact``,
``content.policies``. English and Traditional Chinese wording; every finding
says what was looked for and how many pages were read, so an auditor can
check it.

* ``content.about`` (warning): no company or brand introduction: no link or
  page whose words or address say "About us", "Our story", "Who we are",
  "Company profile", "Brand story", "關於我們", "品牌故事", "公司簡介",
  "企業簡介" … (``/about``, ``/pages/about-us``, ``/our-story``), and no page of
  kind ``about``. A link to it that answers 4xx/5xx does not count.
* ``content.contact`` (warning): no feedback channel anywhere: no contact
  form (a ``<form>`` with a ``<textarea>``, or any form on a page of kind
  ``contact``), no ``mailto:`` or ``tel:`` link, no e-mail address or
  labelled phone number in the text ("Tel", "電話", "WhatsApp"), no WhatsApp,
  Messenger, LINE or WeChat chat link and no live-chat widget (Zendesk,
  Intercom, tawk.to, Crisp, LiveChat, Tidio, Freshchat, HubSpot, Drift,
  Olark, Shopify Inbox, SleekFlow, respond.io, Facebook chat plug-in). The
  channels found are reported as the fact ``contact_channels``.
* ``content.policies`` (warning, one finding per missing topic): no
  delivery/shipping information ("Shipping", "Delivery", "運送", "送貨",
  "配送", "付運", "物流") or no returns/refunds information ("Returns",
  "Refund", "Exchange", "退貨", "退款", "退換", "換貨"): not in any link's
  words, not in the title or heading of a policy page, and no phrase such as
  "shipping fee", "free delivery", "return policy", "運費", "退貨政策" in any
  page's text. "Return to shop" is not returns information.

Limits: wording in images, PDFs or script-built pop-ups is not read; a page
that exists but says nothing useful still counts as found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shophealth.checks.base import Check, Fact, Finding, Options
from shophealth.checks.dom import NearWords, anchors, per_site
from shophealth.checks.linkverdict import link_verdict
from shophealth.crawler.evidence import Page, SiteEvidence
from shophealth.crawler.pagekind import page_kind

ABOUT_WORDS = re.compile(
    r"^(about|about us|about [\w&' .-]{2,30}|our story|our brand|our company|who we are|company profile|"
    r"brand story|corporate profile|company information|our heritage|the brand)$|"
    r"關於我們|關於|品牌故事|公司簡介|企業簡介|品牌介紹|我們的故事|公司介紹|品牌理念|关于我们",
    re.I,
)
ABOUT_URL = re.compile(
    r"/(about|about-?us|aboutus|our-?story|who-we-are|company(-profile)?|brand(-story)?|corporate)(/|$|\.|-|_)",
    re.I,
)
CHAT_SCRIPTS = {
    "zdassets.com": "Zendesk",
    "zopim.com": "Zendesk",
    "intercom.io": "Intercom",
    "intercomcdn.com": "Intercom",
    "tawk.to": "tawk.to",
    "crisp.chat": "Crisp",
    "livechatinc.com": "LiveChat",
    "tidio.co": "Tidio",
    "freshchat.com": "Freshchat",
    "hs-scripts.com": "HubSpot",
    "driftt.com": "Drift",
    "olark.com": "Olark",
    "shopify-chat": "Shopify Inbox",
    "inbox.shopify.com": "Shopify Inbox",
    "sleekflow.io": "SleekFlow",
    "respond.io": "respond.io",
    "customerchat": "Facebook chat",
}
CHAT_LINK_HOSTS = {
    "wa.me": "WhatsApp",
    "api.whatsapp.com": "WhatsApp",
    "m.me": "Messenger",
    "line.me": "LINE",
    "lin.ee": "LINE",
    "weixin.qq.com": "WeChat",
}
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE_IN_TEXT = NearWords(
    re.compile(
        r"(tel|phone|call us|hotline|whatsapp|電話|熱線|查詢|聯絡電話)\s*[:：.]?\s*(\+?852[\s-]?)?[2-9]\d{3}[\s-]?\d{4}",
        re.I,
    ),
    ("tel", "phone", "call us", "hotline", "whatsapp", "電話", "熱線", "查詢"),
    before=0,
    after=40,
)
SHIPPING_WORDS = re.compile(
    r"shipping|delivery|deliveries|運送|送貨|配送|付運|物流|運費|派送|速遞|配送安排|送貨服務", re.I
)
RETURNS_WORDS = re.compile(r"\breturns?\b(?! to)|refunds?|exchanges?|退貨|退款|退換|換貨|退還", re.I)
TOPIC_PHRASES = {
    "delivery": NearWords(
        re.compile(
            r"(shipping|delivery) (policy|information|info|fee|fees|charges?|time|methods?|terms|arrangements?)|"
            r"free (shipping|delivery)|運送政策|送貨政策|送貨安排|送貨服務|運費|配送方式|送貨須知|付運安排",
            re.I,
        ),
        ("shipping", "delivery", "運", "送貨", "配送", "付運"),
    ),
    "returns": NearWords(
        re.compile(
            r"(return|returns|refund|exchange)s? (policy|and (refunds?|exchanges?)|& (refunds?|exchanges?))|"
            r"退貨政策|退換政策|退款政策|退換貨|退貨及退款|退貨須知",
            re.I,
        ),
        ("return", "refund", "exchange", "退"),
    ),
}


def _pages_read(evidence: SiteEvidence) -> int:
    return len(evidence.html_pages())


# ---- about ----------------------------------------------------------------


def find_about(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    pages = {p.final_url: p for p in evidence.html_pages()}
    about_pages = [p.final_url for p in pages.values() if p.status == 200 and page_kind(p) == "about"]
    says_about: dict[
        tuple[str, str], bool
    ] = {}  # (url, text): the same footer link on every page is read once
    links = []
    for page in pages.values():
        for ref in page.refs:
            if ref.tag != "a":
                continue
            key = (ref.url, ref.text)
            if key not in says_about:
                says_about[key] = bool(ABOUT_WORDS.search(ref.text.strip()) or ABOUT_URL.search(ref.url))
            if says_about[key]:
                links.append((page.final_url, ref.url, ref.text))
    working = next((link for link in links if _answers(evidence, link[1])), None)
    if about_pages or working is not None:
        yield Fact("about_page", about_pages[:5] or [working[1] if working else ""])
        return
    broken = links[0] if links else None
    yield Finding(
        "content.about",
        "warning",
        broken[0] if broken else evidence.home,
        broken[1] if broken else None,
        "The link to the company or brand introduction does not work"
        if broken
        else "No company or brand introduction (About us) page",
        {
            "looked_for": "links or pages: About us, Our story, Who we are, Company profile, 關於我們, 品牌故事, 公司簡介",
            "pages_read": _pages_read(evidence),
        },
    )


def _answers(evidence: SiteEvidence, url: str) -> bool:
    """The link leads somewhere: a crawled page that answered, or a verified link that is not broken."""
    result = evidence.links.get(url)
    if result is not None:
        return link_verdict(result).outcome != "broken"
    status = _statuses(evidence).get(url, 200)
    return status is not None and status < 400


@per_site
def _statuses(evidence: SiteEvidence) -> dict[str, int | None]:
    """Each crawled URL (as asked and after redirects) and the status it answered."""
    statuses: dict[str, int | None] = {}
    for page in evidence.pages:
        statuses.setdefault(page.url, page.status)
        statuses.setdefault(page.final_url, page.status)
    return statuses


# ---- contact --------------------------------------------------------------


def find_contact(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    channels = contact_channels(evidence)
    yield Fact("contact_channels", channels)
    if channels:
        return
    yield Finding(
        "content.contact",
        "warning",
        evidence.home,
        None,
        "No way to contact the shop: no contact form, e-mail, phone, messaging link or live chat",
        {
            "looked_for": "forms with a text box, mailto:/tel: links, e-mail addresses and labelled phone numbers, "
            "WhatsApp/Messenger/LINE/WeChat links, live-chat scripts",
            "pages_read": _pages_read(evidence),
        },
    )


def contact_channels(evidence: SiteEvidence) -> dict[str, Any]:
    """Each kind of feedback channel found, with where it was first seen: every channel of
    the contact and home pages, else the first one found on any other page."""
    found: dict[str, Any] = {}
    pages = [p for p in evidence.html_pages() if p.status == 200]
    first = [p for p in pages if page_kind(p) in ("contact", "home")]
    for page in first + [p for p in pages if p not in first]:
        if found and page not in first:
            break
        for kind, value in _channels_on(page):
            found.setdefault(kind, {"value": value, "page": page.final_url})
    return found


def _channels_on(page: Page) -> Iterator[tuple[str, str]]:
    for anchor in anchors(page):
        href = anchor.href.lower()
        if href.startswith("mailto:") and "@" in href:
            yield "email", anchor.href[7:].split("?")[0]
        elif href.startswith("tel:"):
            yield "phone", anchor.href[4:]
        elif href.startswith(("whatsapp:", "sms:")):
            yield "messaging", anchor.href
    for ref in page.refs:
        host = ref.url.split("/")[2].removeprefix("www.") if ref.url.count("/") >= 2 else ""
        if ref.tag == "a" and host in CHAT_LINK_HOSTS:
            yield "messaging", f"{CHAT_LINK_HOSTS[host]}: {ref.url}"
        elif ref.tag == "script" and (chat := _chat_provider(ref.url)) is not None:
            yield "live_chat", chat
    html = page.html_bytes
    if b"<form" in html and (b"<textarea" in html or page_kind(page) == "contact"):
        yield "form", page.final_url
    text = page.facts.text if page.facts is not None else ""
    if "@" in text and (email := EMAIL_IN_TEXT.search(text)) is not None:
        yield "email", email.group(0)
    if (phone := PHONE_IN_TEXT.search_page(page)) is not None:
        yield "phone", phone.group(0)
    if (chat := _chat_provider(html.decode("utf-8", "replace"))) is not None:
        yield "live_chat", chat


def _chat_provider(text: str) -> str | None:
    lowered = text.lower()
    return next((name for marker, name in CHAT_SCRIPTS.items() if marker in lowered), None)


# ---- policies -------------------------------------------------------------


def find_policies(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    found = policy_topics(evidence)
    yield Fact("service_policies", found)
    for topic, words in (("delivery", "delivery or shipping"), ("returns", "returns, refunds or exchanges")):
        if topic in found:
            continue
        yield Finding(
            "content.policies",
            "warning",
            evidence.home,
            None,
            f"No {words} information found on the shop",
            {
                "missing": topic,
                "looked_for": (SHIPPING_WORDS if topic == "delivery" else RETURNS_WORDS).pattern,
                "pages_read": _pages_read(evidence),
            },
        )


def policy_topics(evidence: SiteEvidence) -> dict[str, dict[str, str]]:
    """Where delivery and returns information was first found: a link, a page's title, or its text."""
    found: dict[str, dict[str, str]] = {}
    topics = {"delivery": SHIPPING_WORDS, "returns": RETURNS_WORDS}
    for page in evidence.html_pages():
        if page.status != 200 or page.facts is None:
            continue
        for topic, words in topics.items():
            if topic not in found and (where := _topic_on(page, words, TOPIC_PHRASES[topic])) is not None:
                found[topic] = where
        if len(found) == len(topics):
            break
    return found


def _topic_on(page: Page, words: re.Pattern[str], phrases: NearWords) -> dict[str, str] | None:
    assert page.facts is not None
    link = next((r for r in page.refs if r.tag == "a" and words.search(r.text)), None)
    if link is not None:
        return {"page": page.final_url, "link": link.url, "wording": link.text}
    heads = " ".join([page.facts.title or "", *page.facts.h1])
    match = (words.search(heads) if page_kind(page) == "policy" else None) or phrases.search_page(page)
    return {"page": page.final_url, "wording": match.group(0)} if match is not None else None


CHECKS = [
    Check(
        id="content.about",
        title="No company or brand introduction page",
        requires=("pages",),
        run=find_about,
        severities="warning when no About page is linked or crawled, or its link is broken",
        family_doc=__doc__ or "",
    ),
    Check(
        id="content.contact",
        title="No feedback channel (form, e-mail, phone, messaging, chat)",
        requires=("pages",),
        run=find_contact,
        severities="warning when the shop shows no way to contact it",
        family_doc=__doc__ or "",
    ),
    Check(
        id="content.policies",
        title="No delivery or returns information",
        requires=("pages",),
        run=find_policies,
        severities="warning per missing topic (delivery/shipping, returns/refunds)",
        family_doc=__doc__ or "",
    ),
]
