"""A distributed scan: four fixture shops over two Celery workers (a Redis
broker and a PostgreSQL store started by the suite), one worker killed with
SIGKILL while it scans a shop: the run completes with the findings of a
single-process scan, each shop stored once, no finding twice. And two workers
scanning two shops that link to one external host ask it no harder together
than ``per_external_host`` allows."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
import redis
from aiohttp import web
from db_servers import create_database, postgres, redis_url

from shophealth.demo.server import RunningShop, serve_app_in_thread, serve_shop

_ = (postgres, redis_url)  # fixtures
SHOPHEALTH = [sys.executable, "-m", "shophealth"]
PAGE = '<html lang="en"><head><title>{title}</title><meta name="description" content="{title}"></head><body>{body}</body></html>'


def write_shop(root: Path, seed: int) -> None:
    root.mkdir()
    (root / "routes.yaml").write_text('"*": {delay: 0.1}\n')  # a few seconds a shop: time to be killed
    cats = " ".join(f'<a href="/c{c}.html">Category {c}</a>' for c in range(4))
    (root / "index.html").write_text(PAGE.format(title=f"Shop {seed}", body=cats))
    for c in range(4):
        items = " ".join(f'<a href="/p{c}-{p}.html">Product {p}</a>' for p in range(8))
        (root / f"c{c}.html").write_text(
            PAGE.format(title=f"Category {c}", body=f'<a href="/">Home</a> {items}')
        )
        for p in range(8):
            broken = f' <a href="/gone-{seed}-{c}-{p}.html">Old</a>' if (p + seed) % 4 == 0 else ""
            (root / f"p{c}-{p}.html").write_text(
                PAGE.format(title=f"Product {c}-{p}", body=f'<a href="/">Home</a>{broken}')
            )


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[list[RunningShop]]:
    with ExitStack() as stack:
        running = []
        for seed in range(4):
            write_shop(tmp_path / f"shop{seed}", seed)
            running.append(stack.enter_context(serve_shop(tmp_path / f"shop{seed}")))
        yield running


def sites_file(shops: list[RunningShop], path: Path, defaults: str = "") -> Path:
    lines = [
        f"defaults: {{render: 'off', lighthouse_pages: 0, workers: 0, per_host: 2, per_host_max: 2{defaults}}}",
        "sites:",
    ]
    lines += [f"  - {{url: '{shop.url}', name: 'Shop {i}'}}" for i, shop in enumerate(shops)]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_worker(store: str, broker: str) -> subprocess.Popen[bytes]:
    command = [*SHOPHEALTH, "worker", "--store", store, "--broker", broker, "--visibility-timeout", "5"]
    return subprocess.Popen(
        [*command, "--loglevel", "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def holder_pids(broker: str) -> set[int]:
    """The processes holding a shop's lock (its value is ``host:pid:…``)."""
    client = redis.Redis.from_url(broker)
    values = [client.get(key) for key in client.keys("shophealth:shop:*")]
    return {int(v.decode().split(":")[1]) for v in values if v}


def findings_by_shop(report: Path) -> dict[str, list[str]]:
    data = json.loads(report.read_text())
    return {s["site"]: sorted(f["fingerprint"] for f in s["findings"]) for s in data["sites"]}


