"""``shophealth judge DIR``: run every check and the score on saved evidence, offline.

The evidence is what ``shophealth scan … --save-evidence DIR`` wrote (the
format is in :mod:`shophealth.crawler.evidence_store`). Judging opens no
socket: the checks are pure functions of the evidence. With the same checks
and settings, the report equals the scan's own (findings, check statuses,
scores, unverifiable links, stats); ``--sites FILE`` judges again with the
check settings of a sites file (by shop URL), e.g. another ``ignore`` list.

Exit codes as for ``scan``: 0 judged, 1 a shop in the evidence could not be
scanned, 2 bad input (a missing or damaged evidence folder, a bad sites file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shophealth.checks.registry import RegistryError, load_registry
from shophealth.crawler.cli import _write_report as write_report
from shophealth.crawler.cli import app, err, fail
from shophealth.crawler.config import ConfigError, ScanConfig, check_output_file, load_sites_file
from shophealth.crawler.evidence_store import EvidenceError, judge_saved, load_evidence
from shophealth.reports.renderers.terminal import inert
from shophealth.reports.report import build_report


@app.command("judge")
def judge_command(
    evidence: Annotated[Path, typer.Argument(help="Folder written by scan --save-evidence.")],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here (- for standard output).")
    ] = None,
    sites: Annotated[
        Path | None, typer.Option(help="Sites file whose per-shop check settings replace the saved ones.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Judge saved evidence again, with no network access, and report as the scan did."""
    try:
        registry = load_registry()
        saved = load_evidence(evidence)
        checks = _checks_by_site(sites) if sites is not None else None
        if json_path is not None and str(json_path) != "-":
            check_output_file(str(json_path), "--json")
    except (EvidenceError, RegistryError, ConfigError) as exc:
        raise fail(str(exc)) from None
    report = build_report(judge_saved(saved, registry, checks))
    write_report(report, json_path, quiet)
    unscanned = [s for s in report["sites"] if s.get("error")]
    for site in unscanned:
        err.print(f"[bold red]error:[/] {inert(site['site'])} was not scanned: {inert(site['error'])}")
    if unscanned:
        raise typer.Exit(1)


def _checks_by_site(path: Path) -> dict[str, Any]:
    return {site.url: site.config.checks for site in load_sites_file(path, ScanConfig())}
