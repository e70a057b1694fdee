"""CSV for spreadsheets: ``findings.csv`` and ``scores.csv`` in a folder.

UTF-8 with a byte-order mark, so Excel opens Chinese text correctly. A cell
that a spreadsheet would read as a formula (shop text starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``
(OWASP's advice against CSV injection); URLs and numbers are left as they are.
``scores.csv`` has one row per indicator, area and overall score per shop,
with the indicator's source (measured, entered, not assessed) and the rubric.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from shophealth.reports.diff import finding_fingerprint

FINDING_COLUMNS = ("site", "name", "check", "severity", "page", "target", "message", "count", "fingerprint")
SCORE_COLUMNS = ("site", "name", "level", "id", "area", "source", "score", "rubric", "rubric_version")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_csv(report: Mapping[str, Any], directory: str | Path) -> tuple[Path, Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    sites = report.get("sites", [])
    findings = out / "findings.csv"
    scores = out / "scores.csv"
    _write(findings, FINDING_COLUMNS, (row for site in sites for row in _finding_rows(site)))
    _write(scores, SCORE_COLUMNS, (row for site in sites for row in _score_rows(site)))
    return findings, scores


def inert_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _write(path: Path, columns: tuple[str, ...], rows: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: inert_cell(row.get(key)) for key in columns})


def _finding_rows(site: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for finding in site.get("findings", []):
        yield {
            "site": site["site"],
            "name": site.get("name"),
            **finding,
            "count": (finding.get("evidence") or {}).get("count", 1),
            "fingerprint": finding_fingerprint(finding),
        }


def _score_rows(site: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    scores = site.get("scores") or {}
    rubric = scores.get("rubric") or {}
    common = {
        "site": site["site"],
        "name": site.get("name"),
        "rubric": rubric.get("name"),
        "rubric_version": rubric.get("version"),
    }
    if site.get("error") or not scores:
        yield {**common, "level": "overall", "id": "overall", "source": "not_scanned"}
        return
    yield {**common, "level": "overall", "id": "overall", "score": scores.get("overall")}
    for area, value in (scores.get("areas") or {}).items():
        yield {**common, "level": "area", "id": area, "area": area, "score": value}
    details = scores.get("details") or {}
    for name, value in (scores.get("indicators") or {}).items():
        detail = details.get(name) or {}
        yield {
            **common,
            "level": "indicator",
            "id": name,
            "area": detail.get("area"),
            "source": detail.get("source"),
            "score": value,
        }
