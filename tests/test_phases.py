"""Each phase after the crawl fails alone and within the shop's budget, and
Ctrl-C ends it (issue 9, items 2, 3 and 9)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path

from conftest import fast_config, scan_url
from test_cli import SHOPHEALTH, _wait_for

from shophealth.checks.registry import Registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.phases import Phases, SiteProgress
from shophealth.crawler.scan import scan_site
from shophealth.demo.server import serve_shop


async def _forever(cancelled: asyncio.Event, started: asyncio.Event | None = None) -> str:
    if started is not None:
        started.set()
    try:
        await asyncio.Event().wait()
    finally:
        cancelled.set()
    return "never"


async def _fails() -> str:
    raise ValueError("boom")


async def _answers() -> str:
    return "answer"


async def test_a_failing_phase_marks_its_kind_missing_and_the_next_runs() -> None:
    phases = Phases(budget_s=60)
    assert await phases.run("probe", _fails(), None) is None
    assert await phases.run("tls", _answers(), None) == "answer"
    assert phases.missing == {"probe": "failed: ValueError: boom"}
    assert phases.stopped is None


async def test_the_budget_cuts_a_phase_short_and_the_later_ones_do_not_start() -> None:
    phases = Phases(budget_s=0.2)
    cancelled = asyncio.Event()
    assert await phases.run("probe", _forever(cancelled), None) is None
    assert cancelled.is_set()
    assert await phases.run("tls", _answers(), None) is None
    assert phases.stopped == "budget"
    assert phases.missing["probe"].startswith("cut short: time budget of 0.2 s ran out")
    assert phases.missing["tls"].startswith("not gathered: time budget of 0.2 s ran out")


async def test_the_stop_event_ends_a_running_phase() -> None:
    stop = asyncio.Event()
    phases = Phases(budget_s=60, stop=stop)
    cancelled = asyncio.Event()
    started = asyncio.Event()
    running = asyncio.ensure_future(phases.run("lighthouse", _forever(cancelled, started), ()))
    await started.wait()
    stop.set()
    assert await asyncio.wait_for(running, 10) == ()
    assert cancelled.is_set()
    assert phases.stopped == "interrupted"
    assert phases.missing["lighthouse"].startswith("cut short: interrupted (Ctrl-C)")


async def test_the_budget_bounds_the_phases_after_the_crawl(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "index.html").write_text("<title>Shop</title>")
    (root / "routes.yaml").write_text("/shophealth-probe-*: {delay: 30}\n")  # the not-found probe hangs
    with serve_shop(root) as shop:
        run = await scan_url(shop.url, registry, budget_s=2, request_timeout=40, read_timeout=40)
    assert run.error is None
    assert run.stats["complete"] is False
    assert run.stats["stopped_reason"] == "budget"
    assert "during probing the not-found page" in run.stats["stopped_detail"]
    assert run.evidence.missing["probe"].startswith("cut short: time budget of 2 s ran out")
    assert run.evidence.missing["tls"].startswith("not gathered")
    assert [p.status for p in run.evidence.pages] == [200]


async def test_progress_names_each_phase_as_it_begins(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "index.html").write_text('<title>Shop</title><img src="/slow.png" alt="">')
    (root / "routes.yaml").write_text("/slow.png: {delay: 0.5, type: image/png}\n")
    phases: list[str] = []
    progress = SiteProgress(
        crawl=lambda pages, queued, judged: None, phase=lambda name, *_: phases.append(name)
    )
    with serve_shop(root) as shop:
        await scan_site(SiteConfig(url=shop.url, config=fast_config()), registry, progress)
    assert phases[:2] == ["crawling", "verifying links"]
    assert phases[2:] == ["probing the not-found page", "asking over plain HTTP", "inspecting certificates"]


def test_ctrl_c_during_a_phase_after_the_crawl_ends_it_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "index.html").write_text("<title>Shop</title>")
    (root / "routes.yaml").write_text("/shophealth-probe-*: {delay: 60}\n")  # the not-found probe hangs
    report = tmp_path / "report.json"
    with serve_shop(root) as shop:
        command = [*SHOPHEALTH, "scan", shop.url, "--json", str(report), "--render", "off", "--quiet"]
        command += ["--lighthouse-pages", "0"]
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        probing = lambda: any(path.startswith("/shophealth-probe-") for _, path in shop.server.log)  # noqa: E731
        _wait_for(probing, proc)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)  # the probe would take 30 s (request_timeout)
    assert proc.returncode == 130, err
    site = json.loads(report.read_text())["sites"][0]
    assert site["stats"]["stopped_reason"] == "interrupted"
    assert site["stats"]["pages"] == 1
    tls = next(c for c in site["checks"] if c["check"] == "tls.expired")  # its phase never began
    assert tls["status"] == "skipped" and "not gathered: interrupted (Ctrl-C)" in tls["detail"]
