"""Mobile checks: the viewport meta tag, sideways overflow on a phone, Lighthouse scores.

``mobile.viewport`` (evidence ``pages``) reads ``<meta name="viewport">`` of every
HTML page that answered below 400, parsed the way Chromium and Lighthouse parse it
(``key=value`` pairs split on commas, semicolons or spaces; unknown keys ignored;
a number's leading digits count). One **warning** per page, naming every reason:

* the tag is missing: phones lay the page out 980 px wide and shrink it;
* the page is not sized to the phone: no valid ``width`` and no valid
  ``initial-scale``, or ``initial-scale`` below 1 (Lighthouse's ``viewport`` audit);
* zoom is disabled: ``user-scalable`` no/0/false, or ``maximum-scale`` below 2
  (axe's ``meta-viewport`` rule) — stricter than Lighthouse, as SPEC asks;
* the width is a fixed number of pixels (``width=1200``) instead of ``device-width``.

``mobile.overflow`` (evidence ``rendered``) judges pages rendered at a 375 px
phone viewport by :mod:`shophealth.crawler.browser`. One finding per page when the page is laid
out wider than the phone (``clientWidth`` above the viewport: no or a fixed-width
viewport tag), the document scrolls sideways (``scrollWidth`` above ``clientWidth``),
or elements stick out past the right edge (named by CSS selector). **error** when
the document scrolls sideways by more than ``error_ratio`` (default 0.5) of the
viewport width — half a screen or more of content, often the price or the buy button,
is off to the side; otherwise **warning**.

``mobile.lighthouse`` (evidence ``lighthouse``) reports each sampled page with a
Lighthouse category below its threshold (option ``thresholds``, defaults
performance 50, accessibility 80, best-practices 80, seo 80; a partial mapping
overrides only the categories it names), one finding per page with severity
option ``severity`` (default **warning**: single Lighthouse runs swing by 5-10
points, so this is not a CI failure by default).

Evidence that failed to gather: a page that could not be rendered, or a Lighthouse
run that failed, is an **info** finding with the reason. When every rendered page
(or every Lighthouse run) failed, the check raises ``RuntimeError`` with the reasons,
which :func:`checks.registry.run_check` reports as status ``error`` with that detail.

Known limits: ``mobile.viewport`` judges the served HTML, so a page whose script
rewrites the tag on load (Lighthouse's ``dbw_tester.html``) is judged by the tag it
was served with. The overflow check sees one viewport width (375 px) and the first
state of the page (no menus opened, no scrolling); elements inside any clipping
ancestor (carousels) are not counted, so content cut off inside a carousel is
missed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from shophealth.checks.base import Check, Finding, Options, Severity
from shophealth.crawler.evidence import LighthouseResult, Page, RenderedPage, SiteEvidence

DEFAULT_THRESHOLDS: Mapping[str, float] = {
    "performance": 50,
    "accessibility": 80,
    "best-practices": 80,
    "seo": 80,
}
MIN_MAXIMUM_SCALE = 2.0
MAX_VIEWPORT_WIDTH = 10_000  # Chromium's bound for a viewport length
EDGE_TOLERANCE_PX = 1
LEADING_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


@dataclass(frozen=True)
class Viewport:
    """The parts of a viewport meta tag that the checks judge."""

    width: str | None  # "device-width", "device-height" or a pixel number as text
    initial_scale: float | None
    maximum_scale: float | None
    user_scalable: bool


def parse_viewport(content: str) -> Viewport:
    """Parse a viewport ``content`` attribute with Chromium's rules."""
    pairs = _pairs(content)
    return Viewport(
        width=_width(pairs.get("width")),
        initial_scale=_scale(pairs.get("initial-scale")),
        maximum_scale=_scale(pairs.get("maximum-scale")),
        user_scalable=_user_scalable(pairs.get("user-scalable")),
    )


