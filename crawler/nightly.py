"""What ``scan --store`` does around a scan (the nightly use).

``scan --store URL`` (or ``$SHOPHEALTH_STORE``; ``--store default`` is the
SQLite file in the user's data directory) takes a lock on the store so two
runs never overlap (the second exits with code 75, EX_TEMPFAIL, and says
why), reads the external-link cache, checkpoints the crawl as it goes
(``--resume`` goes on with a run that did not finish, without scanning the
shops it had finished again), stores each shop as soon as it is judged and
the run once all are, compares each shop with its previous stored run, and
on regressions posts the diff to ``--webhook`` and mails it to ``--mail-to``. With ``--quiet`` it
prints one line: the run id, shops, findings and what changed. Exit codes
are the scan's; a store that cannot be opened is 2, one that cannot be
written after the scan is 1.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock
import platformdirs
from sqlalchemy.engine import make_url

from shophealth import __version__
from shophealth.crawler.cli import err, fail, out
from shophealth.crawler.cli_history import Notify
from shophealth.crawler.hooks import RunHooks
from shophealth.crawler.link_cache import LinkCache
from shophealth.crawler.scan import Run, now_iso
from shophealth.reports.renderers.terminal import inert
from shophealth.reports.store import Store, StoreError, default_url
from shophealth.reports.store.checkpoint import StoreCheckpoints
from shophealth.reports.store.diff import has_regressions, run_diff
from shophealth.reports.store.notify import NotifyError, post_webhook, send_mail
from shophealth.reports.trend import TrendPoint

LOCKED = 75  # EX_TEMPFAIL: another run holds the store's lock; try later


def store_url(option: str | None) -> str:
    return default_url() if option in (None, "", "default") else str(option)


def open_store(option: str | None) -> Store:
    try:
        return Store(store_url(option))
    except StoreError as exc:
        raise fail(str(exc)) from None


@dataclass
class Nightly:
    """The store side of one ``scan --store``: lock, store, compare, notify."""

    store: Store
    lock: filelock.BaseFileLock
    quiet: bool
    notify: Notify = field(default_factory=Notify)
    hooks: RunHooks = field(default_factory=RunHooks)

    checkpoints: StoreCheckpoints | None = None
    history: dict[str, list[TrendPoint]] | None = None  # read by finish() for the HTML report
    stored: set[int] = field(default_factory=set)  # positions of the shops stored as they finished

    @classmethod
    def start(
        cls, option: str, quiet: bool, notify: Notify, link_cache_days: float = 3, resume: bool = False
    ) -> Nightly:
        """Open the store, take its lock, read the link cache and start
        checkpointing (or go on with the unfinished run) before scanning."""
        store = open_store(option)
        lock = filelock.FileLock(lock_path(store.url), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            store.close()
            raise fail(
                f"another shophealth scan is using store {store.display_url}; this run exits without scanning",
                LOCKED,
            ) from None
        nightly = cls(store, lock, quiet, notify)
        try:
            nightly._begin(link_cache_days, resume)
        except StoreError as exc:
            nightly.close()
            raise fail(str(exc)) from None
        return nightly

    def _begin(self, link_cache_days: float, resume: bool) -> None:
        if link_cache_days > 0:
            self.hooks.link_cache = LinkCache.from_rows(self.store.cached_links(), link_cache_days * 86400)
        run_id = self.store.resumable_run() if resume else None
        if resume and not self.quiet:
            err.print(f"Resuming run {run_id}" if run_id else "Nothing to resume: starting a new run")
        self.hooks.run_id = run_id or uuid.uuid4().hex[:12]
        self.store.save_run_header(
            {"id": self.hooks.run_id, "started_at": now_iso(), "config": {}}, "running"
        )
        self.checkpoints = StoreCheckpoints(self.store, self.hooks.run_id, resume=run_id is not None)
        self.hooks.checkpoints = self.checkpoints

    def close(self) -> None:
        if self.checkpoints is not None:
            self.checkpoints.close()
        self.store.close()
        self.lock.release()

    def site_done(self, position: int, site: Mapping[str, Any], finished: bool) -> None:
        """Store a shop's part of the run as soon as it is judged and, if it ``finished``
        (not cut short by Ctrl-C), checkpoint it so that ``--resume`` does not scan it
        again. A store that cannot be written now is tried again by :meth:`finish`."""
        try:
            self.store.save_site(str(self.hooks.run_id), position, site)
        except StoreError:
            return
        self.stored.add(position)
        if finished and self.checkpoints is not None:
            self.checkpoints.site_finished(site["site"], site)

    def finish(self, run: Run, report: Mapping[str, Any], history: bool = False) -> None:
        """Store the run (the shops not stored as they finished), compare it with the
        last one, tell who asked, release the lock; with ``history``, keep each shop's
        earlier runs in :attr:`history` for the trend charts."""
        try:
            status = "interrupted" if run.interrupted else "complete"
            if self.checkpoints is not None:
                self.checkpoints.close()
            self.store.save_report(report, status, stored=self.stored)
            if status == "complete":
                self.store.drop_checkpoint(run.id)
            diff = diff_with_previous(self.store, report)
            if history:
                self.history = stored_history(self.store, report)
            cache = self.hooks.link_cache
            if cache is not None:
                self.store.cache_links(cache.fresh_rows(), cache.expires_at())
        except StoreError as exc:
            raise fail(f"the scan could not be stored: {exc}", 1) from None
        finally:
            self.close()
        notify_regressions(self.notify, diff)
        line = summary_line(report, diff, self.store.display_url)
        if self.quiet:
            print(line)
        else:
            out.print(inert(line))


def notify_regressions(notify: Notify, diff: dict[str, Any]) -> None:
    """Send the diff where asked when something got worse; a failure is a warning."""
    if not has_regressions(diff):
        return
    try:
        if notify.webhook:
            post_webhook(notify.webhook, diff, f"shophealth/{__version__}")
        if notify.mail_to:
            send_mail(notify.smtp, notify.mail_from, notify.mail_to, diff)
    except NotifyError as exc:
        err.print(f"[bold yellow]warning:[/] regressions not sent: {inert(str(exc))}")


def stored_history(store: Store, report: Mapping[str, Any]) -> dict[str, list[TrendPoint]]:
    """Per shop of the report, its stored runs up to the report's run, without that run."""
    run = report["run"]
    started = str(run.get("started_at") or "9999")
    return {
        site["site"]: store.trend(site["site"], started, leave_out=run.get("id")) for site in report["sites"]
    }


