"""Orchestration: gather evidence for each shop, run the checks, score.

Phases, in order, per shop: gather (robots.txt, sitemap, crawl, link
verification, the not-found probe, TLS, the browser) → check → score. Shops
are scanned ``parallel`` at a time, each with its own politeness limits;
within a shop all fetching is concurrent. A shop that cannot
be scanned (:mod:`~shophealth.crawler.availability`: down, unreachable, refused)
becomes a :class:`SiteRun` with ``error`` set, every check ``skipped`` with the
reason and full ``stats``; the other shops are still scanned. Each phase
after the crawl fails alone and within the shop's budget
(:mod:`~shophealth.crawler.phases`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from shophealth import __version__
from shophealth.checks.base import Finding
from shophealth.checks.dom import warm_page
from shophealth.checks.linkverdict import link_verdict, unverifiable_links
from shophealth.checks.registry import CheckOutcome, Registry, load_registry, run_check, with_severity
from shophealth.crawler.artifacts import ArtifactsSpec
from shophealth.crawler.availability import NOT_SCANNED, why_not_scanned
from shophealth.crawler.config import ConfigError, ScanConfig, SiteConfig, check_config, check_settings
from shophealth.crawler.evidence import (
    LighthouseResult,
    LinkResult,
    Page,
    SiteEvidence,
    TlsFacts,
    compress_bytes,
    decompress,
)
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.crawler.gather import SiteCrawl, probe_path
from shophealth.crawler.hooks import RunHooks
from shophealth.crawler.jobs import fetched_page
from shophealth.crawler.parse import parse_document
from shophealth.crawler.phases import INTERRUPTED, INTERRUPTED_DETAIL, Phases, SiteProgress
from shophealth.crawler.rendering import BrowserPhase
from shophealth.crawler.tls import hosts_to_inspect, inspect_hosts, inspect_tls, needs_unverified_crawl
from shophealth.crawler.urls import Scope, host_key, origin
from shophealth.crawler.warmup import Warmup
from shophealth.crawler.workers import WorkerPool, WorkerSetup, default_workers

SEVERITIES = ("error", "warning", "info")
MAX_LISTED = 5  # pages listed in stats where a count says how many
log = logging.getLogger(__name__)


@dataclass
class SiteRun:
    """One shop's result: what was gathered, judged and counted."""

    site: SiteConfig
    evidence: SiteEvidence
    outcomes: list[CheckOutcome]
    stats: dict[str, Any]
    error: str | None = None  # why the shop could not be scanned, in words

    @property
    def findings(self) -> list[Finding]:
        return [f for outcome in self.outcomes for f in outcome.findings]

    @property
    def facts(self) -> dict[str, Any]:
        """What the checks learnt about the shop, by name (payment methods, social profiles …)."""
        return {fact.name: fact.value for outcome in self.outcomes for fact in outcome.facts}

    @property
    def unverifiable(self) -> list[tuple[LinkResult, str]]:
        """The link targets that could not be judged, with the reason."""
        return unverifiable_links(self.evidence.links.values())


@dataclass(frozen=True)
class ReportedSite:
    """A shop judged and reported: its part of the JSON report (SPEC §3) kept, packed
    (JSON, Zstandard: 15 KB for a 500-page shop instead of 0.4 MB of objects), its
    evidence dropped (see :func:`scan`'s ``finish``)."""

    site: SiteConfig
    packed: bytes
    error: str | None = None  # why the shop could not be scanned, as in SiteRun.error

    @classmethod
    def of(cls, site: SiteConfig, report: Mapping[str, Any]) -> ReportedSite:
        return cls(site, compress_bytes(msgspec.json.encode(report)), report.get("error"))

    @property
    def report(self) -> dict[str, Any]:
        """The shop's part of the report, unpacked (a new dict each time)."""
        report: dict[str, Any] = msgspec.json.decode(decompress(self.packed))
        return report


SiteResult = SiteRun | ReportedSite


