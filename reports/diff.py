"""What changed between two runs: new, fixed and unchanged findings.

Findings are matched by their fingerprint (:func:`shophealth.checks.base.fingerprint`:
check, canonical target or page, and the check's ``key``), recomputed from
each finding's fields, so reports written before a change of wording, or
with counts that moved, still match. Shops are matched by their canonical
site URL; a finding is compared only with the same shop's.

A finding of the old run is *fixed* only when the new run judged the same
thing again: the shop was scanned and the check ran (``pass``, ``warn`` or
``fail``). Findings of a check that was skipped or errored this time, or of
a shop not in (or not scannable in) the new run, are neither fixed nor new:
they are counted as ``unjudged``. Identical fingerprints within one shop are
matched as a multiset: two old and three new is one new.

Each finding returned is the report's finding dict with ``site`` (the shop's
URL) and ``fingerprint`` set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shophealth.checks.base import canonical_location, fingerprint
from shophealth.reports.scoring import RAN

Finding = dict[str, Any]


@dataclass(frozen=True)
class ReportDiff:
    """New, fixed and unchanged findings; ``unjudged`` old ones the new run could not judge."""

    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]
    unjudged: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "new": list(self.new),
            "fixed": list(self.fixed),
            "unchanged": list(self.unchanged),
            "unjudged": list(self.unjudged),
            "counts": {
                "new": len(self.new),
                "fixed": len(self.fixed),
                "unchanged": len(self.unchanged),
                "unjudged": len(self.unjudged),
            },
        }


def finding_fingerprint(finding: Mapping[str, Any]) -> str:
    """The fingerprint of a finding dict of a stored report (recomputed, not trusted)."""
    return fingerprint(
        str(finding["check"]), str(finding.get("page") or ""), finding.get("target"), finding.get("key")
    )


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> ReportDiff:
    """Compare two SPEC §3 reports (``old`` the baseline) shop by shop."""
    old_sites = _sites_by_url(old)
    new_list: list[Finding] = []
    fixed: list[Finding] = []
    unchanged: list[Finding] = []
    unjudged: list[Finding] = []
    seen: set[str] = set()
    for key, site in _sites_by_url(new).items():
        seen.add(key)
        before = old_sites.get(key)
        current = list(_tagged(site))
        if site.get("error"):
            unjudged.extend(_tagged(before) if before else ())
            continue
        if before is None:
            new_list.extend(current)
            continue
        ran = _checks_ran(site)
        previous = list(_tagged(before))
        judged = [f for f in previous if ran is None or f["check"] in ran]
        unjudged.extend(f for f in previous if ran is not None and f["check"] not in ran)
        added, removed, kept = _match(judged, current)
        new_list += added
        fixed += removed
        unchanged += kept
    for key, site in old_sites.items():
        if key not in seen:
            unjudged.extend(_tagged(site))
    return ReportDiff(tuple(new_list), tuple(fixed), tuple(unchanged), tuple(unjudged))


def _match(old: list[Finding], new: list[Finding]) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """(new, fixed, unchanged), matching equal fingerprints one to one."""
    remaining = Counter(f["fingerprint"] for f in old)
    added: list[Finding] = []
    kept: list[Finding] = []
    for finding in new:
        if remaining[finding["fingerprint"]] > 0:
            remaining[finding["fingerprint"]] -= 1
            kept.append(finding)
        else:
            added.append(finding)
    removed: list[Finding] = []
    for finding in reversed(old):  # the last of equal ones are the unmatched
        if remaining[finding["fingerprint"]] > 0:
            remaining[finding["fingerprint"]] -= 1
            removed.append(finding)
    return added, removed[::-1], kept


def _checks_ran(site: Mapping[str, Any]) -> set[str] | None:
    """The checks the shop's run judged; ``None`` (all) for a report without check statuses."""
    if "checks" not in site:
        return None
    return {c["check"] for c in site["checks"] if c.get("status") in RAN}


def _sites_by_url(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {canonical_location(str(site["site"])): site for site in report.get("sites", [])}


def _tagged(site: Mapping[str, Any]) -> Iterator[Finding]:
    for finding in site.get("findings") or []:
        yield {**finding, "site": site["site"], "fingerprint": finding_fingerprint(finding)}
