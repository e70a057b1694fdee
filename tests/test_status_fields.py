"""The report's status fields are true (issue 9, item 9)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import fast_config, scan_url

from shophealth.checks.registry import Registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.scan import scan, scan_site
from shophealth.demo.server import serve_shop


async def test_a_body_cut_at_max_bytes_is_reported_in_stats(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "index.html").write_text('<title>Shop</title><a href="/big">Big</a>')
    (root / "big.html").write_text("<title>Big</title>" + "<p>filler</p>" * 2000 + "Warning: include()")
    with serve_shop(root) as shop:
        run = await scan_url(shop.url, registry, max_bytes=10_000)
    assert run.stats["truncated"] == 1
    assert run.stats["truncated_pages"] == [shop.url + "big"]


async def test_a_shop_never_started_has_every_stats_field_and_every_check(
    registry: Registry, tmp_path: Path
) -> None:
    stop = asyncio.Event()
    stop.set()
    sites = [SiteConfig(url="http://127.0.0.1:9/", config=fast_config())]
    run = await scan(sites, registry=registry, stop=stop)
    (site,) = run.sites
    (tmp_path / "index.html").write_text("<title>Shop</title>")
    with serve_shop(tmp_path) as shop:  # the fields a scanned shop has
        scanned = await scan_site(SiteConfig(url=shop.url, config=fast_config()), registry)
    assert scanned.error is None
    assert set(site.stats) >= set(scanned.stats) - {"workers_fallback"}
    assert site.stats["complete"] is False
    assert site.stats["stopped_reason"] == "interrupted"
    assert site.error is not None and "interrupted" in site.error
    assert {o.check: o.status for o in site.outcomes} == dict.fromkeys(registry.checks, "skipped")


async def test_settings_that_would_hang_are_refused_by_the_library_too(registry: Registry) -> None:
    sites = [SiteConfig(url="http://127.0.0.1:9/", config=fast_config(concurrency=0))]
    run = await asyncio.wait_for(scan(sites, registry=registry), 30)
    (site,) = run.sites
    assert site.error is not None and "concurrency must be above 0" in site.error
    assert site.stats["stopped_reason"] == "bad-input"
