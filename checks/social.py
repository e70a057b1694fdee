"""Share buttons and the shop's social profiles: ``social.share-broken``,
``social.profile-broken``. Judged by the shape of the URL only: no request is
sent to any social network.

**Share buttons** are found in the page's links (``<a href>``, ``mailto:``
and ``whatsapp:`` included) and in the share URLs the browser captured from
controls that build them by script (:attr:`RenderedPage.share_targets`).
Networks: Facebook, WhatsApp, X/Twitter, LINE, Pinterest, Telegram, Weibo,
LinkedIn, e-mail and WeChat (a QR-code image of the page). A link is a share
link when its URL is a network's share endpoint, or when its words (text,
``aria-label``, ``title``, class: "share", "分享") say share and it goes to a
network. Each share URL must have the right endpoint, the page parameter
(``u``, ``url``, ``href``, ``text``, ``body`` …) present and non-empty, and
name this page: one of the shop's hosts (not another shop, a staging or
``localhost`` host, ``#`` or a template placeholder), and this page's path
(its URL, canonical or ``og:url``), not the home page or a listing instead of
the article. WhatsApp, X, LINE and e-mail shares may carry the URL inside
their text. A static link to a bare endpoint (no query at all) is left to
the browser's capture: sites add the page by script on click. ``social.share-broken`` (warning): one finding per broken share
pattern, i.e. per network, problem and offending URL (the page's own URL set
aside), with the pages it was seen on and their count.

**Profiles**: links to the shop's own Facebook page, Instagram, WhatsApp
click-to-chat (``wa.me/852…``, ``api.whatsapp.com/send?phone=``), YouTube,
Xiaohongshu, LINE, WeChat, X/Twitter and Threads. ``social.profile-broken``
(warning), one finding per link: the network's home page instead of a
profile, a placeholder ("yourusername", "username", "XXXXXXXX", a theme's or
platform's own demo account such as ``facebook.com/shopify``), a WhatsApp link
without a number or with too few digits, a YouTube ``/channel/`` without a
valid id, and profile addresses written without ``https://`` that the browser
turns into a page of the shop (``/www.facebook.com/…``). The valid profiles
are reported as the fact ``social_profiles``.

Limits: whether a profile still exists is not checked (that needs a request
to the network); share controls that only the browser can see are judged
only on rendered pages; a WeChat share without a QR image is not seen.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from shophealth.checks.base import Check, Fact, Finding, Options
from shophealth.checks.dom import PAGE_MARKUP, anchors, bare_host, per_site, shop_hosts
from shophealth.crawler.evidence import Page, SiteEvidence

MAX_LISTED = 10
SHARE_HINTS = PAGE_MARKUP.register(
    ["share", "sharer", "分享", "wa.me", "whatsapp", "mailto:?", "qr"], lambda html, hits: bool(hits)
)
SHARE_WORDS = re.compile(r"share|sharer|分享|轉發|转发", re.I)

# network -> (hosts, share endpoint paths, the parameters that carry the page)
SHARE_ENDPOINTS: dict[str, tuple[tuple[str, ...], re.Pattern[str], tuple[str, ...]]] = {
    "facebook": (
        ("facebook.com", "m.facebook.com", "fb.com"),
        re.compile(r"^/(sharer/sharer\.php|sharer\.php|share\.php|dialog/share|dialog/feed)/?$"),
        ("u", "href", "link", "url"),
    ),
    "whatsapp": (
        ("wa.me", "api.whatsapp.com", "web.whatsapp.com", "whatsapp.com"),
        re.compile(r"^/(send)?/?$"),
        ("text",),
    ),
    "x": (
        ("twitter.com", "x.com", "mobile.twitter.com"),
        re.compile(r"^/(intent/tweet|intent/post|share|home)/?$"),
        ("url", "text", "status"),
    ),
    "line": (
        ("social-plugins.line.me", "lineit.line.me", "line.me", "timeline.line.me"),
        re.compile(
            r"^/(lineit/share|share/ui|r/msg/text/?.*|r/share|social-plugin/share|msg/text/?.*)/?$", re.I
        ),
        ("url", "text"),
    ),
    "pinterest": (
        ("pinterest.com", "pinterest.com.hk", "pin.it"),
        re.compile(r"^/pin/create/(button|link|bookmarklet)/?$"),
        ("url",),
    ),
    "telegram": (("t.me", "telegram.me"), re.compile(r"^/share(/url)?/?$"), ("url", "text")),
    "weibo": (
        ("service.weibo.com", "v.t.sina.com.cn", "weibo.com"),
        re.compile(r"^/share/share\.php/?$"),
        ("url",),
    ),
    "linkedin": (
        ("linkedin.com",),
        re.compile(r"^/(sharing/share-offsite|shareArticle|cws/share)/?$", re.I),
        ("url",),
    ),
}
QR_HOSTS = ("api.qrserver.com", "chart.googleapis.com", "quickchart.io")
QR_PARAMS = ("data", "chl", "text")

# network -> (hosts, pattern of a profile path, which group is the handle)
PROFILE_HOSTS: dict[str, tuple[str, ...]] = {
    "facebook": ("facebook.com", "m.facebook.com", "fb.com", "fb.me"),
    "instagram": ("instagram.com", "instagr.am"),
    "whatsapp": ("wa.me", "api.whatsapp.com", "whatsapp.com"),
    "youtube": ("youtube.com", "m.youtube.com", "youtu.be"),
    "xiaohongshu": ("xiaohongshu.com", "xhslink.com"),
    "line": ("line.me", "page.line.me", "lin.ee"),
    "wechat": ("weixin.qq.com", "u.wechat.com"),
    "x": ("twitter.com", "x.com"),
    "threads": ("threads.net", "threads.com"),
}
NOT_PROFILE_PATHS = re.compile(
    r"^/(sharer|share|dialog|plugins|tr|login|policies|policy|privacy|help|legal|about|terms|intent|"
    r"hashtag|watch|embed|shorts|p|reel|reels|tv|explore|stories|events|groups|search|home\.php|"
    r"send|pin|explore|i|status)(/|$|\.)",
    re.I,
)
PLACEHOLDER_HANDLES = re.compile(
    r"^@?(your[-_.]?(user[-_.]?name|page|profile|account|company|brand|handle|name|channel|shop|store|"
    r"business|id)|user[-_.]?name|username|example|sample|demo|test|xxx+|handle|page[-_.]?name|"
    r"profile[-_.]?name|#|null|undefined|none)$",
    re.I,
)
# Accounts of platforms and theme makers that themes ship as demo links.
DEMO_ACCOUNTS = frozenset(
    {
        "shopify",
        "shopifyplus",
        "envato",
        "themeforest",
        "wordpress",
        "woocommerce",
        "magento",
        "opencart",
        "wix",
        "squarespace",
        "bigcommerce",
        "shoplineapp",
        "shopline",
        "templatemonster",
        "elementor",
        "facebook",
        "instagram",
        "twitter",
        "youtube",
        "x",
    }
)
TEMPLATE_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{%|%%|\[url\]|\[link\]|\$\{|<%", re.I)
URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>]+", re.I)


@dataclass(frozen=True)
class ShareUse:
    """A share URL as one page carries it."""

    page: str
    url: str
    where: str  # "link" or the rendered control's selector


@dataclass
class Pattern:
    network: str
    problem: str
    first: ShareUse
    pages: list[str] = field(default_factory=list)


def find_broken_shares(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    patterns: dict[tuple[str, str, str], Pattern] = {}
    for use in share_uses(evidence):
        verdict = judge_share(use, evidence)
        if verdict is None:
            continue
        network, problem, key = verdict
        pattern = patterns.setdefault((network, problem, key), Pattern(network, problem, use))
        if use.page not in pattern.pages:
            pattern.pages.append(use.page)
    for pattern in patterns.values():
        yield Finding(
            "social.share-broken",
            "warning",
            pattern.first.page,
            pattern.first.url,
            f"{pattern.network.capitalize()} share button is broken: {pattern.problem}",
            {
                "network": pattern.network,
                "problem": pattern.problem,
                "control": pattern.first.where,
                "pages": pattern.pages[:MAX_LISTED],
                "count": len(pattern.pages),
            },
        )


def share_uses(evidence: SiteEvidence) -> Iterator[ShareUse]:
    """Share links of every page, and the share URLs the browser captured."""
    for page in evidence.html_pages():
        if not _may_share(page):
            continue
        for anchor in anchors(page):
            if _is_share_link(anchor.href, anchor.label) and not _completed_by_script(anchor.href):
                yield ShareUse(page.final_url, anchor.href, "link")
        for ref in page.refs:
            if ref.tag == "img" and bare_host(ref.url) in QR_HOSTS:
                yield ShareUse(page.final_url, ref.url, "img")
    for rendered in evidence.rendered:
        for target in rendered.share_targets:
            url, selector = target.get("url", ""), target.get("selector", "")
            if _share_network(url) or (SHARE_WORDS.search(selector) and _network_of(url)):
                yield ShareUse(rendered.url, url, selector)


def _is_share_link(href: str, label: str) -> bool:
    if href.lower().startswith("mailto:"):
        return _is_mail_share(href, label)
    return _share_network(href) is not None or bool(SHARE_WORDS.search(label) and _network_of(href))


def _completed_by_script(href: str) -> bool:
    """A bare share endpoint (``…/share.php``, no query): the site's script adds the page on click,
    so the static link is not judged; the browser's capture of the click is."""
    parts = urlsplit(href)
    return parts.scheme in ("http", "https") and not parts.query and _share_network(href) is not None