def test_distributed_scan_survives_a_killed_worker(
    shops: list[RunningShop], tmp_path: Path, postgres: str, redis_url: str
) -> None:
    sites = sites_file(shops, tmp_path / "sites.yaml")
    local = tmp_path / "local.json"
    result = subprocess.run(
        [*SHOPHEALTH, "scan", "--sites", str(sites), "--quiet", "--json", str(local)], timeout=300
    )
    assert result.returncode == 0

    store = create_database(postgres, f"d_{uuid.uuid4().hex[:12]}")
    broker = redis_url.rsplit("/", 1)[0] + "/1"  # a database of its own
    workers = [start_worker(store, broker), start_worker(store, broker)]
    distributed = tmp_path / "distributed.json"
    try:
        command = [*SHOPHEALTH, "scan", "--sites", str(sites), "--distributed", "--store", store]
        scan = subprocess.Popen(
            [*command, "--broker", broker, "--quiet", "--json", str(distributed)], stderr=subprocess.PIPE
        )
        victim, deadline = workers[0], time.monotonic() + 120
        while victim.pid not in holder_pids(broker):
            assert scan.poll() is None, scan.communicate()[1].decode()
            assert time.monotonic() < deadline, "the worker never took a shop"
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        _, stderr = scan.communicate(timeout=300)
        assert scan.returncode == 0, stderr.decode()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=30)
    assert findings_by_shop(distributed) == findings_by_shop(local)
    run_id = json.loads(distributed.read_text())["run"]["id"]
    with psycopg.connect(store) as db:
        shop_runs = db.execute("SELECT count(*) FROM shop_runs WHERE run_id = %s", (run_id,)).fetchone()
        stored = db.execute(
            "SELECT count(*) FROM findings JOIN shop_runs ON shop_runs.id = findings.shop_run_id WHERE run_id = %s",
            (run_id,),
        ).fetchone()
    assert shop_runs == (4,)  # each shop stored once, by one worker
    assert stored == (sum(len(f) for f in findings_by_shop(local).values()),)  # no finding stored twice


def test_distributed_needs_a_store_and_a_broker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SHOPHEALTH_STORE", "SHOPHEALTH_BROKER")}
    result = subprocess.run(
        [*SHOPHEALTH, "scan", "http://127.0.0.1:9/", "--distributed"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--distributed needs --store" in result.stderr and "Traceback" not in result.stderr


class ExternalHost:
    """A payment host both shops link to; it counts the requests in flight. Each
    answer waits (up to a second) until both shops have asked something, so that
    two workers each keeping only their own limit are caught overlapping."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.shops: set[str] = set()
        self._both: asyncio.Event | None = None

    async def answer(self, request: web.Request) -> web.Response:
        both = self._both = self._both or asyncio.Event()
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.shops.add(request.path.split("/")[1])
        if len(self.shops) == 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 1.0)
        self.in_flight -= 1
        return web.Response(text="<html><title>Pay</title></html>", content_type="text/html")


def write_linking_shop(root: Path, seed: int, external: str) -> None:
    root.mkdir()
    pages = " ".join(f'<a href="/p{p}.html">Product {p}</a>' for p in range(3))
    (root / "index.html").write_text(PAGE.format(title=f"Shop {seed}", body=pages))
    for p in range(3):
        links = " ".join(f'<a href="{external}s{seed}/pay-{p}-{n}">Pay</a>' for n in range(2))
        (root / f"p{p}.html").write_text(
            PAGE.format(title=f"Product {p}", body=f'<a href="/">Home</a> {links}')
        )


def test_workers_share_the_limit_of_an_external_host(tmp_path: Path, postgres: str, redis_url: str) -> None:
    host = ExternalHost()
    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", host.answer)
    with ExitStack() as stack:
        external = stack.enter_context(serve_app_in_thread(application))
        shops = []
        for seed in range(2):
            write_linking_shop(tmp_path / f"shop{seed}", seed, external)
            shops.append(stack.enter_context(serve_shop(tmp_path / f"shop{seed}")))
        sites = sites_file(shops, tmp_path / "sites.yaml", ", per_external_host: 2")
        store = create_database(postgres, f"d_{uuid.uuid4().hex[:12]}")
        broker = redis_url.rsplit("/", 1)[0] + "/2"
        workers = [start_worker(store, broker), start_worker(store, broker)]
        report = tmp_path / "report.json"
        try:
            command = [*SHOPHEALTH, "scan", "--sites", str(sites), "--distributed", "--store", store]
            scan = subprocess.run(
                [*command, "--broker", broker, "--quiet", "--json", str(report)],
                capture_output=True,
                timeout=300,
            )
            assert scan.returncode == 0, scan.stderr.decode()
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
    assert host.shops == {"s0", "s1"}  # both shops verified their payment links
    assert host.most == 2  # per_external_host, for both workers together
