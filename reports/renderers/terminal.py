"""The end-of-scan summary on the terminal, from the JSON report.

Per shop: pages, requests and time, findings by check and severity (a table
of the checks that found something or failed to run; the checks that passed
are counted, the ones not run are listed once per reason), and the worst
problems with where they were seen. Everything printed that comes from a
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
    stats = site.get("stats") or {}
    if site.get("error"):
        console.print(f"[bold red]Could not scan {inert(site['site'])}: {inert(site['error'])}")
        return
    stopped = stats.get("stopped_detail") or stats.get("stopped_reason")
    done = "complete" if stats.get("complete", True) else f"stopped early: {inert(str(stopped))}"
    console.print(
        f"{stats.get('pages', 0)} pages, {stats.get('links_checked', 0)} links checked, "
        f"{stats.get('requests', 0)} requests in {float(stats.get('duration_s') or 0):.1f} s ({done})"
    )
    if str(stats.get("tls_verification", "on")).startswith("off"):
        console.print(f"[yellow]Certificate verification {inert(stats['tls_verification'])}")
    if site.get("unverifiable"):
        console.print(
            f"{len(site['unverifiable'])} links could not be judged (bot walls, rate limits, robots.txt)"
        )
    table = _checks_table(site)
    if table.row_count:
        console.print(table)
    _checks_not_in_table(site, console)
    worst = site.get("findings", [])[:WORST_SHOWN]
    if worst:
        console.print("[bold]Worst problems:")
        for finding in worst:
            style = SEVERITY_STYLE[finding["severity"]]
            console.print(
                f"  [{style}]{finding['severity']:<7}[/] {inert(finding['check']):<18} "
                f"{inert(str(finding.get('message')))}\n           [dim]on {inert(str(finding.get('page')))}[/]"
            )
        left_out = len(site.get("findings", [])) - len(worst)
        if left_out:
            console.print(f"  … and {left_out} more problems not shown here (all are in the JSON report)")
    _scores_summary(site.get("scores") or {}, console)


def _scores_summary(scores: dict[str, Any], console: Console) -> None:
    if scores.get("overall") is None:
        return
    console.print(f"[bold]O2O online score: {scores['overall']:.1f} / 100")
    areas = " · ".join(
        f"{inert(str(area))} {'–' if value is None else f'{value:.0f}'}"
        for area, value in (scores.get("areas") or {}).items()
    )
    unassessed = sum(1 for value in (scores.get("indicators") or {}).values() if value is None)
    rubric = scores.get("rubric") or {}
    console.print(
        f"  areas: {areas}; {unassessed} indicators not assessed (no weight)"
        + (f"; rubric {inert(str(rubric.get('name')))} {inert(str(rubric.get('version')))}" if rubric else "")
    )


def _checks_table(site: dict[str, Any]) -> Table:
    """A row for each check that found something or could not run as asked ("error")."""
    counts: Counter[tuple[str, str]] = Counter((f["check"], f["severity"]) for f in site.get("findings", []))
    table = Table("check", "status", "errors", "warnings", "info", "note", box=None, pad_edge=False)
    found = {check for check, _ in counts}
    for check in site.get("checks", []):
        cid = check["check"]
        if cid not in found and check["status"] in ("pass", "skipped"):
            continue
        table.add_row(
            inert(cid),
            check["status"],
            str(counts[(cid, "error")] or ""),
            str(counts[(cid, "warning")] or ""),
            str(counts[(cid, "info")] or ""),
            inert(check.get("detail") or ""),
        )
    return table


def _checks_not_in_table(site: dict[str, Any], console: Console) -> None:
    """The checks that passed, counted; the ones skipped, named once per reason."""
    checks = site.get("checks", [])
    found = {f["check"] for f in site.get("findings", [])}
    passed = sum(1 for c in checks if c["status"] == "pass" and c["check"] not in found)
    skipped: dict[str, list[str]] = {}
    for check in checks:
        if check["status"] == "skipped":
            setting = f" (checks: {{{check['check']}: …}})"  # where a check turned off says so
            reason = (check.get("detail") or "").removesuffix(setting)
            skipped.setdefault(reason, []).append(check["check"])
    if passed:
        console.print(f"{passed} checks passed with nothing to report")
    for reason, ids in skipped.items():
        console.print(f"[dim]Not run ({len(ids)}): {inert(', '.join(ids))}: {inert(reason)}[/]")