def _may_share(page: Page) -> bool:
    """A cheap test before the page's links are read: share links name a network or share.
    Looked for in the one pass over the page's HTML shared with the payment check (seven
    ``in`` tests took 1.7 ms on a 64 KB benchmark page, a pass of its own 0.17)."""
    shares: bool = PAGE_MARKUP.of(page)[SHARE_HINTS]
    return shares


def _is_mail_share(href: str, label: str) -> bool:
    """``mailto:?subject=…&body=…`` (no recipient), or a mail link whose words say share."""
    recipient = href[7:].split("?", 1)[0].strip()
    return not recipient or bool(SHARE_WORDS.search(label))


def _network_of(url: str) -> str | None:
    host = bare_host(url)
    if url.lower().startswith(("whatsapp:", "mailto:")):
        return "whatsapp" if url.lower().startswith("whatsapp:") else "email"
    for network, (hosts, _, _) in SHARE_ENDPOINTS.items():
        if host in hosts:
            return network
    return None


def _share_network(url: str) -> str | None:
    """The network when ``url`` is a share endpoint (not a profile on that network)."""
    network = _network_of(url)
    if network is None or network == "email":
        return None
    if url.lower().startswith("whatsapp:"):
        return network
    path = urlsplit(url).path
    endpoint = SHARE_ENDPOINTS[network][1]
    if network == "whatsapp":
        query = dict(parse_qsl(urlsplit(url).query))
        return (
            network
            if endpoint.match(path) and "phone" not in query and ("text" in query or not query)
            else None
        )
    return network if endpoint.match(path) else None


