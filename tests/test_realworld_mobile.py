"""mobile.viewport and mobile.overflow on Lighthouse's own mobile fixtures (issue 4's bar).

The corpus is ``../shared/realworld/mobile/`` next to the repository (or the folder
named by ``SHOPHEALTH_REALWORLD``). Every MANIFEST entry with role ``case`` is
judged for the checks in its ``labels_scope``: ``mobile.viewport`` from the HTML
as a fetched page, ``mobile.overflow`` by rendering the file in Chromium, served
from the corpus folder on 127.0.0.1. ``viewport-meta-cases.json`` (role
``case-list``) adds viewport strings from Lighthouse's unit tests. A check
agrees with a case when it fires exactly when the labels name it; the bar is
95 % agreement per check. Disagreements are printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from shophealth.checks.mobile import CHECKS, viewport_problems
from shophealth.crawler.browser import BrowserNotFound, BrowserPool, find_browser
from shophealth.crawler.evidence import RenderedPage, SiteEvidence
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.triage import overflow_suspects
from shophealth.demo.server import serve_app

AGREEMENT_BAR = 0.95
FOLDER = "mobile/"
RUN = {c.id: c.run for c in CHECKS}


@dataclass(frozen=True)
class Verdict:
    case: str
    expected: bool
    fired: bool
    why: str


def corpus_dir() -> Path:
    override = os.environ.get("SHOPHEALTH_REALWORLD")
    return Path(override) if override else Path(__file__).parents[2] / "shared" / "realworld"


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    root = corpus_dir()
    if not (root / "MANIFEST.json").is_file():
        pytest.skip(f"real-world corpus not found at {root} (set SHOPHEALTH_REALWORLD)")
    manifest = json.loads((root / "MANIFEST.json").read_text(encoding="utf-8"))
    return [e for e in manifest["files"] if e["path"].startswith(FOLDER) and e["labels"]]


def scoped(entries: list[dict[str, Any]], check_id: str, role: str = "case") -> Iterator[dict[str, Any]]:
    return (e for e in entries if e["role"] == role and check_id in e.get("labels_scope", [check_id]))


def evidence_of(**kinds: Any) -> SiteEvidence:
    return SiteEvidence(site="http://shop.example/", home="http://shop.example/", **kinds)


def report(check_id: str, verdicts: list[Verdict]) -> float:
    wrong = [v for v in verdicts if v.expected != v.fired]
    agreement = 1 - len(wrong) / len(verdicts)
    print(f"\n{check_id}: {len(verdicts) - len(wrong)}/{len(verdicts)} agree ({agreement:.1%})")
    for v in wrong:
        print(f"  disagree {v.case}: labelled {v.expected}, fired {v.fired} — {v.why}")
    return agreement


def test_viewport_agrees_with_the_labels(entries: list[dict[str, Any]]) -> None:
    root = corpus_dir()
    verdicts = []
    for entry in scoped(entries, "mobile.viewport"):
        page = page_from_body("http://shop.example/" + entry["path"], (root / entry["path"]).read_bytes())
        findings = list(RUN["mobile.viewport"](evidence_of(pages=(page,)), {}))
        why = findings[0].message if findings else f"viewport {page.facts and page.facts.viewport!r}"
        verdicts.append(Verdict(entry["path"], "mobile.viewport" in entry["labels"], bool(findings), why))
    for entry in scoped(entries, "mobile.viewport", role="case-list"):
        for case in json.loads((root / entry["path"]).read_text(encoding="utf-8"))["cases"]:
            problems = viewport_problems(case["viewport_content"])
            expected = "mobile.viewport" in case["labels"]
            verdicts.append(Verdict(repr(case["viewport_content"]), expected, bool(problems), str(problems)))
    assert len(verdicts) >= 60
    assert report("mobile.viewport", verdicts) >= AGREEMENT_BAR


@pytest.fixture(scope="module")
async def corpus_site(entries: list[dict[str, Any]]) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_static("/", corpus_dir())
    async with serve_app(app) as url:
        yield url


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[BrowserPool]:
    try:
        chromium = find_browser()
    except BrowserNotFound as exc:
        pytest.skip(str(exc))
    async with BrowserPool(chromium, size=2, nav_timeout=10) as pool:
        yield pool


async def test_overflow_agrees_with_the_labels(
    entries: list[dict[str, Any]], corpus_site: str, pool: BrowserPool
) -> None:
    judged = list(scoped(entries, "mobile.overflow"))
    verdicts = [await _judge_overflow(pool, corpus_site, e) for e in judged]
    assert len(verdicts) >= 15
    assert report("mobile.overflow", verdicts) >= AGREEMENT_BAR


async def _judge_overflow(pool: BrowserPool, site: str, entry: dict[str, Any]) -> Verdict:
    rendered: RenderedPage = await pool.render(site + entry["path"])
    findings = list(RUN["mobile.overflow"](evidence_of(rendered=(rendered,)), {"error_ratio": 0.5}))
    fired = any(f.severity != "info" for f in findings)
    why = rendered.error or (findings[0].message if findings else f"{rendered.client_width} px, fits")
    return Verdict(entry["path"], "mobile.overflow" in entry["labels"], fired, why)


def test_overflow_triage_suspects_every_labelled_page(entries: list[dict[str, Any]]) -> None:
    """The static triage (crawler.triage) must name every page that overflows, so it is rendered."""
    root = corpus_dir()
    judged = list(scoped(entries, "mobile.overflow"))
    pages = [
        page_from_body("http://shop.example/" + e["path"], (root / e["path"]).read_bytes()) for e in judged
    ]
    suspected = {s.url for s in overflow_suspects(pages)}
    verdicts = [
        Verdict(e["path"], "mobile.overflow" in e["labels"], p.final_url in suspected, "triage")
        for e, p in zip(judged, pages, strict=True)
    ]
    assert len(verdicts) >= 15
    report("overflow triage", verdicts)
    assert all(v.fired for v in verdicts if v.expected)  # recall 1.0; clean pages may be suspected
