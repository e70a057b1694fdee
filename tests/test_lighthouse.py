"""Lighthouse through its CLI: one real run on a loopback page, and stand-in CLIs for failures.

The stand-ins are small Python programs given as ``lighthouse=``; they print a
report, fail, or hang, so median, spread, time limits and the one-at-a-time lock
are tested in milliseconds. The real run costs about 15 s and is the only one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp import web
from conftest import processes_using

from shophealth.checks.mobile import CHECKS
from shophealth.checks.registry import run_check
from shophealth.crawler.browser import BrowserNotFound, find_browser
from shophealth.crawler.evidence import SiteEvidence
from shophealth.crawler.lighthouse import (
    LighthouseNotFound,
    failing_audits,
    find_lighthouse,
    run_lighthouse,
    summarise,
)
from shophealth.demo.server import serve_app

LIGHTHOUSE_CHECK = next(c for c in CHECKS if c.id == "mobile.lighthouse")
SMALL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Tea towels from Harbour Home Goods">
<title>Tea towels</title></head>
<body><h1>Tea towels</h1><p>Linen, 50 × 70 cm, HK$120.</p>
<img src="/towel.png" alt="A striped tea towel"></body></html>"""


def fake_report(scores: dict[str, float]) -> dict[str, Any]:
    return {
        "categories": {name: {"score": score} for name, score in scores.items()},
        "audits": {
            "document-title": {"title": "Has a title", "score": 1, "scoreDisplayMode": "binary"},
            "image-alt": {"title": "Images lack alt", "score": 0, "scoreDisplayMode": "binary"},
            "largest-contentful-paint": {
                "title": "LCP",
                "score": 0.5,
                "scoreDisplayMode": "numeric",
                "displayValue": "4.1 s",
            },
            "screenshot-thumbnails": {"title": "x", "score": None, "scoreDisplayMode": "informative"},
            "font-display": {"title": "n/a", "score": 0, "scoreDisplayMode": "notApplicable"},
        },
    }


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_browser()
    except BrowserNotFound as exc:  # CI installs Chromium through ./dev.sh, so this runs there
        pytest.skip(f"no Chromium on this machine: {exc}")


def stand_in(tmp_path: Path, name: str, body: str) -> str:
    """A fake ``lighthouse`` program: Python code run with this interpreter."""
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_failing_audits_are_scored_ones_below_0_9_worst_first() -> None:
    audits = failing_audits(fake_report({"performance": 0.4}))
    assert [(a["id"], a["score"]) for a in audits] == [("image-alt", 0), ("largest-contentful-paint", 0.5)]
    assert audits[1]["display_value"] == "4.1 s"


def test_median_and_spread_over_runs() -> None:
    reports = [fake_report({"performance": p, "seo": 0.9}) for p in (0.61, 0.48, 0.55)]
    result = summarise("http://shop.example/", reports)
    assert result.scores == {"performance": 55.0, "seo": 90.0}
    assert result.spread == {"performance": 13.0, "seo": 0.0}
    assert result.runs == 3


async def test_runs_give_the_median_of_what_the_cli_printed(chromium: str, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    reports = [fake_report({"performance": p}) for p in (0.3, 0.9, 0.5)]
    body = f"""
reports = json.loads({json.dumps(reports)!r})
n = int(open({str(counter)!r}).read()) if os.path.exists({str(counter)!r}) else 0
open({str(counter)!r}, "w").write(str(n + 1))
port = next(a for a in sys.argv if a.startswith("--port=")).split("=")[1]
import urllib.request
assert b"webSocketDebuggerUrl" in urllib.request.urlopen(f"http://127.0.0.1:{{port}}/json/version").read()
assert "--output=json" in sys.argv and "--output-path=stdout" in sys.argv
print(json.dumps(reports[n]))
"""
    command = stand_in(tmp_path, "lighthouse", body)
    result = await run_lighthouse("http://shop.example/", chromium, runs=3, lighthouse=command)
    assert result.error is None
    assert (result.scores, result.spread, result.runs) == ({"performance": 50.0}, {"performance": 60.0}, 3)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("print('Runtime error', file=sys.stderr); sys.exit(1)", "exited with 1: Runtime error"),
        ("print('not json')", "no JSON report"),
        (
            "print(json.dumps({'runtimeError': {'code': 'NO_FCP', 'message': 'no paint'}}))",
            "NO_FCP: no paint",
        ),
        ("print(json.dumps({'categories': {'seo': {'score': None}}}))", "scored no category"),
    ],
)
async def test_a_failed_run_becomes_an_error_not_an_exception(
    chromium: str, tmp_path: Path, body: str, reason: str
) -> None:
    command = stand_in(tmp_path, "lighthouse", body)
    result = await run_lighthouse("http://shop.example/", chromium, lighthouse=command)
    assert result.error is not None and reason in result.error
    assert result.runs == 0