def judge_share(use: ShareUse, evidence: SiteEvidence) -> tuple[str, str, str] | None:
    """(network, problem, pattern key) for a broken share URL, None for a good one."""
    url = use.url
    if use.where == "img":
        return _judge_qr(use, evidence)
    network = _network_of(url) or ""
    if network == "email":
        body = " ".join(v for k, v in parse_qsl(urlsplit(url).query) if k.lower() in ("body", "subject"))
        return _judge_shared(network, _url_in_text(body), use, evidence, "mailto:?body")
    if _share_network(url) is None:
        if urlsplit(url).path.strip("/"):
            return None  # a profile or post behind a control that says share: not judged here
        return network, "it opens the network's home page, not its share endpoint", url
    _, _, params = SHARE_ENDPOINTS[network]
    parts = urlsplit(url.replace("whatsapp://send", "https://wa.me/"))
    if network == "line" and "/msg/text" in parts.path.lower():
        values = [unquote(parts.query or parts.path.split("/text/", 1)[-1])]  # the text is the whole query
    else:
        values = [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() in params]
    if not values or not any(v.strip() for v in values):
        return network, "the page parameter is missing or empty", _endpoint(url)
    shared = next((v for v in values if v.strip().lower().startswith(("http", "//", "www."))), None)
    if shared is None:
        shared = _url_in_text(" ".join(values))
    return _judge_shared(network, shared, use, evidence, _endpoint(url))


def _judge_qr(use: ShareUse, evidence: SiteEvidence) -> tuple[str, str, str] | None:
    query = dict(parse_qsl(urlsplit(use.url).query))
    data = next((query[p] for p in QR_PARAMS if p in query), "")
    if not data.lower().startswith("http"):
        return None  # a QR code of something else (a WeChat ID, a payment code)
    return _judge_shared("wechat", data, use, evidence, bare_host(use.url))


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _url_in_text(text: str) -> str | None:
    match = URL_IN_TEXT.search(text)
    return match.group(0) if match else None


