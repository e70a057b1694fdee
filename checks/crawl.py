"""The crawl itself: what it cut off on purpose (``crawl.*``).

``crawl.trap`` (info)
    The shop offers an endless space of URLs that are the same few pages --
    a calendar whose "next month" never ends, session ids written into links,
    a query string that grows at every click, relative links that add
    ``a/`` to the path at each step, faceted navigation with every filter
    combination -- and the crawler cut it off by pattern
    (:mod:`shophealth.crawler.traps`) so the rest of the shop was crawled.
    One finding per pattern: ``page`` is the first page that led into it,
    ``target`` an example URL, ``evidence`` the pattern, the reason, up to
    three examples and ``count`` (links into it that were not followed).
    Worth knowing rather than broken: search engines waste their crawl of
    the shop on the same trap, and duplicate pages dilute its ranking.
    Known limits: see :mod:`shophealth.crawler.traps`.

``crawl.limit`` (info)
    A page the crawler read only in part: its answer (after decompression)
    was longer than the byte limit (``max_bytes``, 5 MB; a gzip bomb, a
    2 GB response), or it carries more links and resources than are kept per
    page (3,000: the rest were neither crawled nor verified), or nests elements
    more than 4,096 deep (a hostile page: the parser's time grows with the
    square of the depth; it is read up to there). One finding per
    page, ``target`` null; ``evidence.cut`` says which. Nothing on the cut-off
    part was judged: a customer's browser may also give up on such a page.
"""

from __future__ import annotations

from collections.abc import Iterator

from shophealth.checks.base import Check, Finding, Options
from shophealth.crawler.evidence import SiteEvidence
from shophealth.crawler.parse import MAX_DEPTH, MAX_REFS


def find_traps(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for cut in evidence.cuts:
        if cut.kind != "trap":
            continue
        yield Finding(
            check="crawl.trap",
            severity="info",
            page=cut.page,
            target=cut.examples[0] if cut.examples else None,
            message=(
                f"Crawler trap ({cut.reason}): {cut.pattern} goes on without end; "
                f"{cut.count} link(s) into it were not followed"
            ),
            evidence={
                "reason": cut.reason,
                "pattern": cut.pattern,
                "examples": list(cut.examples),
                "count": cut.count,
            },
        )


def find_cut_pages(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for page in evidence.pages:
        cuts = []
        if page.truncated:
            cuts.append("longer than the byte limit: only its start was read")
        if page.facts is not None and page.facts.refs_cut:
            cuts.append(
                f"more than {MAX_REFS:,} links and resources: only the first {MAX_REFS:,} were followed"
            )
        if page.facts is not None and page.facts.nesting_cut:
            cuts.append(f"elements nested more than {MAX_DEPTH:,} deep: it was read up to there")
        if cuts:
            yield Finding(
                check="crawl.limit",
                severity="info",
                page=page.final_url,
                target=None,
                message=f"This page was read only in part: {'; '.join(cuts)}",
                evidence={"cut": cuts, "status": page.status},
            )


CHECKS = [
    Check(
        id="crawl.trap",
        title="Endless URL spaces (crawler traps) cut off",
        requires=("pages",),
        run=find_traps,
        severities="info",
        family_doc=__doc__ or "",
    ),
    Check(
        id="crawl.limit",
        title="Pages read only in part (byte or link limit)",
        requires=("pages",),
        run=find_cut_pages,
        severities="info",
        family_doc=__doc__ or "",
    ),
]
