"""What the README claims about politeness, pinned against loopback servers
(issue 9, item 11): robots.txt answering 4xx, 5xx or nothing (RFC 9309),
Crawl-delay, Retry-After (retries running out, an HTTP date, above the cap),
LinkedIn's 999."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import fast_config, scan_url

from shophealth.checks.linkverdict import link_verdict
from shophealth.checks.registry import Registry
from shophealth.crawler.fetch import Fetcher, FetchResult, retry_after_seconds, trust_context
from shophealth.crawler.robots import MAX_CRAWL_DELAY, RobotsCache
from shophealth.crawler.urls import origin
from shophealth.demo.server import serve_shop


def _shop(root: Path, routes: str = "", robots: str | None = None, index: str = "") -> Path:
    root.mkdir()
    (root / "index.html").write_text(f'<title>Shop</title><a href="/p">P</a>{index}')
    (root / "p.html").write_text("<title>P</title>")
    (root / "routes.yaml").write_text(routes)
    if robots is not None:
        (root / "robots.txt").write_text(robots)
    return root


async def test_robots_txt_answering_4xx_means_no_rules(registry: Registry, tmp_path: Path) -> None:
    with serve_shop(_shop(tmp_path / "shop", "/robots.txt: {status: 403}\n")) as shop:
        run = await scan_url(shop.url, registry)
    assert run.error is None
    assert {p.url for p in run.evidence.pages} == {shop.url, shop.url + "p"}


async def test_robots_txt_answering_5xx_means_disallow_all(registry: Registry, tmp_path: Path) -> None:
    with serve_shop(_shop(tmp_path / "shop", "/robots.txt: {status: 503}\n")) as shop:
        run = await scan_url(shop.url, registry)
        assert not shop.requested("/")
    assert run.error is not None and "robots.txt unreadable (HTTP 503)" in run.error
    assert run.stats["stopped_reason"] == "disallowed"


async def test_robots_txt_answering_nothing_means_the_shop_is_unreachable(
    registry: Registry, tmp_path: Path
) -> None:
    with serve_shop(_shop(tmp_path / "shop", "/robots.txt: {delay: 10}\n")) as shop:
        run = await scan_url(shop.url, registry, request_timeout=1, read_timeout=1)
        assert not shop.requested("/")
    assert run.error is not None and "timed out" in run.error
    assert run.stats["stopped_reason"] == "unreachable"


@pytest.mark.parametrize(("delay", "interval"), [("0.25", 0.25), ("3600", MAX_CRAWL_DELAY)])
async def test_crawl_delay_spaces_requests_capped(tmp_path: Path, delay: str, interval: float) -> None:
    robots = f"User-agent: *\nCrawl-delay: {delay}\n"
    with serve_shop(_shop(tmp_path / "shop", robots=robots)) as shop:
        fetcher = Fetcher(fast_config(), trust_context(), lambda url: True)
        try:
            assert await RobotsCache(fetcher).allows(shop.url)
        finally:
            await fetcher.aclose()
    assert fetcher.host_policy(shop.url).min_interval == interval


async def _fetch(url: str, **config: object) -> tuple[FetchResult, int]:
    fetcher = Fetcher(fast_config(**config), trust_context(), lambda url: True)
    try:
        return await fetcher.fetch(url), fetcher.requests
    finally:
        await fetcher.aclose()


async def test_retry_after_honoured_then_the_answer_stands_when_retries_run_out(tmp_path: Path) -> None:
    with serve_shop(_shop(tmp_path / "shop", "/busy: {status: 429, retry_after: 0}\n")) as shop:
        result, requests = await _fetch(shop.url + "busy", retries=2)
    assert requests == 3
    assert result.status == 429 and result.retries_exhausted


async def test_retry_after_above_the_cap_is_not_waited_for(tmp_path: Path) -> None:
    with serve_shop(_shop(tmp_path / "shop", "/busy: {status: 503, retry_after: 3600}\n")) as shop:
        result, requests = await _fetch(shop.url + "busy", max_retry_after=3)
    assert requests == 1
    assert result.status == 503 and result.retries_exhausted


async def test_retry_after_as_an_http_date(tmp_path: Path) -> None:
    soon = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3), usegmt=True)
    routes = f"/busy: {{status: 503, retry_after: '{soon}', times: 1, then: 200, file: p.html}}\n"
    with serve_shop(_shop(tmp_path / "shop", routes)) as shop:
        result, requests = await _fetch(shop.url + "busy", max_retry_after=5)
    assert requests == 2
    assert result.status == 200 and 0 < result.backed_off <= 3


def test_retry_after_values() -> None:
    past = format_datetime(dt.datetime(2015, 10, 21, 7, 28, tzinfo=dt.UTC), usegmt=True)
    assert retry_after_seconds(past, default=5) == 0
    later = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60), usegmt=True)
    assert 55 < retry_after_seconds(later, default=5) <= 60
    assert retry_after_seconds("120", default=5) == 120
    assert retry_after_seconds("soon", default=5) == 5
    assert retry_after_seconds(None, default=5) == 5


async def test_linkedins_999_is_unverifiable_not_broken(registry: Registry, tmp_path: Path) -> None:
    with serve_shop(_shop(tmp_path / "wall", "/in/shop: {status: 999}\n")) as wall:
        link = f'<a href="{wall.url}in/shop">LinkedIn</a>'
        with serve_shop(_shop(tmp_path / "shop", index=link)) as shop:
            run = await scan_url(shop.url, registry)
    result = run.evidence.links[wall.url + "in/shop"]
    assert link_verdict(result).outcome == "unverifiable"
    assert "HTTP 999" in str(link_verdict(result).reason)
    assert not [f for f in run.findings if f.target == wall.url + "in/shop"]
    assert origin(wall.url) != origin(shop.url)
