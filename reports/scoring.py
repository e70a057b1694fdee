"""The O2O audit score: findings → indicators → areas → overall (SPEC §4).

A rubric (YAML, :file:`reports/rubric.yaml` by default) maps check ids to
indicators and indicators to the four areas, with weights. An indicator's
score is 100 minus the points of its checks' findings (each check's points
capped, so one noisy check cannot zero an indicator), floored at 0. An
indicator whose checks did not run (skipped, errored, not installed) is
``None`` and left out of its area's weighted mean rather than counted as 0.
Scores depend on the findings and check statuses alone, so a stored run
can be scored again. ``algorithm_version`` changes whenever the arithmetic does.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


class RubricError(ValueError):
    """A rubric file that cannot be used."""


# libyaml's loader where PyYAML was built with it: the pure-Python one took 0.1 s per report.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Rubric:
    data: Mapping[str, Any]

    @classmethod
    def default(cls) -> Rubric:
        return _default_rubric()

    @classmethod
    def load(cls, path: str | Path) -> Rubric:
        try:
            data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        except (OSError, yaml.YAMLError) as exc:
            raise RubricError(f"cannot read rubric {path}: {exc}") from None
        for key in ("areas", "indicators", "severity_points"):
            if not isinstance(data, dict) or not isinstance(data.get(key), dict):
                raise RubricError(f"rubric {path} needs a mapping '{key}'")
        return cls(data)

    @property
    def version(self) -> int:
        return int(self.data.get("algorithm_version", 1))


def score(
    findings: Iterable[Mapping[str, Any]],
    statuses: Mapping[str, str],
    rubric: Rubric | None = None,
) -> dict[str, Any]:
    """Scores from findings (report dicts) and each check's status."""
    rubric = rubric or Rubric.default()
    points = _points_by_check(findings, rubric)
    indicators = {
        name: _indicator_score(spec, points, statuses) for name, spec in rubric.data["indicators"].items()
    }
    areas = {
        area: _weighted_mean(
            (indicators[name], float(spec.get("weight", 1)))
            for name, spec in rubric.data["indicators"].items()
            if spec.get("area") == area
        )
        for area in rubric.data["areas"]
    }
    overall = _weighted_mean(
        (areas[area], float(spec.get("weight", 1))) for area, spec in rubric.data["areas"].items()
    )
    return {
        "overall": overall,
        "areas": areas,
        "indicators": indicators,
        "algorithm_version": rubric.version,
    }


def _points_by_check(findings: Iterable[Mapping[str, Any]], rubric: Rubric) -> dict[str, float]:
    weights = rubric.data["severity_points"]
    cap = float(rubric.data.get("check_cap", 45))
    points: dict[str, float] = {}
    for finding in findings:
        check = str(finding["check"])
        points[check] = min(cap, points.get(check, 0.0) + float(weights.get(finding["severity"], 0)))
    return points


def _indicator_score(
    spec: Mapping[str, Any], points: Mapping[str, float], statuses: Mapping[str, str]
) -> float | None:
    ran = [c for c in spec.get("checks", []) if statuses.get(c) in ("pass", "warn", "fail")]
    if not ran:
        return None
    return round(max(0.0, 100.0 - sum(points.get(c, 0.0) for c in ran)), 1)


def _weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    scored = [(value, weight) for value, weight in pairs if value is not None]
    total = sum(weight for _, weight in scored)
    if not scored or total == 0:
        return None
    return round(sum(value * weight for value, weight in scored) / total, 1)


@functools.cache
def _default_rubric() -> Rubric:
    text = resources.files("shophealth.reports").joinpath("rubric.yaml").read_text(encoding="utf-8")
    return Rubric(yaml.load(text, Loader=SAFE_LOADER))
