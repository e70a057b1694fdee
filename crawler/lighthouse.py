"""Run Lighthouse through its own CLI in a subprocess and keep its scores.

Lighthouse is the npm package pinned in the repository's ``package.json``
(``npm ci`` installs it into ``node_modules/``; 12.2.3 is the last release that
runs on Node 20). :func:`find_lighthouse` looks for ``node_modules/.bin/lighthouse``
at the repository root, then ``lighthouse`` on ``PATH``; with neither it raises
:class:`LighthouseNotFound`, and the scan marks ``lighthouse`` missing.

:func:`run_lighthouse` audits one URL with Lighthouse's default mobile emulation
(Moto G Power, slow 4G, 4× CPU slowdown), for the performance, accessibility,
best-practices and SEO categories, in a Chromium the scan starts and ends itself
(:func:`shophealth.crawler.chromium.debuggable_chromium`, a fresh throw-away
profile per run that trusts the scan's CA bundle; Lighthouse gets ``--port``), so
no Chromium or profile folder outlives a run. Runs are serialised by one
process-wide lock, since two Lighthouse runs on one machine skew each other's
performance scores. Each run, Chromium's start included, is time-limited; on
leaving, time-out or not, Lighthouse's and Chromium's process groups are killed
and the profile removed. With ``runs`` > 1 the scores are the median per
category and ``spread`` the max - min, since single runs swing by 5-10 points.
``note`` says how certificates were handled when not plainly (see
:mod:`shophealth.crawler.chromium`).
The median run's whole report (the LHR JSON) is kept compressed, for saved
evidence and for checks that read audits beyond the failing ones.

A failure (no answer, a Lighthouse ``runtimeError``, unparsable output, time out)
never raises: it comes back as :attr:`LighthouseResult.error`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp

from shophealth.crawler.chromium import (
    BrowserTrust,
    ChromiumFailed,
    NotConfigured,
    ShopHeaders,
    debuggable_chromium,
    die_with_parent,
    kill_group,
    new_profile,
)
from shophealth.crawler.devtools import UrlGuard, scoped_headers
from shophealth.crawler.evidence import LighthouseResult, compress_bytes

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
REPO_ROOT = Path(__file__).resolve().parent.parent
PASSING_AUDIT_SCORE = 0.9  # Lighthouse colours an audit green from 0.9
UNSCORED_MODES = {"notApplicable", "manual", "informative", "error"}
MAX_STDERR = 300

_one_at_a_time = asyncio.Lock()


class LighthouseNotFound(NotConfigured):
    """The Lighthouse CLI is not installed."""


class Run(NamedTuple):
    """One run's report, and how its Chromium treated certificates (see :mod:`.chromium`)."""

    report: Mapping[str, Any]
    note: str | None


class LighthouseFailed(Exception):
    """One Lighthouse run gave no usable report; the message says why."""


def find_lighthouse(root: Path = REPO_ROOT) -> str:
    """The Lighthouse CLI: the repository's ``node_modules``, then ``PATH``."""
    local = root / "node_modules" / ".bin" / "lighthouse"
    if local.is_file():
        return str(local)
    found = shutil.which("lighthouse")
    if found:
        return found
    raise LighthouseNotFound("Lighthouse is not installed: run `npm ci` in the shophealth folder")


async def run_lighthouse(
    url: str,
    chrome_path: str,
    *,
    runs: int = 1,
    timeout: float = 90.0,
    lighthouse: str | None = None,
    trust: BrowserTrust | None = None,
    shop_headers: ShopHeaders | None = None,
    url_guard: UrlGuard | None = None,
    host_rules: str | None = None,
) -> LighthouseResult:
    """Median Lighthouse scores of ``runs`` runs on ``url``; failures in ``error``."""
    try:
        command = lighthouse or find_lighthouse()
    except LighthouseNotFound as exc:
        return LighthouseResult(url=url, error=str(exc))
    done: list[Run] = []
    errors: list[str] = []
    for _ in range(max(1, runs)):
        try:
            async with _one_at_a_time:
                done.append(
                    await _run_once(
                        command,
                        url,
                        chrome_path,
                        timeout,
                        trust or BrowserTrust(),
                        shop_headers,
                        url_guard,
                        host_rules,
                    )
                )
        except LighthouseFailed as exc:
            errors.append(str(exc))
    if not done:
        return LighthouseResult(url=url, runs=0, error=errors[-1])
    return summarise(url, [run.report for run in done], note=done[-1].note)