def _pairs(content: str) -> dict[str, str]:
    folded = re.sub(r"\s*=\s*", "=", content.strip().lower())
    pairs: dict[str, str] = {}
    for token in re.split(r"[,;\s]+", folded):
        key, _, value = token.partition("=")
        if key:
            pairs[key] = value
    return pairs


def _number(value: str | None) -> float | None:
    match = LEADING_NUMBER.match(value or "")
    return float(match.group()) if match else None


def _width(value: str | None) -> str | None:
    if value in ("device-width", "device-height"):
        return value
    number = _number(value)
    return str(round(number)) if number is not None and 1 <= number <= MAX_VIEWPORT_WIDTH else None


def _scale(value: str | None) -> float | None:
    if value in ("device-width", "device-height"):
        return 10.0
    if value == "yes":
        return 1.0
    if value == "no":
        return 0.1
    number = _number(value)
    return number if number is not None and number > 0 else None


def _user_scalable(value: str | None) -> bool:
    if value is None or value in ("yes", "device-width", "device-height"):
        return True
    if value == "no":
        return False
    number = _number(value)
    return number is not None and abs(number) >= 1


def viewport_problems(content: str | None) -> list[str]:
    """Why a viewport meta ``content`` (None: no tag) is bad on a phone; empty when fine."""
    if content is None:
        return ["no <meta name=viewport>: phones lay the page out 980 px wide and shrink it"]
    viewport = parse_viewport(content)
    problems: list[str] = []
    if (viewport.width is None and viewport.initial_scale is None) or (
        viewport.initial_scale is not None and viewport.initial_scale < 1
    ):
        problems.append("the page is not sized to the phone (needs width=device-width, initial-scale=1)")
    if not viewport.user_scalable:
        problems.append("zoom is disabled (user-scalable=no)")
    if viewport.maximum_scale is not None and viewport.maximum_scale < MIN_MAXIMUM_SCALE:
        problems.append(f"zoom is limited (maximum-scale={viewport.maximum_scale:g}, below 2)")
    if viewport.width is not None and viewport.width.isdigit():
        problems.append(f"the width is fixed at {viewport.width} px instead of device-width")
    return problems


