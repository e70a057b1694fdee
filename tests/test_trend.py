"""The HTML report's trend charts over a shop's stored runs (issue 14): the
shop page plots each stored run of the shop and this one, lists its
certificates' expiry dates as the runs saw them, and keeps the shop's text
escaped; without a store the page is as before."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from shophealth.crawler.cli import app
from shophealth.reports.store import Store
from shophealth.reports.trend import expiry_rows, site_point

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
SVG = "{http://www.w3.org/2000/svg}"
AREAS = ("awareness", "experience", "relationship", "satisfaction")
DAYS = ("2026-11-27", "2026-11-28", "2026-11-29")
EXPIRY = ("2027-01-10T00:00:00", "2027-01-10T00:00:00", "2027-04-10T00:00:00")  # renewed before the last run


def night_report(night: int) -> dict[str, Any]:
    """A scan of one shop on ``DAYS[night]``: ``night + 1`` errors, its certificate as then."""
    findings = [
        {
            "check": "links.broken",
            "severity": "error",
            "page": "https://shop.example/",
            "target": f"https://shop.example/gone-{n}",
            "message": "Broken " + PAYLOAD,
            "evidence": {"status": 404},
            "fingerprint": f"fp{n}",
        }
        for n in range(night + 1)
    ]
    site = {
        "site": "https://shop.example/",
        "name": "Shop " + PAYLOAD,
        "stats": {"pages": 3},
        "checks": [{"check": "links.broken", "status": "fail", "findings": night + 1}],
        "findings": findings,
        "tls": [{"host": "shop.example:443" + PAYLOAD, "valid": True, "not_after": EXPIRY[night]}],
        "scores": {
            "overall": 90.0 - 10 * night,
            "areas": dict.fromkeys(AREAS, 80.0 + night),
            "indicators": {},
        },
    }
    run = {"id": f"run{night}", "started_at": f"{DAYS[night]}T02:30:00+00:00", "config": {}}
    return {"schema": "shophealth.report/1", "run": run, "sites": [site]}


def svg(html: str, chart_id: str) -> ET.Element:
    match = re.search(rf'<svg id="{chart_id}".*?</svg>', html, re.S)
    assert match, f"no {chart_id} chart"
    return ET.fromstring(match.group(0))


def series_values(chart: ET.Element) -> dict[str, list[str]]:
    return {
        str(group.get("data-series")): [str(c.get("data-value")) for c in group.iter(f"{SVG}circle")]
        for group in chart.iter(f"{SVG}g")
    }


def render(tmp_path: Path, *store: str) -> str:
    report = night_report(2)
    path = tmp_path / "run2.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["report", str(path), "--html", str(tmp_path / "html"), "--quiet", *store],
        env={"SHOPHEALTH_STORE": None},
    )
    assert result.exit_code == 0, result.output
    [page] = (tmp_path / "html").glob("shop-1-*.html")
    return page.read_text(encoding="utf-8")


def test_report_with_a_store_charts_every_stored_run_and_the_expiry_dates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    with Store(url) as store:
        for night in range(3):
            store.save_report(night_report(night))
    html = render(tmp_path, "--store", url)

    scores = series_values(svg(html, "score-trend"))
    assert scores["Overall score"][:2] == ["90.0", "80.0"]  # as stored; the last is rescored by `report`
    assert len(scores["Overall score"]) == 3
    areas = [values for label, values in scores.items() if label != "Overall score"]
    assert len(areas) == len(AREAS) and all(values[:2] == ["80.0", "81.0"] for values in areas)
    findings = series_values(svg(html, "finding-trend"))
    assert findings["error"] == ["1", "2", "3"]
    table = re.search(r'<table id="expiry-table">.*?</table>', html, re.S)
    assert table and "2027-01-10T00:00:00" in table.group(0) and "2027-04-10T00:00:00" in table.group(0)
    assert "<script>window" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def test_without_a_store_the_page_has_no_trend(tmp_path: Path) -> None:
    html = render(tmp_path)
    assert 'id="trend"' not in html and "score-trend" not in html


def test_expiry_rows_name_each_certificate_with_the_runs_that_saw_it() -> None:
    points = [site_point(r["run"], r["sites"][0]) for r in map(night_report, range(3))]
    rows = expiry_rows(points)
    assert [(r["not_after"], r["first"][:10], r["last"][:10]) for r in rows] == [
        (EXPIRY[0], DAYS[0], DAYS[1]),
        (EXPIRY[2], DAYS[2], DAYS[2]),
    ]