@dataclass
class Run:
    id: str
    started_at: str
    finished_at: str = ""
    interrupted: bool = False  # the user stopped it (Ctrl-C); what was gathered is reported
    config: dict[str, Any] = field(default_factory=dict)
    sites: list[SiteResult] = field(default_factory=list)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def trust_store(ca_bundle: str | None) -> ssl.SSLContext:
    """The trust store for every fetch: ``--ca-bundle``, else ``SSL_CERT_FILE``, else certifi's."""
    return trust_context(ca_bundle)


@dataclass
class AfterCrawl:
    """The evidence the phases after the crawl gather (None: not gathered)."""

    probe: Page | None = None
    plain_http: Page | None = None
    lighthouse: tuple[LighthouseResult, ...] | None = None
    tls: tuple[TlsFacts, ...] | None = None


async def gather_site(
    site: SiteConfig,
    progress: SiteProgress | None = None,
    stop: asyncio.Event | None = None,
    hooks: RunHooks | None = None,
    registry: Registry | None = None,
) -> tuple[SiteEvidence, dict[str, Any]]:
    """Everything the checks need about one shop, and the crawl's figures.
    Given the ``registry`` that will judge it, worker processes make judging's
    per-page passes with the parse (:mod:`shophealth.crawler.artifacts`).

    Every phase runs within what is left of the shop's wall-clock budget and
    ends when ``stop`` is set; a phase that fails or is cut short marks its
    evidence kind missing with the reason and the others are kept. A shop
    whose start pages gave no usable answer is not asked anything more: its
    ``stopped_reason`` is one of :data:`~shophealth.crawler.availability.NOT_SCANNED`."""
    config = site.config
    started = time.monotonic()
    phases = Phases(config.budget_s, stop, progress)
    scope = Scope.for_start_urls(list(site.seeds), config.include, config.exclude)
    trust = trust_store(config.ca_bundle)
    fetcher = Fetcher(config, trust, scope.is_internal, site.url)
    fetcher.credential_origins.update(origin(url) for url in site.seeds)
    fetcher.shared_limits = hooks.shared_limits if hooks is not None else None
    browser = BrowserPhase(config, site.url, progress=progress.phase if progress is not None else None)
    browser.guard = fetcher.guard
    tls_timeout = config.connect_timeout + config.read_timeout
    after = AfterCrawl()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(fetcher.aclose)
        home_tls = await _inspect_home_tls(phases, site.url, trust, tls_timeout)
        unverified = home_tls is not None and needs_unverified_crawl(home_tls)
        if unverified:
            fetcher.insecure_hosts.add(host_key(site.url))
            browser.certificate_error = home_tls.error if home_tls is not None else None
        spec = ArtifactsSpec.of(c.run for c in registry.checks.values()) if registry is not None else None
        pool = await _start_workers(config, scope, fetcher, stack, spec)
        await browser.start(stack)
        crawl = SiteCrawl(
            config,
            fetcher,
            scope,
            progress.crawl if progress is not None else None,
            renderer=browser.renderer,
            jobs=pool,
            stop=stop,
            on_phase=phases.announce,
        )
        crawl.attach(site.url, hooks)
        # judging's per-page passes: installed as made by a worker, else made while the crawl waits
        asker = pool.structured_of if pool is not None and spec is not None else None
        warmup = Warmup(warm_page, spec.install if spec is not None else None, asker)
        crawl.on_page = warmup.add
        phases.announce("crawling")
        try:
            await crawl.run(site.seeds, budget=phases.remaining())
        finally:
            await warmup.aclose()
        log.debug(
            "%d of %d pages warmed for judging during the crawl, %d by workers (and %d pages' structured data)",
            warmup.warmed + warmup.installed,
            len(crawl.pages),
            warmup.installed,
            warmup.asked,
        )
        down = why_not_scanned(crawl.pages, site.url, config, crawl.stats.stopped_reason, home_tls)
        if down is None:
            after.probe = await phases.run("probe", _probe(fetcher, site.url), None)
            after.plain_http = await phases.run(
                "plain_http", _plain_http(fetcher, site.url, crawl.pages), None
            )
            await _render(phases, browser, crawl.pages)
    if down is None:
        if "lighthouse" not in browser.missing:
            after.lighthouse = await phases.run("lighthouse", browser.lighthouse(crawl.pages), None)
        hosts = await fetcher.guarded(hosts_to_inspect(site.url, crawl.pages))
        after.tls = await phases.run("tls", inspect_hosts(hosts, trust, tls_timeout), None)
    await browser.aclose()
    evidence = SiteEvidence(
        site=site.url,
        home=site.url,
        pages=tuple(crawl.pages),
        links=crawl.link_results(),
        probe=after.probe,
        tls=after.tls or (),
        plain_http=after.plain_http,
        rendered=tuple(browser.rendered.values()),
        lighthouse=after.lighthouse or (),
        missing=_missing_kinds(after, browser, phases),
        cuts=crawl.traps.found(),
    )
    stopped, detail = down or (
        (crawl.stats.stopped_reason, crawl.stats.stopped_detail)
        if crawl.stats.stopped_reason is not None
        else (phases.stopped, phases.stopped_detail)
    )
    stats = {
        "pages": len(crawl.pages),
        "links_checked": sum(1 for r in evidence.links.values() if link_verdict(r).outcome != "unverifiable"),
        "requests": fetcher.requests + (pool.requests if pool is not None else 0),
        "workers": pool.used if pool is not None else 0,
        **({"workers_fallback": pool.fallback_reason} if pool is not None and pool.fallback_reason else {}),
        "duration_s": round(time.monotonic() - started, 3),
        "complete": stopped is None,
        "stopped_reason": stopped,
        "stopped_detail": detail,
        "truncated": sum(1 for p in crawl.pages if p.truncated),  # bodies cut at max_bytes
        "truncated_pages": [p.url for p in crawl.pages if p.truncated][:MAX_LISTED],
        **browser.stats(),
        "lighthouse_runs": sum(r.runs for r in evidence.lighthouse),
        "tls_verification": (
            f"off for this shop: {home_tls.error}" if unverified and home_tls is not None else "on"
        ),
    }
    return evidence, stats


