"""A shop's trend over its stored runs, as the HTML report draws it.

:class:`TrendPoint` is one shop run (read from the history store by
:meth:`shophealth.reports.store.Store.trend`, or taken from the report being
rendered by :func:`site_point`). :func:`trend_view` turns the points into
what the shop page's template draws: two line charts (the overall and area
scores, 0–100; the findings by severity) whose coordinates are computed here,
and the certificate expiry dates per host with the runs that saw each. The
charts are inline SVG without script, so the page works offline and under
its Content Security Policy. Nothing here is markup: the template escapes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEVERITIES = ("error", "warning", "info")
SEVERITY_COLORS = {"error": "#c0262d", "warning": "#b26b00", "info": "#2f6fb3"}
SCORE_COLORS = ("#1d2330", "#2f6fb3", "#17803d", "#8e44ad", "#d68400")  # overall, then the areas
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 180, 12, 34  # room for the y ticks, the legend and the dates
X_LABELS = 6  # dates written under the x axis, at most


@dataclass(frozen=True)
class TrendPoint:
    """One shop run, as the trend charts plot it."""

    run_id: str
    started_at: str
    overall: float | None
    areas: Mapping[str, float | None]
    findings: Mapping[str, int]  # by severity
    not_after: Mapping[str, str | None]  # certificate expiry per host


def site_point(run: Mapping[str, Any], site: Mapping[str, Any]) -> TrendPoint:
    """The report's own shop run as the trend's last point."""
    scores = site.get("scores") or {}
    findings: dict[str, int] = {}
    for finding in site.get("findings") or ():
        severity = str(finding.get("severity"))
        findings[severity] = findings.get(severity, 0) + 1
    return TrendPoint(
        run_id=str(run.get("id") or ""),
        started_at=str(run.get("started_at") or ""),
        overall=scores.get("overall"),
        areas=dict(scores.get("areas") or {}),
        findings=findings,
        not_after={str(t.get("host")): t.get("not_after") for t in site.get("tls") or ()},
    )


def trend_view(
    points: Sequence[TrendPoint], area_titles: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, Any]:
    """The charts and expiry rows of a shop's trend (oldest point first)."""
    score_series = [(labels["overall"], [p.overall for p in points])]
    score_series += [(title, [p.areas.get(area) for p in points]) for area, title in area_titles.items()]
    finding_series = [(labels[s], [p.findings.get(s, 0) for p in points]) for s in SEVERITIES]
    most = max((v for _, values in finding_series for v in values), default=0)
    dates = [p.started_at[:10] for p in points]
    return {
        "runs": len(points),
        "scores": _chart(score_series, list(SCORE_COLORS), dates, 100),
        "findings": _chart(finding_series, [SEVERITY_COLORS[s] for s in SEVERITIES], dates, _ceiling(most)),
        "expiry": expiry_rows(points),
    }


def expiry_rows(points: Sequence[TrendPoint]) -> list[dict[str, Any]]:
    """Per host and expiry date, the first and last run that saw it (renewals show as new rows)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for point in points:
        for host, not_after in point.not_after.items():
            if not not_after:
                continue
            row = rows.setdefault(
                (host, not_after), {"host": host, "not_after": not_after, "first": point.started_at}
            )
            row["last"] = point.started_at
    return sorted(rows.values(), key=lambda r: (r["host"], r["not_after"]))


def _chart(
    series: Sequence[tuple[str, Sequence[float | int | None]]],
    colors: Sequence[str],
    dates: Sequence[str],
    top: float,
) -> dict[str, Any]:
    count = len(dates)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return round(LEFT + (plot_w / 2 if count == 1 else plot_w * i / (count - 1)), 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    lines = []
    for (label, values), color in zip(series, colors, strict=False):
        points = [(x(i), y(v), v) for i, v in enumerate(values) if isinstance(v, int | float)]
        lines.append(
            {
                "label": label,
                "color": color,
                "points": points,
                "path": " ".join(f"{px},{py}" for px, py, _ in points),
            }
        )
    step = max(1, -(-count // X_LABELS))
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "lines": lines,
        "x_labels": [(x(i), d) for i, d in enumerate(dates) if i % step == 0 or i == count - 1],
        "y_ticks": [(y(top * k / 4), round(top * k / 4)) for k in range(5)],
    }


def _ceiling(most: int) -> int:
    """A round top for the findings axis: 4, 8, 20, 40, 100, 200… (a multiple of 4, so ticks are whole)."""
    for top in (4, 8, 20, 40):
        if most <= top:
            return top
    scale = 100
    while most > scale * 2:
        scale *= 10
    return scale if most <= scale else scale * 2
