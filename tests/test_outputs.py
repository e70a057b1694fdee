"""JUnit XML, SARIF 2.1.0, CSV and JSON outputs, read back the way their consumers read them."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema

from shophealth.reports.diff import diff_reports
from shophealth.reports.renderers.csv import write_csv
from shophealth.reports.renderers.junit import write_junit
from shophealth.reports.renderers.sarif import build_sarif, location_path
from shophealth.reports.renderers.selection import failing
from shophealth.reports.scoring import score_site

DATA = Path(__file__).parent / "data"
SHOP = "https://shop.example/"


def finding(check: str, severity: str, target: str | None, message: str, page: str = SHOP) -> dict[str, Any]:
    return {
        "check": check,
        "severity": severity,
        "page": page,
        "target": target,
        "message": message,
        "evidence": {"status": 404},
    }


def report() -> dict[str, Any]:
    site: dict[str, Any] = {
        "site": SHOP,
        "name": "莎莎網店 \x1b[31m",
        "error": None,
        "checks": [
            {"check": "links.broken", "status": "fail", "findings": 2, "detail": None},
            {"check": "seo.basics", "status": "warn", "findings": 1, "detail": None},
            {"check": "mobile.lighthouse", "status": "skipped", "findings": 0, "detail": "no Chromium"},
            {"check": "errors.php", "status": "error", "findings": 0, "detail": "KeyError: 'x'"},
        ],
        "findings": [
            finding("links.broken", "error", SHOP + "gone", "連結失效 404\x00"),
            finding("links.broken", "error", SHOP + "old", "Link answers 410"),
            finding("seo.basics", "warning", None, '=HYPERLINK("http://evil","click") 頁面沒有標題'),
        ],
        "lighthouse": [],
    }
    site["scores"] = score_site(site)
    down = {
        "site": "https://down.example/",
        "name": "Down",
        "error": "connection refused",
        "checks": [],
        "findings": [],
    }
    return {"run": {"id": "r1", "tool_version": "0.1"}, "sites": [site, down]}


def test_junit_one_case_per_check_failures_name_the_broken_links(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(report(), path)
    root = ET.parse(path).getroot()
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["莎莎網店 \ufffd[31m", "Down"]
    cases = {c.get("name"): c for c in suites[0].findall("testcase")}
    assert set(cases) == {"links.broken", "seo.basics", "mobile.lighthouse", "errors.php"}
    failure = cases["links.broken"].find("failure")
    assert failure is not None and failure.text is not None
    assert SHOP + "gone" in failure.text and SHOP + "old" in failure.text
    assert cases["seo.basics"].find("failure") is None  # a warning: not failing by default
    assert "HYPERLINK" in (cases["seo.basics"].findtext("system-out") or "")
    assert cases["mobile.lighthouse"].find("skipped") is not None
    assert cases["errors.php"].find("error") is not None
    scan = suites[1].find("testcase")
    assert scan is not None and scan.get("name") == "scan" and scan.find("error") is not None


def test_junit_fail_on_warning_and_only_new(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    only = {
        (SHOP, f["fingerprint"])
        for f in diff_reports({"sites": []}, report()).new
        if "old" not in str(f["target"])
    }
    write_junit(report(), path, failing("warning", only))
    cases = {c.get("name"): c for c in ET.parse(path).getroot().iter("testcase")}
    failure = cases["links.broken"].find("failure")
    assert failure is not None and SHOP + "old" not in (failure.text or "")
    assert SHOP + "old" in (cases["links.broken"].findtext("system-out") or "")
    assert cases["seo.basics"].find("failure") is not None


def test_sarif_is_valid_against_the_2_1_0_schema() -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    baseline = {"sites": [{"site": SHOP, "checks": [], "findings": [report()["sites"][0]["findings"][0]]}]}
    new = {(f["site"], f["fingerprint"]) for f in diff_reports(baseline, report()).new}
    for log in (build_sarif(report()), build_sarif(report(), new)):
        jsonschema.Draft4Validator(schema).validate(log)
    run = build_sarif(report(), new)["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == sorted(["links.broken", "seo.basics", "mobile.lighthouse", "errors.php"])
    assert run["tool"]["driver"]["rules"][rules.index("links.broken")]["help"]["text"].startswith(
        "A customer"
    )
    first = run["results"][0]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "shop.example/"
    assert first["properties"]["page_url"] == SHOP
    assert [r["baselineState"] for r in run["results"]] == ["unchanged", "new", "new"]
    assert [r["level"] for r in run["results"]] == ["error", "error", "warning"]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_locations_are_relative_paths_code_scanning_accepts() -> None:
    assert location_path("https://Shop.Example:8443/p/茶?x=1#y") == "shop.example_8443/p/%E8%8C%B6"
    assert location_path("http://127.0.0.1:9/a b") == "127.0.0.1_9/a%20b"
    assert location_path("not a url") == "site/not%20a%20url"
    for result in build_sarif(report())["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert ":" not in uri and not uri.startswith("/")


def test_sarif_schema_check_can_fail() -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    log = build_sarif(report())
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert not jsonschema.Draft4Validator(schema).is_valid(log)


def test_csv_round_trip_with_chinese_text_and_no_formulas(tmp_path: Path) -> None:
    findings, scores = write_csv(report(), tmp_path)
    assert findings.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    with findings.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["message"] for r in rows][:1] == ["連結失效 404\x00"]
    assert rows[0]["name"] == "莎莎網店 \x1b[31m" and rows[0]["target"] == SHOP + "gone"
    assert rows[2]["message"].startswith("'=HYPERLINK")  # not a formula for Excel
    with scores.open(encoding="utf-8-sig", newline="") as handle:
        score_rows = list(csv.DictReader(handle))
    levels = {(r["site"], r["level"], r["id"]): r for r in score_rows}
    assert levels[(SHOP, "indicator", "site_reliability")]["source"] == "measured"
    assert levels[(SHOP, "indicator", "store_staff")]["source"] == "not_assessed"
    assert levels[(SHOP, "indicator", "store_staff")]["score"] == ""
    assert float(levels[(SHOP, "overall", "overall")]["score"]) == report()["sites"][0]["scores"]["overall"]
    assert levels[("https://down.example/", "overall", "overall")]["source"] == "not_scanned"
