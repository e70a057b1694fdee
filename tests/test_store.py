"""The history store: a scan's report stored and read back unchanged, on
SQLite and on a PostgreSQL server the suite starts; rewrites that never
duplicate; and an upgrade from the first schema that keeps stored runs."""

from __future__ import annotations

import contextlib
import copy
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import scan_url
from db_servers import create_database, postgres
from sqlalchemy import text

from shophealth.checks.base import fingerprint
from shophealth.checks.registry import Registry
from shophealth.crawler.scan import Run, now_iso
from shophealth.demo.server import RunningShop
from shophealth.reports.report import build_report
from shophealth.reports.store import Store, StoreError, engine_for, upgrade
from shophealth.reports.store.diff import run_diff


@pytest.fixture(scope="module")
async def scanned_report(crawl_shop: RunningShop, registry: Registry) -> tuple[dict[str, Any], Run]:
    """A real scan's report, with a certificate and Lighthouse scores added (the
    crawl shop is plain HTTP and Lighthouse is off in tests)."""
    site_run = await scan_url(crawl_shop.url, registry, max_pages=15)
    run = Run(id=uuid.uuid4().hex[:12], started_at=now_iso(), finished_at=now_iso(), sites=[site_run])
    report = build_report(run)
    site = report["sites"][0]
    site["tls"].append(
        {"host": "shop.example:443", "valid": True, "error": None, "error_kind": None, "issuer": "CN=Test CA",
         "subject": "CN=shop.example", "not_after": "2027-01-01T00:00:00+00:00", "days_left": 33.0,
         "protocol": "TLSv1.3"}
    )  # fmt: skip
    site["lighthouse"].append({"url": crawl_shop.url, "scores": {"performance": 91.0, "accessibility": 88.0}})
    if not site["unverifiable"]:
        site["unverifiable"].append(
            {"target": "https://walled.example/", "reason": "bot wall", "pages": [crawl_shop.url], "count": 2}
        )
    return report, run


_ = postgres  # the session's server, a fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite3'}"
    server = request.getfixturevalue("postgres")
    return create_database(server, f"t_{uuid.uuid4().hex[:12]}")


def comparable(site: dict[str, Any]) -> dict[str, Any]:
    """What the store keeps of a report's shop (raw artifacts are not kept)."""
    keys = ("site", "name", "error", "stats", "unverifiable", "checks", "scores", "pages", "facts")
    kept = {key: site[key] for key in keys}
    kept["findings"] = sorted(site["findings"], key=lambda f: f["fingerprint"])
    kept["tls"] = [
        {k: t[k] for k in ("host", "valid", "error", "issuer", "not_after", "days_left")} for t in site["tls"]
    ]
    kept["lighthouse"] = [{"url": r["url"], "scores": r["scores"]} for r in site["lighthouse"]]
    return kept


def test_round_trip(store_url: str, scanned_report: tuple[dict[str, Any], Run]) -> None:
    report, run = scanned_report
    with Store(store_url) as store:
        store.save_report(report)
        loaded = store.load_report(report["run"]["id"])
        site = report["sites"][0]
        assert [comparable(s) for s in loaded["sites"]] == [comparable(s) for s in report["sites"]]
        assert site["findings"] and site["tls"] and site["lighthouse"] and site["unverifiable"]
        assert store.pages(report["run"]["id"], site["site"]) == site["pages"]
        assert [p["url"] for p in site["pages"]] == [p.url for p in run.sites[0].evidence.pages]
        assert loaded["run"]["status"] == "complete"


def test_a_finding_key_is_kept_so_the_diff_with_the_stored_run_is_empty(
    store_url: str, scanned_report: tuple[dict[str, Any], Run]
) -> None:
    """Two findings of one check on one page are told apart by their key; a store that
    dropped it made every nightly diff report them as fixed and new again."""
    report = copy.deepcopy(scanned_report[0])
    site = report["sites"][0]
    page = site["pages"][0]["url"]
    for key in ("title", "description"):
        site["findings"].append(
            {"check": "seo.basics", "severity": "warning", "page": page, "target": None,
             "message": f"no {key}", "evidence": {}, "fingerprint": fingerprint("seo.basics", page, None, key),
             "key": key}
        )  # fmt: skip
    with Store(store_url) as store:
        store.save_report(report)
        stored = store.load_report(report["run"]["id"])
    assert run_diff(stored, report)["totals"] == {
        "new": 0,
        "fixed": 0,
        "persisting": len(site["findings"]),
        "unjudged": 0,
    }