async def _render(phases: Phases, browser: BrowserPhase, pages: Sequence[Page]) -> None:
    """The browser's sample, unless the budget is spent or the user stopped the scan."""
    if browser.renderer is None:  # rendering is off or the browser did not start: said in missing
        return
    if phases.halted(during="rendering"):
        browser.stop(phases.stopped_detail or INTERRUPTED_DETAIL)  # keeps what was rendered
    else:
        await phases.run("rendered", browser.render_sample(pages), None)


async def _start_workers(
    config: ScanConfig, scope: Scope, fetcher: Fetcher, stack: AsyncExitStack, artifacts: ArtifactsSpec | None
) -> WorkerPool | None:
    """Worker processes for the crawl's fetching and parsing, or None to do it in-process."""
    size, start_at_pages = default_workers(config)
    if size == 0:
        return None
    setup = WorkerSetup(
        config,
        scope,
        frozenset(fetcher.insecure_hosts),
        frozenset(fetcher.credential_origins),
        start_url=fetcher.start_url,
        artifacts=artifacts,
    )
    pool = WorkerPool(size, setup, fetcher, start_at_pages=start_at_pages)
    stack.push_async_callback(pool.aclose)
    if start_at_pages == 0:  # asked for by number: all jobs go to them
        await pool.start()
        await pool.wait_ready()
    return pool


async def _inspect_home_tls(
    phases: Phases, home: str, trust: ssl.SSLContext, timeout: float
) -> TlsFacts | None:
    """The shop's own certificate, looked at before crawling so a bad one can be crawled past."""
    parts = urlsplit(home)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return await phases.run("home_tls", inspect_tls(parts.hostname, parts.port or 443, trust, timeout), None)