def run_viewport(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for page in _answered(evidence.html_pages()):
        content = page.facts.viewport if page.facts else None
        problems = viewport_problems(content)
        if problems:
            yield Finding(
                check="mobile.viewport",
                severity="warning",
                page=page.final_url,
                target=None,
                message="Not ready for phones: " + "; ".join(problems),
                evidence={"viewport": content, "problems": problems},
            )


def _answered(pages: Iterable[Page]) -> Iterator[Page]:
    return (p for p in pages if p.status is not None and p.status < 400)


def run_overflow(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    _raise_if_all_failed("rendering", [(r.url, r.error) for r in evidence.rendered])
    error_ratio = float(options.get("error_ratio", 0.5))
    for rendered in evidence.rendered:
        if rendered.error:
            yield _not_gathered("mobile.overflow", rendered.url, "could not be rendered", rendered.error)
            continue
        problems = overflow_problems(rendered)
        if problems:
            yield Finding(
                check="mobile.overflow",
                severity=_overflow_severity(rendered, error_ratio),
                page=rendered.url,
                target=None,
                message=f"On a {rendered.viewport_width} px phone " + "; ".join(problems),
                evidence={
                    "viewport_width": rendered.viewport_width,
                    "client_width": rendered.client_width,
                    "scroll_width": rendered.scroll_width,
                    "elements": [dict(e) for e in rendered.overflowing],
                    "screenshot": rendered.screenshot,
                },
            )


def overflow_problems(rendered: RenderedPage) -> list[str]:
    """What sticks out of the phone's screen on a rendered page; empty when it fits."""
    problems: list[str] = []
    if rendered.client_width > rendered.viewport_width + EDGE_TOLERANCE_PX:
        problems.append(f"the page is laid out {rendered.client_width} px wide and shrunk to fit")
    if rendered.scroll_width > rendered.client_width + EDGE_TOLERANCE_PX:
        problems.append(f"the page scrolls sideways to {rendered.scroll_width} px")
    if rendered.overflowing:
        names = ", ".join(str(e.get("selector")) for e in rendered.overflowing[:5])
        more = len(rendered.overflowing) - 5
        problems.append(
            f"elements stick out past the right edge: {names}" + (f" and {more} more" if more > 0 else "")
        )
    return problems


def _overflow_severity(rendered: RenderedPage, error_ratio: float) -> Severity:
    sideways = rendered.scroll_width - rendered.client_width
    return "error" if sideways > error_ratio * rendered.viewport_width else "warning"


def run_lighthouse(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    _raise_if_all_failed("Lighthouse", [(r.url, r.error) for r in evidence.lighthouse])
    thresholds = {**DEFAULT_THRESHOLDS, **dict(options.get("thresholds") or {})}
    severity: Severity = options.get("severity", "warning")
    for result in evidence.lighthouse:
        if result.error:
            yield _not_gathered("mobile.lighthouse", result.url, "Lighthouse failed", result.error)
            continue
        low = below_threshold(result, thresholds)
        if low:
            yield _lighthouse_finding(result, low, thresholds, severity)


def below_threshold(result: LighthouseResult, thresholds: Mapping[str, float]) -> list[str]:
    """The categories of ``result`` that score below their threshold."""
    return [
        name
        for name, score in sorted(result.scores.items())
        if name in thresholds and score < float(thresholds[name])
    ]


def _lighthouse_finding(
    result: LighthouseResult, low: Sequence[str], thresholds: Mapping[str, float], severity: Severity
) -> Finding:
    parts = [f"{name} {result.scores[name]:g} (threshold {float(thresholds[name]):g})" for name in low]
    runs = f" (median of {result.runs} runs)" if result.runs > 1 else ""
    return Finding(
        check="mobile.lighthouse",
        severity=severity,
        page=result.url,
        target=None,
        message=f"Lighthouse on a phone scores low{runs}: " + ", ".join(parts),
        evidence={
            "scores": dict(result.scores),
            "spread": dict(result.spread),
            "runs": result.runs,
            "below": list(low),
            "thresholds": {name: thresholds[name] for name in low},
            "failing_audits": [dict(a) for a in result.failing_audits[:10]],
        },
    )


def _raise_if_all_failed(what: str, outcomes: Sequence[tuple[str, str | None]]) -> None:
    if outcomes and all(error for _, error in outcomes):
        reasons = "; ".join(f"{url}: {error}" for url, error in outcomes[:3])
        raise RuntimeError(f"{what} failed on every sampled page: {reasons}")


def _not_gathered(check: str, url: str, what: str, error: str) -> Finding:
    return Finding(
        check=check,
        severity="info",
        page=url,
        target=None,
        message=f"The page {what}: {error}",
        evidence={"error": error},
    )


CHECKS: list[Check] = [
    Check(
        id="mobile.viewport",
        title="Viewport meta tag",
        requires=("pages",),
        run=run_viewport,
        severities="warning: viewport tag missing, not sized to the phone, zoom disabled or fixed width",
        family_doc=__doc__ or "",
    ),
    Check(
        id="mobile.overflow",
        title="Page fits a phone screen",
        requires=("rendered",),
        run=run_overflow,
        severities=(
            "error: scrolls sideways by more than error_ratio (0.5) of the viewport; "
            "warning: laid out wider than the phone, or scrolls or sticks out less; "
            "info: a page that could not be rendered"
        ),
        defaults={"error_ratio": 0.5},
        family_doc=__doc__ or "",
    ),
    Check(
        id="mobile.lighthouse",
        title="Lighthouse mobile scores",
        requires=("lighthouse",),
        run=run_lighthouse,
        severities=(
            "warning (option severity): a category below its threshold; info: a page where Lighthouse failed"
        ),
        defaults={"thresholds": dict(DEFAULT_THRESHOLDS), "severity": "warning"},
        family_doc=__doc__ or "",
    ),
]