def test_rewriting_a_run_never_duplicates(store_url: str, scanned_report: tuple[dict[str, Any], Run]) -> None:
    report, run = scanned_report
    with Store(store_url) as store:
        store.save_report(report)
        store.save_report(report)
        [row] = store.history()
        assert sum(row.findings.values()) == len(report["sites"][0]["findings"])
        assert len(store.pages(report["run"]["id"], report["sites"][0]["site"])) == len(
            run.sites[0].evidence.pages
        )


def test_history_lists_runs_newest_first_and_previous_is_per_shop(
    store_url: str, scanned_report: tuple[dict[str, Any], Run]
) -> None:
    report, _run = scanned_report
    second = copy.deepcopy(report)
    second["run"]["id"] = "second"  # same started_at: the order of storing decides
    second["sites"][0]["findings"] = second["sites"][0]["findings"][1:]
    with Store(store_url) as store:
        store.save_report(report)
        store.save_report(second)
        assert [row.run_id for row in store.history()] == ["second", report["run"]["id"]]
        assert store.resolve_run("latest") == "second"
        assert (
            store.previous_report("second")["sites"][0]["findings"]
            == store.load_report(report["run"]["id"])["sites"][0]["findings"]
        )
        assert store.previous_report(report["run"]["id"])["sites"] == []
        assert store.history("no such shop") == []


def test_unknown_run_is_a_one_line_error(tmp_path: Path) -> None:
    with (
        Store(f"sqlite:///{tmp_path / 'h.sqlite3'}") as store,
        pytest.raises(StoreError, match="no stored run"),
    ):
        store.load_report("nope")


def test_bad_store_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not a store URL"):
        Store("not a url at all")


def test_upgrade_from_the_first_schema_keeps_history(store_url: str) -> None:
    engine = engine_for(store_url)
    upgrade(engine, "0001")
    with engine.begin() as db:
        db.execute(text("INSERT INTO shops (id, url, name) VALUES (1, 'https://old.example/', 'Old')"))
        db.execute(
            text(
                "INSERT INTO runs (id, started_at, finished_at, tool_version, config) "
                "VALUES ('oldrun', '2025-01-01T00:00:00+00:00', '2025-01-01T00:10:00+00:00', '0.1', '{}')"
            )
        )
        db.execute(
            text(
                "INSERT INTO shop_runs (id, run_id, shop_id, position, error, stats, overall, algorithm_version) "
                "VALUES (1, 'oldrun', 1, 0, NULL, '{\"pages\": 3}', 88.5, 1)"
            )
        )
        db.execute(
            text(
                'INSERT INTO findings (shop_run_id, fingerprint, "check", severity, page, target, message, evidence) '
                "VALUES (1, 'abc123', 'links.broken', 'error', 'https://old.example/', "
                "'https://old.example/gone', 'Broken link', '{\"status\": 404}')"
            )
        )
    engine.dispose()
    with Store(store_url) as store:  # opening upgrades to the latest schema
        report = store.load_report("oldrun")
        [site] = report["sites"]
        assert site["stats"] == {"pages": 3}
        assert site["scores"]["overall"] == 88.5
        assert site["findings"][0]["fingerprint"] == "abc123"
        assert site["findings"][0]["evidence"] == {"status": 404}
        assert report["run"]["status"] == "complete"
        [row] = store.history("Old")
        assert row.findings == {"error": 1}


@pytest.mark.parametrize("older_file", [False, True])
def test_dropped_checkpoints_leave_the_sqlite_file(tmp_path: Path, older_file: bool) -> None:
    """A run's checkpoints (tens of MB) are given back to the file system once
    dropped, also in a store file made before auto_vacuum was set."""
    path = tmp_path / "history.sqlite3"
    if older_file:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("CREATE TABLE older (x)")
    with Store(f"sqlite:///{path}") as store:
        store.save_run_header({"id": "r1", "started_at": now_iso(), "config": {}}, "running")
        blobs = [
            ("https://shop.example/", "page", f"https://shop.example/p{n}", os.urandom(50_000))
            for n in range(100)
        ]
        store.write_checkpoint("r1", blobs)
        assert path.stat().st_size > 5_000_000
        store.drop_checkpoint("r1")
        assert path.stat().st_size < 1_000_000
        assert store.run_ids() == ["r1"]
