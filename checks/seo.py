"""Search basics: titles and descriptions (``seo.basics``).

Per page that answered 200 with HTML: a missing or empty ``<title>``
(``warning``), a missing or empty meta description (``info``). Across the
shop: the same title on several different pages (``warning``, one finding
per shared title, listing the pages). Pages that redirect, error pages and
the not-found probe are not judged. Pages that name the same
``<link rel=canonical>`` (variants, tracking parameters) count as one page,
and so do the pages of one paginated list (``/page/2``, ``?page=2``), which
fairly share their list's title.

Limits: a title that exists but says nothing useful ("Home", "Untitled") is
not judged; pages marked ``noindex`` are judged like any other.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shophealth.checks.base import Check, Finding, Options
from shophealth.crawler.evidence import Page, SiteEvidence

MAX_LISTED_PAGES = 10
PAGE_IN_PATH = re.compile(r"/page/\d+/?$")
PAGE_PARAMS = frozenset({"page", "p", "pg", "paged"})


def series_key(url: str) -> str:
    """A URL without its page number: the pages of one paginated list share a key."""
    parts = urlsplit(url)
    path = PAGE_IN_PATH.sub("", parts.path) or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in PAGE_PARAMS]
    return urlunsplit(parts._replace(path=path, query=urlencode(query), fragment=""))


def _judged_pages(evidence: SiteEvidence) -> list[Page]:
    """One page per document: pages naming the same canonical URL are one page."""
    seen: set[str] = set()
    pages = []
    for page in evidence.html_pages():
        assert page.facts is not None
        key = page.facts.canonical or page.final_url
        if page.status == 200 and key not in seen and page.final_url not in seen:
            seen.update((key, page.final_url))
            pages.append(page)
    return pages


def find_seo_basics(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    pages = _judged_pages(evidence)
    by_title: dict[str, list[str]] = defaultdict(list)
    series_seen: set[tuple[str, str]] = set()
    for page in pages:
        assert page.facts is not None
        title = (page.facts.title or "").strip()
        if not title:
            yield Finding("seo.basics", "warning", page.final_url, None, "Page has no title")
        elif (title, series_key(page.final_url)) not in series_seen:
            series_seen.add((title, series_key(page.final_url)))
            by_title[title].append(page.final_url)
        if not (page.facts.meta_description or "").strip():
            yield Finding(
                "seo.basics", "info", page.final_url, None, "Page has no meta description", key="description"
            )
    for title, found_on in by_title.items():
        if len(found_on) > 1:
            urls = sorted(found_on)  # the same first page whatever order the crawl took
            yield Finding(
                "seo.basics",
                "warning",
                urls[0],
                None,
                f"{len(urls)} pages share the title {title!r}",
                {"title": title, "pages": urls[:MAX_LISTED_PAGES], "count": len(urls)},
                key=f"duplicate-title {title}",
            )


CHECKS = [
    Check(
        id="seo.basics",
        title="Missing or duplicate titles, missing descriptions",
        requires=("pages",),
        run=find_seo_basics,
        severities="warning for a missing or shared title; info for a missing description",
        family_doc=__doc__ or "",
    )
]
