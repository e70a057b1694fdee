"""Which pages the browser renders and Lighthouse audits: a sample that covers
the shop's kinds of page (:mod:`shophealth.crawler.pagekind`)."""

from __future__ import annotations

from collections.abc import Sequence

from shophealth.crawler.evidence import Page
from shophealth.crawler.pagekind import page_kind

RENDER_QUOTA = (("home", 1), ("category", 1), ("product", 3), ("cart", 1), ("policy", 1), ("contact", 1))


def _renderable(pages: Sequence[Page]) -> list[Page]:
    return [p for p in pages if p.facts is not None and p.status is not None and p.status < 400]


def choose_render_sample(pages: Sequence[Page], limit: int) -> list[str]:
    """URLs to render: home, a category, a few products, cart, policy, contact, one per language.

    Pages are taken in crawl order, so the shallowest page of each kind comes first.
    """
    candidates = _renderable(pages)
    chosen: list[str] = []
    for kind, quota in RENDER_QUOTA:
        chosen += [p.url for p in candidates if page_kind(p) == kind and p.url not in chosen][:quota]
    seen_langs = {_lang(p) for p in candidates if p.url in chosen}
    for page in candidates:
        lang = _lang(page)
        if lang not in seen_langs and page.url not in chosen:
            seen_langs.add(lang)
            chosen.append(page.url)
    rest = [p.url for p in candidates if p.url not in chosen]
    return (chosen + rest)[: max(0, limit)]


def choose_lighthouse_sample(
    pages: Sequence[Page], kinds: Sequence[str] = ("home", "category", "product")
) -> list[str]:
    """One URL per page template in ``kinds`` (the shallowest of each)."""
    candidates = _renderable(pages)
    chosen: list[str] = []
    for kind in kinds:
        match = next((p.url for p in candidates if page_kind(p) == kind), None)
        if match and match not in chosen:
            chosen.append(match)
    return chosen


def _lang(page: Page) -> str:
    lang = (page.facts.lang if page.facts else None) or ""
    return lang.strip().lower().replace("_", "-")
