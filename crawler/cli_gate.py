"""``shophealth gate``: scan, then pass or fail a CI job.

Takes every ``scan`` option (its parameters are ``scan``'s own, read from
``scan_command``'s signature, so an option added to ``scan`` is a gate option
too) plus the gate's. The scan itself is ``scan_command``, run quietly into a
JSON report; the gate then scores it (``--rubric``, ``--manual``), compares it
with ``--baseline`` if given, and fails when a finding at or above
``--fail-on`` is left (with a baseline: only findings new since it) or a
shop's overall score is below ``--min-score``.

Exit codes: 0 passed, 1 failed, 2 bad input (checked before scanning), 3 a
shop could not be scanned at all (CI must tell a broken shop from a broken
run), 130 interrupted. It prints a short list of what failed and, with a
baseline, how many problems are new, fixed and unchanged.
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from shophealth.crawler.cli import INTERRUPTED, SCAN_SUMMARY, app, err, fail, out, scan_command
from shophealth.crawler.cli_report import (
    JunitOption,
    ManualOption,
    RubricOption,
    SarifOption,
    check_lang,
    load_report,
    load_scoring,
    rescore,
    write_outputs,
)
from shophealth.reports.diff import ReportDiff, diff_reports
from shophealth.reports.renderers.selection import FAIL_ON, failing
from shophealth.reports.renderers.terminal import inert, render_summary

FAILED, BAD_INPUT, NOT_SCANNED = 1, 2, 3
LISTED = 20  # failing findings printed; the JUnit/SARIF files have them all
OWN_OUTPUTS = ("json_path", "html", "lang", "quiet")  # scan options the gate handles itself


def _gate_parameters() -> list[inspect.Parameter]:
    def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default
        )

    return [
        option(
            "fail_on",
            Annotated[
                str, typer.Option(help="Fail on findings of this severity or worse: error or warning.")
            ],
            "error",
        ),
        option(
            "min_score",
            Annotated[
                float | None,
                typer.Option(min=0, max=100, help="Fail when a shop's overall score is below this."),
            ],
            None,
        ),
        option(
            "baseline",
            Annotated[
                Path | None, typer.Option(help="An earlier JSON report: fail only on problems new since it.")
            ],
            None,
        ),
        option("junit", JunitOption, None),
        option("sarif", SarifOption, None),
        option("rubric", RubricOption, None),
        option("manual", ManualOption, None),
    ]


def gate_command(**options: Any) -> None:
    """Scan shops and pass or fail a CI job: exit 0 passed, 1 failed, 2 bad input, 3 a shop could not be scanned."""
    gate = {p.name: options.pop(p.name) for p in _gate_parameters()}
    json_path, html, lang, quiet = (options.pop(name) for name in OWN_OUTPUTS)
    to_stdout = json_path is not None and str(json_path) == "-"  # the report on stdout, the rest on stderr
    if gate["fail_on"] not in FAIL_ON:
        raise fail(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {gate['fail_on']!r}", BAD_INPUT)
    check_lang(lang)
    json_file = None if to_stdout else json_path
    _check_outputs(html, [json_file, gate["junit"], gate["sarif"]])
    baseline = load_report(gate["baseline"]) if gate["baseline"] is not None else None
    rubric, manual = load_scoring(gate["rubric"], gate["manual"])
    with tempfile.TemporaryDirectory(prefix="shophealth-gate-") as scratch:
        report = _scan(options, json_file or Path(scratch) / "run.json", quiet or to_stdout)
    rescore(report, rubric, manual)
    diff = diff_reports(baseline, report) if baseline is not None else None
    new = {(f["site"], f["fingerprint"]) for f in diff.new} if diff is not None else None
    fails = failing(gate["fail_on"], new)
    outputs = {
        "html": html,
        "lang": lang,
        "junit": gate["junit"],
        "sarif": gate["sarif"],
        "json_path": json_file,
    }
    write_outputs(report, rubric, **outputs, fails=fails, new=new)
    if to_stdout:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    failed = [
        (site, f) for site in report["sites"] for f in site.get("findings", []) if fails(site["site"], f)
    ]
    low = _below(report, gate["min_score"])
    not_scanned = any(site.get("error") for site in report["sites"])
    if not quiet:
        console = err if to_stdout else out
        render_summary(report, console)  # scored as the gate judges (--rubric, --manual)
        if json_file is not None:
            console.print(f"Report written to {inert(str(json_file))}")
        _print_outcome(console, failed, low, diff, gate["fail_on"], not_scanned)
    if not_scanned:
        raise typer.Exit(NOT_SCANNED)
    if failed or low:
        raise typer.Exit(FAILED)


def _check_outputs(html: Path | None, files: list[Path | None]) -> None:
    """Output paths that cannot be written are bad input, said before a scan that may take minutes."""
    for path in files:
        if path is not None and not path.parent.is_dir():
            raise fail(f"cannot write {path}: no folder {path.parent}", BAD_INPUT)
    try:
        if html is not None:
            html.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"cannot make the HTML report folder {html}: {exc.strerror or exc}", BAD_INPUT) from None


def _scan(options: dict[str, Any], json_path: Path, quiet: bool) -> dict[str, Any]:
    """Run ``scan`` into ``json_path`` (its progress and the shops it could not scan shown
    as usual, its summary left to the gate) and read the report back; its exit codes
    become the gate's."""
    summary = SCAN_SUMMARY.set(False)
    try:
        scan_command(**options, json_path=json_path, html=None, lang="en", quiet=quiet)
    except typer.Exit as stop:
        if stop.exit_code == INTERRUPTED:
            raise
        if stop.exit_code not in (0, 1):  # 1: a shop could not be scanned, told by the report
            raise typer.Exit(BAD_INPUT) from None
    finally:
        SCAN_SUMMARY.reset(summary)
    return load_report(json_path)


def _below(report: Mapping[str, Any], minimum: float | None) -> list[tuple[str, float]]:
    if minimum is None:
        return []
    scored = ((site["site"], (site.get("scores") or {}).get("overall")) for site in report["sites"])
    return [(url, value) for url, value in scored if value is not None and value < minimum]


def _print_outcome(
    console: Console,
    failed: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
    low: list[tuple[str, float]],
    diff: ReportDiff | None,
    fail_on: str,
    not_scanned: bool,
) -> None:
    if diff is not None:
        counts = diff.to_dict()["counts"]
        console.print(
            f"Against the baseline: {counts['new']} new, {counts['fixed']} fixed, {counts['unchanged']} unchanged"
        )
    for url, value in low:
        console.print(f"[bold red]FAIL[/] {inert(url)}: overall score {value:.1f} is below the minimum")
    what = "new problems" if diff is not None else "problems"
    if failed:
        console.print(f"[bold red]FAIL[/] {len(failed)} {what} at {fail_on} level or worse:")
    for site, finding in failed[:LISTED]:
        where = finding.get("target") or finding.get("page")
        console.print(
            f"  {inert(str(finding['severity'])):<7} {inert(str(finding['check'])):<18} {inert(str(where))}\n"
            f"          {inert(str(finding.get('message', '')))} [dim]({inert(site['site'])})[/]"
        )
    if len(failed) > LISTED:
        console.print(f"  … and {len(failed) - LISTED} more (see the JUnit or SARIF file)")
    if not (failed or low or not_scanned):
        console.print(f"[bold green]PASS[/] no {what} at {fail_on} level or worse")


gate_command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [*inspect.signature(scan_command, eval_str=True).parameters.values(), *_gate_parameters()]
)
app.command("gate")(gate_command)
