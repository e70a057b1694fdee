"""Privacy policy (Hong Kong's Personal Data (Privacy) Ordinance): ``privacy.missing``,
``privacy.hidden``, ``privacy.stale``.

How the policy is found: a link on the shop (to its own hosts, or to a
non-third-party site such as a group company's) whose words or address say
privacy, in English or Chinese: "Privacy Policy", "Privacy Statement",
"Personal Information Collection Statement" (PICS), "Personal Data",
"私隱政策", "隱私政策", "私隱聲明", "個人資料收集聲明", "收集個人資料聲明" …, or
``/privacy…``, ``/pics`` in its URL. A crawled page of kind ``policy`` whose
address or title says privacy is a policy too, even if nothing links to it.
Links to Google's, PayPal's or a platform's own policy (reCAPTCHA badges,
"Powered by") are not the shop's.

* ``privacy.missing`` (error): no privacy policy found on the shop; or the
  only links to it answer 4xx/5xx (then ``target`` is that link).
* ``privacy.hidden`` (warning): a policy exists, but neither the home page
  nor the site-wide navigation (links on at least half of the pages) links to
  it; the finding lists the pages that do (checkout, sign-up …).
* ``privacy.stale`` (warning), one finding per policy page:
  - template or placeholder text: "Suggested text:" (WordPress's sample
    policy), "[COMPANY NAME]", "[Your Business Name]", "【公司名稱】",
    "yourdomain.com", "Our website address is: http://example.com";
  - the company it says "we" are (``X Limited ("we")``, ``X有限公司（「本公司」）``)
    is named nowhere else on the shop, not even its first word;
  - it names another domain as the site it covers ("Our website address is:
    https://other.shop", "accessible from https://other.shop") than the shop's
    own hosts (the crawled hosts and those its canonical/hreflang links name);
  - the date it says it was last updated ("Last updated: 3 March 2014",
    "最後更新：2014年3月3日", "Effective date 2014-03-03", "更新日期") is older than
    ``max_age_years`` (default 3). Dates are read with ``dateparser`` (day
    first, as written in Hong Kong), and the finding quotes the words read.

Options: ``max_age_years`` (3), ``as_of`` (ISO date to judge age against;
default today).

Limits: a policy only in a PDF, an image or a pop-up built by script is not
read; other companies named in the text (group companies, processors) are
not judged, only the one defined as "we"; a policy with no date is not
judged old.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from shophealth.checks.base import Check, Fact, Finding, Options
from shophealth.checks.dom import (
    bare_host,
    home_page,
    per_site,
    same_site,
    shop_hosts,
    site_wide_links,
    snippet_of,
)
from shophealth.crawler.evidence import Page, SiteEvidence
from shophealth.crawler.pagekind import page_kind

PRIVACY_WORDS = re.compile(
    r"privacy|personal (information|data)( collection)?|\bPICS\b|"
    r"私隱|隱私|个人信息|隐私|私隐|個人資料|個人資訊|收集個人資料",
    re.I,
)
PRIVACY_URL = re.compile(r"privacy|/pics(/|$|\.|-)|personal-(data|information)|私隱|隱私", re.I)
NOT_THE_POLICY = re.compile(r"cookie settings|privacy settings|do not sell|manage (cookies|consent)", re.I)
THIRD_PARTY_HOSTS = (
    "google.com",
    "policies.google.com",
    "facebook.com",
    "paypal.com",
    "shopify.com",
    "apple.com",
    "stripe.com",
    "youtube.com",
    "instagram.com",
    "twitter.com",
    "x.com",
    "wix.com",
    "wordpress.org",
    "wordpress.com",
    "woocommerce.com",
    "magento.com",
    "adobe.com",
    "opencart.com",
    "shopline.com",
    "shoplineapp.com",
    "hcaptcha.com",
    "cloudflare.com",
    "pcpd.org.hk",
)
PLACEHOLDERS = re.compile(
    r"suggested text:|"
    r"\[\s*(your |the )?(company|business|store|shop|website|site|brand|insert|enter)[^\]]{0,40}\]|"
    r"<\s*(company|business|website) name\s*>|"
    r"[【\[［](貴?公司|網站|商店|店舖|品牌)(名稱|名字|網址)[】\]］]|"
    r"\b(yourdomain|yoursite|yourstore|yourwebsite|yourcompany|mysite|domain)\.com\b|"
    r"website address is:?\s*https?://(www\.)?example\.(com|org|net)",
    re.I,
)
SITE_NAMED = re.compile(
    r"(website address is:?|accessible (from|at)|operates the|this website,?|本網站|網站網址為?[:：]?)\s*"
    r"[(（“\"']?\s*(https?://[^\s\"'”)）<]+|(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+)",
    re.I,
)
COMPANY_DEFINED = re.compile(
    r"(?P<en>\b[A-Z][\w&'’.-]*(?:\s+[A-Z&][\w&'’.-]*){0,6}\s+(?:Company\s+)?(?:Limited|Ltd\.?|Inc\.?|LLC|"
    r"Corporation|Holdings))\s*,?\s*[(（]\s*[“\"'「](?:we|us|our|the company|the group)|"
    r"(?P<zh>[\u4e00-\u9fffA-Za-z]{2,30}?有限公司)\s*[(（]\s*[「“\"'](?:本公司|我們|本集團|我司)"
)
EXAMPLE_DOMAINS = re.compile(r"(^|\.)example\.(com|org|net)$")
DATE_LABEL = re.compile(
    r"(last (updated|modified|revised|reviewed)|updated( on)?|revised( on)?|effective( date| from| as of)?|"
    r"date of (last )?(update|revision)|最後更新|最近更新|更新日期|更新於|最後修訂|修訂日期|生效日期|最後修改)"
    r"\s*(date|on|于|於|日期)?\s*[:：]?\s*",
    re.I,
)
MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE_TEXT = re.compile(
    rf"\d{{1,2}}(st|nd|rd|th)?\s+{MONTHS},?\s+\d{{4}}|{MONTHS}\s+\d{{1,2}}(st|nd|rd|th)?,?\s+\d{{4}}|"
    rf"{MONTHS}\s+\d{{4}}|\d{{4}}\s*年\s*\d{{1,2}}\s*月(\s*\d{{1,2}}\s*日)?|"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}",
    re.I,
)
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
MAX_LISTED = 10


@dataclass(frozen=True)
class PolicyLink:
    page: str  # where the link is
    url: str  # where it goes
    text: str


@dataclass(frozen=True)
class PolicySearch:
    links: list[PolicyLink]  # links to a privacy policy, anywhere on the shop
    policies: list[Page]  # the policy pages crawled


@per_site
def search_policy(evidence: SiteEvidence) -> PolicySearch:
    """The privacy policy's links and pages, found once for the three checks."""
    links = privacy_links(evidence)
    return PolicySearch(links, policy_pages(evidence, links))


