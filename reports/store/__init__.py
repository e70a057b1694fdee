"""The history store: every scan's findings and summaries in a database.

SQLite by default (``history.sqlite3`` in the user's data directory, from
``platformdirs``), or any URL SQLAlchemy knows: ``sqlite:///path``,
``postgresql://user@host/db`` (driven by psycopg 3). Opening a store brings
its schema up to date with the Alembic migrations shipped in
``migrations/``, so history written by an older version is kept.

What is stored per shop and run (SPEC §3, less the raw artifacts): pages
(URL, status, kind), findings with their fingerprints, check statuses,
scores per area and indicator, TLS facts per host, Lighthouse scores and
unverifiable links. :meth:`Store.load_report` gives a stored run back in
the report's shape. Writing a shop's part of a run replaces what was stored
for that run and shop, in one transaction, so a retried write never
duplicates findings.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Container, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from shophealth.reports.store.schema import (
    CheckpointItem,
    CheckRow,
    FindingRow,
    LighthouseRow,
    LinkCacheRow,
    PageRow,
    RunRow,
    ScoreRow,
    Shop,
    ShopRun,
    TlsRow,
    UnverifiableRow,
)
from shophealth.reports.trend import TrendPoint

STORE_ENV = "SHOPHEALTH_STORE"
log = logging.getLogger(__name__)
MIGRATION_LOCK_KEY = 0x5348_4F50  # "SHOP": one migration at a time on a PostgreSQL store
SQLITE_INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RUN_ORDER = (RunRow.started_at, RunRow.stored_at, RunRow.id)  # oldest first
CHILDREN = (PageRow, FindingRow, CheckRow, ScoreRow, TlsRow, LighthouseRow, UnverifiableRow)
PAGE, LINK, REPORT = "page", "link", "report"  # kinds of checkpoint items


class StoreError(Exception):
    """A store that cannot be opened, read or written (the message is one line)."""


@dataclass(frozen=True)
class RunSummary:
    """One shop's part of a stored run, as ``shophealth history`` lists it."""

    run_id: str
    started_at: str
    status: str
    shop: str
    overall: float | None
    findings: Mapping[str, int]  # by severity
    error: str | None


def default_url() -> str:
    """``$SHOPHEALTH_STORE``, else a SQLite file in the user's data directory."""
    if os.environ.get(STORE_ENV):
        return os.environ[STORE_ENV]
    folder = Path(platformdirs.user_data_dir("shophealth", appauthor=False))
    return f"sqlite:///{folder / 'history.sqlite3'}"


