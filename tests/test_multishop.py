"""Multi-shop runs (the nightly use): each shop is judged, reported and stored as
it finishes and its evidence let go; the outputs are those of a run that kept
every shop to the end; ``--resume`` does not scan a shop that had finished."""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_SHOPS, fast_config

from shophealth.checks.base import canonical_location
from shophealth.checks.registry import Registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.finishing import ShopFinisher
from shophealth.crawler.scan import ReportedSite, SiteRun, scan
from shophealth.crawler.urls import normalize
from shophealth.demo.server import RunningShop, serve_shop
from shophealth.reports.report import build_report

SHOPS = ("crawl", "gate", "i18n")


@pytest.fixture(scope="module")
def three_shops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Three fixture shops and one that is down (its home answers 500), as URLs."""
    down = tmp_path_factory.mktemp("down")
    (down / "routes.yaml").write_text('/: {status: 500, body: "<h1>Internal Server Error</h1>"}\n')
    (down / "index.html").write_text("<title>Down</title>")
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_shop(TEST_SHOPS / name)).url for name in SHOPS]
        urls.insert(2, stack.enter_context(serve_shop(down)).url)
        yield urls


def targets(urls: list[str]) -> list[SiteConfig]:
    return [SiteConfig(url=url, name=f"Shop {i}", config=fast_config()) for i, url in enumerate(urls)]


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report less what differs between two scans of the same shops: the run's id
    and times, durations, and the order the pages were crawled in (the pages, and the
    first pages each finding was seen on)."""
    report = json.loads(json.dumps(report))  # as written: tuples are lists
    report["run"] = {k: v for k, v in report["run"].items() if k not in ("id", "started_at", "finished_at")}
    for site in report["sites"]:
        site["stats"].pop("duration_s")
        site.get("config", {}).pop("artifacts_dir", None)  # where screenshots go: --save-evidence's folder
        site["pages"].sort(key=lambda page: page["url"])
        for finding in site["findings"]:
            finding.pop("page")
            finding["evidence"].pop("pages", None)
        site["findings"].sort(key=lambda finding: finding["fingerprint"])
        for unverifiable in site["unverifiable"]:
            unverifiable.pop("pages")
    return report


