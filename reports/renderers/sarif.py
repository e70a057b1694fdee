"""SARIF 2.1.0 (OASIS) for code-scanning tools such as GitHub's.

One run; a rule per check id (its title, why it matters and what to do from
:file:`reports/guidance.yaml`), a result per finding with the page as its
location: a relative path ``host/path``, since code scanning refuses a location
with a URL scheme (the full address is the result's ``page_url`` property), the fingerprint as ``partialFingerprints`` and, when a baseline was
compared, ``baselineState`` (``new`` or ``unchanged``). Results are ``error``,
``warning`` or ``note`` by severity. A shop that could not be scanned is a
tool execution notification. The document is valid against the SARIF 2.1.0
JSON schema (the test suite checks it).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from shophealth import __version__
from shophealth.reports.diff import finding_fingerprint
from shophealth.reports.guidance import check_guide

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def build_sarif(report: Mapping[str, Any], new: Collection[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The SARIF log; ``new``: (site, fingerprint) pairs new since a baseline, if one was compared."""
    check_ids = sorted(
        {c["check"] for s in report.get("sites", []) for c in s.get("checks", [])}
        | {f["check"] for s in report.get("sites", []) for f in s.get("findings", [])}
    )
    index = {check: i for i, check in enumerate(check_ids)}
    results = [
        _result(site, finding, index, new)
        for site in report.get("sites", [])
        for finding in site.get("findings", [])
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "shophealth",
                "version": str(report.get("run", {}).get("tool_version") or __version__),
                "rules": [_rule(check) for check in check_ids],
            }
        },
        "invocations": [_invocation(report)],
        "results": results,
    }
    run_id = report.get("run", {}).get("id")
    if run_id:
        run["automationDetails"] = {"id": f"shophealth/{run_id}"}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write_sarif(
    report: Mapping[str, Any], path: str | Path, new: Collection[tuple[str, str]] | None = None
) -> None:
    Path(path).write_text(
        json.dumps(build_sarif(report, new), ensure_ascii=False, indent=2), encoding="utf-8"
    )


def _rule(check: str) -> dict[str, Any]:
    guide = check_guide(check)
    rule: dict[str, Any] = {"id": check, "name": check, "shortDescription": {"text": guide.title}}
    if guide.why:
        rule["fullDescription"] = {"text": guide.why}
        rule["help"] = {
            "text": f"{guide.why}\n\nWhat to do: {guide.fix}",
            "markdown": f"{guide.why}\n\n**What to do:** {guide.fix}",
        }
    return rule


def _result(
    site: Mapping[str, Any],
    finding: Mapping[str, Any],
    index: Mapping[str, int],
    new: Collection[tuple[str, str]] | None,
) -> dict[str, Any]:
    fingerprint = finding_fingerprint(finding)
    page = str(finding.get("page") or site["site"])
    result: dict[str, Any] = {
        "ruleId": finding["check"],
        "ruleIndex": index[finding["check"]],
        "level": LEVEL.get(str(finding.get("severity")), "note"),
        "message": {"text": str(finding.get("message") or finding["check"])},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": location_path(page)}}}],
        "partialFingerprints": {"shophealth/v1": fingerprint},
        "properties": {
            "page_url": page,
            "site": site["site"],
            "target": finding.get("target"),
            "evidence": finding.get("evidence") or {},
        },
    }
    if new is not None:
        result["baselineState"] = "new" if (site["site"], fingerprint) in new else "unchanged"
    return result


def location_path(url: str) -> str:
    """The page as a relative path, ``shop.example/products/tea`` (a port as ``_8080``, no query):
    code scanning (GitHub's upload-sarif) refuses locations with a URL scheme."""
    parts = urlsplit(url)
    port = f"_{parts.port}" if _port(parts) else ""
    path = f"{parts.hostname or 'site'}{port}/{parts.path.lstrip('/')}"
    return quote(path, safe="/._-~")


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:  # a port that is no number
        return None


def _invocation(report: Mapping[str, Any]) -> dict[str, Any]:
    down = [s for s in report.get("sites", []) if s.get("error")]
    invocation: dict[str, Any] = {"executionSuccessful": not down}
    if down:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": f"could not scan {s['site']}: {s['error']}"}} for s in down
        ]
    return invocation