async def _plain_http(fetcher: Fetcher, home: str, pages: Sequence[Page]) -> Page:
    """The shop's home asked over http://, after redirects (for tls.no-https); for a
    shop given as http://host/ that is its start page, already asked."""
    url = urlunsplit(urlsplit(home)._replace(scheme="http", path="/", query="", fragment=""))
    asked = next((p for p in pages if p.url == url and p.depth == 0), None)
    if asked is not None:
        return asked
    return fetched_page(await fetcher.fetch(url, max_bytes=65_536), depth=0)


def _missing_kinds(after: AfterCrawl, browser: BrowserPhase, phases: Phases) -> dict[str, str]:
    """Evidence kinds not gathered, and why: a phase that failed or was cut short
    says so; renders made before rendering was cut short still count."""
    missing = {**browser.missing, **phases.missing}
    if after.probe is None:
        missing.setdefault("probe", "the not-found probe got no answer")
    if after.tls == ():
        missing.setdefault("tls", "the shop has no https:// pages")
    if browser.rendered:
        missing.pop("rendered", None)
    missing.pop("home_tls", None)  # not an evidence kind: the crawl went on verifying
    return missing


async def _probe(fetcher: Fetcher, home: str) -> Page | None:
    """What the shop answers for a URL that cannot exist."""
    url = origin(home) + probe_path()
    result = await fetcher.fetch(url)
    if result.status is None:
        return None
    document = parse_document(result.body, result.content_type or None, result.final_url)
    return fetched_page(result, 0, document, refs=())


async def scan_site(
    site: SiteConfig,
    registry: Registry | None = None,
    progress: SiteProgress | None = None,
    stop: asyncio.Event | None = None,
    hooks: RunHooks | None = None,
) -> SiteRun:
    registry = registry or load_registry()
    evidence, stats = await gather_site(site, progress, stop, hooks, registry)
    return judge_site(site, evidence, stats, registry)


def judge_site(
    site: SiteConfig, evidence: SiteEvidence, stats: dict[str, Any], registry: Registry
) -> SiteRun:
    """Run the site's checks on evidence gathered now or saved earlier (``shophealth judge``);
    a shop that could not be scanned (its stop code says so) is judged by no check."""
    if stats.get("stopped_reason") in NOT_SCANNED:
        reason = str(stats.get("stopped_detail") or stats["stopped_reason"])
        return not_scanned(site, registry, reason, evidence, stats)
    return SiteRun(site, evidence, judge(registry, evidence, site.config), stats)


def not_scanned(
    site: SiteConfig,
    registry: Registry,
    reason: str,
    evidence: SiteEvidence | None = None,
    stats: dict[str, Any] | None = None,
    code: str = "not-started",
) -> SiteRun:
    """A shop that could not be scanned: every check skipped with the reason."""
    outcomes = [CheckOutcome(cid, "skipped", detail=f"not scanned: {reason}") for cid in registry.checks]
    return SiteRun(
        site,
        evidence or SiteEvidence(site=site.url, home=site.url),
        outcomes,
        stats if stats is not None else empty_stats(code, reason),
        error=reason,
    )


def empty_stats(code: str, detail: str) -> dict[str, Any]:
    """The stats of a shop where nothing was gathered, with every field."""
    return {
        "pages": 0,
        "links_checked": 0,
        "requests": 0,
        "workers": 0,
        "duration_s": 0.0,
        "complete": False,
        "stopped_reason": code,
        "stopped_detail": detail,
        "truncated": 0,
        "truncated_pages": [],
        **BrowserPhase.no_stats(),
        "lighthouse_runs": 0,
        "tls_verification": "on",
    }


def judge(registry: Registry, evidence: SiteEvidence, config: ScanConfig) -> list[CheckOutcome]:
    """Every registered check's outcome: run with its settings' options and
    severity, or ``skipped`` saying why it did not run (turned off, or off by default)."""
    settings = check_settings(config.checks, "checks")
    outcomes = []
    for check in registry.checks.values():
        level, options = settings.get(check.id, ["on" if check.enabled_by_default else "off", {}])
        if level == "off":
            why = "turned off in the settings" if check.id in settings else "off unless turned on"
            outcomes.append(CheckOutcome(check.id, "skipped", detail=f"{why} (checks: {{{check.id}: …}})"))
            continue
        outcome = run_check(check, evidence, options)
        outcomes.append(with_severity(outcome, level) if level in SEVERITIES else outcome)
    return outcomes