def _judge_shared(
    network: str, shared: str | None, use: ShareUse, evidence: SiteEvidence, endpoint: str
) -> tuple[str, str, str] | None:
    if not shared:
        return network, "it shares no link to the page", endpoint
    shared = unquote(shared.strip())
    if TEMPLATE_PLACEHOLDER.search(shared) or shared.startswith("#"):
        return network, f"the page parameter is an unfilled placeholder ({shared[:60]})", shared
    if shared.startswith("//"):
        shared = "https:" + shared
    elif shared.lower().startswith("www."):
        shared = "https://" + shared
    host = bare_host(shared)
    if not host:
        return network, f"the page parameter is not a web address ({shared[:60]})", shared
    if host not in shop_hosts(evidence):
        kind = (
            "a local address"
            if _is_local(host)
            else "a staging address"
            if _is_staging(host)
            else "another site"
        )
        return network, f"it shares {kind} ({host}), not this page", f"{endpoint} {host}"
    if not _names_page(shared, use.page, evidence):
        path = urlsplit(shared).path or "/"
        return network, f"it shares {path}, not this page", f"{endpoint} {path}"
    return None


def _is_local(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "0.0.0.0", "::1") or host.endswith(
        (".local", ".test", ".localhost")
    )


def _is_staging(host: str) -> bool:
    return bool(re.search(r"(^|[.-])(staging|stage|dev|test|uat|preview|sandbox)([.-]|\d|$)", host))


@per_site
def _page_aliases(evidence: SiteEvidence) -> dict[str, set[tuple[str, str]]]:
    """Each page's URL → the (path, query) of every URL that names it (itself, final, canonical, og:url)."""
    aliases: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for page in evidence.html_pages():
        names = [page.url, page.final_url]
        if page.facts is not None and page.facts.canonical:
            names.append(page.facts.canonical)
        for key in (page.url, page.final_url):
            aliases[key].update(_path_and_query(n) for n in names)
    return aliases


