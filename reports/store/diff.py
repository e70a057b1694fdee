"""What changed between two runs, per shop: the findings that are new, fixed,
persisting (and unjudged: the new run could not judge them), as
:func:`shophealth.reports.diff.diff_reports` matches them by fingerprint,
and each shop's score changes.

The result is plain JSON data, the shape ``shophealth diff --json`` prints
and the nightly webhook posts:

``{"old": run id, "new": run id, "totals": {"new": n, "fixed": n, "persisting": n, "unjudged": n},
"sites": [{"site", "new": [finding…], "fixed": […], "persisting": […], "unjudged": […],
"scores": {"overall": {"old", "new", "change"}, "areas": {name: {…}}}}]}``
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shophealth.reports.diff import diff_reports

Report = Mapping[str, Any]
KINDS = {"new": "new", "fixed": "fixed", "persisting": "unchanged", "unjudged": "unjudged"}


def run_diff(old: Report, new: Report) -> dict[str, Any]:
    """The changes from report ``old`` to report ``new`` (SPEC §3 dicts), shop by shop."""
    found = diff_reports(old, new)
    old_sites = {s["site"]: s for s in old.get("sites", ())}
    new_sites = {s["site"]: s for s in new.get("sites", ())}
    order = list(new_sites) + [site for site in old_sites if site not in new_sites]
    sites = []
    for url in order:
        entry: dict[str, Any] = {
            kind: [f for f in getattr(found, attr) if f["site"] == url] for kind, attr in KINDS.items()
        }
        sites.append({"site": url, **entry, "scores": _score_changes(old_sites.get(url), new_sites.get(url))})
    return {
        "old": old.get("run", {}).get("id"),
        "new": new.get("run", {}).get("id"),
        "totals": {kind: sum(len(s[kind]) for s in sites) for kind in KINDS},
        "sites": sites,
    }


def has_regressions(diff: Mapping[str, Any]) -> bool:
    """Whether anything got worse: a new finding, or a lower overall score."""
    if diff["totals"]["new"]:
        return True
    return any((s["scores"]["overall"]["change"] or 0) < 0 for s in diff["sites"])


def _score_changes(old: Report | None, new: Report | None) -> dict[str, Any]:
    old_scores = (old or {}).get("scores") or {}
    new_scores = (new or {}).get("scores") or {}
    old_areas, new_areas = old_scores.get("areas") or {}, new_scores.get("areas") or {}
    return {
        "overall": _change(old_scores.get("overall"), new_scores.get("overall")),
        "areas": {
            area: _change(old_areas.get(area), new_areas.get(area))
            for area in sorted({*old_areas, *new_areas})
        },
    }


def _change(old: float | None, new: float | None) -> dict[str, float | None]:
    change = None if old is None or new is None else round(new - old, 1)
    return {"old": old, "new": new, "change": change}
