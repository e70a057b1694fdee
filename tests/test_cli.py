"""The ``shophealth`` command: bad input gives one line and an exit code, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from shophealth.checks.registry import Registry, load_registry
from shophealth.demo.server import RunningShop, serve_shop
from shophealth.reports.rubric import SPEC_CHECK_IDS

SHOPHEALTH = [sys.executable, "-m", "shophealth"]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*SHOPHEALTH, *args], capture_output=True, text=True, timeout=timeout, env=env)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert words in lines[0]


def test_malformed_url() -> None:
    assert_one_line_error(run_cli("scan", "http://exa mple.com:99999/"), 2, "not a valid URL")


def test_not_http_url() -> None:
    assert_one_line_error(run_cli("scan", "ftp://shop.example/"), 2, "not an http(s) URL")


def test_missing_sites_file(tmp_path: Path) -> None:
    assert_one_line_error(
        run_cli("scan", "--sites", str(tmp_path / "nope.yaml")), 2, "cannot read sites file"
    )


def test_error_stays_one_line_in_a_narrow_terminal(tmp_path: Path) -> None:
    missing = tmp_path / ("a-long-folder-name-" * 4) / "sites.yaml"
    env = {**os.environ, "COLUMNS": "40"}
    result = subprocess.run(
        [*SHOPHEALTH, "scan", "--sites", str(missing)], capture_output=True, text=True, timeout=60, env=env
    )
    assert_one_line_error(result, 2, str(missing))


def test_invalid_yaml_sites_file(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text("sites: [url: : :\n")
    assert_one_line_error(run_cli("scan", "--sites", str(sites)), 2, "not valid YAML")


def test_unknown_key_in_sites_file_is_named(tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text("sites:\n  - url: https://shop.example/\n    max_pagez: 3\n")
    assert_one_line_error(run_cli("scan", "--sites", str(sites)), 2, "unknown option 'max_pagez'")


def test_unreachable_shop_exits_non_zero() -> None:
    result = run_cli("scan", "http://127.0.0.1:9/", "--quiet", "--render", "off")
    assert_one_line_error(result, 1, "connection refused")


def test_sites_file_scans_every_shop_and_reports_the_unreachable(
    crawl_shop: RunningShop, tmp_path: Path
) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(
        "defaults: {max_pages: 5, request_timeout: 2, render: 'off', lighthouse_pages: 0}\n"
        "sites:\n"
        "  - url: http://127.0.0.1:9/\n"
        "    name: Gone\n"
        f"  - url: {crawl_shop.url}\n"
        "    name: Crawl shop\n"
        "    exclude: ['/p/']\n"
    )
    report_path = tmp_path / "report.json"
    result = run_cli("scan", "--sites", str(sites), "--json", str(report_path))
    assert result.returncode == 1
    report = json.loads(report_path.read_text())
    assert report["schema"] == "shophealth.report/1"
    gone, shop = report["sites"]
    assert "refused" in gone["error"]
    assert shop["error"] is None
    assert shop["stats"]["pages"] == 5
    assert not any("/p/" in p for f in shop["findings"] for p in [f["page"]])
    assert "Crawl shop" in result.stdout


def test_report_shape(crawl_shop: RunningShop, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = run_cli(
        "scan",
        crawl_shop.url,
        "--max-pages",
        "20",
        "--render",
        "off",
        "--lighthouse-pages",
        "0",
        "--json",
        str(report_path),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    report = json.loads(report_path.read_text())
    site = report["sites"][0]
    assert set(report["run"]) >= {"id", "started_at", "finished_at", "tool_version", "config"}
    assert set(site) >= {"site", "name", "stats", "unverifiable", "tls", "checks", "findings", "scores"}
    assert set(site["stats"]) >= {
        "pages",
        "links_checked",
        "requests",
        "duration_s",
        "complete",
        "stopped_reason",
    }
    for finding in site["findings"]:
        assert set(finding) >= {"check", "severity", "page", "target", "message", "evidence"}
        assert finding["severity"] in ("error", "warning", "info")
    assert all(u["reason"] for u in site["unverifiable"])
    assert 0 <= site["scores"]["overall"] <= 100


def test_checks_list_names_every_registered_check_with_its_title_and_severities() -> None:
    result = run_cli("checks", "list")
    assert result.returncode == 0
    listed = result.stdout.split()
    for check in load_registry().checks.values():
        assert check.id in listed
        assert " ".join(check.title.split()) in " ".join(result.stdout.split())
        assert check.severities
    assert set(listed) >= SPEC_CHECK_IDS


def test_checks_are_in_id_order_so_reports_group_each_family(registry: Registry) -> None:
    assert list(registry.checks) == sorted(registry.checks)


def test_bad_render_mode() -> None:
    assert_one_line_error(
        run_cli("scan", "https://shop.example/", "--render", "some"), 2, "--render must be one of"
    )


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes], deadline_s: float = 60) -> None:
    """Poll ``condition`` until it holds; fail if ``proc`` ends or the deadline passes first."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert proc.poll() is None, "the scan ended before the condition held"
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.02)


def test_ctrl_c_ends_the_scan_with_a_report_of_what_was_gathered(tmp_path: Path) -> None:
    root = tmp_path / "slow-shop"
    root.mkdir()
    links = "".join(f'<a href="/p{i}.html">p{i}</a>' for i in range(120))
    (root / "index.html").write_text(f"<title>Slow</title>{links}")
    for i in range(120):
        (root / f"p{i}.html").write_text(f"<title>P{i}</title><a href='/'>home</a>")
    (root / "routes.yaml").write_text('"*": {delay: 0.2}\n')  # ~3 s with 8 in flight
    report = tmp_path / "report.json"
    with serve_shop(root) as shop:
        command = [*SHOPHEALTH, "scan", shop.url, "--json", str(report), "--render", "off"]
        command += ["--lighthouse-pages", "0", "--workers", "2", "--per-host-max", "8", "--quiet"]
        env = {**os.environ, "COLUMNS": "200"}
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env
        )
        _wait_for(lambda: len(shop.server.log) >= 20, proc)  # past the workers' start, into the crawl
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"Traceback" not in out + err
    assert err.decode().strip().splitlines() == [
        "Interrupted: finishing the report with what was gathered (Ctrl-C again to quit now)"
    ]
    site = json.loads(report.read_text())["sites"][0]
    assert site["stats"]["complete"] is False
    assert site["stats"]["stopped_reason"] == "interrupted"
    assert site["stats"]["stopped_detail"].startswith("interrupted (Ctrl-C)")
    assert 0 < site["stats"]["pages"] < 121
    assert site["stats"]["workers"] == 2
