"""Images: pictures that do not load, and product pages without one (``images.broken``).

Finds an image (``img src``/``srcset``, ``picture source``, ``video poster``)
that answers 4xx/5xx or fails to load (``error``), one that loads but is not
an image, such as an HTML error page served at an image URL (``error``), and
a product page (``og:type`` product or schema.org ``Product``) with no image
at all (``warning``). One finding per image URL, however many pages show it.
Whether an image target loads is decided by
:func:`shophealth.checks.linkverdict.link_verdict`, as for ``links.broken``.

Limits: images added by JavaScript or CSS backgrounds are not seen without
rendering; an image that loads but shows the wrong picture is not detected.
"""

from __future__ import annotations

from collections.abc import Iterator

from shophealth.checks.base import Check, Finding, Options
from shophealth.checks.linkverdict import link_verdict
from shophealth.crawler.evidence import LinkResult, Page, Sighting, SiteEvidence, starts_like_markup
from shophealth.crawler.pagekind import is_product_page

IMAGE_TAGS = frozenset({"img", "source", "video"})
IMAGE_PLACES = frozenset({("video", "poster"), ("source", "srcset"), ("source", "data-srcset")})
NOT_IMAGE_TYPES = ("text/html", "application/json", "text/plain", "application/xhtml+xml")


def is_image_sighting(sighting: Sighting) -> bool:
    """An ``<img>``, a ``<picture><source srcset>`` or a video's poster: places only images go."""
    return sighting.tag == "img" or (sighting.tag, sighting.attr) in IMAGE_PLACES


def _is_image_target(result: LinkResult) -> bool:
    return any(is_image_sighting(s) for s in result.seen)


def not_an_image(result: LinkResult) -> str | None:
    ctype = result.content_type.split(";")[0].strip().lower()
    if ctype.startswith(NOT_IMAGE_TYPES):
        return f"served as {ctype}"
    if starts_like_markup(result.body_head) and not ctype.startswith("image/svg"):
        return "the server sends a web page instead"
    return None


def find_broken_images(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for result in evidence.links.values():
        if not _is_image_target(result):
            continue
        outcome = link_verdict(result).outcome
        if outcome == "broken":
            why = f"HTTP {result.status}" if result.status is not None else result.error
            yield _image_finding(result, evidence, f"Image does not load ({why}): {result.url}")
        elif outcome == "ok" and (reason := not_an_image(result)) is not None:
            yield _image_finding(result, evidence, f"Image URL is not an image ({reason}): {result.url}")
    for page in evidence.html_pages():
        if _is_product_page(page) and not _has_image(page):
            yield Finding(
                check="images.broken",
                severity="warning",
                page=page.final_url,
                target=None,
                message="Product page has no product image",
                evidence={"title": page.facts.title if page.facts else None},
            )


def _image_finding(result: LinkResult, evidence: SiteEvidence, message: str) -> Finding:
    return Finding(
        check="images.broken",
        severity="error",
        page=result.seen[0].page if result.seen else evidence.home,
        target=result.url,
        message=message,
        evidence={
            "status": result.status,
            "error_kind": result.error_kind,
            "error": result.error,
            "content_type": result.content_type,
            "pages": [s.page for s in result.seen],
            "count": result.count,
            "alt": result.seen[0].text if result.seen else None,
        },
    )


def _is_product_page(page: Page) -> bool:
    return page.facts is not None and page.status == 200 and is_product_page(page)


def _has_image(page: Page) -> bool:
    if page.facts is not None and page.facts.og_image:
        return True
    return any(ref.tag in IMAGE_TAGS for ref in page.refs)


CHECKS = [
    Check(
        id="images.broken",
        title="Broken images and product pages without a photo",
        requires=("pages", "links"),
        run=find_broken_images,
        severities="error for an image that fails or is not an image; warning for a product page without one",
        family_doc=__doc__ or "",
    )
]