def find_missing(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    search = search_policy(evidence)
    yield Fact("privacy_policy", [p.final_url for p in search.policies])
    if not search.policies:
        yield from _missing(evidence, search.links)


def find_hidden(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    search = search_policy(evidence)
    if search.policies:
        yield from _hidden(evidence, search.links, search.policies)


def find_stale(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for page in search_policy(evidence).policies:
        yield from _stale(evidence, page, options)


def privacy_links(evidence: SiteEvidence) -> list[PolicyLink]:
    """Links anywhere on the shop that lead to a privacy policy."""
    found = []
    verdicts: dict[tuple[str, str], bool] = {}  # (url, text): a footer link on every page is judged once
    for page in evidence.html_pages():
        for ref in page.refs:
            if ref.tag not in ("a", "area") or ref.invalid:
                continue
            key = (ref.url, ref.text)
            if key not in verdicts:
                verdicts[key] = _leads_to_policy(ref.url, ref.text)
            if verdicts[key]:
                found.append(PolicyLink(page.final_url, ref.url, ref.text))
    return found


def _leads_to_policy(url: str, text: str) -> bool:
    says_privacy = PRIVACY_WORDS.search(text) or PRIVACY_URL.search(url)
    return bool(says_privacy) and not NOT_THE_POLICY.search(text) and not _third_party(url)


def _third_party(url: str) -> bool:
    host = bare_host(url)
    return any(host == h or host.endswith("." + h) for h in THIRD_PARTY_HOSTS)


def policy_pages(evidence: SiteEvidence, links: list[PolicyLink]) -> list[Page]:
    """Crawled pages that are privacy policies and answered 200."""
    targets = {link.url for link in links}
    pages = []
    for page in evidence.html_pages():
        if page.status != 200:
            continue
        linked = page.url in targets or page.final_url in targets
        if linked or (page_kind(page) == "policy" and _says_privacy(page)):
            pages.append(page)
    return pages


def _says_privacy(page: Page) -> bool:
    facts = page.facts
    words = " ".join([facts.title or "", *facts.h1]) if facts else ""
    return bool(PRIVACY_URL.search(page.final_url) or PRIVACY_WORDS.search(words))


def _missing(evidence: SiteEvidence, links: list[PolicyLink]) -> Iterator[Finding]:
    pages_read = len(evidence.html_pages())
    looked_for = "links or pages saying Privacy Policy/Statement, PICS, 私隱政策, 隱私政策, 個人資料收集聲明"
    if links:
        link = links[0]
        result = evidence.links.get(link.url)
        status = result.status if result is not None else None
        yield Finding(
            "privacy.missing",
            "error",
            link.page,
            link.url,
            f"The privacy policy link does not work ({'HTTP ' + str(status) if status else 'no page'})",
            {"status": status, "link_text": link.text, "pages": sorted({x.page for x in links})[:MAX_LISTED]},
        )
        return
    yield Finding(
        "privacy.missing",
        "error",
        evidence.home,
        None,
        "No privacy policy is linked from the shop",
        {"looked_for": looked_for, "pages_read": pages_read},
    )


def _hidden(evidence: SiteEvidence, links: list[PolicyLink], policies: list[Page]) -> Iterator[Finding]:
    home = home_page(evidence)
    policy_urls = {u for p in policies for u in (p.url, p.final_url)}
    from_home = home is not None and any(
        link.page == home.final_url and link.url in policy_urls for link in links
    )
    site_wide = bool(policy_urls & site_wide_links(evidence))
    if from_home or site_wide:
        return
    linked_from = sorted({link.page for link in links if link.url in policy_urls})
    where = f"only from {len(linked_from)} page(s) deep in the shop" if linked_from else "from no page"
    yield Finding(
        "privacy.hidden",
        "warning",
        linked_from[0] if linked_from else policies[0].final_url,
        policies[0].final_url,
        f"The privacy policy is not linked from the home page or the site-wide navigation, {where}",
        {
            "linked_from": linked_from[:MAX_LISTED],
            "count": len(linked_from),
            "kinds": sorted({page_kind(p) for p in evidence.html_pages() if p.final_url in linked_from}),
            "home": home.final_url if home is not None else None,
        },
    )


def _stale(evidence: SiteEvidence, page: Page, options: Options) -> Iterator[Finding]:
    text = page.facts.text if page.facts is not None else ""
    reasons: list[dict[str, str]] = []
    if (match := PLACEHOLDERS.search(text)) is not None:
        reasons.append({"reason": "template or placeholder text", "quote": snippet_of(text, match)})
    for match in SITE_NAMED.finditer(text):
        named = match.group(3).rstrip(".,;:")
        url = named if "://" in named else f"https://{named}"
        if not same_site(url, shop_hosts(evidence)) and not EXAMPLE_DOMAINS.search(bare_host(url)):
            reasons.append(
                {"reason": f"names another site ({bare_host(url)})", "quote": snippet_of(text, match)}
            )
            break
    if (company := _other_company(evidence, page, text)) is not None:
        reasons.append({"reason": f"names another company ({company[0]})", "quote": company[1]})
    dated = last_updated(text)
    if dated is not None:
        date, quote = dated
        max_years = float(options.get("max_age_years", 3))
        as_of = _as_of(options)
        if (as_of - date).days > max_years * 365.25:
            reasons.append(
                {"reason": f"last updated {date.isoformat()}, over {max_years:g} years ago", "quote": quote}
            )
    if reasons:
        yield Finding(
            "privacy.stale",
            "warning",
            page.final_url,
            None,
            "The privacy policy looks out of date or unfinished: " + "; ".join(r["reason"] for r in reasons),
            {"reasons": reasons, "date_read": dated[0].isoformat() if dated else None},
        )


def _other_company(evidence: SiteEvidence, policy: Page, text: str) -> tuple[str, str] | None:
    """The company the policy says "we" are, when the rest of the shop never names it, nor
    its first word (``Golden Dragon Trading Limited ("we")`` on a shop called Peak Teahouse)."""
    match = COMPANY_DEFINED.search(text)
    if match is None:
        return None
    name = (match.group("en") or match.group("zh")).strip()
    first = re.match(r"(?:the\s+)?([A-Za-z][\w&'’-]{2,}|[\u4e00-\u9fff]{2})", name, re.I)
    token = first.group(1).lower() if first else name.lower()
    for page in evidence.html_pages():
        if page is policy or page.facts is None:
            continue
        words = f"{page.facts.title or ''} {page.facts.text}".lower()
        if name.lower() in words or token in words:
            return None
    return name, snippet_of(text, match)


def _as_of(options: Options) -> dt.date:
    value = options.get("as_of")
    return dt.date.fromisoformat(str(value)) if value else dt.date.today()


def last_updated(text: str) -> tuple[dt.date, str] | None:
    """The latest date the text says it was updated or took effect, and the words read."""
    best: tuple[dt.date, str] | None = None
    for label in DATE_LABEL.finditer(text):
        window = text[label.end() : label.end() + 40].translate(FULL_WIDTH_DIGITS)
        found = DATE_TEXT.match(window)
        if found is None:
            continue
        date = parse_date(found.group(0))
        if date is not None and (best is None or date > best[0]):
            best = (date, f"{label.group(0)}{found.group(0)}".strip())
    return best


def parse_date(words: str) -> dt.date | None:
    """A written date, English or Chinese, day before month when numeric (Hong Kong usage)."""
    import dateparser  # ~0.3 s to import: only shops whose policy has a date pay it

    parsed = dateparser.parse(
        words,
        languages=["en", "zh-Hant"],
        settings={"DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["year", "month"]},
    )
    return parsed.date() if parsed is not None else None


CHECKS = [
    Check(
        id="privacy.missing",
        title="No privacy policy reachable from the shop",
        requires=("pages",),
        run=find_missing,
        severities="error when no policy is linked or found, or its only links are broken",
        family_doc=__doc__ or "",
    ),
    Check(
        id="privacy.hidden",
        title="Privacy policy linked only deep in the shop",
        requires=("pages",),
        run=find_hidden,
        severities="warning when neither the home page nor the site-wide navigation links to the policy",
        family_doc=__doc__ or "",
    ),
    Check(
        id="privacy.stale",
        title="Privacy policy out of date, for another site, or template text",
        requires=("pages",),
        run=find_stale,
        severities="warning per policy page with placeholder text, another site's address, or an old date",
        defaults={"max_age_years": 3},
        family_doc=__doc__ or "",
    ),
]