def diff_with_previous(store: Store, report: Mapping[str, Any]) -> dict[str, Any]:
    """The stored run ``report`` against each shop's previous stored run; shops
    stored for the first time are left out (nothing to compare with)."""
    previous = store.previous_report(report["run"]["id"])
    known = {site["site"] for site in previous["sites"]}
    return run_diff(previous, {**report, "sites": [s for s in report["sites"] if s["site"] in known]})


def lock_path(url: str) -> Path:
    """Beside a SQLite file; else in the user's runtime folder, one per store URL."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        return Path(f"{Path(parsed.database).expanduser()}.lock")
    folder = Path(platformdirs.user_runtime_dir("shophealth", appauthor=False, ensure_exists=True))
    digest = hashlib.sha256(parsed.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return folder / f"store-{digest}.lock"


def summary_line(report: Mapping[str, Any], diff: Mapping[str, Any], where: str) -> str:
    sites = report["sites"]
    failed = sum(1 for s in sites if s.get("error"))
    findings = sum(len(s.get("findings") or ()) for s in sites)
    totals = diff["totals"]
    return (
        f"run {report['run']['id']}: {len(sites) - failed} shops scanned, {failed} not; "
        f"{findings} findings, {totals['new']} new, {totals['fixed']} fixed since the last run; "
        f"stored in {where}"
    )
