"""links.* and images.* on LinkChecker's and linkinator's own test pages.

The corpus folder ``links/`` (see ``tests/realworld.py``) is served as it is on
127.0.0.1, and every manifest entry with role ``case`` is scanned as a shop
whose start URL is that file, at ``max_depth`` 0: a case judges the links on
its page, so they are verified but not crawled further. Rendering and
Lighthouse are off.

Only targets on the fixture server can be judged here. The machine has no
network, and the peers' own tests answered for public hosts with mocks, so
links to any other host (``example.invalid``, ``example.com``, ``localhost:8001``
…) are not verified (``verify_external`` off) and not compared:

* a case labelled with a check that did not fire on the fixture server's
  targets, but that has targets elsewhere, is not judgeable for that check
  (its label may rest on those targets);
* a case labelled ``none`` whose every link leads elsewhere is not judgeable.

Targets that LinkChecker's own test server answered (its ``.result`` file
says ``valid``) but that the corpus does not hold (``test.swf``,
``redirect_newhost.html``, a server route) are excluded the same way.

Agreement is counted per check over the judgeable cases; every disagreement
and every exclusion is printed with its reason. The labels are printed as
given, and the assertion uses them with ``LABEL_CORRECTIONS`` applied: the
corpus labels a broken ``<img>`` sometimes as ``links.broken`` alone and
sometimes as both, while checks/links.py leaves images to ``images.broken``
(one problem, one finding), and SPEC's "or is not an image" makes an
``<img srcset>`` pointing at HTML pages a finding that linkinator does not
look for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

import pytest
from conftest import fast_config
from realworld import Entry, cases, corpus_dir, expects, manifest_entries, scope_of

from shophealth.checks.linkverdict import link_verdict
from shophealth.checks.registry import Registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.scan import SiteRun, scan_site
from shophealth.crawler.urls import resolve
from shophealth.demo.server import RunningShop, serve_shop

FOLDER = "links/"
LINK_CHECKS = ("links.broken", "links.soft-404", "links.redirect", "images.broken")
AGREEMENT_FLOOR = 0.95
BATCH = 12
CHARSET_IMG = "a missing <img src=img.png> is images.broken (checks/links.py leaves images to it)"
LABEL_CORRECTIONS: dict[tuple[str, str], tuple[bool, str]] = {
    ("links/linkchecker/charsets/cp1250.html", "images.broken"): (True, CHARSET_IMG),
    ("links/linkchecker/charsets/iso8859-2.html", "images.broken"): (True, CHARSET_IMG),
    ("links/linkchecker/charsets/utf8.html", "images.broken"): (True, CHARSET_IMG),
    ("links/linkinator/image/index.html", "links.broken"): (
        False,
        "its only broken targets are <img>, which checks/links.py leaves to images.broken",
    ),
    ("links/linkinator/srcset/index.html", "images.broken"): (
        True,
        "the <img srcset> candidates are HTML pages: SPEC's 'or is not an image'",
    ),
}


@dataclass(frozen=True)
class CaseRun:
    """One case scanned: its entry, the scan, the fixture server's base URL, and the
    targets LinkChecker's harness served that the corpus does not hold."""

    entry: Entry
    run: SiteRun
    base: str
    unservable: frozenset[str] = field(default_factory=frozenset)

    def is_judgeable(self, url: str | None) -> bool:
        return url is None or (url.startswith(self.base) and url not in self.unservable)

    def excluded_targets(self) -> list[str]:
        return [url for url in self.run.evidence.links if not self.is_judgeable(url)]

    def judgeable_targets(self) -> list[str]:
        return [url for url in self.run.evidence.links if self.is_judgeable(url)]

    def judgeable_findings(self, check_id: str) -> list[str]:
        return [f.message for f in self.run.findings if f.check == check_id and self.is_judgeable(f.target)]


@dataclass(frozen=True)
class Verdict:
    case: str
    check: str
    expected: bool
    fired: bool
    judged: bool
    why: str

    @property
    def agrees(self) -> bool:
        return self.expected == self.fired


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return cases(manifest_entries(FOLDER))


@pytest.fixture(scope="module")
def links_shop() -> Iterator[RunningShop]:
    with serve_shop(corpus_dir() / FOLDER) as shop:
        yield shop


@pytest.fixture(scope="module")
async def case_runs(entries: list[Entry], links_shop: RunningShop, registry: Registry) -> list[CaseRun]:
    runs: list[CaseRun] = []
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        scans = await asyncio.gather(*(scan_case(e, links_shop.url, registry) for e in batch))
        for entry, run in zip(batch, scans, strict=True):
            unservable = frozenset(unservable_targets(entry, run, links_shop.url))
            runs.append(CaseRun(entry, run, links_shop.url, unservable))
    return runs


def case_url(entry: Entry, base: str) -> str:
    return base + quote(str(entry["path"]).removeprefix(FOLDER))


async def scan_case(entry: Entry, base: str, registry: Registry) -> SiteRun:
    config = fast_config(max_depth=0, verify_external=False, render="off", lighthouse_pages=0)
    return await scan_site(SiteConfig(url=case_url(entry, base), config=config), registry)


