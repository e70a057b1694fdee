"""The end-of-scan summary on the terminal, from the JSON report.

Per shop: pages, requests and time, findings by check and severity, and the
worst problems with where they were seen. Everything printed that comes from a
crawled page is made inert first (rich markup escaped, control characters
replaced), so shop text cannot restyle or take over the terminal.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
WORST_SHOWN = 10


def inert(text: str) -> str:
    """Shop text made inert for the terminal: no markup, no escape sequences."""
    return escape(CONTROL_CHARACTERS.sub("\ufffd", text))


def render_summary(report: dict[str, Any], console: Console) -> None:
    for site in report["sites"]:
        _site_summary(site, console)


def _site_summary(site: dict[str, Any], console: Console) -> None:
    name = inert(site.get("name") or site["site"])
    console.rule(f"[bold]{name}")
    stats = site["stats"]
    if site.get("error"):
        console.print(f"[bold red]Could not scan {inert(site['site'])}: {inert(site['error'])}")
        return
    stopped = stats.get("stopped_detail") or stats.get("stopped_reason")
    done = "complete" if stats["complete"] else f"stopped early: {inert(str(stopped))}"
    console.print(
        f"{stats['pages']} pages, {stats['links_checked']} links checked, "
        f"{stats['requests']} requests in {stats['duration_s']:.1f} s ({done})"
    )
    if str(stats.get("tls_verification", "on")).startswith("off"):
        console.print(f"[yellow]Certificate verification {inert(stats['tls_verification'])}")
    if site["unverifiable"]:
        console.print(
            f"{len(site['unverifiable'])} links could not be judged (bot walls, rate limits, robots.txt)"
        )
    console.print(_checks_table(site))
    worst = site["findings"][:WORST_SHOWN]
    if worst:
        console.print("[bold]Worst problems:")
        for finding in worst:
            style = SEVERITY_STYLE[finding["severity"]]
            console.print(
                f"  [{style}]{finding['severity']:<7}[/] {inert(finding['check']):<18} "
                f"{inert(finding['message'])}\n           [dim]on {inert(finding['page'])}[/]"
            )
        left_out = len(site["findings"]) - len(worst)
        if left_out:
            console.print(f"  … and {left_out} more problems not shown here (all are in the JSON report)")
    scores = site.get("scores") or {}
    if scores.get("overall") is not None:
        console.print(f"[bold]O2O online score: {scores['overall']:.1f} / 100")


def _checks_table(site: dict[str, Any]) -> Table:
    counts: Counter[tuple[str, str]] = Counter((f["check"], f["severity"]) for f in site["findings"])
    table = Table("check", "status", "errors", "warnings", "info", "note", box=None, pad_edge=False)
    for check in site["checks"]:
        cid = check["check"]
        table.add_row(
            inert(cid),
            check["status"],
            str(counts[(cid, "error")] or ""),
            str(counts[(cid, "warning")] or ""),
            str(counts[(cid, "info")] or ""),
            inert(check.get("detail") or ""),
        )
    return table
