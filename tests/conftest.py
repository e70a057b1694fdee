"""Shared fixtures: fixture shops served on 127.0.0.1, and a scan helper."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
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


@pytest.fixture
def short_temp() -> Iterator[Path]:
    """An empty temporary folder with a short path: Chromium refuses to start when
    the path of its singleton socket (under TMPDIR) is over 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="shtmp-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def processes_using(folder: Path) -> list[int]:
    """Live processes whose command line names ``folder`` (a Chromium profile in it)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(process.info["cmdline"] or ())
            if str(folder) in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
    return found


async def scan_url(url: str, registry: Registry, **changes: object) -> SiteRun:
    return await scan_site(SiteConfig(url=url, config=fast_config(**changes)), registry)
