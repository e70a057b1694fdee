"""The O2O audit score: findings, Lighthouse and entered scores → indicators → areas → overall.

How an indicator is scored is written in the header of :file:`reports/rubric.yaml`
(the rubric itself is :mod:`shophealth.reports.rubric`). Each indicator is
``measured`` (an automated indicator one of whose inputs ran), ``entered`` (a
score the auditor entered with ``--manual``; it takes the place of a measured
one) or ``not_assessed`` (``None``: it carries no weight, it is never 0). A
check that was skipped or errored is no input. Scores depend on the stored
report alone (findings, check statuses, Lighthouse scores) plus the entered
scores, so a stored run can be scored again; every score records the
rubric's name and version and ``algorithm_version``, which changes whenever
the arithmetic does.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from shophealth.reports.rubric import ALGORITHM_VERSION, Indicator, Rubric, RubricError

__all__ = ["ALGORITHM_VERSION", "Rubric", "RubricError", "score", "score_site"]

RAN = frozenset({"pass", "warn", "fail"})
MEASURED, ENTERED, NOT_ASSESSED = "measured", "entered", "not_assessed"


def score_site(
    site: Mapping[str, Any], rubric: Rubric | None = None, entered: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """Scores of one shop of a SPEC §3 report. A shop that could not be scanned gets no
    score (``overall`` null, with the reason), rather than one that looks healthy."""
    rubric = rubric or Rubric.default()
    if site.get("error"):
        return {
            "overall": None,
            "areas": {},
            "indicators": {},
            "reason": f"not scored: {site['error']}",
            "rubric": {"name": rubric.name, "version": rubric.version},
            "algorithm_version": ALGORITHM_VERSION,
        }
    statuses = {c["check"]: c["status"] for c in site.get("checks", [])}
    return score(site.get("findings", []), statuses, rubric, site.get("lighthouse", []), entered)


def score(
    findings: Iterable[Mapping[str, Any]],
    statuses: Mapping[str, str],
    rubric: Rubric | None = None,
    lighthouse: Iterable[Mapping[str, Any]] = (),
    entered: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Scores from findings (report dicts), each check's status, Lighthouse results
    (report dicts) and entered indicator scores (on each indicator's scale)."""
    rubric = rubric or Rubric.default()
    points = _points_by_check(findings, rubric)
    categories = _lighthouse_medians(lighthouse)
    entered = entered or {}
    details = {
        name: _indicator(spec, points, statuses, categories, entered.get(name))
        for name, spec in rubric.indicators.items()
    }
    indicators = {name: detail["score"] for name, detail in details.items()}
    areas = {
        area: _weighted_mean(
            (indicators[name], spec.weight) for name, spec in rubric.indicators.items() if spec.area == area
        )
        for area in rubric.areas
    }
    overall = _weighted_mean((areas[area], spec.weight) for area, spec in rubric.areas.items())
    return {
        "overall": overall,
        "areas": areas,
        "indicators": indicators,
        "details": details,
        "rubric": {"name": rubric.name, "version": rubric.version},
        "algorithm_version": ALGORITHM_VERSION,
    }


def _indicator(
    spec: Indicator,
    points: Mapping[str, float],
    statuses: Mapping[str, str],
    categories: Mapping[str, float],
    entered: float | None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {"area": spec.area, "kind": spec.kind}
    if entered is not None:
        return {**detail, "source": ENTERED, "score": round(100.0 * entered / spec.scale, 1)}
    ran = [c for c in spec.checks if statuses.get(c) in RAN]
    scored = {c: categories[c] for c in spec.lighthouse if c in categories}
    if spec.kind == "manual" or not (ran or scored):
        return {**detail, "source": NOT_ASSESSED, "score": None}
    base = statistics.fmean(scored.values()) if scored else 100.0
    penalty = sum(points.get(c, 0.0) for c in ran)
    value = base * _curve(spec.curve, penalty) / 100.0
    inputs = {"checks": ran, "points": penalty, "lighthouse": scored}
    return {**detail, "source": MEASURED, "score": round(value, 1), "inputs": inputs}


def _curve(curve: Mapping[str, Any] | None, points: float) -> float:
    """0-100 for ``points`` of findings, by the indicator's curve (default linear)."""
    kind = (curve or {}).get("type", "linear")
    if kind == "exponential":
        assert curve is not None
        return 100.0 * math.pow(0.5, points / float(curve["half_life"]))
    if kind == "steps":
        assert curve is not None
        return _interpolate(sorted((float(p), float(s)) for p, s in curve["points"]), points)
    return max(0.0, 100.0 - points)


def _interpolate(steps: list[tuple[float, float]], x: float) -> float:
    if x <= steps[0][0]:
        return steps[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(steps):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return steps[-1][1]


def _points_by_check(findings: Iterable[Mapping[str, Any]], rubric: Rubric) -> dict[str, float]:
    points: dict[str, float] = {}
    for finding in findings:
        check = str(finding["check"])
        severity = rubric.severity_points.get(str(finding["severity"]), 0.0)
        points[check] = min(rubric.check_cap, points.get(check, 0.0) + severity)
    return points


def _lighthouse_medians(results: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Each Lighthouse category's median score over the pages it was run on."""
    by_category: dict[str, list[float]] = {}
    for result in results:
        if result.get("error"):
            continue
        for category, value in (result.get("scores") or {}).items():
            if isinstance(value, (int, float)):
                by_category.setdefault(category, []).append(float(value))
    return {category: float(statistics.median(values)) for category, values in by_category.items()}


def _weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    scored = [(value, weight) for value, weight in pairs if value is not None]
    total = sum(weight for _, weight in scored)
    if not scored or total == 0:
        return None
    return round(sum(value * weight for value, weight in scored) / total, 1)