def engine_for(url: str) -> Engine:
    """An engine for a store URL; ``postgresql://`` means psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a store URL: {url!r} (try sqlite:///path or postgresql://host/db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use store {parsed.render_as_string()}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")  # a new file's; an older one's after one VACUUM
    cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on the store."""
    from alembic import command  # only here: most commands never migrate
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # workers opening one new store at once
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class Store:
    """A history database, its schema brought up to date on opening."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.engine = engine_for(self.url)
        try:
            upgrade(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"cannot open store {self.display_url}: {_first_line(exc)}") from None

    @property
    def display_url(self) -> str:
        """The URL without its password."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.display_url}: {_first_line(exc)}") from None

    # writing

    def save_report(
        self, report: Mapping[str, Any], status: str = "complete", stored: Container[int] = ()
    ) -> None:
        """Store a report (SPEC §3), but for the shops at the positions ``stored`` already."""
        run = report["run"]
        self.save_run_header(run, status)
        for position, site in enumerate(report["sites"]):
            if position not in stored:
                self.save_site(run["id"], position, site)

    def save_run_header(self, run: Mapping[str, Any], status: str = "complete") -> None:
        with self.session() as session:
            row = session.get(RunRow, run["id"]) or RunRow(id=run["id"], stored_at=time.time())
            row.started_at = run["started_at"]
            row.finished_at = run.get("finished_at") or None
            row.tool_version = run.get("tool_version")
            row.config = dict(run.get("config") or {})
            row.status = status
            session.add(row)

    def save_site(self, run_id: str, position: int, site: Mapping[str, Any]) -> None:
        """One shop's part of a run, replacing what was stored for this run and shop."""
        shop_id = self._shop_id(site["site"], site.get("name"))
        with self.session() as session:
            old = session.scalar(select(ShopRun).where(ShopRun.run_id == run_id, ShopRun.shop_id == shop_id))
            if old is not None:
                for table in CHILDREN:
                    session.execute(delete(table).where(table.shop_run_id == old.id))
                session.delete(old)
                session.flush()
            scores = site.get("scores") or {}
            shop_run = ShopRun(
                run_id=run_id,
                shop_id=shop_id,
                position=position,
                error=site.get("error"),
                stats=dict(site.get("stats") or {}),
                overall=scores.get("overall"),
                algorithm_version=scores.get("algorithm_version"),
                scores=dict(scores) or None,
                facts=site.get("facts"),
            )
            session.add(shop_run)
            session.flush()
            session.add_all(_children(shop_run.id, site))

    def _shop_id(self, url: str, name: str | None) -> int:
        """The shop's id, created if new; safe when two writers add the same shop."""
        for _attempt in range(2):
            try:
                with self.session() as session:
                    shop = session.scalar(select(Shop).where(Shop.url == url))
                    if shop is None:
                        shop = Shop(url=url, name=name)
                        session.add(shop)
                    elif name and shop.name != name:
                        shop.name = name
                    session.flush()
                    return shop.id
            except StoreError as exc:
                if not isinstance(exc.__context__, IntegrityError):
                    raise
        raise StoreError(f"cannot add shop {url} to the store")

    def cache_links(
        self, rows: Iterable[tuple[str, str, int | None, dict[str, Any]]], expires_at: float
    ) -> None:
        """Keep external-link verdicts until ``expires_at``; expired ones are dropped."""
        rows = list(rows)
        with self.session() as session:
            session.execute(delete(LinkCacheRow).where(LinkCacheRow.expires_at <= time.time()))
            for start in range(0, len(rows), 500):
                batch = rows[start : start + 500]
                session.execute(delete(LinkCacheRow).where(LinkCacheRow.url.in_([row[0] for row in batch])))
                session.add_all(
                    LinkCacheRow(
                        url=url, outcome=outcome, status=status, detail=detail, expires_at=expires_at
                    )
                    for url, outcome, status, detail in batch
                )

    def cached_links(self) -> list[tuple[str, str, int | None, dict[str, Any]]]:
        """The external-link verdicts that have not expired."""
        with self.session() as session:
            query = select(LinkCacheRow).where(LinkCacheRow.expires_at > time.time())
            return [(r.url, r.outcome, r.status, r.detail) for r in session.scalars(query)]

    def has_site(self, run_id: str, site: str) -> bool:
        """Whether the shop's part of the run is stored."""
        with self.session() as session:
            query = select(ShopRun.id).join(Shop).where(ShopRun.run_id == run_id, Shop.url == site)
            return session.scalar(query) is not None

    def stored_sites(self, run_id: str) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.count()).where(ShopRun.run_id == run_id)) or 0)

    # checkpoints of a run in progress (see checkpoint.py)

    def write_checkpoint(self, run_id: str, items: Iterable[tuple[str, str, str, bytes]]) -> None:
        """Add checkpoint rows in one transaction, as one bulk INSERT (ORM objects
        cost three times the CPU: 0.69 s instead of 0.23 s for the 2,000-page
        benchmark shop's 10,000 rows)."""
        rows = [
            {"run_id": run_id, "site": site, "kind": kind, "url": url, "data": data}
            for site, kind, url, data in items
        ]
        if not rows:
            return
        with self.session() as session:
            session.execute(insert(CheckpointItem), rows)

    def load_checkpoint(self, run_id: str) -> dict[str, tuple[dict[str, bytes], dict[str, bytes]]]:
        """Per site, its checkpointed pages and link verdicts by URL (the latest of each)."""
        sites: dict[str, tuple[dict[str, bytes], dict[str, bytes]]] = {}
        with self.session() as session:
            query = (
                select(CheckpointItem)
                .where(CheckpointItem.run_id == run_id, CheckpointItem.kind.in_((PAGE, LINK)))
                .order_by(CheckpointItem.id)
            )
            for item in session.scalars(query):
                pages, links = sites.setdefault(item.site, ({}, {}))
                (pages if item.kind == PAGE else links)[item.url] = item.data
        return sites

    def finish_site_checkpoint(self, run_id: str, site: str, report: bytes) -> None:
        """Checkpoint a finished shop as its report, in place of its pages and verdicts."""
        with self.session() as session:
            session.execute(
                delete(CheckpointItem).where(CheckpointItem.run_id == run_id, CheckpointItem.site == site)
            )
            session.execute(
                insert(CheckpointItem),
                [{"run_id": run_id, "site": site, "kind": REPORT, "url": site, "data": report}],
            )

    def finished_sites(self, run_id: str) -> dict[str, bytes]:
        """The reports (JSON) of the shops that finished in run ``run_id``, by shop URL."""
        with self.session() as session:
            query = select(CheckpointItem.site, CheckpointItem.data).where(
                CheckpointItem.run_id == run_id, CheckpointItem.kind == REPORT
            )
            return {site: data for site, data in session.execute(query)}

    def drop_checkpoint(self, run_id: str) -> None:
        with self.session() as session:
            session.execute(delete(CheckpointItem).where(CheckpointItem.run_id == run_id))
        self._give_back_space()

    def _give_back_space(self) -> None:
        """Hand a SQLite file's free pages back to the file system.

        A run's checkpoints take ~20 KB a page (a nightly run of 50 shops of 500
        pages: ~500 MB) while the run itself stores ~0.2 MB a shop; deleted, their
        pages stay in the file. With ``auto_vacuum=INCREMENTAL`` (set on new files;
        a store made before gets one ``VACUUM``) ``incremental_vacuum`` truncates
        the file, at a cost in proportion to the pages freed, not to the history.
        PostgreSQL's autovacuum makes dead rows reusable by itself. Best effort:
        a store busy with readers keeps its free pages until the next run."""
        if self.engine.dialect.name != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:
            db = raw.driver_connection
            assert isinstance(db, sqlite3.Connection)
            if db.execute("PRAGMA auto_vacuum").fetchone()[0] != SQLITE_INCREMENTAL:
                db.executescript("PRAGMA auto_vacuum=INCREMENTAL; VACUUM;")
            else:  # executescript runs the pragma to its end (execute frees one page a call)
                db.executescript("PRAGMA incremental_vacuum;")
        except sqlite3.Error as exc:
            log.warning("store %s: free pages kept: %s", self.display_url, exc)
        finally:
            raw.close()

    def resumable_run(self) -> str | None:
        """The latest run that did not complete, if it left checkpoints."""
        with self.session() as session:
            query = (
                select(RunRow.id)
                .where(RunRow.status.in_(("running", "interrupted")))
                .where(select(CheckpointItem.id).where(CheckpointItem.run_id == RunRow.id).exists())
                .order_by(*(c.desc() for c in RUN_ORDER))
                .limit(1)
            )
            return session.scalar(query)

    # reading

    def run_ids(self) -> list[str]:
        with self.session() as session:
            return list(session.scalars(select(RunRow.id).order_by(*RUN_ORDER)))

    def resolve_run(self, ref: str) -> str:
        """A run id from an id or a unique prefix of one; ``latest`` and ``previous`` work too."""
        ids = self.run_ids()
        if ref in ("latest", "previous") and len(ids) >= (1 if ref == "latest" else 2):
            return ids[-1] if ref == "latest" else ids[-2]
        matches = [i for i in ids if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        reason = "no stored run" if not matches else f"{len(matches)} stored runs"
        raise StoreError(f"{reason} matches {ref!r} in {self.display_url}")

    def history(self, shop: str | None = None, limit: int = 50) -> list[RunSummary]:
        """The latest ``limit`` shop runs, newest first; of one shop (URL or name) if given."""
        with self.session() as session:
            query = (
                select(ShopRun)
                .join(RunRow)
                .join(Shop)
                .options(selectinload(ShopRun.run), selectinload(ShopRun.shop))
                .order_by(*(c.desc() for c in RUN_ORDER), ShopRun.position)
                .limit(limit)
            )
            if shop:
                query = query.where((Shop.url == shop) | (Shop.name == shop) | (Shop.url == shop + "/"))
            rows = list(session.scalars(query))
            counts = _severity_counts(session, [row.id for row in rows])
            return [
                RunSummary(
                    run_id=row.run_id,
                    started_at=row.run.started_at,
                    status=row.run.status,
                    shop=row.shop.url,
                    overall=row.overall,
                    findings=counts.get(row.id, {}),
                    error=row.error,
                )
                for row in rows
            ]

    def trend(self, site: str, until: str, leave_out: str | None = None, limit: int = 30) -> list[TrendPoint]:
        """The shop's latest ``limit`` stored runs that started no later than ``until``
        (ISO time), oldest first, without run ``leave_out`` and runs it could not scan."""
        with self.session() as session:
            query = (
                select(ShopRun)
                .join(RunRow)
                .join(Shop)
                .options(selectinload(ShopRun.run))
                .where(Shop.url == site, ShopRun.error.is_(None), RunRow.started_at <= until)
                .order_by(*(c.desc() for c in RUN_ORDER))
                .limit(limit)
            )
            if leave_out is not None:
                query = query.where(RunRow.id != leave_out)
            rows = list(session.scalars(query))[::-1]
            counts = _severity_counts(session, [row.id for row in rows])
            return [_trend_point(session, row, counts.get(row.id, {})) for row in rows]

    def load_report(self, ref: str) -> dict[str, Any]:
        """A stored run in the report's shape (SPEC §3), without raw artifacts."""
        run_id = self.resolve_run(ref)
        with self.session() as session:
            run = session.get_one(RunRow, run_id)
            sites = [_site_report(session, shop_run) for shop_run in run.shops]
            return {
                "schema": "shophealth.report/1",
                "run": {
                    "id": run.id,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "tool_version": run.tool_version,
                    "config": run.config,
                    "status": run.status,
                },
                "sites": sites,
            }

    def previous_report(self, ref: str) -> dict[str, Any]:
        """For each shop of run ``ref``, its latest earlier stored run, as one report
        (a shop never stored before is left out): what ``ref`` is compared with."""
        run_id = self.resolve_run(ref)
        with self.session() as session:
            run = session.get_one(RunRow, run_id)
            sites = []
            for shop_run in run.shops:
                query = (
                    select(ShopRun)
                    .join(RunRow)
                    .where(ShopRun.shop_id == shop_run.shop_id, RunRow.id != run_id, _before(run))
                    .order_by(*(c.desc() for c in RUN_ORDER))
                    .limit(1)
                )
                previous = session.scalar(query)
                if previous is not None:
                    sites.append(_site_report(session, previous))
            return {"schema": "shophealth.report/1", "run": {"id": None}, "sites": sites}

    def pages(self, run_id: str, site: str) -> list[dict[str, Any]]:
        """The shop's pages in the run, as the report lists them."""
        with self.session() as session:
            query = select(ShopRun.id).join(Shop).where(ShopRun.run_id == run_id, Shop.url == site)
            shop_run_id = session.scalar(query)
            return [] if shop_run_id is None else _pages(session, shop_run_id)


def _before(run: RunRow) -> ColumnElement[bool]:
    """Runs stored before ``run``: started earlier, or in the same second and stored earlier."""
    same_second = RunRow.started_at == run.started_at
    if run.stored_at is None:
        return or_(RunRow.started_at < run.started_at, and_(same_second, RunRow.stored_at.is_(None)))
    earlier = or_(RunRow.stored_at < run.stored_at, RunRow.stored_at.is_(None))
    return or_(RunRow.started_at < run.started_at, and_(same_second, earlier))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _children(shop_run_id: int, site: Mapping[str, Any]) -> Iterator[Any]:
    """The rows of one shop's part of a run, from its report entry."""
    sid = shop_run_id
    for page in site.get("pages") or ():
        yield PageRow(
            shop_run_id=sid, url=page["url"], status=page.get("status"), kind=page.get("kind"),
            final_url=page.get("final_url"),
        )  # fmt: skip
    for f in site.get("findings") or ():
        yield FindingRow(
            shop_run_id=sid,
            fingerprint=f["fingerprint"],
            check=f["check"],
            severity=f["severity"],
            page=f["page"],
            target=f.get("target"),
            message=f["message"],
            evidence=f.get("evidence") or {},
            key=f.get("key"),
        )
    for c in site.get("checks") or ():
        yield CheckRow(
            shop_run_id=sid,
            check=c["check"],
            status=c["status"],
            findings=c.get("findings", 0),
            detail=c.get("detail"),
        )
    scores = site.get("scores") or {}
    for scope in ("areas", "indicators"):
        for name, value in (scores.get(scope) or {}).items():
            if value is None or isinstance(value, int | float):
                yield ScoreRow(shop_run_id=sid, scope=scope, name=name, value=value)
    for t in site.get("tls") or ():
        yield TlsRow(
            shop_run_id=sid,
            host=t["host"],
            valid=t.get("valid"),
            error=t.get("error"),
            issuer=t.get("issuer"),
            not_after=t.get("not_after"),
            days_left=t.get("days_left"),
        )
    for result in site.get("lighthouse") or ():
        for category, value in (result.get("scores") or {}).items():
            yield LighthouseRow(shop_run_id=sid, url=result["url"], category=category, score=value)
    for u in site.get("unverifiable") or ():
        yield UnverifiableRow(
            shop_run_id=sid,
            target=u["target"],
            reason=u["reason"],
            count=u.get("count", 1),
            pages=list(u.get("pages") or []),
        )


def _severity_counts(session: Session, shop_run_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    if not shop_run_ids:
        return counts
    query = (
        select(FindingRow.shop_run_id, FindingRow.severity, func.count())
        .where(FindingRow.shop_run_id.in_(shop_run_ids))
        .group_by(FindingRow.shop_run_id, FindingRow.severity)
    )
    for shop_run_id, severity, count in session.execute(query):
        counts.setdefault(shop_run_id, {})[severity] = count
    return counts


def _rows(session: Session, table: Any, shop_run_id: int) -> list[Any]:
    return list(session.scalars(select(table).where(table.shop_run_id == shop_run_id).order_by(table.id)))


def _pages(session: Session, shop_run_id: int) -> list[dict[str, Any]]:
    return [
        {"url": p.url, "final_url": p.final_url or p.url, "status": p.status, "kind": p.kind}
        for p in _rows(session, PageRow, shop_run_id)
    ]


def _scores(session: Session, shop_run: ShopRun) -> dict[str, Any] | None:
    """The shop run's scores: as stored whole, or rebuilt from their rows (runs stored
    before migration 0004)."""
    if shop_run.scores is not None:
        return shop_run.scores
    if shop_run.error is not None:
        return None
    scores: dict[str, Any] = {"overall": shop_run.overall, "areas": {}, "indicators": {}}
    for s in _rows(session, ScoreRow, shop_run.id):
        scores[s.scope][s.name] = s.value
    scores["algorithm_version"] = shop_run.algorithm_version
    return scores


def _trend_point(session: Session, shop_run: ShopRun, findings: Mapping[str, int]) -> TrendPoint:
    scores = _scores(session, shop_run) or {}
    return TrendPoint(
        run_id=shop_run.run_id,
        started_at=shop_run.run.started_at,
        overall=shop_run.overall,
        areas=dict(scores.get("areas") or {}),
        findings=dict(findings),
        not_after={t.host: t.not_after for t in _rows(session, TlsRow, shop_run.id)},
    )


def _site_report(session: Session, shop_run: ShopRun) -> dict[str, Any]:
    sid = shop_run.id
    lighthouse: dict[str, dict[str, Any]] = {}
    for row in _rows(session, LighthouseRow, sid):
        lighthouse.setdefault(row.url, {"url": row.url, "scores": {}})["scores"][row.category] = row.score
    return {
        "site": shop_run.shop.url,
        "name": shop_run.shop.name,
        "error": shop_run.error,
        "stats": shop_run.stats,
        "unverifiable": [
            {"target": u.target, "reason": u.reason, "pages": u.pages, "count": u.count}
            for u in _rows(session, UnverifiableRow, sid)
        ],
        "tls": [
            {
                "host": t.host,
                "valid": t.valid,
                "error": t.error,
                "issuer": t.issuer,
                "not_after": t.not_after,
                "days_left": t.days_left,
            }
            for t in _rows(session, TlsRow, sid)
        ],
        "lighthouse": list(lighthouse.values()),
        "checks": [
            {"check": c.check, "status": c.status, "findings": c.findings, "detail": c.detail}
            for c in _rows(session, CheckRow, sid)
        ],
        "findings": [
            {
                "check": f.check,
                "severity": f.severity,
                "page": f.page,
                "target": f.target,
                "message": f.message,
                "evidence": f.evidence,
                "fingerprint": f.fingerprint,
                **({"key": f.key} if f.key is not None else {}),
            }
            for f in _rows(session, FindingRow, sid)
        ],
        "pages": _pages(session, sid),
        "facts": shop_run.facts or {},
        "scores": _scores(session, shop_run),
    }