def _path_and_query(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return unquote(parts.path).rstrip("/") or "/", parts.query


def _names_page(shared: str, page_url: str, evidence: SiteEvidence) -> bool:
    path, query = _path_and_query(shared)
    known = _page_aliases(evidence).get(page_url) or {_path_and_query(page_url)}
    return any(path == page_path and _query_agrees(query, page_query) for page_path, page_query in known)


def _query_agrees(shared: str, page: str) -> bool:
    """Parameters both URLs carry have the same values (``product_id=42`` names one product)."""
    page_params = dict(parse_qsl(page))
    return all(page_params.get(k, v) == v for k, v in parse_qsl(shared))


# ---- profiles -------------------------------------------------------------


@dataclass(frozen=True)
class ProfileLink:
    page: str
    url: str
    network: str
    text: str


def find_broken_profiles(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    broken: dict[str, tuple[ProfileLink, str, list[str]]] = {}
    good: dict[str, set[str]] = defaultdict(set)
    for link in profile_links(evidence):
        problem = judge_profile(link)
        if problem is None:
            good[link.network].add(link.url.split("?")[0].rstrip("/"))
            continue
        entry = broken.setdefault(_written_as(link), (link, problem, []))
        if link.page not in entry[2]:
            entry[2].append(link.page)
    yield Fact("social_profiles", {network: sorted(urls) for network, urls in sorted(good.items())})
    for link, problem, pages in broken.values():
        yield Finding(
            "social.profile-broken",
            "warning",
            link.page,
            link.url,
            f"{link.network.capitalize()} profile link is broken: {problem}",
            {
                "network": link.network,
                "problem": problem,
                "text": link.text,
                "pages": pages[:MAX_LISTED],
                "count": len(pages),
            },
        )


def _written_as(link: ProfileLink) -> str:
    """One key per link as written: a scheme-less ``www.facebook.com/x`` resolves to a
    different shop URL on every page, but is one mistake."""
    lowered = link.url.lower()
    for host in PROFILE_HOSTS[link.network]:
        if (at := lowered.find("/" + host + "/")) > 0 or (at := lowered.find("/www." + host + "/")) > 0:
            return link.url[at + 1 :] if bare_host(link.url) not in PROFILE_HOSTS[link.network] else link.url
    return link.url


def profile_links(evidence: SiteEvidence) -> Iterator[ProfileLink]:
    """Links to a social network that are not share links, and profile addresses missing their scheme."""
    own = shop_hosts(evidence)
    # per URL (160,022 links of the benchmark shop, 12,129 distinct): its network, and
    # whether share wording in the link's text makes it a share link instead
    networks: dict[str, tuple[str | None, bool]] = {}
    for page in evidence.html_pages():
        for url, text in _links(page):
            if url not in networks:
                networks[url] = _network_of_link(url, own)
            network, unless_share_words = networks[url]
            if network is not None and not (unless_share_words and SHARE_WORDS.search(text)):
                yield ProfileLink(page.final_url, url, network, text)


def _network_of_link(url: str, own: frozenset[str]) -> tuple[str | None, bool]:
    """The network a link goes to: a profile (not share) link's, or a scheme-less profile
    address's on the shop's own host; and whether share words in its text undo that."""
    network = _profile_network(url)
    if network is None and bare_host(url) in own:
        return _scheme_less_profile(url), False
    if network is not None and _share_network(url) is not None:
        return None, False
    return network, network is not None


def _links(page: Page) -> Iterable[tuple[str, str]]:
    return ((ref.url, ref.text) for ref in page.refs if ref.tag in ("a", "area") and not ref.invalid)


def _profile_network(url: str) -> str | None:
    host = bare_host(url)
    for network, hosts in PROFILE_HOSTS.items():
        if host in hosts:
            return network
    return None


SCHEME_LESS = re.compile(
    "/(?:www\\.)?(" + "|".join(re.escape(h) for hosts in PROFILE_HOSTS.values() for h in hosts) + ")/", re.I
)
NETWORK_OF_HOST = {h: network for network, hosts in PROFILE_HOSTS.items() for h in hosts}


def _scheme_less_profile(url: str) -> str | None:
    """``https://shop.hk/www.facebook.com/x``: an ``href`` written without ``https://``."""
    match = SCHEME_LESS.search(url, url.find("/", url.find("//") + 2))
    return NETWORK_OF_HOST[match.group(1).lower()] if match else None


def judge_profile(link: ProfileLink) -> str | None:
    """Why the profile link is broken, or None when it has a profile's shape."""
    parts = urlsplit(link.url)
    if bare_host(link.url) not in PROFILE_HOSTS[link.network]:
        return "the address was written without https://, so it opens a page of the shop"
    path = unquote(parts.path)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if link.network == "whatsapp":
        return _judge_whatsapp(path, query)
    if link.network == "youtube" and path.lower().startswith(("/channel", "/user", "/c/")):
        names = [name for name in path.split("/") if name]
        handle = names[1] if len(names) > 1 else ""
        if path.lower().startswith("/channel") and not re.fullmatch(r"UC[\w-]{22}", handle):
            return "a /channel/ address without a valid channel id"
        if not handle:
            return "a channel address without a name"
    if link.network == "facebook" and path.rstrip("/") == "/profile.php":
        return None if query.get("id", "").isdigit() else "profile.php without an id"
    segments = [s for s in path.split("/") if s]
    if not segments:
        return "the network's home page, not the shop's profile"
    if (missing_id := _id_missing(link.network, path)) is not None:
        return missing_id
    if NOT_PROFILE_PATHS.match(path):
        return None  # a post, a video or a plug-in: not a profile, not judged
    handle = segments[-1] if link.network == "line" else segments[0]
    if PLACEHOLDER_HANDLES.match(handle):
        return f"a placeholder ({handle})"
    if handle.lower().lstrip("@") in DEMO_ACCOUNTS:
        return f"a theme's or platform's demo account ({handle}), not the shop's"
    return None


def _id_missing(network: str, path: str) -> str | None:
    """Profile addresses whose id part is empty: ``line.me/R/ti/p/``, ``xiaohongshu.com/user/profile/``."""
    lowered = path.lower().rstrip("/")
    if network == "line" and lowered in ("/r/ti/p", "/r/ti/p/@", "/ti/p", "/ti/p/@"):
        return "a LINE link without an account id"
    if network == "xiaohongshu" and lowered in ("/user/profile", "/user"):
        return "a Xiaohongshu link without a profile id"
    if lowered in ("/@", "/pages"):
        return "a profile address without a name"
    return None


def _judge_whatsapp(path: str, query: dict[str, str]) -> str | None:
    number = query.get("phone", "") if path.rstrip("/") in ("/send", "") else path.strip("/")
    if path.rstrip("/") in ("", "/send") and "phone" not in query:
        return None if "text" in query else "a WhatsApp link without a phone number"
    digits = re.sub(r"[\s+()-]", "", number)
    if not digits:
        return "a WhatsApp link without a phone number"
    if not digits.isdigit():
        return f"a placeholder instead of a phone number ({number})"
    if len(digits) < 8 or digits.endswith(("12345678", "00000000")):
        return f"not a real phone number ({number})"
    return None


CHECKS = [
    Check(
        id="social.share-broken",
        title="Share buttons with a malformed or wrong URL",
        requires=("pages",),
        run=find_broken_shares,
        severities="warning per broken share pattern (network, problem, URL), with the pages it is on",
        family_doc=__doc__ or "",
    ),
    Check(
        id="social.profile-broken",
        title="Links to the shop's social profiles that are placeholders or malformed",
        requires=("pages",),
        run=find_broken_profiles,
        severities="warning per broken profile link",
        family_doc=__doc__ or "",
    ),
]
