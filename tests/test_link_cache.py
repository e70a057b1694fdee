"""External-link verdicts kept across runs: final ones are not asked again
the next night; rate limits, server errors, timeouts and unverifiable
results always are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shophealth.crawler.evidence import ErrorKind, Hop, LinkResult, compress_bytes
from shophealth.crawler.link_cache import LinkCache, cacheable, from_row, to_row
from shophealth.demo.server import RunningShop, serve_shop
from shophealth.reports.store import Store


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        (LinkResult("https://pay.example/", status=200), True),
        (LinkResult("https://pay.example/gone", status=404), True),
        (LinkResult("https://pay.example/", status=410), True),
        (LinkResult("https://pay.example/", status=429), False),
        (LinkResult("https://pay.example/", status=503), False),
        (LinkResult("https://pay.example/", status=408), False),
        (LinkResult("https://pay.example/", status=403), False),
        (LinkResult("https://pay.example/", status=999), False),
        (LinkResult("https://pay.example/", status=200, retries_exhausted=True), False),
        (LinkResult("https://pay.example/", error_kind=ErrorKind.TIMEOUT, error="timed out"), False),
        (LinkResult("https://pay.example/", not_asked="robots.txt disallows it"), False),
        (LinkResult("https://shop.example/p/1", status=200, internal=True), False),
    ],
)
def test_only_final_external_answers_are_kept(result: LinkResult, kept: bool) -> None:
    assert cacheable(result) is kept
    cache = LinkCache()
    cache.put(result)
    assert (result.url in cache.fresh) is kept


def test_a_kept_answer_reads_back_the_same() -> None:
    result = LinkResult(
        "https://maps.example/a", status=200, final_url="https://maps.example/b",
        headers={"content-type": "text/html"}, body_head_z=compress_bytes(b"<html>"),
        redirects=(Hop("https://maps.example/a", 301, "/b"),),
    )  # fmt: skip
    assert from_row(*json.loads(json.dumps(to_row(result)))) == result


def test_expired_verdicts_are_not_read(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'h.sqlite3'}") as store:
        store.cache_links([to_row(LinkResult("https://a.example/", status=200))], expires_at=0)
        store.cache_links([to_row(LinkResult("https://b.example/", status=200))], expires_at=4e9)
        assert [row[0] for row in store.cached_links()] == ["https://b.example/"]


@pytest.fixture
def supplier(tmp_path: Path) -> Iterator[RunningShop]:
    """Another site the shop links to: one page fine, one gone, one failing."""
    root = tmp_path / "supplier"
    root.mkdir()
    (root / "ok.html").write_text("<html><title>ok</title></html>")
    (root / "routes.yaml").write_text("/error: {status: 500}\n")
    with serve_shop(root) as running:
        yield running


def test_second_night_does_not_ask_final_verdicts_again(supplier: RunningShop, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    links = " ".join(
        f'<a href="{supplier.url}{path}">{path}</a>' for path in ("ok.html", "gone.html", "error")
    )
    (root / "index.html").write_text(f"<html><head><title>Shop</title></head><body>{links}</body></html>")
    store = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    reports, asked = [], []
    with serve_shop(root) as shop:
        for night in (1, 2):
            supplier.server.log.clear()
            report = tmp_path / f"night{night}.json"
            command = [sys.executable, "-m", "shophealth", "scan", shop.url, "--store", store, "--quiet"]
            command += ["--render", "off", "--lighthouse-pages", "0", "--json", str(report)]
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=120, env=dict(os.environ)
            )
            assert result.returncode == 0, result.stderr
            reports.append(json.loads(report.read_text()))
            asked.append({path for _method, path in supplier.server.log})
    assert asked[0] == {"/ok.html", "/gone.html", "/error"}
    assert asked[1] == {"/error"}  # a 500 is asked again the next night
    broken = [
        sorted(f["target"] for f in r["sites"][0]["findings"] if f["check"] == "links.broken")
        for r in reports
    ]
    assert broken[0] == broken[1] == [supplier.url + "error", supplier.url + "gone.html"]
