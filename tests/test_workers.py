"""Worker processes: the same evidence as an in-process crawl, politeness kept
across processes, and a worker that dies or never starts costs no page."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fast_config, scan_url

from shophealth.checks.registry import Registry
from shophealth.crawler.config import ConfigError, ScanConfig, load_sites_file
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.crawler.jobs import PageFetch
from shophealth.crawler.scan import SiteRun, scan_site
from shophealth.crawler.urls import Scope
from shophealth.crawler.workers import AUTO_START_PAGES, WorkerPool, WorkerSetup, default_workers
from shophealth.demo.run import demo_sites
from shophealth.demo.server import RunningShop, serve_shop

PAGES = 30


def _findings(run: SiteRun) -> set[tuple[str, str, str | None]]:
    return {(f.check, f.page, f.target) for f in run.findings}


def _write_shop(root: Path, pages: int) -> None:
    """Linked product pages with a broken link and an image each, a cookie gate and a slow page."""
    links = "".join(f'<a href="/p{i}.html">p{i}</a>' for i in range(pages))
    links += '<a href="/members">members</a>'
    (root / "index.html").write_text(f"<html><head><title>Home</title></head><body>{links}</body></html>")
    for i in range(pages):
        body = (
            f'<h1>Product {i}</h1><a href="/">home</a><a href="/missing-{i}">gone</a><img src="/img{i}.png">'
        )
        (root / f"p{i}.html").write_text(f"<html><head><title>P{i}</title></head><body>{body}</body></html>")
        (root / f"img{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "members.html").write_text("<html><body><h1>Members</h1><a href='/p1.html'>p1</a></body></html>")
    (root / "routes.yaml").write_text(
        "/gate: {set_cookie: 'age_ok=1', redirect: /members}\n"
        "/members: {requires_cookie: 'age_ok=1', else_redirect: /gate, file: members.html}\n"
        "/slow: {delay: 1.5, body: '<html><body>slow</body></html>'}\n"
    )


@pytest.fixture(scope="module")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    root = tmp_path_factory.mktemp("small-shop")
    _write_shop(root, PAGES)
    with serve_shop(root) as shop:
        yield shop


async def test_workers_gather_what_the_in_process_crawl_gathers(
    small_shop: RunningShop, registry: Registry
) -> None:
    alone = await scan_url(small_shop.url, registry, workers=0)
    pooled = await scan_url(small_shop.url, registry, workers=2)
    assert pooled.stats["workers"] == 2
    assert alone.stats["workers"] == 0
    # home, the products, their broken links, members
    assert pooled.stats["pages"] == alone.stats["pages"] == 2 * PAGES + 2
    assert pooled.stats["requests"] == alone.stats["requests"]
    assert _findings(pooled) == _findings(alone)
    broken = {f.target for f in pooled.findings if f.check == "links.broken"}
    assert broken == {f"{small_shop.url}missing-{i}" for i in range(PAGES)}


async def test_a_cookie_set_on_a_redirect_is_sent_back(small_shop: RunningShop, registry: Registry) -> None:
    for workers in (0, 2):
        run = await scan_url(small_shop.url, registry, workers=workers)
        members = next(p for p in run.evidence.pages if p.url.endswith("/members"))
        assert members.status == 200, workers
        assert members.facts is not None and members.facts.h1 == ("Members",)
        assert not [f for f in run.findings if f.check == "links.broken" and "members" in str(f.target)]


async def test_per_host_limit_holds_across_worker_processes(
    small_shop: RunningShop, registry: Registry
) -> None:
    server = small_shop.server
    server.routes["*"] = {"delay": 0.05}
    try:
        for per_host in (2, 6):
            server.max_in_flight = 0
            run = await scan_url(
                small_shop.url, registry, workers=2, per_host=per_host, per_host_max=per_host, concurrency=32
            )
            assert run.stats["workers"] == 2
            assert server.max_in_flight == per_host
        for workers in (0, 2):  # a host answering as fast at 2 as at 1 is asked more, up to the most
            server.max_in_flight = 0
            await scan_url(small_shop.url, registry, workers=workers, per_host=1, per_host_max=6)
            assert server.max_in_flight == 6, workers
    finally:
        del server.routes["*"]


def _pool(shop: RunningShop, size: int) -> tuple[WorkerPool, Fetcher]:
    config = fast_config()
    scope = Scope.for_start_urls([shop.url])
    fetcher = Fetcher(config, trust_context(None), scope.is_internal)
    return WorkerPool(size, WorkerSetup(config, scope, frozenset()), fetcher), fetcher


async def _until_ready(pool: WorkerPool) -> None:
    async with asyncio.timeout(20):
        while not all(w.ready for w in pool._workers):
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(("workers", "links_here"), [(1, True), (2, False)])
async def test_the_coordinator_verifies_links_when_the_workers_leave_it_a_core(
    small_shop: RunningShop, monkeypatch: pytest.MonkeyPatch, workers: int, links_here: bool
) -> None:
    monkeypatch.setattr("shophealth.crawler.workers.usable_cores", lambda: 2)
    pool, fetcher = _pool(small_shop, workers)
    await pool.start()
    try:
        await _until_ready(pool)
        page = await pool.page(small_shop.url + "p1.html")
        link = await pool.link(small_shop.url + "img1.png")
        assert page.result.status == 200 and link.result.status == 200
        assert pool.links_here is links_here
        assert (pool.requests, fetcher.requests) == ((1, 1) if links_here else (2, 0))
    finally:
        await pool.aclose()
        await fetcher.aclose()


async def test_a_page_gives_back_its_turn_at_the_host_before_it_is_parsed(
    small_shop: RunningShop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The host's turn is held while the page is asked, not while a worker parses it:
    the worker's parse here waits for a file the test writes only once the turn is free."""
    go = tmp_path / "go"
    slow_parser = (
        "import asyncio, os, shophealth.crawler.workers as w\n"
        "real = w.fetch_page\n"
        "async def fetch_page(*args, **options):\n"
        "    answer = await real(*args, **options)\n"
        f"    while not os.path.exists({str(go)!r}):\n"
        "        await asyncio.sleep(0.01)\n"
        "    return answer\n"
        "w.fetch_page = fetch_page\n"
        "asyncio.run(w._main())\n"
    )
    monkeypatch.setattr(
        "shophealth.crawler.workers.worker_command", lambda: [sys.executable, "-c", slow_parser]
    )
    pool, fetcher = _pool(small_shop, 1)
    await pool.start()
    url = small_shop.url + "p1.html"
    try:
        await _until_ready(pool)
        page = asyncio.create_task(pool.page(url))
        host = fetcher.host_policy(url).limit
        try:
            async with asyncio.timeout(10):  # the job was handed over, then its turn given back
                while not (pool._workers[0].pending and host.in_flight == 0):
                    await asyncio.sleep(0.01)
            assert not page.done()  # still being "parsed"
        finally:
            go.touch()
        answer = await page
        assert answer.result.status == 200 and answer.document is not None
    finally:
        await pool.aclose()
        await fetcher.aclose()


