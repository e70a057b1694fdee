"""Gather mode and judge mode: evidence saved by a scan, judged again offline, gives the same report."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import zstandard
from conftest import fast_config
from test_cli import assert_one_line_error, run_cli

from shophealth.checks.registry import Registry
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.evidence import (
    ErrorKind,
    LighthouseResult,
    LinkResult,
    SiteEvidence,
    compress,
    compress_bytes,
)
from shophealth.crawler.evidence_store import load_evidence, save_evidence
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.scan import Run, SiteRun, scan
from shophealth.demo.run import demo_sites
from shophealth.reports.report import build_report

# Runs the CLI with every way to open a network connection replaced by an error.
OFFLINE_CLI = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("judge tried to use the network")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
from shophealth.crawler.cli import app
app(sys.argv[1:], prog_name="shophealth")
"""


def run_offline(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-c", OFFLINE_CLI, *args]
    # cwd "/": nothing is imported from the repository by accident, only the installed package
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd="/")


def comparable(site: dict[str, Any]) -> dict[str, Any]:
    """What judging must reproduce: findings by fingerprint, checks, scores, and the facts shown."""
    findings = {
        f["fingerprint"]: (f["check"], f["severity"], f["page"], f["message"]) for f in site["findings"]
    }
    keys = (
        "site",
        "name",
        "error",
        "stats",
        "unverifiable",
        "tls",
        "lighthouse",
        "checks",
        "scores",
    )
    return {"findings": findings, **{key: site[key] for key in keys}}


@pytest.fixture(scope="module")
async def saved_demo(
    tmp_path_factory: pytest.TempPathFactory, registry: Registry
) -> tuple[dict[str, Any], Path]:
    """The demo shops scanned (the plain shop also rendered), their evidence saved; servers stopped after."""
    folder = tmp_path_factory.mktemp("evidence")
    with demo_sites() as sites:
        shots = str(folder / "screenshots")  # where --save-evidence alone has them taken
        plain = sites[0].config.replace(
            lighthouse_pages=0, render="sample", render_pages=2, artifacts_dir=shots
        )
        sites[0] = dataclasses.replace(sites[0], config=plain)
        run = await scan(sites, registry=registry, parallel=3)
    save_evidence(run, folder)
    return json.loads(json.dumps(build_report(run), default=str)), folder


