"""The terminal summary makes shop text inert: no rich markup, no escape sequences."""

from __future__ import annotations

import io
import re

from rich.console import Console

from shophealth.reports.renderers.terminal import render_summary

HOSTILE = "\x1b[2J\x1b]0;pwned\x07[bold red]FAKE[/] Warning"


def test_hostile_shop_text_cannot_restyle_or_drive_the_terminal() -> None:
    site = {
        "site": "http://127.0.0.1/",
        "name": HOSTILE,
        "error": None,
        "stats": {"pages": 1, "links_checked": 0, "requests": 1, "duration_s": 0.1, "complete": True},
        "unverifiable": [],
        "checks": [{"check": "errors.php", "status": "warn", "detail": None}],
        "findings": [
            {
                "check": "errors.php",
                "severity": "warning",
                "page": "http://127.0.0.1/\x1b[31m",
                "message": HOSTILE,
            }
        ],
        "scores": None,
    }
    buffer = io.StringIO()
    render_summary({"sites": [site]}, Console(file=buffer, force_terminal=True, width=200))
    out = buffer.getvalue()
    assert "\x07" not in out and "\x1b]0;" not in out and "\x1b[2J" not in out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)  # rich's own styling
    assert "\x1b" not in plain
    assert "[bold red]FAKE[/]" in plain  # shown as text, not applied as style


def test_summary_says_how_many_problems_it_left_out() -> None:
    findings = [
        {"check": "links.broken", "severity": "error", "page": f"http://127.0.0.1/p{i}", "message": "broken"}
        for i in range(13)
    ]
    site = {
        "site": "http://127.0.0.1/",
        "name": "Shop",
        "error": None,
        "stats": {"pages": 13, "links_checked": 13, "requests": 13, "duration_s": 0.1, "complete": True},
        "unverifiable": [],
        "checks": [{"check": "links.broken", "status": "fail", "detail": None}],
        "findings": findings,
        "scores": None,
    }
    buffer = io.StringIO()
    render_summary({"sites": [site]}, Console(file=buffer, width=200))
    assert "… and 3 more problems not shown here" in buffer.getvalue()


def test_summary_tables_only_what_needs_reading() -> None:
    """Checks that passed are counted, checks skipped for one reason named on one line: a
    shop with 12 checks turned off must not print a 35-row table."""
    off = "turned off in the settings"
    checks = [
        {"check": "links.broken", "status": "fail", "detail": None},
        {"check": "seo.basics", "status": "pass", "detail": None},  # info findings only
        {"check": "errors.php", "status": "pass", "detail": None},
        {"check": "errors.server", "status": "pass", "detail": None},
        {
            "check": "privacy.missing",
            "status": "skipped",
            "detail": f"{off} (checks: {{privacy.missing: …}})",
        },
        {"check": "content.about", "status": "skipped", "detail": f"{off} (checks: {{content.about: …}})"},
        {"check": "mobile.lighthouse", "status": "error", "detail": "RuntimeError: boom"},
    ]
    findings = [
        {"check": "links.broken", "severity": "error", "page": "http://127.0.0.1/", "message": "broken"},
        {"check": "seo.basics", "severity": "info", "page": "http://127.0.0.1/", "message": "no description"},
    ]
    site = {
        "site": "http://127.0.0.1/",
        "name": "Shop",
        "stats": {"pages": 1, "links_checked": 1, "requests": 1, "duration_s": 0.1, "complete": True},
        "checks": checks,
        "findings": findings,
    }
    buffer = io.StringIO()
    render_summary({"sites": [site]}, Console(file=buffer, width=200))
    lines = buffer.getvalue().splitlines()
    rows = [line.split()[0] for line in lines if line.split() and "." in line.split()[0]]
    assert rows == ["links.broken", "seo.basics", "mobile.lighthouse"]
    assert "2 checks passed with nothing to report" in lines
    assert f"Not run (2): privacy.missing, content.about: {off}" in lines
    assert "RuntimeError: boom" in buffer.getvalue()
