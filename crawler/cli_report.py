"""``shophealth report RUN.json``: score a stored run again and render every output, without crawling.

The scores are recomputed from the report's findings, check statuses and
Lighthouse scores with ``--rubric`` (default: the shipped one) and the scores
entered with ``--manual``. Exit codes: 0 written, 2 bad input (a file that
cannot be read, is not a shophealth report, a malformed rubric or manual
scores file); errors are one line naming the file, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from shophealth.checks.registry import RegistryError, load_registry
from shophealth.crawler.cli import app, err, fail, out
from shophealth.crawler.cli_history import StoreOption
from shophealth.reports.guidance import LANGUAGES
from shophealth.reports.manual import ManualError, ManualScores, load_manual
from shophealth.reports.renderers.csv import write_csv
from shophealth.reports.renderers.html import write_html
from shophealth.reports.renderers.json import write_json
from shophealth.reports.renderers.sarif import write_sarif
from shophealth.reports.renderers.selection import Failing
from shophealth.reports.renderers.terminal import inert, render_summary
from shophealth.reports.report import SCHEMA, ReportError, check_report
from shophealth.reports.rubric import Rubric, RubricError
from shophealth.reports.scoring import score_site
from shophealth.reports.trend import TrendPoint

RubricOption = Annotated[
    Path | None, typer.Option(help="Rubric YAML to score with (default: the shipped one).")
]
ManualOption = Annotated[
    Path | None, typer.Option(help="Manual indicator scores (CSV or YAML), keyed by site URL or name.")
]
HtmlOption = Annotated[
    Path | None, typer.Option(help="Write the HTML report (index.html + a page per shop) here.")
]
LangOption = Annotated[str, typer.Option(help="Language of the HTML report: en or zh-HK.")]
JunitOption = Annotated[Path | None, typer.Option(help="Write JUnit XML here.")]
SarifOption = Annotated[Path | None, typer.Option(help="Write SARIF 2.1.0 here.")]


def load_report(path: Path) -> dict[str, Any]:
    """A stored SPEC §3 report, or exit 2 with one line saying why not."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read report {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"report {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise fail(f"{path} is not a shophealth report (schema {SCHEMA})")
    try:
        check_report(data)
    except ReportError as exc:
        raise fail(f"report {path} cannot be read: {exc}") from None
    return data


def load_scoring(rubric_path: Path | None, manual_path: Path | None) -> tuple[Rubric, ManualScores]:
    """The rubric (its check ids checked against SPEC's and the installed checks') and entered scores."""
    try:
        rubric = Rubric.default()
        if rubric_path is not None:
            rubric = Rubric.load(rubric_path, known_checks=load_registry().checks)
        manual = ManualScores() if manual_path is None else load_manual(manual_path, rubric)
    except (RubricError, ManualError, RegistryError) as exc:
        raise fail(str(exc)) from None
    return rubric, manual


def rescore(report: dict[str, Any], rubric: Rubric, manual: ManualScores) -> None:
    shops = [(str(site.get("site", "")), site.get("name")) for site in report["sites"]]
    for site, (url, name) in zip(report["sites"], shops, strict=True):
        site["scores"] = score_site(site, rubric, manual.for_site(url, name))
    for shop in manual.unmatched(shops):
        err.print(
            f"[yellow]warning:[/] scores were entered for {inert(repr(shop))}, but no shop in the report has that URL or name"
        )


def check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise fail(f"--lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")


def write_outputs(
    report: Mapping[str, Any],
    rubric: Rubric,
    *,
    html: Path | None = None,
    lang: str = "en",
    junit: Path | None = None,
    sarif: Path | None = None,
    csv_dir: Path | None = None,
    json_path: Path | None = None,
    fails: Failing | None = None,
    new: set[tuple[str, str]] | None = None,
    history: Mapping[str, Sequence[TrendPoint]] | None = None,
) -> list[Path]:
    """Render the outputs asked for; a file that cannot be written is bad input (exit 2)."""
    written: list[Path] = []
    try:
        if json_path is not None:
            write_json(report, json_path)
            written.append(json_path)
        if html is not None:
            written.append(write_html(report, html, lang, rubric, history))
        if junit is not None:
            from shophealth.reports.renderers.junit import write_junit  # lxml: 15 ms, only for --junit

            write_junit(report, junit, fails)
            written.append(junit)
        if sarif is not None:
            write_sarif(report, sarif, new)
            written.append(sarif)
        if csv_dir is not None:
            written.extend(write_csv(report, csv_dir))
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or 'output'}: {exc.strerror or exc}") from None
    return written


def stored_history(store: str, report: Mapping[str, Any]) -> dict[str, list[TrendPoint]]:
    """Each shop's stored runs up to the report's run (exit 2 if the store cannot be read)."""
    from shophealth.crawler import nightly
    from shophealth.reports.store import StoreError

    with nightly.open_store(store) as history:
        try:
            return nightly.stored_history(history, report)
        except StoreError as exc:
            raise fail(str(exc)) from None


@app.command("report")
def report_command(
    run_json: Annotated[Path, typer.Argument(metavar="RUN.json", help="A stored JSON report (scan --json).")],
    rubric: RubricOption = None,
    manual: ManualOption = None,
    html: HtmlOption = None,
    lang: LangOption = "en",
    junit: JunitOption = None,
    sarif: SarifOption = None,
    csv: Annotated[
        Path | None, typer.Option(help="Write findings.csv and scores.csv into this folder.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the rescored JSON report here.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    store: StoreOption = None,
) -> None:
    """Score a stored run again and render its reports (HTML, JUnit, SARIF, CSV, JSON), without crawling.

    With ``--store`` and ``--html``, each shop's page charts its stored runs up to this one."""
    check_lang(lang)
    report = load_report(run_json)
    rubric_used, entered = load_scoring(rubric, manual)
    rescore(report, rubric_used, entered)
    history = stored_history(store, report) if store is not None and html is not None else None
    written = write_outputs(
        report,
        rubric_used,
        html=html,
        lang=lang,
        junit=junit,
        sarif=sarif,
        csv_dir=csv,
        json_path=json_path,
        history=history,
    )
    if not quiet:
        render_summary(report, out)
        for path in written:
            out.print(f"Written: {inert(str(path))}")
