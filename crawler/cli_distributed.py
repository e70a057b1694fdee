"""``shophealth worker`` and ``scan --distributed``: shops scanned by Celery
workers on other machines, results in the shared store (see
:mod:`shophealth.crawler.distributed`).

``scan --distributed --store URL --broker redis://…`` stores the run's header,
enqueues one job per shop and waits until every shop is stored (``--detach``:
prints the run id and returns; ``shophealth history``/``diff`` read it
later); then it writes the report as a local scan does. If the shops are not
all stored in time (each shop's budget, one after another, plus ten
minutes), it exits 1 naming the missing ones.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shophealth import __version__
from shophealth.crawler.cli import INTERRUPTED, app, err, fail, out
from shophealth.crawler.cli_history import Notify
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.scan import now_iso
from shophealth.reports.renderers.terminal import inert, render_summary
from shophealth.reports.report import write_json

if TYPE_CHECKING:
    from shophealth.reports.store import Store

BROKER_ENV = "SHOPHEALTH_BROKER"
VISIBILITY_TIMEOUT_S = 1800.0  # over a shop's default budget (600 s) with room
POLL_S = 1.0
SLACK_S = 600.0


@app.command("worker")
def worker_command(
    store: Annotated[
        str, typer.Option(help="The shared history database (postgresql://…).", envvar="SHOPHEALTH_STORE")
    ],
    broker: Annotated[str, typer.Option(help="The Celery broker (redis://host:port/db).", envvar=BROKER_ENV)],
    visibility_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds before a job of a worker that died is given to another.")
    ] = VISIBILITY_TIMEOUT_S,
    loglevel: Annotated[str, typer.Option(help="Celery's log level.")] = "INFO",
) -> None:
    """Scan shops enqueued by `scan --distributed`, one at a time, into the shared store."""
    from shophealth.crawler.distributed import QUEUE, make_app
    from shophealth.crawler.nightly import open_store

    open_store(store).close()  # a bad store is said now, not at the first job
    celery = make_app(broker, store, visibility_timeout)
    arguments = ["worker", "--pool", "solo", "--queues", QUEUE, "--loglevel", loglevel]
    arguments += [
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"shophealth-{uuid.uuid4().hex[:8]}@%h",
    ]
    celery.worker_main(arguments)


def scan_distributed(
    targets: list[SiteConfig],
    store_option: str | None,
    broker: str | None,
    detach: bool,
    json_path: Path | None,
    quiet: bool,
    notify: Notify,
) -> None:
    """Enqueue one job per shop, wait for all to be stored, report as a local scan does."""
    from shophealth.crawler.distributed import enqueue, make_app
    from shophealth.crawler.nightly import diff_with_previous, notify_regressions, open_store, summary_line
    from shophealth.reports.store import StoreError

    if store_option is None or broker is None:
        raise fail(f"--distributed needs --store (shared by the workers) and --broker (or ${BROKER_ENV})")
    run_id = uuid.uuid4().hex[:12]
    config = {**targets[0].config.public(), "tool_version": __version__, "distributed": True}
    with open_store(store_option) as store:
        try:
            store.save_run_header({"id": run_id, "started_at": now_iso(), "config": config}, "running")
            enqueue(make_app(broker), run_id, targets)
        except StoreError as exc:
            raise fail(str(exc), 1) from None
        except Exception as exc:  # kombu's connection errors have no common base
            raise fail(f"cannot enqueue on broker {broker}: {type(exc).__name__}: {exc}", 1) from None
        if detach:
            print(run_id)
            return
        _wait(store, run_id, targets, quiet)
        report = _finish(store, run_id)
        diff = diff_with_previous(store, report)
        display = store.display_url
    if json_path is not None:
        write_json(report, json_path)
    notify_regressions(notify, diff)
    if quiet:
        print(summary_line(report, diff, display))
    else:
        render_summary(report, out)
        out.print(inert(summary_line(report, diff, display)))
    if any(site.get("error") for site in report["sites"]):
        raise typer.Exit(1)


def _wait(store: Store, run_id: str, targets: list[SiteConfig], quiet: bool) -> None:
    from shophealth.reports.store import StoreError

    deadline = time.monotonic() + sum(t.config.budget_s for t in targets) + SLACK_S
    stored = -1
    try:
        while True:
            done = store.stored_sites(run_id)
            if done != stored and not quiet:
                err.print(f"run {run_id}: {done} of {len(targets)} shops stored")
            stored = done
            if done >= len(targets):
                return
            if time.monotonic() > deadline:
                missing = [t.url for t in targets if not store.has_site(run_id, t.url)]
                raise fail(f"run {run_id}: not stored in time: {', '.join(missing)}", 1)
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        err.print(f"Stopped waiting; the workers go on with run {run_id} (see `shophealth history`)")
        raise typer.Exit(INTERRUPTED) from None
    except StoreError as exc:
        raise fail(str(exc), 1) from None


def _finish(store: Store, run_id: str) -> dict[str, Any]:
    report = store.load_report(run_id)
    run = report["run"]
    store.save_run_header({**run, "finished_at": now_iso()}, "complete")
    return {**report, "run": {**run, "finished_at": now_iso(), "status": "complete"}}
