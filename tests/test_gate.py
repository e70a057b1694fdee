"""``shophealth gate`` and ``shophealth report``: exit codes, baseline, outputs, one-line errors.

The gate scans a fixture shop on loopback in a subprocess, as CI would run it.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, TEST_SHOPS
from test_cli import assert_one_line_error, run_cli

from shophealth.demo.server import RunningShop, serve_shop

FAST = ("--render", "off", "--lighthouse-pages", "0", "--max-pages", "10", "--budget", "60")


@pytest.fixture
def gate_shop(tmp_path: Path) -> Iterator[tuple[RunningShop, Path]]:
    """The gate shop served from a copy, so a test can break it further between runs."""
    root = tmp_path / "shop"
    shutil.copytree(TEST_SHOPS / "gate", root)
    with serve_shop(root) as shop:
        yield shop, root


def failures(junit: Path) -> dict[str, str]:
    cases = ET.parse(junit).getroot().iter("testcase")
    return {str(c.get("name")): c.findtext("failure") or "" for c in cases if c.find("failure") is not None}


def test_gate_fails_on_broken_links_then_passes_against_its_baseline(
    gate_shop: tuple[RunningShop, Path], tmp_path: Path
) -> None:
    shop, root = gate_shop
    base, junit = tmp_path / "base.json", tmp_path / "junit.xml"
    first = run_cli("gate", shop.url, *FAST, "--json", str(base), "--junit", str(junit))
    assert first.returncode == 1, first.stdout + first.stderr
    assert "FAIL" in first.stdout and "/discontinued-product" in first.stdout
    failed = failures(junit)
    assert "links.broken" in failed  # (and tls.no-https: the loopback shop is plain HTTP)
    assert shop.url + "discontinued-product" in failed["links.broken"]
    assert shop.url + "summer-sale" in failed["links.broken"]

    known = len(json.loads(base.read_text())["sites"][0]["findings"])  # every check's, not only links'
    again = run_cli("gate", shop.url, *FAST, "--baseline", str(base), "--junit", str(junit))
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"0 new, 0 fixed, {known} unchanged" in again.stdout
    assert failures(junit) == {}

    page = root / "index.html"
    page.write_text(page.read_text().replace("</body>", '<a href="/gift-cards">Gift cards</a>\n</body>'))
    sarif = tmp_path / "gate.sarif"
    broke = run_cli(
        "gate", shop.url, *FAST, "--baseline", str(base), "--junit", str(junit), "--sarif", str(sarif)
    )
    assert broke.returncode == 1
    assert f"1 new, 0 fixed, {known} unchanged" in broke.stdout
    assert "gift-cards" in failures(junit)["links.broken"]
    assert "discontinued-product" not in failures(junit)["links.broken"]
    states = {
        r["properties"]["target"]: r["baselineState"]
        for r in json.loads(sarif.read_text())["runs"][0]["results"]
    }
    assert states[shop.url + "gift-cards"] == "new" and states[shop.url + "summer-sale"] == "unchanged"


def test_gate_min_score_and_fail_on_warning(gate_shop: tuple[RunningShop, Path], tmp_path: Path) -> None:
    shop, _ = gate_shop
    base = tmp_path / "base.json"
    assert run_cli("gate", shop.url, *FAST, "--json", str(base), "--quiet").returncode == 1
    passed = run_cli("gate", shop.url, *FAST, "--baseline", str(base), "--min-score", "1")
    assert passed.returncode == 0, passed.stdout
    too_low = run_cli("gate", shop.url, *FAST, "--baseline", str(base), "--min-score", "100")
    assert too_low.returncode == 1 and "below the minimum" in too_low.stdout


def test_gate_exits_3_when_a_shop_cannot_be_scanned(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = run_cli("gate", "http://127.0.0.1:9/", *FAST, "--junit", str(junit))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "could not scan" in result.stderr and "Traceback" not in result.stderr
    case = next(ET.parse(junit).getroot().iter("testcase"))
    assert case.get("name") == "scan" and case.find("error") is not None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("http://127.0.0.1:9/", "--fail-on", "notice"), "--fail-on must be one of error, warning"),
        (
            ("http://127.0.0.1:9/", "--baseline", "/nonexistent/base.json"),
            "cannot read report /nonexistent/base.json",
        ),
        (("http://exa mple.com:99999/",), "not a valid URL"),
        (("http://127.0.0.1:9/", "--lang", "fr"), "--lang must be one of en, zh-HK"),
        (("http://127.0.0.1:9/", "--junit", "/nonexistent/junit.xml"), "cannot write /nonexistent/junit.xml"),
    ],
)
def test_gate_bad_input_exits_2_before_scanning(args: tuple[str, ...], words: str) -> None:
    assert_one_line_error(run_cli("gate", *args, *FAST), 2, words)


def test_gate_malformed_rubric_names_file_and_line(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(
        "name: x\nversion: 1\nareas:\n  awareness: {weight: 1}\nindicators:\n  a: {area: awareness, kind: automated, weight: 1, checks: [links.brokn]}\n"
    )
    result = run_cli("gate", "http://127.0.0.1:9/", "--rubric", str(rubric))
    assert_one_line_error(
        result, 2, f"{rubric}, line 6, indicators.a.checks.0: unknown check id 'links.brokn'"
    )


def stored_report(tmp_path: Path) -> Path:
    site = {
        "site": "https://shop.example/",
        "name": "莎莎網店",
        "error": None,
        "stats": {"pages": 1, "links_checked": 1, "requests": 2, "duration_s": 0.1, "complete": True},
        "unverifiable": [],
        "checks": [{"check": "links.broken", "status": "fail", "findings": 1, "detail": None}],
        "findings": [
            {
                "check": "links.broken",
                "severity": "error",
                "page": "https://shop.example/",
                "target": "https://shop.example/gone",
                "message": "404",
                "evidence": {"status": 404},
            }
        ],
        "lighthouse": [],
        "scores": None,
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"schema": "shophealth.report/1", "run": {"id": "r"}, "sites": [site]}))
    return path


def test_report_rescores_a_stored_run_and_renders_every_output(tmp_path: Path) -> None:
    manual = tmp_path / "manual.csv"
    manual.write_text("site,store_staff\n莎莎網店,90\n", encoding="utf-8-sig")
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli(
        "report",
        str(stored_report(tmp_path)),
        "--manual",
        str(manual),
        "--html",
        str(out / "html"),
        "--lang",
        "zh-HK",
        "--junit",
        str(out / "j.xml"),
        "--sarif",
        str(out / "r.sarif"),
        "--csv",
        str(out / "csv"),
        "--json",
        str(out / "r.json"),
    )
    assert result.returncode == 0, result.stderr
    rescored = json.loads((out / "r.json").read_text())["sites"][0]["scores"]
    assert (
        rescored["indicators"]["store_staff"] == 90.0
        and rescored["details"]["store_staff"]["source"] == "entered"
    )
    assert rescored["indicators"]["site_reliability"] is not None
    assert rescored["rubric"]["name"] == "shophealth O2O default"
    assert (out / "html" / "index.html").exists() and (out / "csv" / "scores.csv").exists()
    assert "links.broken" in failures(out / "j.xml")
    assert json.loads((out / "r.sarif").read_text())["version"] == "2.1.0"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read report"),
        ("{not json", "is not valid JSON"),
        ('{"schema": "other/1", "sites": []}', "is not a shophealth report"),
    ],
)
def test_report_bad_input_is_one_line(tmp_path: Path, content: str | None, words: str) -> None:
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    assert_one_line_error(run_cli("report", str(path)), 2, words)


def test_report_bad_manual_file_names_line_and_key(tmp_path: Path) -> None:
    manual = tmp_path / "manual.yaml"
    manual.write_text("莎莎網店:\n  store_stafff: 3\n")
    result = run_cli("report", str(stored_report(tmp_path)), "--manual", str(manual))
    assert_one_line_error(result, 2, f"{manual}, line 2, 莎莎網店.store_stafff: unknown indicator")


def test_scan_writes_the_html_report(gate_shop: tuple[RunningShop, Path], tmp_path: Path) -> None:
    shop, _ = gate_shop
    result = run_cli("scan", shop.url, *FAST, "--html", str(tmp_path / "html"), "--lang", "zh-HK", "--quiet")
    assert result.returncode == 0, result.stderr
    pages = sorted(p.name for p in (tmp_path / "html").iterdir())
    assert pages == ["index.html", "shop-1-127.0.0.1.html"]
    assert "失效連結及資源" in (tmp_path / "html" / pages[1]).read_text()


def test_report_with_a_malformed_finding_names_the_field(tmp_path: Path) -> None:
    path = stored_report(tmp_path)
    data = json.loads(path.read_text())
    data["sites"][0]["findings"][0]["severity"] = "fatal"
    path.write_text(json.dumps(data))
    assert_one_line_error(
        run_cli("report", str(path)), 2, "sites.0.findings.0.severity: 'fatal' is not one of"
    )


def test_scan_html_folder_that_cannot_be_made_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("scan", "http://127.0.0.1:9/", *FAST, "--html", str(blocker / "html"))
    assert_one_line_error(result, 2, "cannot make the HTML report folder")


def test_gate_json_to_stdout_keeps_the_outcome_on_stderr(gate_shop: tuple[RunningShop, Path]) -> None:
    shop, _ = gate_shop
    result = run_cli("gate", shop.url, *FAST, "--json", "-")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)  # nothing else on stdout
    assert report["sites"][0]["scores"]["rubric"]["name"] == "shophealth O2O default"
    assert "FAIL" in result.stderr and "discontinued-product" in result.stderr


def test_gate_summary_shows_the_gate_s_scores_and_no_scratch_file(
    gate_shop: tuple[RunningShop, Path], tmp_path: Path
) -> None:
    shop, _ = gate_shop
    rubric = tmp_path / "rubric.yaml"
    default = (REPO / "reports" / "rubric.yaml").read_text(encoding="utf-8")
    rubric.write_text(default.replace("name: shophealth O2O default", "name: Retail CI rubric"))
    result = run_cli("gate", shop.url, *FAST, "--rubric", str(rubric))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rubric Retail CI rubric" in result.stdout  # the summary is scored as the gate judges
    assert "shophealth O2O default" not in result.stdout
    assert "Report written" not in result.stdout  # no --json: no report file to point at


def test_report_warns_of_manual_scores_that_match_no_shop(tmp_path: Path) -> None:
    manual = tmp_path / "manual.csv"
    manual.write_text("site,store_staff\n莎莎網店,90\nSasa Online (typo),80\n", encoding="utf-8-sig")
    result = run_cli("report", str(stored_report(tmp_path)), "--manual", str(manual), "--quiet")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sasa online (typo)" in lines[0] and "no shop" in lines[0], result.stderr
