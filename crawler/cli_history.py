"""Run history on the command line: ``history`` and ``diff``, and the door
to what ``scan --store`` does around a scan (:mod:`shophealth.crawler.nightly`).

The database, Alembic and Celery are imported only by the commands that use
them, so that ``shophealth scan`` without a store starts as fast as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shophealth.crawler.cli import app, fail, out
from shophealth.reports.renderers.terminal import inert

if TYPE_CHECKING:
    from shophealth.crawler.nightly import Nightly
    from shophealth.reports.store import Store

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="History database URL: sqlite:///path or postgresql://… ('default': in the user data dir).",
        envvar="SHOPHEALTH_STORE",
    ),
]


@dataclass
class Notify:
    """Where regressions are sent."""

    webhook: str | None = None
    mail_to: Sequence[str] = ()
    smtp: str = "smtp://localhost"
    mail_from: str = field(
        default_factory=lambda: os.environ.get("SHOPHEALTH_MAIL_FROM", "shophealth@localhost")
    )


def start_nightly(
    store: str | None, quiet: bool, notify: Notify, link_cache_days: float, resume: bool
) -> Nightly | None:
    """The store side of ``scan --store`` (see :class:`Nightly`), or None without a store."""
    if store is None:
        if notify.webhook or notify.mail_to or resume:
            raise fail("--webhook, --mail-to and --resume need --store")
        return None
    from shophealth.crawler.nightly import Nightly

    return Nightly.start(store, quiet, notify, link_cache_days, resume)


@app.command("history")
def history_command(
    shop: Annotated[str | None, typer.Argument(help="Only this shop (its URL or name).")] = None,
    store: StoreOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Shop runs listed, newest first.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List stored runs with their scores and finding counts."""
    from rich.table import Table

    from shophealth.crawler.nightly import open_store
    from shophealth.reports.store import StoreError

    with open_store(store) as history:
        try:
            rows = history.history(shop, limit)
        except StoreError as exc:
            raise fail(str(exc), 1) from None
    if as_json:
        out.print_json(json.dumps([row.__dict__ for row in rows]))
        return
    table = Table("run", "started", "status", "shop", "score", "errors", "warnings", "info")
    for row in rows:
        counts = row.findings
        score = "not scanned" if row.error else ("–" if row.overall is None else f"{row.overall:.1f}")
        table.add_row(
            row.run_id,
            row.started_at,
            row.status,
            inert(row.shop),
            score,
            *(str(counts.get(level, 0)) for level in ("error", "warning", "info")),
        )
    out.print(table)


@app.command("diff")
def diff_command(
    old: Annotated[
        str, typer.Argument(help="The earlier run: a stored run id (or prefix), or a JSON report.")
    ],
    new: Annotated[str, typer.Argument(help="The later run: a stored run id (or prefix), or a JSON report.")],
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """What changed between two runs: new, fixed and persisting problems, score changes."""
    from shophealth.reports.store.diff import run_diff

    diff = run_diff(*_load_reports((old, new), store))
    if as_json:
        print(json.dumps(diff, ensure_ascii=False, indent=2))
        return
    _print_diff(diff)


def _load_reports(refs: Sequence[str], store: str | None) -> list[dict[str, Any]]:
    """Reports from JSON files, or from the store for what is not a file."""
    from shophealth.crawler.nightly import open_store
    from shophealth.reports.store import StoreError

    history: Store | None = None
    reports = []
    try:
        for ref in refs:
            if Path(ref).is_file():
                reports.append(_read_report(Path(ref)))
                continue
            history = history or open_store(store)
            reports.append(history.load_report(ref))
    except StoreError as exc:
        raise fail(str(exc)) from None
    finally:
        if history is not None:
            history.close()
    return reports


def _read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"cannot read report {path}: {exc}") from None
    if not isinstance(report, dict) or not isinstance(report.get("sites"), list):
        raise fail(f"{path} is not a shophealth JSON report")
    return report


def _print_diff(diff: Mapping[str, Any]) -> None:
    totals = diff["totals"]
    out.print(f"{totals['new']} new, {totals['fixed']} fixed, {totals['persisting']} persisting")
    for site in diff["sites"]:
        overall = site["scores"]["overall"]
        out.rule(f"[bold]{inert(site['site'])}")
        out.print(f"score {overall['old']} → {overall['new']} ({_signed(overall['change'])})")
        for label, key in (("new", "new"), ("fixed", "fixed")):
            for f in site[key]:
                out.print(
                    f"  {label:<5} {f['severity']:<7} {inert(f['check'])} {inert(f['target'] or f['page'])}"
                )


def _signed(change: float | None) -> str:
    return "–" if change is None else f"{change:+.1f}"
