"""URL normalisation (one target per URL however it is written) and the score's
contract (issue 9, item 11)."""

from __future__ import annotations

import pytest

from shophealth.crawler.urls import normalize, resolve
from shophealth.reports.scoring import score


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("HTTP://Shop.Example:80/a/./b/../c?b=2&a=1#reviews", "http://shop.example/a/c?b=2&a=1"),
        ("https://shop.example:443/%7Euser/café", "https://shop.example/~user/caf%C3%A9"),
        ("https://shop.example", "https://shop.example/"),
        ("https://shop.example/a b", "https://shop.example/a%20b"),
        ("https://shop.example/p?", "https://shop.example/p"),
        ("https://admin:hunter2@shop.example/p", "https://shop.example/p"),
        ("https://shop.example:8443/p", "https://shop.example:8443/p"),
    ],
)
def test_normalisation(written: str, normal: str) -> None:
    assert normalize(written) == normal


@pytest.mark.parametrize(
    ("href", "absolute"),
    [
        ("../c", "https://shop.example/c"),
        ("//cdn.example/x.js", "https://cdn.example/x.js"),
        ("/p#reviews", "https://shop.example/p"),
        ("mailto:shop@example.com", None),
        ("javascript:void(0)", None),
        ("#top", None),
        ("", None),
    ],
)
def test_resolution_against_a_page(href: str, absolute: str | None) -> None:
    assert resolve("https://shop.example/a/b", href) == absolute


STATUSES = {"links.broken": "pass", "errors.php": "pass", "tls.expired": "skipped"}


def _finding(check: str, severity: str) -> dict[str, str]:
    return {"check": check, "severity": severity}


def test_a_shop_with_nothing_found_scores_100_and_unjudged_indicators_are_null() -> None:
    scores = score([], STATUSES)
    assert scores["overall"] == 100
    assert scores["indicators"]["site_reliability"] == 100
    assert scores["indicators"]["security_trust"] is None  # its only check was skipped


def test_findings_lower_the_score_by_severity_and_never_below_0() -> None:
    error = score([_finding("links.broken", "error")], STATUSES)["indicators"]["site_reliability"]
    warning = score([_finding("links.broken", "warning")], STATUSES)["indicators"]["site_reliability"]
    flood = [_finding(c, "error") for c in ("links.broken", "errors.php") for _ in range(100)]
    floor = score(flood, STATUSES)["indicators"]["site_reliability"]
    assert 100 > warning > error > floor >= 0


def test_the_score_is_reproducible_from_the_findings_alone() -> None:
    findings = [_finding("links.broken", "error"), _finding("errors.php", "warning")]
    assert score(findings, STATUSES) == score(list(reversed(findings)), dict(STATUSES))
