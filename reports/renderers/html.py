"""The HTML report: ``DIR/index.html`` across shops and one page per shop.

Built with Jinja2 (templates in :file:`reports/templates/`) with autoescaping
on: everything taken from a shop (names, titles, link text, URLs, error
snippets) is text, never markup. Shop URLs become links only when they are
http(s). Each page is self-contained and works offline: inline CSS, inline
SVG charts, the phone screenshot embedded as a ``data:`` URI. A Content
Security Policy in each page forbids scripts on the shop pages and allows on
the index only its own sorting script (by hash), so even a mistake in
escaping could not run a shop's script. Labels in English or Traditional
Chinese (``lang`` ``en`` or ``zh-HK``).

A shop page answers, in order: the overall and area scores at a glance (with
a chart), every indicator with where its score came from (measured, entered,
not assessed), the problems grouped by check, worst first, each with why it
matters and what to do and its evidence, the phone screenshot, Lighthouse
scores, the certificates inspected, the links that could not be judged, and
which checks ran. Given the shop's stored history, the page also shows
(after the scores) line charts of its overall and area scores and of its
findings by severity over the stored runs and this one, and the expiry
dates of its certificates as the runs saw them (:mod:`shophealth.reports.trend`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from shophealth.reports.guidance import LANGUAGES, check_guide, labels
from shophealth.reports.renderers.selection import SEVERITY_RANK
from shophealth.reports.rubric import LIGHTHOUSE_CATEGORIES, Rubric
from shophealth.reports.trend import TrendPoint, site_point, trend_view

SHOWN_PER_CHECK = 25
QUOTE_LIMIT = 400
SCREENSHOT_LIMIT = 3_000_000  # bytes; a bigger file is left out rather than bloat the page
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCALAR_EVIDENCE = ("error", "title", "viewport", "hops", "final_url", "days_left", "not_after")


def write_html(
    report: Mapping[str, Any],
    directory: str | Path,
    lang: str = "en",
    rubric: Rubric | None = None,
    history: Mapping[str, Sequence[TrendPoint]] | None = None,
) -> Path:
    """Write the index and one page per shop into ``directory``; returns the index's path.

    ``history``: per shop URL, its earlier stored runs (oldest first); a shop
    found there gets trend charts over those runs and this one."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    rubric = rubric or Rubric.default()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    common = {
        "lang": lang,
        "L": labels(lang),
        "css": Markup(_asset("base.css")),
        "run_started": report.get("run", {}).get("started_at", ""),
    }
    shops = []
    for number, site in enumerate(report.get("sites", []), 1):
        shop = _shop(site, number, lang, rubric)
        past = (history or {}).get(str(site.get("site", "")))
        if past is not None and not site.get("error"):
            points = [*past, site_point(report.get("run") or {}, site)]
            titles = {area.id: rubric.title(area, lang) for area in rubric.areas.values()}
            shop["trend"] = trend_view(points, titles, common["L"])
        page = env.get_template("shop.html.j2").render(
            shop=shop, lighthouse_categories=LIGHTHOUSE_CATEGORIES, **common
        )
        (out / shop["file"]).write_text(page, encoding="utf-8")
        shops.append(shop)
    script = _asset("sort.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    areas = [{"id": a.id, "title": rubric.title(a, lang)} for a in rubric.areas.values()]
    index = env.get_template("index.html.j2").render(
        shops=shops, areas=areas, script=Markup(script), script_hash=f"sha256-{digest}", **common
    )
    path = out / "index.html"
    path.write_text(index, encoding="utf-8")
    return path


def shop_filename(number: int, url: str) -> str:
    """``shop-3-shop.example.html``: the host reduced to letters, digits, dots and dashes."""
    host = re.sub(r"[^a-z0-9.-]+", "-", (urlsplit(url).hostname or "").lower()).strip(".-")[:60]
    return f"shop-{number}-{host or 'site'}.html"


def _shop(site: Mapping[str, Any], number: int, lang: str, rubric: Rubric) -> dict[str, Any]:
    findings = site.get("findings") or []
    scores = site.get("scores") or {}
    indicators = _indicators(scores, lang, rubric)
    return {
        "file": shop_filename(number, str(site.get("site", ""))),
        "name": site.get("name") or site.get("site", ""),
        "url": site.get("site", ""),
        "error": site.get("error"),
        "pages": (site.get("stats") or {}).get("pages", 0),
        "overall": scores.get("overall"),
        "areas": scores.get("areas") or {},
        "rubric": _rubric_name(scores),
        "errors": sum(1 for f in findings if f.get("severity") == "error"),
        "warnings": sum(1 for f in findings if f.get("severity") == "warning"),
        "area_rows": [
            {"label": rubric.title(area, lang), "score": (scores.get("areas") or {}).get(area.id)}
            for area in rubric.areas.values()
        ],
        "indicators": indicators,
        "indicator_rows": [{"label": row["title"], "score": row["score"]} for row in indicators],
        "groups": _problem_groups(findings, lang),
        "checks": [{**c, "title": check_guide(c["check"], lang).title} for c in site.get("checks", [])],
        "lighthouse": [r for r in site.get("lighthouse", []) if not r.get("error")],
        "screenshot": _screenshot(site),
        "tls": site.get("tls") or [],
        "unverifiable": (site.get("unverifiable") or [])[:SHOWN_PER_CHECK],
        "unverifiable_hidden": max(0, len(site.get("unverifiable") or []) - SHOWN_PER_CHECK),
        "trend": None,
    }


def _rubric_name(scores: Mapping[str, Any]) -> str:
    rubric = scores.get("rubric") or {}
    return f"{rubric.get('name', '')} {rubric.get('version', '')}".strip()


def _indicators(scores: Mapping[str, Any], lang: str, rubric: Rubric) -> list[dict[str, Any]]:
    details = scores.get("details") or {}
    rows = []
    for name, value in (scores.get("indicators") or {}).items():
        spec = rubric.indicators.get(name)
        area = rubric.areas.get(spec.area) if spec else None
        source = (details.get(name) or {}).get("source") or (
            "measured" if value is not None else "not_assessed"
        )
        rows.append(
            {
                "title": rubric.title(spec, lang) if spec else name,
                "area_title": rubric.title(area, lang) if area else "",
                "source": source,
                "score": value,
            }
        )
    return rows


def _problem_groups(findings: list[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    by_check: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for finding in findings:
        by_check[str(finding.get("check"))].append(finding)
    groups = []
    for check, found in by_check.items():
        found.sort(key=lambda f: SEVERITY_RANK.get(str(f.get("severity")), 3))
        groups.append(
            {
                "check": check,
                "severity": found[0].get("severity", "info"),
                "guide": check_guide(check, lang),
                "findings": [_finding(f) for f in found[:SHOWN_PER_CHECK]],
                "hidden": max(0, len(found) - SHOWN_PER_CHECK),
            }
        )
    groups.sort(key=lambda g: (SEVERITY_RANK.get(g["severity"], 3), -len(g["findings"]) - g["hidden"]))
    return groups


def _finding(finding: Mapping[str, Any]) -> dict[str, Any]:
    evidence = finding.get("evidence") or {}
    quote = evidence.get("snippet") or evidence.get("text")
    return {
        "severity": finding.get("severity", "info"),
        "message": finding.get("message", ""),
        "page": finding.get("page", ""),
        "target": finding.get("target"),
        "count": evidence.get("count") or 1,
        "status": evidence.get("status"),
        "quote": str(quote)[:QUOTE_LIMIT] if quote else None,
        "details": [
            (key, str(evidence[key])[:200]) for key in SCALAR_EVIDENCE if evidence.get(key) not in (None, "")
        ],
    }


def _screenshot(site: Mapping[str, Any]) -> str | None:
    """The home page's screenshot (else the first rendered page's) as a ``data:`` URI, if the
    file is there and is a PNG."""
    rendered_pages = sorted(site.get("rendered") or [], key=lambda r: r.get("url") != site.get("site"))
    for rendered in rendered_pages:
        path = rendered.get("screenshot")
        if not path:
            continue
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        if data.startswith(PNG_MAGIC) and len(data) <= SCREENSHOT_LIMIT:
            return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return None


def _link(url: Any) -> Markup:
    """A shop URL as a link when it is http(s), else as text; escaped either way."""
    text = str(url or "")
    if urlsplit(text).scheme.lower() in ("http", "https"):
        return Markup('<a class="url" href="{0}" rel="noopener noreferrer nofollow">{0}</a>').format(text)
    return Markup('<span class="url">{0}</span>').format(text)


def _score_class(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "score-none"
    return "score-good" if value >= 80 else "score-fair" if value >= 50 else "score-poor"


def _score_color(value: Any) -> str:
    return {"score-good": "#17803d", "score-fair": "#d68400", "score-poor": "#c0262d"}.get(
        _score_class(value), "#9ca3af"
    )


def _score_text(value: Any) -> str:
    return f"{value:.0f}" if isinstance(value, (int, float)) else "–"


def _asset(name: str) -> str:
    return resources.files("shophealth.reports").joinpath("templates", name).read_text(encoding="utf-8")


def _environment() -> Any:
    import jinja2  # here, not at the top: every `shophealth` start would pay ~50 ms for it

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shophealth.reports", "templates"),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(link=_link, score_class=_score_class, score_color=_score_color, score_text=_score_text)
    return env
