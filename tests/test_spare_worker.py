"""The spare worker process: started before the scan's imports, adopted by the first pool,
and ended quietly when no pool wants it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import scan_url

from shophealth.checks.registry import Registry
from shophealth.crawler import spare
from shophealth.demo.server import RunningShop, serve_shop

PAGES = 12


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningShop]:
    root = tmp_path_factory.mktemp("spare-shop")
    links = "".join(f'<a href="/p{i}.html">p{i}</a>' for i in range(PAGES))
    (root / "index.html").write_text(f"<html><head><title>Home</title></head><body>{links}</body></html>")
    for i in range(PAGES):
        page = f'<html><head><title>P{i}</title></head><body><a href="/gone-{i}">x</a></body></html>'
        (root / f"p{i}.html").write_text(page)
    with serve_shop(root) as running:
        yield running


@pytest.fixture
def spare_process() -> Iterator[None]:
    spare.start()
    yield
    spare.discard()


@pytest.mark.parametrize(
    ("argv", "crawls"),
    [
        (["scan", "https://shop.example/"], True),
        (["--log-level", "debug", "scan", "https://shop.example/"], True),
        (["report", "scan.json"], False),
        (["checks", "list"], False),
        ([], False),
    ],
)
def test_only_a_crawling_command_wants_a_spare(
    argv: list[str], crawls: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spare, "usable_cores", lambda: 2)
    assert spare.wanted(argv) is crawls
    monkeypatch.setattr(spare, "usable_cores", lambda: 1)
    assert not spare.wanted(argv)


async def test_the_first_pool_adopts_the_spare_and_crawls_with_it(
    shop: RunningShop, registry: Registry, spare_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    adopted: list[int] = []
    take = spare.take

    def taken() -> subprocess.Popen[bytes] | None:
        popen = take()
        if popen is not None:
            adopted.append(popen.pid)
        return popen

    monkeypatch.setattr(spare, "take", taken)
    pid = spare._spare.pid if spare._spare is not None else None
    run = await scan_url(shop.url, registry, workers=1)
    assert pid is not None and adopted == [pid]
    assert run.stats["workers"] == 1
    broken = {f.target for f in run.findings if f.check == "links.broken"}
    assert broken == {f"{shop.url}gone-{i}" for i in range(PAGES)}
    assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"  # it ended with the pool


def test_an_unused_spare_ends_quietly() -> None:
    popen = subprocess.Popen(
        spare.worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = popen.communicate(b"", timeout=30)
    assert (popen.returncode, out, err) == (0, b"", b"")


def test_a_scan_command_starts_its_spare_before_the_command_line_is_imported(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from shophealth.crawler import spare, entry\n"
        "sys.argv = ['shophealth', 'scan', '--help']\n"
        "started = []\n"
        "real_start = spare.start\n"
        "spare.start = lambda: (started.append('shophealth.crawler.cli' in sys.modules), real_start())\n"
        "spare.usable_cores = lambda: 2\n"
        "try:\n"
        "    entry.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(started)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert done.stdout.strip().splitlines()[-1] == "[False]", done.stderr


def _state(pid: int) -> str:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0]


def _maps_lxml(pid: int) -> bool:
    return "lxml" in Path(f"/proc/{pid}/maps").read_text()


def test_a_spare_imports_extruct_while_it_waits_for_its_setup() -> None:
    popen = subprocess.Popen(
        [*spare.worker_command(), spare.SPARE_FLAG],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not _maps_lxml(popen.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _maps_lxml(popen.pid), "extruct (and lxml) imported before any setup came"
    finally:
        _, err = popen.communicate(b"", timeout=30)
    assert (popen.returncode, err) == (0, b"")
