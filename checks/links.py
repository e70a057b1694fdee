"""Links: dead, disguised and long-winded links (``links.*``).

``links.broken``
    A link or resource (a, script, stylesheet, iframe, form action, anything
    but images, which ``images.broken`` judges) that answered 4xx/5xx, or
    failed DNS, TLS or connect, or timed out. A form that posts is judged only
    on whether its host answers at all, since a GET to a POST endpoint may
    fairly answer 404 or 405. One finding per target, however
    many pages carry it (``evidence.count``, ``evidence.pages``).
    Severity: ``error`` for the shop's own links and for any script,
    stylesheet, iframe or form; ``warning`` for a link to another site's page
    and for a timeout (the server may only have been slow).
    Whether a target is broken is decided by
    :func:`shophealth.checks.linkverdict.link_verdict`, shared with
    ``images.broken`` and the report's ``unverifiable`` list.
    Limits: targets behind bot walls or rate limits are not judged (see the
    report's ``unverifiable``); links to social sites are not fetched (they
    refuse crawlers), so they are not judged here.

``links.soft-404``
    A page of the shop that answers 200 but is a not-found page: its title
    or main heading is a not-found or no-longer-available message (English:
    "page not found", "this product is no longer available", "this product
    is unavailable", "we can't find that page"; Traditional and Simplified
    Chinese: 找不到…, …不存在, 已下架, 已停售, with 抱歉 or 你要找的 in
    front; Japanese; German), or it carries the same title as the shop's own
    not-found page (seen by probing a URL that cannot exist). A removed
    product often shows its own page, unlike the shop's not-found page, so the
    wording matters more than the probe. Also a link whose target is
    redirected to the home page instead of the page it names (a removed
    product); links that fairly lead home (sign-out, cart, language or currency
    switches) are left alone. And the shop itself answering 200 for a URL
    that cannot exist.
    Severity: ``warning``. Only whole-title/heading matches count (a title
    is cut at its separators, "找不到產品 | Shop"), so a blog post quoting
    "Page not found" in a longer heading, a heading such as 已停售產品回收計劃,
    or a product page whose text says an older model is discontinued or no
    longer available does not fire. Out-of-stock wording ("currently
    unavailable", "sold out") is not a not-found page.

``links.redirect``
    A redirect loop or a chain that never ends (``error``), or a chain longer
    than ``max_hops`` (default 3) hops (``warning``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from shophealth.checks.base import Check, Finding, Options, Severity
from shophealth.checks.images import is_image_sighting
from shophealth.checks.linkverdict import link_verdict
from shophealth.crawler.evidence import ErrorKind, LinkResult, Page, SiteEvidence

RESOURCE_TAGS = frozenset({"script", "link", "iframe", "form", "embed", "audio"})
LOOP_KINDS = frozenset({ErrorKind.REDIRECT_LOOP, ErrorKind.TOO_MANY_REDIRECTS})
# What a not-found or no-longer-available page says in its title or main heading.
_EN_THING = r"(?:the\s+|this\s+|that\s+)?(?:page|product|item|file)"
_EN_GONE = (
    r"(?:was\s+|is\s+)?not\s+found|(?:could\s*n[o']t|cannot|can'?t)\s+be\s+found"
    r"|(?:is\s+)?no\s+longer\s+available|is\s+(?:not\s+available|unavailable)|unavailable"
    r"|(?:does\s+not|doesn'?t|can'?t|cannot)\s+(?:exist|be\s+found)"
)
_EN_NOT_FOUND = (
    rf"(?:(?:sorry|oops)[,!.]?\s*)?(?:{_EN_THING}(?:\s+you(?:'re|\s+are)?\s+(?:looking\s+for|requested))?\s+"
    rf"(?:{_EN_GONE})|not\s+found|no\s+longer\s+available"
    r"|(?:we\s+)?(?:can'?t|cannot|could\s*n[o']t)\s+find\s+(?:that|this|the)\s+(?:page|product|item))"
)
# Chinese (Traditional and Simplified): 找不到…, …不存在, 已下架, 已停售, with "sorry" and
# "the product you were looking for" in front.
_ZH_SORRY = r"(?:(?:很)?抱歉|對不起|对不起|sorry)?[，,!！。\s]*"
_ZH_WANTED = r"(?:(?:你|您)(?:所)?(?:要|想)?(?:找|尋找|寻找|搜尋|搜索|查找|瀏覽|浏览|訪問|访问|查看)的|此|該|该|這個|这个|這|这)?"
_ZH_THING = r"(?:頁面|页面|網頁|网页|產品|产品|商品|貨品|货品|內容|内容|文章|項目|项目|連結|链接|頁|页)"
_ZH_GONE = (
    r"(?:(?:已|已經|已经)(?:下架|停售|刪除|删除|移除|售罄)(?:或|或者|及|和)?)*"
    r"(?:(?:已|已經|已经)(?:下架|停售|刪除|删除|移除)|不存在|(?:未|沒有|没有|無法|无法)?找不到|(?:未|沒有|没有)找到|不再提供)"
)
_ZH_NOT_FOUND = (
    rf"{_ZH_SORRY}(?:{_ZH_WANTED}{_ZH_THING}{_ZH_GONE}"
    rf"|(?:無法|无法)?找不到(?:{_ZH_WANTED}{_ZH_THING}|相關|相关|該|该|此)?{_ZH_THING}?)"
)
NOT_FOUND_PHRASES = re.compile(
    r"^(?:(?:error\s*)?404(?:\s*error)?\s*[-:–|!]?\s*)?"
    rf"(?:{_EN_NOT_FOUND}|{_ZH_NOT_FOUND}"
    r"|ページが見つかりません(?:でした)?|お探しのページは見つかりませんでした"
    r"|seite\s+nicht\s+gefunden|404)[.!。！]?$",
    re.IGNORECASE,
)
BARE_CODE = re.compile(r"^(?:error\s*)?404(?:\s*error)?[.!]?$", re.IGNORECASE)
TITLE_SEPARATORS = re.compile(r"\s+[|–—\-:·»]\s+|\s*[|｜–—]\s*")
# Links that fairly send a customer home: sign-out, an empty cart, a switch of language or currency.
EXPECTED_HOME_REDIRECT = re.compile(
    r"(?:log-?out|sign-?out|cart|basket|checkout|locale|lang|currency|country|region|switch|home|index)",
    re.IGNORECASE,
)
LANGUAGE_ROOT = re.compile(r"^/(?:[a-z]{2}(?:[-_][a-z]{2,4})?/?)?$", re.IGNORECASE)


def _pages_evidence(result: LinkResult) -> dict[str, object]:
    return {
        "pages": [s.page for s in result.seen],
        "count": result.count,
        "element": f"{result.seen[0].tag}[{result.seen[0].attr}]" if result.seen else None,
        "text": result.seen[0].text if result.seen else None,
    }


def _first_page(result: LinkResult, evidence: SiteEvidence) -> str:
    return result.seen[0].page if result.seen else evidence.home


# -- links.broken ------------------------------------------------------------


def find_broken_links(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    ignore = [re.compile(p) for p in options.get("ignore", [])]
    for result in evidence.links.values():
        if result.error_kind in LOOP_KINDS or link_verdict(result).outcome != "broken":
            continue
        if result.seen and all(is_image_sighting(s) for s in result.seen):
            continue  # images.broken judges it
        tags = {s.tag for s in result.seen}
        if any(p.search(result.url) for p in ignore) or (
            _posted_to_only(result) and result.status is not None
        ):
            continue  # asked with GET, an endpoint that takes POST can answer anything
        yield Finding(
            check="links.broken",
            severity=_broken_severity(result, tags),
            page=_first_page(result, evidence),
            target=result.url,
            message=_broken_message(result),
            evidence={
                "status": result.status,
                "error_kind": result.error_kind,
                "error": result.error,
                **_pages_evidence(result),
            },
        )


def _posted_to_only(result: LinkResult) -> bool:
    return bool(result.seen) and all(s.tag == "form" and s.method == "post" for s in result.seen)


def _broken_severity(result: LinkResult, tags: set[str]) -> Severity:
    if result.error_kind is ErrorKind.TIMEOUT:
        return "warning"
    if result.internal or tags & RESOURCE_TAGS:
        return "error"
    return "warning"


def _broken_message(result: LinkResult) -> str:
    where = f"on {result.count} pages" if result.count > 1 else "on this page"
    why = f"answers HTTP {result.status}" if result.status is not None else (result.error or "fails")
    return f"Broken link {where}: {result.url} {why}"


# -- links.soft-404 ----------------------------------------------------------


def is_not_found_heading(text: str | None) -> bool:
    """Whether a title or heading is, as a whole, a not-found message."""
    if not text:
        return False
    parts = [p.strip() for p in TITLE_SEPARATORS.split(text.strip()) if p.strip()]
    if BARE_CODE.match(text.strip()) or (parts and BARE_CODE.match(parts[0])):
        return True  # "404" alone, or first: "404 | Shop"; not "Status code test - 404"
    return any(NOT_FOUND_PHRASES.match(p) and not BARE_CODE.match(p) for p in parts)


def _not_found_title(evidence: SiteEvidence) -> str | None:
    """The shop's not-found page title, when it tells pages apart."""
    probe = evidence.probe
    if probe is None or probe.facts is None or not probe.facts.title:
        return None
    home = next((p for p in evidence.pages if p.facts is not None), None)
    if home is not None and home.facts is not None and home.facts.title == probe.facts.title:
        return None
    return probe.facts.title