SiteCallback = Callable[[SiteConfig], SiteProgress | None]
# Called in the coordinator as each shop is judged, with its position in the run and
# whether it was cut short by the user (it is then not finished: ``--resume`` scans it
# again); what it returns is kept in the run instead (a ReportedSite lets the evidence go).
SiteFinisher = Callable[[int, SiteRun, bool], SiteResult]


async def scan(
    sites: Sequence[SiteConfig],
    on_site: SiteCallback | None = None,
    registry: Registry | None = None,
    parallel: int = 1,
    stop: asyncio.Event | None = None,
    hooks: RunHooks | None = None,
    finish: SiteFinisher | None = None,
) -> Run:
    """Scan the shops, ``parallel`` at a time (each with its own limits per host);
    one failing shop never stops the others. Sites keep their order in the run.
    Once ``stop`` is set, shops being scanned end with what they have and the
    others are not started.

    Each shop, once judged, goes through ``finish`` (when given), and the run keeps
    what it returns: a multi-shop run that reports and stores each shop as it ends
    holds one shop's evidence per slot, not every shop's until the end. A shop that
    the resumed run had finished (``hooks.checkpoints``) is not scanned again: its
    stored report is reused."""
    registry = registry or load_registry()
    run = Run(id=(hooks.run_id if hooks else None) or uuid.uuid4().hex[:12], started_at=now_iso())
    run.config = sites[0].config.public() if sites else {}
    run.config["tool_version"] = __version__
    slots = asyncio.Semaphore(max(1, parallel))

    async def scan_one(site: SiteConfig) -> SiteRun:
        if stop is not None and stop.is_set():
            reason = "interrupted (Ctrl-C) before it began"
            return not_scanned(site, registry, reason, code=INTERRUPTED)
        try:  # the command line checked this already; a caller of scan() may not have
            check_config(site.config, site.url)
        except ConfigError as exc:
            return not_scanned(site, registry, f"bad settings: {exc}", code="bad-input")
        progress = on_site(site) if on_site is not None else None
        try:
            return await scan_site(site, registry, progress, stop, hooks)
        except Exception as exc:  # a bug met on one shop must not lose the others
            log.debug("internal error scanning %s", site.url, exc_info=True)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            return not_scanned(site, registry, reason, code="internal-error")

    async def scan_and_finish(position: int, site: SiteConfig) -> SiteResult:
        reused = _finished_before(site, hooks)
        if reused is not None:
            return reused
        async with slots:
            site_run = await scan_one(site)
            return site_run if finish is None else _finished(finish, position, site_run, stop)

    run.sites = list(await asyncio.gather(*(scan_and_finish(i, site) for i, site in enumerate(sites))))
    run.finished_at = now_iso()
    run.interrupted = stop is not None and stop.is_set()
    return run


def _finished_before(site: SiteConfig, hooks: RunHooks | None) -> ReportedSite | None:
    """The shop's report from the run being resumed, if the shop had finished in it."""
    if hooks is None or hooks.checkpoints is None:
        return None
    report = hooks.checkpoints.finished(site.url)
    return None if report is None else ReportedSite.of(site, report)


def _finished(
    finish: SiteFinisher, position: int, site_run: SiteRun, stop: asyncio.Event | None
) -> SiteResult:
    """What ``finish`` makes of the judged shop; the shop as it is if that fails (its
    report is then built with the run's, at the end, as if no finisher had been given)."""
    cut_short = (stop is not None and stop.is_set()) or site_run.stats.get("stopped_reason") == INTERRUPTED
    try:
        return finish(position, site_run, cut_short)
    except Exception:  # a bug met finishing one shop must not lose the others
        log.warning("could not report %s as it finished; it is reported with the run", site_run.site.url)
        log.debug("finishing %s failed", site_run.site.url, exc_info=True)
        return site_run