def test_judge_gives_the_scans_report_without_the_network(
    saved_demo: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    scanned, folder = saved_demo
    result = run_offline("judge", str(folder), "--json", str(tmp_path / "judged.json"), "--quiet")
    assert result.returncode == 0, result.stderr
    judged = json.loads((tmp_path / "judged.json").read_text())
    assert judged["run"] == scanned["run"]
    assert [comparable(s) for s in judged["sites"]] == [comparable(s) for s in scanned["sites"]]
    assert len(scanned["sites"]) == 9
    assert scanned["sites"][0]["findings"] and scanned["sites"][0]["rendered"]
    screenshots = [r["screenshot"] for r in judged["sites"][0]["rendered"] if r["screenshot"]]
    assert screenshots and all(Path(s).is_file() and Path(s).is_relative_to(folder) for s in screenshots)
    names = [path.name for path in folder.rglob("*.png")]
    assert len(names) == len(set(names)) == len(screenshots)  # each kept once, not copied again


def test_judge_with_other_check_settings(saved_demo: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    scanned, folder = saved_demo
    sites = tmp_path / "sites.yaml"
    sites.write_text(f"sites:\n  - url: {scanned['sites'][0]['site']}\n    checks: {{links.broken: off}}\n")
    result = run_offline("judge", str(folder), "--sites", str(sites), "--json", "-", "-q")
    assert result.returncode == 0, result.stderr
    judged = json.loads(result.stdout)["sites"]
    assert any(f["check"] == "links.broken" for f in scanned["sites"][0]["findings"])
    assert not any(f["check"] == "links.broken" for f in judged[0]["findings"])
    assert comparable(judged[1]) == comparable(scanned["sites"][1])  # another shop keeps its settings


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda folder: (folder / "manifest.json").unlink(), "cannot read manifest.json"),
        (
            lambda folder: (folder / "manifest.json").write_text('{"format": "shophealth.evidence/9"}'),
            "format",
        ),
        (
            lambda folder: (folder / "site-00" / "links.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfdjunk"),
            "damaged",
        ),
        (lambda folder: _cut_short(folder / "site-00" / "links.jsonl.zst"), "damaged"),
    ],
)
def test_a_damaged_evidence_folder_is_one_line_of_error(tmp_path: Path, damage: Any, words: str) -> None:
    evidence = SiteEvidence(site="https://shop.example/", home="https://shop.example/")
    site_run = SiteRun(_site("https://shop.example/"), evidence, [], {"pages": 0})
    save_evidence(Run(id="r", started_at="2026-01-01T00:00:00+00:00", sites=[site_run]), tmp_path)
    damage(tmp_path)
    result = run_offline("judge", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_facts_round_trip_with_their_types(tmp_path: Path) -> None:
    lhr = {"categories": {"performance": {"score": 0.5}}, "audits": {"x": {"score": 0}}}
    lighthouse = LighthouseResult(
        "https://shop.example/", scores={"performance": 50.0}, runs=1, report_z=compress(json.dumps(lhr))
    )
    link = LinkResult(
        "https://shop.example/x",
        error_kind=ErrorKind.TLS,
        error="TLS handshake failed",
        headers={"server": "x"},
    )
    walled = LinkResult(
        "https://shop.example/w", status=403, body_head_z=compress_bytes(b"\xff\x00<html>\xe2\x98")
    )
    page = page_from_body("https://shop.example/", "<title>Café ☕</title><a href='/x'>x</a>".encode())
    evidence = SiteEvidence(
        site="https://shop.example/",
        home="https://shop.example/",
        links={link.url: link, walled.url: walled},
        pages=(page,),
        probe=page,
        lighthouse=(lighthouse,),
        missing={"rendered": "no Chromium found"},
    )
    site_run = SiteRun(_site("https://shop.example/"), evidence, [], {"pages": 0})
    save_evidence(Run(id="r", started_at="2026-01-01T00:00:00+00:00", sites=[site_run]), tmp_path)
    loaded = load_evidence(tmp_path).sites[0].evidence
    assert loaded.links == {link.url: link, walled.url: walled}
    assert loaded.pages == (page,) and loaded.probe == page and loaded.pages[0].facts == page.facts
    assert loaded.links[link.url].error_kind is ErrorKind.TLS
    assert loaded.lighthouse == (lighthouse,) and loaded.lighthouse[0].report == lhr
    assert loaded.missing == {"rendered": "no Chromium found"}


def _cut_short(path: Path) -> None:
    path.write_bytes(zstandard.ZstdCompressor().compress(b'{"url": "https://shop.example/a"}\n')[:-4])


def _site(url: str) -> SiteConfig:
    return SiteConfig(url=url)


async def test_a_shop_that_could_not_be_scanned_is_judged_as_the_scan_did(
    tmp_path: Path, registry: Registry
) -> None:
    down = SiteConfig(url="http://127.0.0.1:9/", config=fast_config())  # nothing listens on the discard port
    run = await scan([down], registry=registry)
    save_evidence(run, tmp_path / "evidence")
    scanned = json.loads(json.dumps(build_report(run), default=str))
    result = run_offline("judge", str(tmp_path / "evidence"), "--json", str(tmp_path / "j.json"), "-q")
    assert result.returncode == 1, result.stderr  # as scan: a shop could not be scanned
    judged = json.loads((tmp_path / "j.json").read_text())
    assert scanned["sites"][0]["error"] and all(
        c["status"] == "skipped" for c in scanned["sites"][0]["checks"]
    )
    assert [comparable(s) for s in judged["sites"]] == [comparable(s) for s in scanned["sites"]]


def test_an_evidence_folder_that_cannot_be_written_is_refused_before_scanning(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = run_cli("scan", "http://127.0.0.1:9/", "--save-evidence", str(tmp_path / "file" / "evidence"))
    assert_one_line_error(result, 2, "--save-evidence")
