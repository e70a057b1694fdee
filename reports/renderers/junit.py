"""JUnit XML: one test suite per shop, one test case per check.

A check's test case fails when it has findings that fail the run (see
:mod:`~shophealth.reports.renderers.selection`: by default its errors; with a
baseline, only new ones); the failure lists them, one line each, with where
they were seen. Its other findings go to ``system-out``. A skipped check is
``skipped``, a check that errored is an ``error``, and a shop that could not be
scanned is one ``scan`` test case in error. Written with ``junitparser``;
characters XML 1.0 cannot carry (control characters from a shop's pages) are
replaced with U+FFFD.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from shophealth.reports.renderers.selection import Failing, failing

NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: Any) -> str:
    return NOT_XML.sub("\ufffd", str(text))


def write_junit(report: Mapping[str, Any], path: str | Path, fails: Failing | None = None) -> None:
    fails = fails or failing()
    xml = JUnitXml("shophealth")
    for site in report.get("sites", []):
        xml.add_testsuite(_suite(site, fails))
    xml.write(str(path), pretty=True)


def _suite(site: Mapping[str, Any], fails: Failing) -> TestSuite:
    url = str(site.get("site", ""))
    suite = TestSuite(xml_text(site.get("name") or url))
    if site.get("error"):
        case = TestCase("scan", xml_text(url))
        case.result = [Error(xml_text(f"could not scan the shop: {site['error']}"), "scan")]
        suite.add_testcase(case)
        return suite
    by_check: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for finding in site.get("findings", []):
        by_check[str(finding.get("check"))].append(finding)
    for check in site.get("checks", []):
        suite.add_testcase(_case(url, check, by_check.get(check["check"], []), fails))
    return suite


def _case(url: str, check: Mapping[str, Any], findings: list[Mapping[str, Any]], fails: Failing) -> TestCase:
    case = TestCase(xml_text(check["check"]), xml_text(url))
    detail = xml_text(check.get("detail") or "")
    if check.get("status") == "skipped":
        case.result = [Skipped(detail or "skipped")]
        return case
    if check.get("status") == "error":
        case.result = [Error(detail or "the check failed", "check-error")]
        return case
    failed = [f for f in findings if fails(url, f)]
    others = [f for f in findings if not fails(url, f)]
    if failed:
        failure = Failure(
            xml_text(f"{len(failed)} problem(s): {failed[0].get('message', '')}"), check["check"]
        )
        failure.text = xml_text("\n".join(_line(f) for f in failed))
        case.result = [failure]
    if others:
        case.system_out = xml_text("\n".join(_line(f) for f in others))
    return case


def _line(finding: Mapping[str, Any]) -> str:
    target = f" {finding['target']}" if finding.get("target") else ""
    return f"{finding.get('severity')}:{target} {finding.get('message')} (on {finding.get('page')})"