async def test_a_hanging_run_is_killed_with_its_children(chromium: str, tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    body = f"""
import subprocess
child = subprocess.Popen(["sleep", "60"])
open({str(child_pid)!r}, "w").write(str(child.pid))
time.sleep(60)
"""
    command = stand_in(tmp_path, "lighthouse", body)
    started = time.monotonic()
    result = await run_lighthouse("http://shop.example/", chromium, timeout=6.0, lighthouse=command)
    assert time.monotonic() - started < 15
    assert result.error == "Lighthouse took longer than 6 s"
    pid = int(child_pid.read_text())
    assert await _poll(lambda: not _alive(pid), 5), "Lighthouse's child outlived the time-out"


async def test_only_one_lighthouse_runs_at_a_time(chromium: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    body = f"""
with open({str(log)!r}, "a") as f: f.write(f"start {{time.monotonic()}}\\n")
time.sleep(0.3)
with open({str(log)!r}, "a") as f: f.write(f"end {{time.monotonic()}}\\n")
print(json.dumps({{"categories": {{"seo": {{"score": 1}}}}}}))
"""
    command = stand_in(tmp_path, "lighthouse", body)
    results = await asyncio.gather(
        *(run_lighthouse(f"http://shop.example/{i}", chromium, lighthouse=command) for i in range(3))
    )
    assert all(r.error is None for r in results)
    events = [line.split()[0] for line in log.read_text().splitlines()]
    assert events == ["start", "end"] * 3


def test_lighthouse_missing_is_not_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LighthouseNotFound, match="npm ci"):
        find_lighthouse(root=tmp_path)


def test_repository_lighthouse_is_found_first(tmp_path: Path) -> None:
    local = tmp_path / "node_modules" / ".bin" / "lighthouse"
    local.parent.mkdir(parents=True)
    local.write_text("")
    assert find_lighthouse(root=tmp_path) == str(local)


@pytest.fixture(scope="module")
async def small_shop() -> AsyncIterator[str]:
    async def page(request: web.Request) -> web.Response:
        if request.path == "/towel.png":
            return web.Response(body=_one_pixel_png(), content_type="image/png")
        return web.Response(text=SMALL_PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    async with serve_app(app) as url:
        yield url + "products/tea-towel"


def _one_pixel_png() -> bytes:
    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )


async def test_real_lighthouse_scores_land_in_the_evidence(small_shop: str) -> None:
    try:
        chromium = find_browser()
        find_lighthouse()
    except (BrowserNotFound, LighthouseNotFound) as exc:
        pytest.skip(str(exc))
    started = time.monotonic()
    result = await run_lighthouse(small_shop, chromium, runs=1, timeout=120)
    print(f"\nLighthouse: {time.monotonic() - started:.1f} s for one run, scores {dict(result.scores)}")
    assert result.error is None
    assert set(result.scores) == {"performance", "accessibility", "best-practices", "seo"}
    assert all(0 <= s <= 100 for s in result.scores.values())
    assert result.scores["seo"] >= 80  # title, description, lang and alt are all there
    assert result.runs == 1
    assert all(a["score"] < 0.9 for a in result.failing_audits)
    evidence = SiteEvidence(site=small_shop, home=small_shop, lighthouse=(result,))
    strict = run_check(LIGHTHOUSE_CHECK, evidence, {"thresholds": {"seo": 101}})
    assert strict.status == "warn"
    assert "seo" in strict.findings[0].evidence["below"]


def _alive(pid: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return False


async def _poll(condition: Callable[[], bool], deadline_s: float) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return condition()


@pytest.fixture
async def stalled_page() -> AsyncIterator[str]:
    """A page whose answer never comes, so Lighthouse waits until it is timed out."""
    released = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        await released.wait()
        return web.Response(text="late", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", never)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/stalled"
    released.set()
    await runner.cleanup()


async def test_a_real_lighthouse_timeout_leaves_no_process_or_folder(
    chromium: str, stalled_page: str, short_temp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        command = find_lighthouse()
    except LighthouseNotFound as exc:
        pytest.skip(str(exc))
    temp = short_temp
    monkeypatch.setenv("TMPDIR", str(temp))  # Lighthouse's chrome-launcher and Chromium
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # ours
    assert processes_using(temp) == [] and list(temp.iterdir()) == []
    run = asyncio.create_task(run_lighthouse(stalled_page, chromium, timeout=12, lighthouse=command))
    assert await _poll(lambda: bool(processes_using(temp)), 12), "Chromium never started"
    result = await run
    assert result.error == "Lighthouse took longer than 12 s"
    assert await _poll(lambda: not processes_using(temp), 2), "a process outlived the run"
    assert list(temp.iterdir()) == []


KILLED_SCAN = """
import asyncio, os, signal, sys
from shophealth.crawler.chromium import BrowserTrust, debuggable_chromium, make_profile

async def main():
    async with debuggable_chromium(sys.argv[1], make_profile(BrowserTrust())) as port:
        print(port, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no finally runs

asyncio.run(main())
"""


async def test_chromium_dies_with_a_scan_that_is_killed_outright(
    chromium: str, short_temp: Path, tmp_path: Path
) -> None:
    script = tmp_path / "killed_scan.py"
    script.write_text(KILLED_SCAN)
    env = {**os.environ, "TMPDIR": str(short_temp)}
    scan = await asyncio.create_subprocess_exec(
        sys.executable, str(script), chromium, env=env, stdout=asyncio.subprocess.PIPE
    )
    port, _ = await asyncio.wait_for(scan.communicate(), 60)
    assert int(port) > 0 and scan.returncode == -9
    assert await _poll(lambda: not processes_using(short_temp), 10), "Chromium outlived the scan"


async def test_a_cancelled_lighthouse_run_ends_at_once_and_leaves_nothing(
    chromium: str, stalled_page: str, short_temp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (the scan cancels the phase) must not wait for Lighthouse's own time-out."""
    try:
        command = find_lighthouse()
    except LighthouseNotFound as exc:
        pytest.skip(str(exc))
    monkeypatch.setenv("TMPDIR", str(short_temp))
    monkeypatch.setattr(tempfile, "tempdir", str(short_temp))
    run = asyncio.create_task(run_lighthouse(stalled_page, chromium, timeout=120, lighthouse=command))
    assert await _poll(lambda: bool(processes_using(short_temp)), 12), "Chromium never started"
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, 10)
    assert await _poll(lambda: not processes_using(short_temp), 2), "a process outlived the run"
    assert list(short_temp.iterdir()) == []