async def _run_once(
    command: str,
    url: str,
    chrome_path: str,
    timeout: float,
    trust: BrowserTrust,
    shop_headers: ShopHeaders | None,
    url_guard: UrlGuard | None = None,
    host_rules: str | None = None,
) -> Run:
    """One Lighthouse run against a Chromium of our own, all of it within ``timeout``;
    ``shop_headers`` go to the shop's origin only, and nothing ``url_guard`` refuses is
    asked (:mod:`shophealth.crawler.devtools`); ``host_rules`` as in :class:`Profile`."""
    profile = dataclasses.replace(await new_profile(trust), host_rules=host_rules)
    try:
        async with asyncio.timeout(timeout), debuggable_chromium(chrome_path, profile) as port:
            if shop_headers is None and url_guard is None:
                return Run(await _audit(command, url, port), profile.note)
            async with scoped_headers(port, shop_headers, url_guard):
                return Run(await _audit(command, url, port), profile.note)
    except TimeoutError:
        raise LighthouseFailed(f"Lighthouse took longer than {timeout:.0f} s") from None
    except ChromiumFailed as exc:
        raise LighthouseFailed(str(exc)) from None
    except aiohttp.ClientError as exc:
        raise LighthouseFailed(f"Chromium's DevTools connection failed: {exc}") from None
    finally:
        profile.remove()


async def _audit(command: str, url: str, port: int) -> Mapping[str, Any]:
    process = await asyncio.create_subprocess_exec(
        *_arguments(command, url, port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # its own process group, killed with whatever it started
        preexec_fn=die_with_parent,
    )
    try:
        stdout, stderr = await process.communicate()
    finally:
        kill_group(process.pid)
        await process.wait()
    if process.returncode != 0:
        raise LighthouseFailed(f"Lighthouse exited with {process.returncode}: {_last_line(stderr)}")
    return parse_output(stdout)


def _arguments(command: str, url: str, port: int) -> list[str]:
    return [
        command,
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        "--hostname=127.0.0.1",
        f"--port={port}",
        f"--only-categories={','.join(CATEGORIES)}",
    ]


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:MAX_STDERR] if lines else "no message"


def parse_output(stdout: bytes) -> Mapping[str, Any]:
    """The Lighthouse report (LHR) from the CLI's JSON output; failed runs raise."""
    try:
        report = json.loads(stdout)
    except ValueError as exc:
        raise LighthouseFailed(f"Lighthouse printed no JSON report: {exc}") from None
    if not isinstance(report, dict):
        raise LighthouseFailed("Lighthouse printed no JSON report")
    runtime_error = report.get("runtimeError")
    if runtime_error:
        raise LighthouseFailed(f"{runtime_error.get('code')}: {runtime_error.get('message')}")
    if not category_scores(report):
        raise LighthouseFailed("Lighthouse scored no category")
    return report


def category_scores(report: Mapping[str, Any]) -> dict[str, float]:
    """Category scores 0-100; a category Lighthouse could not score is left out."""
    scores: dict[str, float] = {}
    for name, category in (report.get("categories") or {}).items():
        score = category.get("score")
        if isinstance(score, (int, float)):
            scores[name] = round(float(score) * 100, 1)
    return scores


def failing_audits(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Scored audits below 0.9, worst first, with id, title, score and display value."""
    failing = [
        {
            "id": audit_id,
            "title": audit.get("title", ""),
            "score": audit["score"],
            "display_value": audit.get("displayValue"),
        }
        for audit_id, audit in (report.get("audits") or {}).items()
        if isinstance(audit.get("score"), (int, float))
        and audit.get("scoreDisplayMode") not in UNSCORED_MODES
        and audit["score"] < PASSING_AUDIT_SCORE
    ]
    return sorted(failing, key=lambda a: (a["score"], a["id"]))


def summarise(url: str, reports: Sequence[Mapping[str, Any]], note: str | None = None) -> LighthouseResult:
    """Median score and spread per category; failing audits of the median run."""
    per_run = [category_scores(r) for r in reports]
    names = sorted({name for scores in per_run for name in scores})
    values = {n: [s[n] for s in per_run if n in s] for n in names}
    median_run = _median_run(per_run)
    return LighthouseResult(
        url=url,
        scores={n: float(statistics.median(v)) for n, v in values.items()},
        spread={n: round(max(v) - min(v), 1) for n, v in values.items()},
        runs=len(reports),
        failing_audits=tuple(failing_audits(reports[median_run])),
        note=note,
        report_z=compress_bytes(json.dumps(reports[median_run]).encode("utf-8")),
    )


def _median_run(per_run: Sequence[Mapping[str, float]]) -> int:
    """The index of the run whose performance score is the median one."""
    order = sorted(range(len(per_run)), key=lambda i: per_run[i].get("performance", 0.0))
    return order[(len(order) - 1) // 2]
