"""What changed between two runs: findings new, fixed and persisting (matched
by fingerprint, per shop), and score changes.

Shops are matched by their site URL; a shop in only one of the runs is listed
with all its findings new (or fixed). The result is plain JSON data, the shape
``shophealth diff --json`` prints:

``{"old": run id, "new": run id, "totals": {"new": n, "fixed": n, "persisting": n},
"sites": [{"site", "new": [finding…], "fixed": […], "persisting": […],
"scores": {"overall": {"old", "new", "change"}, "areas": {name: {…}}}}]}``
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Report = Mapping[str, Any]


def diff_reports(old: Report, new: Report) -> dict[str, Any]:
    """The changes from report ``old`` to report ``new`` (SPEC §3 dicts)."""
    old_sites = {s["site"]: s for s in old.get("sites", ())}
    new_sites = {s["site"]: s for s in new.get("sites", ())}
    order = list(new_sites) + [site for site in old_sites if site not in new_sites]
    sites = [_site_diff(site, old_sites.get(site), new_sites.get(site)) for site in order]
    return {
        "old": old.get("run", {}).get("id"),
        "new": new.get("run", {}).get("id"),
        "totals": {key: sum(len(s[key]) for s in sites) for key in ("new", "fixed", "persisting")},
        "sites": sites,
    }


def has_regressions(diff: Mapping[str, Any]) -> bool:
    """Whether anything got worse: a new finding, or a lower overall score."""
    if diff["totals"]["new"]:
        return True
    return any((s["scores"]["overall"]["change"] or 0) < 0 for s in diff["sites"])


def _by_fingerprint(site: Report | None) -> dict[str, Mapping[str, Any]]:
    findings: dict[str, Mapping[str, Any]] = {}
    for finding in (site or {}).get("findings") or ():
        findings.setdefault(finding["fingerprint"], finding)
    return findings


def _site_diff(url: str, old: Report | None, new: Report | None) -> dict[str, Any]:
    before, after = _by_fingerprint(old), _by_fingerprint(new)
    old_scores = (old or {}).get("scores") or {}
    new_scores = (new or {}).get("scores") or {}
    areas = sorted(set(old_scores.get("areas") or {}) | set(new_scores.get("areas") or {}))
    return {
        "site": url,
        "new": [after[k] for k in after if k not in before],
        "fixed": [before[k] for k in before if k not in after],
        "persisting": [after[k] for k in after if k in before],
        "scores": {
            "overall": _change(old_scores.get("overall"), new_scores.get("overall")),
            "areas": {
                area: _change(
                    (old_scores.get("areas") or {}).get(area), (new_scores.get("areas") or {}).get(area)
                )
                for area in areas
            },
        },
    }


def _change(old: float | None, new: float | None) -> dict[str, float | None]:
    change = None if old is None or new is None else round(new - old, 1)
    return {"old": old, "new": new, "change": change}