async def test_links_are_verified_while_pages_are_still_crawled(
    small_shop: RunningShop, registry: Registry
) -> None:
    """One task a queue: with a single queue, every product page (all linked from the home
    page) was asked before the first image they carry."""
    small_shop.server.hits.clear()
    await scan_url(small_shop.url, registry, workers=0, concurrency=1)
    order = list(small_shop.server.hits)
    first_image = min(order.index(f"/img{i}.png") for i in range(PAGES))
    last_product = max(order.index(f"/p{i}.html") for i in range(PAGES))
    assert first_image < last_product, order


async def test_a_job_held_by_a_killed_worker_is_done_by_another(small_shop: RunningShop) -> None:
    pool, fetcher = _pool(small_shop, 2)
    await pool.start()
    try:
        await _until_ready(pool)
        slow = asyncio.create_task(pool.page(small_shop.url + "slow"))
        async with asyncio.timeout(10):  # until a worker holds the job
            while not any(w.pending for w in pool._workers):
                await asyncio.sleep(0.01)
        holder = next(w for w in pool._workers if w.pending)
        os.kill(holder.proc.pid, signal.SIGKILL)
        answer = await slow
        assert isinstance(answer, PageFetch)
        assert answer.result.status == 200
        assert pool.restarts == 1  # the dead worker was replaced
        assert sum(w.alive for w in pool._workers) == 2
    finally:
        await pool.aclose()
        await fetcher.aclose()


