"""The JSON report (SPEC §3), built from a finished run.

The report is the one stored form of a run: every renderer reads it, and the
scores can be recomputed from its findings and check statuses alone.

``run.config`` is the first shop's settings (the command's options over the
sites file's ``defaults``, as SPEC §3 shows one ``config`` per run); shops of a
sites file may each have their own, so every site object also carries its own
settings as ``config`` (an additive field; the store does not keep it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from shophealth.crawler.evidence import LighthouseResult, Page, RenderedPage
from shophealth.crawler.pagekind import page_kind
from shophealth.crawler.scan import ReportedSite
from shophealth.reports.renderers.json import write_json
from shophealth.reports.scoring import Rubric, score_site

if TYPE_CHECKING:
    from shophealth.crawler.scan import Run, SiteResult, SiteRun

__all__ = ["SCHEMA", "ReportError", "build_report", "check_report", "site_report", "write_json"]

SCHEMA = "shophealth.report/1"
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class ReportError(ValueError):
    """A stored report that is not a shophealth report this version can read."""


def check_report(data: Any) -> None:
    """Raise :class:`ReportError` naming the first field of ``data`` that does not fit
    :file:`reports/report.schema.json` (the fields scoring and renderers rely on)."""
    import jsonschema  # here, not at the top: only stored reports are checked

    schema = json.loads(
        resources.files("shophealth.reports").joinpath("report.schema.json").read_text("utf-8")
    )
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ReportError(f"{where}: {error.message}")


def build_report(run: Run, rubric: Rubric | None = None) -> dict[str, Any]:
    """The run's report; a shop reported as it finished (a ``ReportedSite``) is
    taken as it was reported (rescored with ``rubric`` if one is given)."""
    return {
        "schema": SCHEMA,
        "run": {
            "id": run.id,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "tool_version": run.config.get("tool_version"),
            "config": run.config,
        },
        "sites": [_site(site, rubric) for site in run.sites],
    }


def _site(site: SiteResult, rubric: Rubric | None) -> dict[str, Any]:
    if not isinstance(site, ReportedSite):
        return site_report(site, rubric)
    report = site.report
    if rubric is not None:
        report["scores"] = score_site(report, rubric)
    return report


def site_report(site_run: SiteRun, rubric: Rubric | None = None) -> dict[str, Any]:
    """One shop's part of the report (SPEC §3), from its judged evidence."""
    findings = sorted(
        (f.to_dict() for f in site_run.findings),
        key=lambda f: (SEVERITY_ORDER[f["severity"]], f["check"], f["page"], f["target"] or ""),
    )
    site: dict[str, Any] = {
        "site": site_run.site.url,
        "name": site_run.site.name,
        "config": site_run.site.config.public(),  # this shop's settings; run.config is the first shop's
        "error": site_run.error,
        "stats": site_run.stats,
        "unverifiable": [
            {"target": r.url, "reason": reason, "pages": [s.page for s in r.seen], "count": r.count}
            for r, reason in site_run.unverifiable
        ],
        "tls": [_tls(t) for t in site_run.evidence.tls],
        "lighthouse": [_lighthouse(r) for r in site_run.evidence.lighthouse],
        "rendered": [_rendered(r) for r in site_run.evidence.rendered],
        "pages": _pages(site_run.evidence.pages),
        "facts": site_run.facts,
        "checks": [outcome.to_dict() for outcome in site_run.outcomes],
        "findings": findings,
    }
    site["scores"] = score_site(site, rubric)
    return site


def _pages(pages: Sequence[Page]) -> list[dict[str, Any]]:
    """Every crawled page with its answer and its kind (:mod:`shophealth.crawler.pagekind`)."""
    return [{"url": p.url, "final_url": p.final_url, "status": p.status, "kind": page_kind(p)} for p in pages]


def _tls(facts: Any) -> dict[str, Any]:
    return {
        "host": f"{facts.host}:{facts.port}",
        "valid": facts.valid,
        "error": facts.error,
        "error_kind": facts.error_kind,
        "issuer": facts.issuer,
        "subject": facts.subject,
        "not_after": facts.not_after,
        "days_left": None if facts.days_left is None else round(facts.days_left, 1),
        "protocol": facts.protocol,
    }


def _lighthouse(result: LighthouseResult) -> dict[str, Any]:
    """Category scores (0-100, the median of the runs) and their spread, so a
    nightly scan can plot them even when no threshold is crossed."""
    return {
        "url": result.url,
        "scores": dict(result.scores),
        "spread": dict(result.spread),
        "runs": result.runs,
        "error": result.error,
        "note": result.note,
    }


def _rendered(page: RenderedPage) -> dict[str, Any]:
    return {
        "url": page.url,
        "viewport_width": page.viewport_width,
        "client_width": page.client_width,
        "scroll_width": page.scroll_width,
        "screenshot": page.screenshot,
        "error": page.error,
    }
