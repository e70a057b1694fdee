"""Shared fixtures: fixture shops served on 127.0.0.1, and a scan helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shophealth.checks.registry import Registry, load_registry
from shophealth.crawler.config import ScanConfig, SiteConfig
from shophealth.crawler.scan import SiteRun, scan_site
from shophealth.demo.server import RunningShop, serve_shop

REPO = Path(__file__).resolve().parents[1]
TEST_SHOPS = REPO / "fixtures" / "test_shops"  # in the repository, not installed
REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"


def fast_config(**changes: object) -> ScanConfig:
    """Settings for tests: small timeouts so a hanging server costs seconds."""
    base = ScanConfig(
        request_timeout=3,
        read_timeout=3,
        connect_timeout=2,
        max_retry_after=3,
        budget_s=60,
        render="off",
        lighthouse_pages=0,
    )
    return base.replace(**changes)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="session")
def crawl_shop() -> Iterator[RunningShop]:
    with serve_shop(TEST_SHOPS / "crawl") as shop:
        yield shop


async def scan_url(url: str, registry: Registry, **changes: object) -> SiteRun:
    return await scan_site(SiteConfig(url=url, config=fast_config(**changes)), registry)