def find_soft_404s(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    yield from _probe_answers_200(evidence)
    not_found_title = _not_found_title(evidence)
    for page in evidence.html_pages():
        if page.status != 200 or page.facts is None:
            continue
        headings = (page.facts.title, *page.facts.h1)
        if any(is_not_found_heading(h) for h in headings) or (
            not_found_title is not None and page.facts.title == not_found_title
        ):
            yield _soft_404_page(page, evidence)
    for result in evidence.links.values():
        if result.internal and _redirected_home(result, evidence):
            yield Finding(
                check="links.soft-404",
                severity="warning",
                page=_first_page(result, evidence),
                target=result.url,
                message=f"Link to {result.url} is redirected to the home page instead of the page it names",
                evidence={
                    "final_url": result.final_url,
                    "hops": len(result.redirects),
                    **_pages_evidence(result),
                },
            )


def _probe_answers_200(evidence: SiteEvidence) -> Iterator[Finding]:
    probe = evidence.probe
    if probe is not None and probe.status == 200 and not probe.redirects:
        yield Finding(
            check="links.soft-404",
            severity="warning",
            page=evidence.home,
            target=probe.url,
            message="The shop answers 200 OK for pages that do not exist (soft 404)",
            evidence={"title": probe.facts.title if probe.facts else None},
        )


def _soft_404_page(page: Page, evidence: SiteEvidence) -> Finding:
    result = evidence.links.get(page.url)
    extra = _pages_evidence(result) if result is not None else {}
    title = page.facts.title if page.facts else None
    return Finding(
        check="links.soft-404",
        severity="warning",
        page=result.seen[0].page if result is not None and result.seen else page.final_url,
        target=page.final_url,
        message=f"{page.final_url} answers 200 OK but is a not-found page",
        evidence={"title": title, "status": page.status, **extra},
    )


def _redirected_home(result: LinkResult, evidence: SiteEvidence) -> bool:
    if not result.redirects or result.final_url is None or link_verdict(result).outcome != "ok":
        return False
    final = urlsplit(result.final_url)
    asked = urlsplit(result.url)
    home = urlsplit(evidence.home)
    lands_home = final.path in ("", "/") or final.path.rstrip("/") == home.path.rstrip("/")
    lands_home = lands_home or bool(LANGUAGE_ROOT.match(final.path))
    expected = LANGUAGE_ROOT.match(asked.path) or EXPECTED_HOME_REDIRECT.search(asked.path)
    return lands_home and not final.query and not expected


# -- links.redirect ----------------------------------------------------------


def find_redirect_problems(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    max_hops = int(options.get("max_hops", 3))
    for result in evidence.links.values():
        if result.error_kind in LOOP_KINDS:
            message = f"{(result.error or result.error_kind).capitalize()}: {result.url}"
            yield _redirect_finding(result, evidence, "error", message)
        elif len(result.redirects) > max_hops:
            message = f"{result.url} takes {len(result.redirects)} redirects to reach {result.final_url}"
            yield _redirect_finding(result, evidence, "warning", message)


def _redirect_finding(
    result: LinkResult, evidence: SiteEvidence, severity: Severity, message: str
) -> Finding:
    chain = [f"{hop.status} {hop.url}" for hop in result.redirects][:12]
    return Finding(
        check="links.redirect",
        severity=severity,
        page=_first_page(result, evidence),
        target=result.url,
        message=message,
        evidence={"chain": chain, "hops": len(result.redirects), **_pages_evidence(result)},
    )


_DOC = __doc__ or ""
CHECKS = [
    Check(
        id="links.broken",
        title="Broken links and resources",
        requires=("links",),
        run=find_broken_links,
        severities="error for own links and resources; warning for other sites' pages and timeouts",
        defaults={"ignore": []},
        family_doc=_DOC,
    ),
    Check(
        id="links.soft-404",
        title="Pages that say not found, and links redirected home",
        requires=("pages", "links"),
        run=find_soft_404s,
        severities="warning",
        family_doc=_DOC,
    ),
    Check(
        id="links.redirect",
        title="Redirect loops and long chains",
        requires=("links",),
        run=find_redirect_problems,
        severities="error for loops and endless chains; warning for chains over max_hops",
        defaults={"max_hops": 3},
        family_doc=_DOC,
    ),
]