async def test_workers_that_die_at_start_leave_the_crawl_in_process(
    small_shop: RunningShop, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "shophealth.crawler.workers.worker_command",
        lambda: [sys.executable, "-c", "import sys; sys.stderr.write('no luck here'); sys.exit(3)"],
    )
    run = await scan_url(small_shop.url, registry, workers=2)
    assert run.stats["pages"] == 2 * PAGES + 2
    assert run.stats["workers"] == 0
    assert "exit code 3" in run.stats["workers_fallback"]
    assert "no luck here" in run.stats["workers_fallback"]
    assert len([f for f in run.findings if f.check == "links.broken"]) == PAGES


async def test_a_worker_answer_that_cannot_be_read_is_a_fallback_not_a_crash(
    small_shop: RunningShop,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker of another version (here: answers holding a class only its own ``__main__``
    has) is stopped, its jobs done again elsewhere, and it is replaced (then the crawl goes
    on in-process): every page is there and the reason is logged, not a stray traceback."""
    skewed = (
        "import asyncio, dataclasses, shophealth.crawler.workers as w\n"
        "@dataclasses.dataclass\n"
        "class Newer:\n"
        "    x: int = 1\n"
        "async def fetch_page(*args, **options):\n"
        "    return Newer()\n"
        "w.fetch_page = fetch_page\n"
        "asyncio.run(w._main())\n"
    )
    monkeypatch.setattr("shophealth.crawler.workers.worker_command", lambda: [sys.executable, "-c", skewed])
    run = await scan_url(small_shop.url, registry, workers=1)
    assert run.stats["pages"] == 2 * PAGES + 2
    assert "unreadable answer: AttributeError" in caplog.text  # each replaced worker's reason
    assert "never retrieved" not in caplog.text


async def test_an_unstartable_worker_program_is_a_fallback_not_an_error(
    small_shop: RunningShop, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shophealth.crawler.workers.worker_command", lambda: ["/nonexistent/python"])
    run = await scan_url(small_shop.url, registry, workers=1)
    assert run.error is None
    assert run.stats["pages"] == 2 * PAGES + 2
    assert "cannot start a worker process" in run.stats["workers_fallback"]


def test_default_workers_leave_the_coordinator_a_core_started_when_the_shop_is_big(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert default_workers(ScanConfig(workers=0)) == (0, 0)
    assert default_workers(ScanConfig(workers=3)) == (3, 0)  # asked for: from the first job
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    assert default_workers(ScanConfig()) == (3, AUTO_START_PAGES)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    assert default_workers(ScanConfig()) == (1, AUTO_START_PAGES)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert default_workers(ScanConfig())[0] == 0


async def test_automatic_workers_start_only_on_a_big_shop(registry: Registry, tmp_path: Path) -> None:
    runs: dict[int, tuple[SiteRun, SiteRun]] = {}
    for products in (10, 150):  # 22 and 302 pages
        root = tmp_path / str(products)
        root.mkdir()
        _write_shop(root, products)
        with serve_shop(root) as shop:
            runs[products] = (
                await scan_url(shop.url, registry),
                await scan_url(shop.url, registry, workers=0),
            )
    small, _ = runs[10]
    assert small.stats["workers"] == 0
    assert "workers_fallback" not in small.stats
    big, alone = runs[150]
    assert big.stats["workers"] == default_workers(ScanConfig())[0]
    assert big.stats["pages"] == alone.stats["pages"] == 2 * 150 + 2
    assert _findings(big) == _findings(alone)


def test_sites_file_takes_workers_as_a_count_or_auto(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(
        "sites:\n  - {url: 'https://a.example/', workers: 3}\n  - {url: 'https://b.example/', workers: auto}\n"
    )
    first, second = load_sites_file(sites, ScanConfig())
    assert first.config.workers == 3
    assert second.config.workers is None
    sites.write_text("sites:\n  - {url: 'https://a.example/', workers: many}\n")
    with pytest.raises(ConfigError, match="workers must be a non-negative number"):
        load_sites_file(sites, ScanConfig())


@pytest.mark.parametrize("name", ["TLS: valid certificate", "TLS: self-signed certificate"])
async def test_workers_trust_the_ca_bundle_and_crawl_a_bad_certificate_unverified(
    registry: Registry, name: str
) -> None:
    with demo_sites() as served:
        site = next(s for s in served if s.name == name)
        pooled = await scan_site(dataclasses.replace(site, config=site.config.replace(workers=2)), registry)
        alone = await scan_site(dataclasses.replace(site, config=site.config.replace(workers=0)), registry)
    assert pooled.stats["workers"] == 2
    assert pooled.stats["tls_verification"] == alone.stats["tls_verification"]
    assert [p.status for p in pooled.evidence.pages] == [p.status for p in alone.evidence.pages]
    assert all(p.status == 200 for p in pooled.evidence.pages)
    assert _findings(pooled) == _findings(alone)


async def test_time_budget_ends_a_crawl_with_workers_promptly(
    crawl_shop: RunningShop, registry: Registry
) -> None:
    started = time.monotonic()
    run = await scan_url(crawl_shop.url, registry, workers=2, budget_s=6, request_timeout=20, read_timeout=20)
    elapsed = time.monotonic() - started
    assert run.stats["complete"] is False
    assert "time budget of 6 s ran out" in run.stats["stopped_detail"]
    assert elapsed < 10  # the budget (the workers' start included), then closing
    assert run.stats["pages"] > 0, run.stats


async def test_automatic_workers_keep_the_adaptive_per_host_limit(registry: Registry, tmp_path: Path) -> None:
    _write_shop(tmp_path, 100)
    routes = tmp_path / "routes.yaml"
    routes.write_text(routes.read_text() + '"*": {delay: 0.02}\n')
    with serve_shop(tmp_path) as shop:
        run = await scan_url(shop.url, registry, per_host=1, per_host_max=6)
    assert run.stats["workers"] == default_workers(ScanConfig())[0]
    assert shop.server.max_in_flight == 6


async def test_a_job_that_raises_in_a_worker_is_reported_and_the_crawl_goes_on(
    small_shop: RunningShop, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken_parser = (
        "import asyncio, shophealth.crawler.workers as w\n"
        "real = w.fetch_page\n"
        "async def fetch_page(fetcher, is_internal, url, parsed=(), **options):\n"
        "    if url.endswith('/p3.html'):\n"
        "        raise ValueError('parser exploded')\n"
        "    return await real(fetcher, is_internal, url, parsed, **options)\n"
        "w.fetch_page = fetch_page\n"
        "asyncio.run(w._main())\n"
    )
    monkeypatch.setattr(
        "shophealth.crawler.workers.worker_command", lambda: [sys.executable, "-c", broken_parser]
    )
    run = await scan_url(small_shop.url, registry, workers=2)
    assert run.stats["workers"] == 2
    p3 = small_shop.url + "p3.html"
    assert p3 not in {p.url for p in run.evidence.pages}
    reasons = dict((r.url, reason) for r, reason in run.unverifiable)
    assert reasons[p3] == "internal error: ValueError: parser exploded"
    assert run.stats["pages"] == 2 * PAGES + 2 - 2  # p3 and the broken link only it carried
