"""Baseline comparison: a finding keeps its identity across runs (SPEC §2, issue 13)."""

from __future__ import annotations

import copy
from typing import Any

from shophealth.checks.base import Finding
from shophealth.reports.diff import diff_reports

SHOP = "https://shop.example/"
CHECKS = ["links.broken", "links.soft-404", "errors.php", "seo.basics", "tls.expiring"]


def finding(
    check: str, page: str, target: str | None = None, message: str = "m", **extra: Any
) -> dict[str, Any]:
    made = Finding(
        check, extra.pop("severity", "error"), page, target, message, extra, key=extra.pop("key", None)
    )
    return made.to_dict()


def report(
    *findings: dict[str, Any], site: str = SHOP, statuses: dict[str, str] | None = None
) -> dict[str, Any]:
    statuses = statuses or {}
    checks = [{"check": c, "status": statuses.get(c, "fail")} for c in CHECKS]
    return {"sites": [{"site": site, "error": None, "checks": checks, "findings": list(findings)}]}


BROKEN = finding("links.broken", SHOP + "a", SHOP + "gone", "Link answers 404", status=404, count=3)
PHP = finding("errors.php", SHOP + "p/1", None, "This page shows a PHP warning: x", severity="warning")
NO_DESCRIPTION = finding("seo.basics", SHOP + "b", None, "Page has no meta description", key="description")
NO_TITLE = finding("seo.basics", SHOP + "b", None, "Page has no title")


def messages(findings: tuple[dict[str, Any], ...]) -> list[str]:
    return sorted(f["message"] for f in findings)


def test_new_fixed_and_unchanged() -> None:
    diff = diff_reports(report(BROKEN, PHP), report(BROKEN, NO_TITLE))
    assert messages(diff.new) == ["Page has no title"]
    assert messages(diff.fixed) == [PHP["message"]]
    assert messages(diff.unchanged) == ["Link answers 404"]
    assert all(f["site"] == SHOP for f in diff.new + diff.fixed + diff.unchanged)


def test_identity_survives_reworded_messages_counts_and_crawl_order() -> None:
    moved = copy.deepcopy(BROKEN)
    moved.update(
        page=SHOP + "z",  # first seen on another page this time
        message="Broken link: the page answers 410 Gone",
        severity="warning",
        evidence={"status": 410, "count": 7, "pages": [SHOP + "z", SHOP + "a"]},
    )
    reworded = {**PHP, "message": "PHP notice on this page", "evidence": {"snippet": "other"}}
    diff = diff_reports(report(BROKEN, PHP), report(reworded, moved))
    assert diff.new == () and diff.fixed == ()
    assert len(diff.unchanged) == 2


def test_identity_survives_url_spelling_tracking_and_fragments() -> None:
    old = finding("links.broken", SHOP, "https://shop.example/p?b=2&a=1")
    new = finding("links.broken", SHOP, "HTTPS://Shop.Example:443/p?a=1&b=2&utm_source=mail#reviews")
    assert diff_reports(report(old), report(new)).new == ()


def test_the_not_found_probe_is_one_problem_whatever_its_random_path() -> None:
    old = finding("links.soft-404", SHOP, SHOP + "shophealth-probe-0a1b2c3d4e5f-does-not-exist")
    new = finding("links.soft-404", SHOP, SHOP + "shophealth-probe-99aa88bb77cc-does-not-exist")
    assert len(diff_reports(report(old), report(new)).unchanged) == 1


def test_two_problems_of_one_page_stay_apart() -> None:
    diff = diff_reports(report(NO_DESCRIPTION), report(NO_DESCRIPTION, NO_TITLE))
    assert messages(diff.new) == ["Page has no title"]
    assert messages(diff.unchanged) == ["Page has no meta description"]


def test_another_target_or_page_is_another_problem() -> None:
    other_target = finding("links.broken", SHOP + "a", SHOP + "gone-too")
    other_page = finding("errors.php", SHOP + "p/2", None, PHP["message"], severity="warning")
    diff = diff_reports(report(BROKEN, PHP), report(other_target, other_page))
    assert len(diff.new) == 2 and len(diff.fixed) == 2


def test_stored_fingerprints_are_recomputed_not_trusted() -> None:
    stale = {**BROKEN, "fingerprint": "0000000000000000"}
    assert len(diff_reports(report(stale), report(BROKEN)).unchanged) == 1


def test_findings_of_a_check_that_did_not_run_are_not_fixed() -> None:
    new = report(statuses={"errors.php": "skipped", "links.broken": "pass"})
    diff = diff_reports(report(BROKEN, PHP), new)
    assert messages(diff.fixed) == ["Link answers 404"]
    assert messages(diff.unjudged) == [PHP["message"]]


def test_a_shop_that_could_not_be_scanned_fixes_nothing() -> None:
    down = report()
    down["sites"][0]["error"] = "connection refused"
    diff = diff_reports(report(BROKEN), down)
    assert diff.fixed == () and len(diff.unjudged) == 1


def test_shops_are_compared_with_themselves_only() -> None:
    old = report(BROKEN, site="https://other.example/")
    diff = diff_reports(old, report(BROKEN))
    assert len(diff.new) == 1 and diff.fixed == () and len(diff.unjudged) == 1


def test_repeated_fingerprints_count_as_a_multiset() -> None:
    diff = diff_reports(report(BROKEN), report(BROKEN, BROKEN))
    assert len(diff.unchanged) == 1 and len(diff.new) == 1
    assert diff.to_dict()["counts"] == {"new": 1, "fixed": 0, "unchanged": 1, "unjudged": 0}


def test_a_report_without_check_statuses_judges_every_check() -> None:
    new = report(BROKEN)
    del new["sites"][0]["checks"]
    diff = diff_reports(report(BROKEN, PHP), new)
    assert messages(diff.fixed) == [PHP["message"]] and len(diff.unchanged) == 1
