"""A scan killed with SIGKILL half-way and run again with ``--resume`` ends
with the findings of an uninterrupted scan, without fetching again (more than
10 % of) the pages it had done."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shophealth.demo.server import RunningShop, serve_shop

CATEGORIES, PRODUCTS = 8, 15  # 1 + 8 + 120 pages
PAGE = '<html lang="en"><head><title>{title}</title><meta name="description" content="{title}"></head><body>{body}</body></html>'


def write_shop(root: Path) -> None:
    root.mkdir()
    (root / "routes.yaml").write_text('"*": {delay: 0.1}\n')  # slow enough to be killed half-way
    cats = " ".join(f'<a href="/c{c}.html">Category {c}</a>' for c in range(CATEGORIES))
    (root / "index.html").write_text(PAGE.format(title="Home", body=cats))
    for c in range(CATEGORIES):
        items = " ".join(f'<a href="/p{c}-{p}.html">Product {p}</a>' for p in range(PRODUCTS))
        (root / f"c{c}.html").write_text(
            PAGE.format(title=f"Category {c}", body=f'<a href="/">Home</a> {items}')
        )
        for p in range(PRODUCTS):
            broken = f' <a href="/gone-{c}-{p}.html">Old</a>' if p % 5 == 0 else ""
            body = f'<a href="/">Home</a> <a href="/c{c}.html">Back</a>{broken}'
            (root / f"p{c}-{p}.html").write_text(PAGE.format(title=f"Product {c}-{p}", body=body))


def scan(shop: RunningShop, store: Path, report: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "shophealth",
        "scan",
        shop.url,
        "--store",
        f"sqlite:///{store}",
        "--quiet",
    ]
    command += ["--render", "off", "--lighthouse-pages", "0", "--workers", "0", "--json", str(report)]
    command += ["--per-host", "2", "--per-host-max", "2", "--max-pages", "500", *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def pages_asked(shop: RunningShop) -> list[str]:
    return [path for method, path in shop.server.log if method == "GET" and path.endswith(".html")]


def checkpointed_pages(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM checkpoint_items WHERE kind = 'page'").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def fingerprints(report: Path) -> set[str]:
    return {f["fingerprint"] for f in json.loads(report.read_text())["sites"][0]["findings"]}


def wait(process: subprocess.Popen[bytes]) -> None:
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr.decode()


@pytest.fixture
def shop(tmp_path: Path) -> RunningShop:
    write_shop(tmp_path / "shop")
    with serve_shop(tmp_path / "shop") as running:
        yield running


def test_killed_scan_resumes_without_refetching(shop: RunningShop, tmp_path: Path) -> None:
    whole = tmp_path / "whole.json"
    wait(scan(shop, tmp_path / "whole.sqlite3", whole))
    all_pages = len(set(pages_asked(shop)))
    assert all_pages == CATEGORIES * (1 + PRODUCTS) + CATEGORIES * 3  # the pages (less /) and broken links

    shop.server.log.clear()
    store, report = tmp_path / "h.sqlite3", tmp_path / "resumed.json"
    first = scan(shop, store, report)
    deadline = time.monotonic() + 120
    while checkpointed_pages(store) < 80:
        assert first.poll() is None, "the scan ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    done_before = set(pages_asked(shop))
    assert len(done_before) < all_pages * 0.8  # killed half-way, not at the end

    shop.server.log.clear()
    wait(scan(shop, store, report, "--resume"))
    refetched = done_before & set(pages_asked(shop))
    assert len(refetched) <= 0.1 * len(done_before), sorted(refetched)
    assert fingerprints(report) == fingerprints(whole)
    resumed = json.loads(report.read_text())
    assert (
        resumed["sites"][0]["stats"]["pages"] == json.loads(whole.read_text())["sites"][0]["stats"]["pages"]
    )
    counts = {f["fingerprint"]: f["evidence"].get("count") for f in resumed["sites"][0]["findings"]}
    assert counts == {
        f["fingerprint"]: f["evidence"].get("count")
        for f in json.loads(whole.read_text())["sites"][0]["findings"]
    }
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM checkpoint_items").fetchone()[0] == 0  # dropped when complete
        assert db.execute("SELECT status FROM runs").fetchall() == [("complete",)]


def test_resume_with_nothing_to_resume_starts_a_new_run(shop: RunningShop, tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite3"
    process = scan(shop, store, tmp_path / "r.json", "--resume", "--max-pages", "3")
    wait(process)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("complete",)]


def test_ctrl_c_stores_the_run_as_interrupted_and_resume_finishes_it(
    shop: RunningShop, tmp_path: Path
) -> None:
    store, report = tmp_path / "h.sqlite3", tmp_path / "r.json"
    first = scan(shop, store, report)
    deadline = time.monotonic() + 120
    while checkpointed_pages(store) < 20:
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=120)
    assert first.returncode == 130
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
    interrupted = json.loads(report.read_text())["sites"][0]["stats"]["pages"]
    wait(scan(shop, store, report, "--resume"))
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("complete",)]
    assert json.loads(report.read_text())["sites"][0]["stats"]["pages"] > interrupted