def peer_valid_urls(entry: Entry, page_url: str) -> set[str]:
    """The URLs LinkChecker's ``.result`` for this case says are valid, resolved against the page."""
    if "expectation" not in entry:
        return set()
    text = (corpus_dir() / entry["expectation"]).read_text(encoding="utf-8")
    valid: set[str] = set()
    for block in text.replace("%%", "%").split("\n\n"):
        lines = block.strip().splitlines()
        if lines and lines[0].startswith("url ") and lines[-1] == "valid":
            url = resolve(page_url, lines[0].removeprefix("url "))
            valid.update([url] if url else [])
    return valid


def in_corpus(url: str) -> bool:
    """Whether the fixture server has a file for ``url`` (as it maps paths: a, a.html, a/index.html)."""
    relative = unquote(urlsplit(url).path).lstrip("/")
    root = corpus_dir() / FOLDER
    candidates = (
        [relative + "index.html"]
        if relative.endswith("/") or not relative
        else [relative, relative + ".html", relative + "/index.html"]
    )
    return any((root / c).is_file() for c in candidates)


def unservable_targets(entry: Entry, run: SiteRun, base: str) -> list[str]:
    """Targets the peer's harness served (``valid``) that the corpus does not hold."""
    valid = peer_valid_urls(entry, case_url(entry, base))
    return [url for url in run.evidence.links if url in valid and not in_corpus(url)]


def judge(case: CaseRun, check_id: str, corrected: bool) -> Verdict:
    """The case's label for one check against what fired on the judgeable targets."""
    path = str(case.entry["path"])
    expected = expects(case.entry, check_id)
    if corrected and (path, check_id) in LABEL_CORRECTIONS:
        expected = LABEL_CORRECTIONS[path, check_id][0]
    fired = case.judgeable_findings(check_id)
    excluded = case.excluded_targets()
    judged = True
    if fired:
        why = "; ".join(fired)
    elif expected and excluded:
        judged, why = False, f"label may rest on {len(excluded)} unjudgeable target(s): {excluded[:3]}"
    elif excluded and not case.judgeable_targets():
        judged, why = False, f"no judgeable link: {excluded[:3]}"
    else:
        why = "nothing fired; judgeable targets: " + (", ".join(_outcomes(case)) or "none")
    return Verdict(path, check_id, expected, bool(fired), judged, why)


def _outcomes(case: CaseRun) -> list[str]:
    links = case.run.evidence.links
    return [
        f"{url} {link_verdict(links[url]).outcome} {links[url].status}" for url in case.judgeable_targets()
    ]


def verdicts_for(case_runs: list[CaseRun], check_id: str, corrected: bool) -> list[Verdict]:
    return [
        judge(case, check_id, corrected)
        for case in case_runs
        if check_id in scope_of(case.entry, LINK_CHECKS)
    ]


def agreement_of(verdicts: list[Verdict]) -> float:
    judged = [v for v in verdicts if v.judged]
    return sum(v.agrees for v in judged) / len(judged) if judged else 1.0


def report(check_id: str, as_given: list[Verdict], corrected: list[Verdict]) -> None:
    judged = [v for v in corrected if v.judged]
    print(
        f"\n{check_id}: {len(judged)} judged, {len(corrected) - len(judged)} not judgeable here;"
        f" agreement {agreement_of(as_given):.1%} with the labels as given,"
        f" {agreement_of(corrected):.1%} with LABEL_CORRECTIONS"
    )
    for v in corrected:
        if v.judged and not v.agrees:
            print(f"  disagree {v.case}: expected {v.expected}, fired {v.fired} — {v.why}")
        elif not v.judged:
            print(f"  excluded {v.case}: {v.why}")
        if (v.case, check_id) in LABEL_CORRECTIONS:
            print(f"  label corrected {v.case}: {LABEL_CORRECTIONS[v.case, check_id][1]}")


def test_every_case_was_scanned(case_runs: list[CaseRun], entries: list[Entry]) -> None:
    assert len(case_runs) == len(entries) > 0
    unscanned = [(c.entry["path"], c.run.error) for c in case_runs if c.run.error is not None]
    assert unscanned == []


def test_link_checks_ran_on_every_case(case_runs: list[CaseRun]) -> None:
    failed = [
        (c.entry["path"], o.check, o.status, o.detail)
        for c in case_runs
        for o in c.run.outcomes
        if o.check in LINK_CHECKS and o.status in ("error", "skipped")
    ]
    assert failed == []


def test_label_corrections_name_real_cases(entries: list[Entry]) -> None:
    paths = {e["path"] for e in entries}
    assert {path for path, _ in LABEL_CORRECTIONS} <= paths


@pytest.mark.parametrize("check_id", LINK_CHECKS)
def test_agreement_with_the_labels(case_runs: list[CaseRun], check_id: str) -> None:
    corrected = verdicts_for(case_runs, check_id, corrected=True)
    report(check_id, verdicts_for(case_runs, check_id, corrected=False), corrected)
    assert any(v.judged for v in corrected)
    assert agreement_of(corrected) >= AGREEMENT_FLOOR