async def test_a_finished_shop_is_reported_and_its_evidence_let_go(
    three_shops: list[str], registry: Registry
) -> None:
    """While the later shops are scanned, the earlier ones' evidence is gone, and the
    report equals the one built from every shop's evidence kept to the end."""
    alive: list[weakref.ref[Any]] = []
    left_behind: list[int] = []
    memos: list[int] = []  # URLs memoised, once each shop is finished
    finisher = ShopFinisher()

    def finish(position: int, site_run: SiteRun, cut_short: bool) -> ReportedSite:
        gc.collect()
        left_behind.append(sum(1 for ref in alive if ref() is not None))
        alive.append(weakref.ref(site_run.evidence))
        reported = finisher(position, site_run, cut_short)
        memos.append(normalize.cache_info().currsize + canonical_location.cache_info().currsize)
        return reported

    reported = await scan(targets(three_shops), registry=registry, finish=finish)
    kept = await scan(targets(three_shops), registry=registry)

    assert left_behind == [0, 0, 0, 0]  # no earlier shop's evidence lives on
    assert memos == [0, 0, 0, 0]  # nor its URLs
    assert all(isinstance(site, ReportedSite) for site in reported.sites)
    assert all(isinstance(site, SiteRun) for site in kept.sites)
    assert [s.error is not None for s in reported.sites] == [False, False, True, False]
    assert comparable(build_report(reported)) == comparable(build_report(kept))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "shophealth", "scan", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def sites_file(path: Path, urls: list[str], defaults: str = "", last: str = "") -> Path:
    """A sites file naming the shops, with more ``defaults`` and options of the ``last`` shop."""
    lines = [f"defaults: {{render: 'off', lighthouse_pages: 0, workers: 0{defaults}}}", "sites:"]
    lines += [f"  - {{url: '{url}', name: 'Shop {i}'}}" for i, url in enumerate(urls[:-1])]
    lines.append(f"  - {{url: '{urls[-1]}', name: 'Shop {len(urls) - 1}'{last}}}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_stored_multi_shop_run_keeps_its_outputs(three_shops: list[str], tmp_path: Path) -> None:
    """Through the command line: the exit code, the JSON and HTML reports, the stored
    run (every shop, in order, checkpoints dropped) and the diff with the last run."""
    sites = sites_file(tmp_path / "sites.yaml", three_shops, last=", max_depth: 7")
    store = tmp_path / "h.sqlite3"
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    common = ["--sites", str(sites), "--store", f"sqlite:///{store}", "--quiet"]
    done = run_cli(*common, "--json", str(first))
    assert done.returncode == 1, done.stderr  # one shop could not be scanned
    evidence = tmp_path / "evidence"
    again = run_cli(
        *common, "--json", str(second), "--html", str(tmp_path / "html"), "--save-evidence", str(evidence)
    )
    assert again.returncode == 1, again.stderr
    assert "0 new, 0 fixed since the last run" in again.stdout

    report = json.loads(second.read_text())
    assert [s["site"] for s in report["sites"]] == three_shops
    assert [bool(s["error"]) for s in report["sites"]] == [False, False, True, False]
    assert comparable(report)["sites"] == comparable(json.loads(first.read_text()))["sites"]
    assert (tmp_path / "html" / "index.html").is_file()
    assert [s["config"]["max_depth"] for s in report["sites"]] == [10, 10, 10, 7]  # each shop's own
    assert report["run"]["config"]["max_depth"] == 10  # the first shop's, as before
    judged = tmp_path / "judged.json"  # each shop's evidence, written as it finished, judged again
    command = [sys.executable, "-m", "shophealth", "judge", str(evidence), "--json", str(judged), "--quiet"]
    assert subprocess.run(command, capture_output=True, timeout=120, check=False).returncode == 1
    assert comparable(json.loads(judged.read_text()))["sites"] == comparable(report)["sites"]
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM checkpoint_items").fetchone()[0] == 0
        assert db.execute("SELECT status FROM runs").fetchall() == [("complete",), ("complete",)]
        stored = db.execute(
            "SELECT shops.url, overall FROM shop_runs JOIN shops ON shops.id = shop_id"
            " WHERE run_id = ? ORDER BY position",
            (report["run"]["id"],),
        ).fetchall()
    assert stored == [(s["site"], (s["scores"] or {}).get("overall")) for s in report["sites"]]


def finished_in_checkpoints(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            query = "SELECT count(*) FROM checkpoint_items WHERE kind = 'report'"
            return int(db.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.fixture
def slow_shop(tmp_path: Path) -> Iterator[RunningShop]:
    """A shop slow enough (60 pages, 0.1 s each, two at a time) to be killed while it is scanned."""
    root = tmp_path / "slow"
    root.mkdir()
    (root / "routes.yaml").write_text('"*": {delay: 0.1}\n')
    (root / "index.html").write_text(" ".join(f'<a href="/p{i}.html">{i}</a>' for i in range(60)))
    for i in range(60):
        (root / f"p{i}.html").write_text(f'<title>P{i}</title><a href="/">Home</a>')
    with serve_shop(root) as shop:
        yield shop


def test_resume_does_not_scan_a_shop_that_had_finished(slow_shop: RunningShop, tmp_path: Path) -> None:
    """Killed while the second shop is scanned, the run resumed asks the first shop
    nothing at all (no robots.txt, probe, crawl or TLS) and reports it as it was."""
    with serve_shop(TEST_SHOPS / "gate") as quick:
        sites = sites_file(
            tmp_path / "sites.yaml", [quick.url, slow_shop.url], ", per_host: 2, per_host_max: 2"
        )
        store, report = tmp_path / "h.sqlite3", tmp_path / "r.json"
        args = ["--sites", str(sites), "--store", f"sqlite:///{store}", "--quiet", "--parallel", "1"]
        command = [sys.executable, "-m", "shophealth", "scan", *args, "--json", str(report)]
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while finished_in_checkpoints(store) < 1 or not slow_shop.server.log:
            assert first.poll() is None, "the scan ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        asked_before = len(quick.server.log)
        quick.server.log.clear()

        resumed = run_cli(*args, "--json", str(report), "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert quick.server.log == []  # the finished shop was not asked anything
        assert asked_before > 0
    sites_reported = json.loads(report.read_text())["sites"]
    assert [s["site"] for s in sites_reported] == [quick.url, slow_shop.url]
    assert sites_reported[0]["stats"]["pages"] > 0 and sites_reported[0]["error"] is None
    assert sites_reported[1]["stats"]["complete"]
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM checkpoint_items").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM shop_runs").fetchone()[0] == 2


async def test_a_shop_that_cannot_be_finished_is_reported_with_the_run(registry: Registry) -> None:
    """A finisher that fails (a bug, a full disk) loses no shop: it is kept whole and
    reported at the end, as when no finisher is given."""

    def finish(position: int, site_run: SiteRun, cut_short: bool) -> ReportedSite:
        raise RuntimeError("no space left on device")

    with serve_shop(TEST_SHOPS / "gate") as shop:
        run = await scan(targets([shop.url]), registry=registry, finish=finish)
    assert isinstance(run.sites[0], SiteRun)
    [site] = build_report(run)["sites"]
    assert site["error"] is None and site["stats"]["pages"] > 0 and site["checks"]
