"""Orchestration: gather evidence for each shop, run the checks, score.

Phases, in order, per shop: gather (robots.txt, sitemap, crawl, link
verification, the not-found probe, TLS, the browser) → check → score. Shops
are scanned ``parallel`` at a time, each with its own politeness limits;
within a shop all fetching is concurrent. A shop that cannot
be reached at all becomes a :class:`SiteRun` with ``error`` set; the other
shops are still scanned.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shophealth import __version__
from shophealth.checks.base import Finding
from shophealth.checks.linkverdict import link_verdict, unverifiable_links
from shophealth.checks.registry import CheckOutcome, Registry, load_registry, run_checks
from shophealth.crawler.config import ScanConfig, SiteConfig
from shophealth.crawler.evidence import LinkResult, Page, SiteEvidence, TlsFacts
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.crawler.gather import STOPPED_BY_USER, ProgressCallback, SiteCrawl, fetched_page, probe_path
from shophealth.crawler.parse import parse_document
from shophealth.crawler.rendering import BrowserPhase
from shophealth.crawler.tls import hosts_to_inspect, inspect_hosts, inspect_tls, needs_unverified_crawl
from shophealth.crawler.urls import Scope, host_key, origin
from shophealth.crawler.workers import WorkerPool, WorkerSetup, default_workers

log = logging.getLogger(__name__)


@dataclass
class SiteRun:
    """One shop's result: what was gathered, judged and counted."""

    site: SiteConfig
    evidence: SiteEvidence
    outcomes: list[CheckOutcome]
    stats: dict[str, Any]
    error: str | None = None

    @property
    def findings(self) -> list[Finding]:
        return [f for outcome in self.outcomes for f in outcome.findings]

    @property
    def unverifiable(self) -> list[tuple[LinkResult, str]]:
        """The link targets that could not be judged, with the reason."""
        return unverifiable_links(self.evidence.links.values())


@dataclass
class Run:
    id: str
    started_at: str
    finished_at: str = ""
    interrupted: bool = False  # the user stopped it (Ctrl-C); what was gathered is reported
    config: dict[str, Any] = field(default_factory=dict)
    sites: list[SiteRun] = field(default_factory=list)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def trust_store(ca_bundle: str | None) -> ssl.SSLContext:
    """The trust store for every fetch: ``--ca-bundle``, else ``SSL_CERT_FILE``, else certifi's."""
    return trust_context(ca_bundle)


async def gather_site(
    site: SiteConfig,
    progress: ProgressCallback | None = None,
    stop: asyncio.Event | None = None,
) -> tuple[SiteEvidence, dict[str, Any]]:
    """Everything the checks need about one shop, and the crawl's figures. Once
    ``stop`` is set the crawl ends and the browser phase is skipped."""
    config = site.config
    started = time.monotonic()
    scope = Scope.for_start_urls(list(site.seeds), config.include, config.exclude)
    trust = trust_store(config.ca_bundle)
    fetcher = Fetcher(config, trust, scope.is_internal, site.url)
    browser = BrowserPhase(config)
    tls_timeout = config.connect_timeout + config.read_timeout
    async with AsyncExitStack() as stack:
        stack.push_async_callback(fetcher.aclose)
        home_tls = await _inspect_home_tls(site.url, trust, tls_timeout)
        unverified = home_tls is not None and needs_unverified_crawl(home_tls)
        if unverified:
            fetcher.insecure_hosts.add(host_key(site.url))
        pool = await _start_workers(config, scope, fetcher, stack)
        await browser.start(stack)
        crawl = SiteCrawl(config, fetcher, scope, progress, renderer=browser.renderer, jobs=pool, stop=stop)
        await crawl.run(site.seeds)
        probe = await _probe(fetcher, site.url)
        plain_http = await _plain_http(fetcher, site.url)
        if stop is not None and stop.is_set():
            browser.stop(STOPPED_BY_USER)
        rendered = await browser.render_sample(crawl.pages)
    lighthouse = await browser.lighthouse(crawl.pages)
    hosts = await fetcher.guarded(hosts_to_inspect(site.url, crawl.pages))
    tls = await inspect_hosts(hosts, trust, tls_timeout)
    evidence = SiteEvidence(
        site=site.url,
        home=site.url,
        pages=tuple(crawl.pages),
        links=crawl.link_results(),
        probe=probe,
        tls=tls,
        plain_http=plain_http,
        rendered=rendered,
        lighthouse=lighthouse,
        missing={**_missing_kinds(probe, tls), **browser.missing},
        cuts=crawl.traps.found(),
    )
    stats = {
        "pages": len(crawl.pages),
        "links_checked": sum(1 for r in evidence.links.values() if link_verdict(r).outcome != "unverifiable"),
        "requests": fetcher.requests + (pool.requests if pool is not None else 0),
        "workers": pool.used if pool is not None else 0,
        **({"workers_fallback": pool.fallback_reason} if pool is not None and pool.fallback_reason else {}),
        "duration_s": round(time.monotonic() - started, 3),
        "complete": crawl.stats.stopped_reason is None,
        "stopped_reason": crawl.stats.stopped_reason,
        "rendered": len(rendered),
        "lighthouse_runs": sum(r.runs for r in lighthouse),
        "tls_verification": (
            f"off for this shop: {home_tls.error}" if unverified and home_tls is not None else "on"
        ),
    }
    return evidence, stats


async def _start_workers(
    config: ScanConfig, scope: Scope, fetcher: Fetcher, stack: AsyncExitStack
) -> WorkerPool | None:
    """Worker processes for the crawl's fetching and parsing, or None to do it in-process."""
    size, start_at_pages = default_workers(config)
    if size == 0:
        return None
    setup = WorkerSetup(config, scope, frozenset(fetcher.insecure_hosts), fetcher.start_url)
    pool = WorkerPool(size, setup, fetcher, start_at_pages=start_at_pages)
    stack.push_async_callback(pool.aclose)
    if start_at_pages == 0:  # asked for by number: all jobs go to them
        await pool.start()
        await pool.wait_ready()
    return pool


async def _inspect_home_tls(home: str, trust: ssl.SSLContext, timeout: float) -> TlsFacts | None:
    """The shop's own certificate, looked at before crawling so a bad one can be crawled past."""
    parts = urlsplit(home)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return await inspect_tls(parts.hostname, parts.port or 443, trust, timeout)


async def _plain_http(fetcher: Fetcher, home: str) -> Page:
    """The shop's home asked over http://, after redirects (for tls.no-https)."""
    url = urlunsplit(urlsplit(home)._replace(scheme="http", path="/", query="", fragment=""))
    return fetched_page(await fetcher.fetch(url, max_bytes=65_536), depth=0)


def _missing_kinds(probe: Page | None, tls: tuple[TlsFacts, ...]) -> dict[str, str]:
    missing = {}
    if probe is None:
        missing["probe"] = "the not-found probe got no answer"
    if not tls:
        missing["tls"] = "the shop has no https:// pages"
    return missing


async def _probe(fetcher: Fetcher, home: str) -> Page | None:
    """What the shop answers for a URL that cannot exist."""
    url = origin(home) + probe_path()
    result = await fetcher.fetch(url)
    if result.status is None:
        return None
    document = parse_document(result.body, result.content_type or None, result.final_url)
    return fetched_page(result, 0, document, refs=())


def unreachable_reason(evidence: SiteEvidence) -> str | None:
    """Why the shop could not be scanned at all, or None if anything answered."""
    if any(p.status is not None for p in evidence.pages):
        return None
    first = evidence.pages[0] if evidence.pages else None
    return (first.error if first is not None else None) or "no answer"


async def scan_site(
    site: SiteConfig,
    registry: Registry | None = None,
    progress: ProgressCallback | None = None,
    stop: asyncio.Event | None = None,
) -> SiteRun:
    evidence, stats = await gather_site(site, progress, stop)
    return judge_site(site, evidence, stats, registry or load_registry())


def judge_site(
    site: SiteConfig, evidence: SiteEvidence, stats: dict[str, Any], registry: Registry
) -> SiteRun:
    """Run the site's checks on evidence gathered now or saved earlier (``shophealth judge``)."""
    error = unreachable_reason(evidence)
    if error is not None:
        return SiteRun(site, evidence, [], stats, error=error)
    checks = registry.select(disabled=_disabled(site.config))
    outcomes = run_checks(checks, evidence, _check_options(site.config))
    return SiteRun(site, evidence, outcomes, stats)


def _disabled(config: ScanConfig) -> list[str]:
    return [cid for cid, setting in config.checks.items() if _level(setting) == "off"]


def _level(setting: Any) -> str:
    if setting is False:  # YAML reads a bare `off` as false
        return "off"
    if isinstance(setting, list) and setting:
        return str(setting[0])
    return str(setting)


def _check_options(config: ScanConfig) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for cid, setting in config.checks.items():
        if isinstance(setting, list) and len(setting) > 1 and isinstance(setting[1], dict):
            options[cid] = setting[1]
    return options


SiteCallback = Callable[[SiteConfig], ProgressCallback | None]


async def scan(
    sites: Sequence[SiteConfig],
    on_site: SiteCallback | None = None,
    registry: Registry | None = None,
    parallel: int = 1,
    stop: asyncio.Event | None = None,
) -> Run:
    """Scan the shops, ``parallel`` at a time (each with its own limits per host);
    one failing shop never stops the others. Sites keep their order in the run.
    Once ``stop`` is set, shops being scanned end with what they have and the
    others are not started."""
    registry = registry or load_registry()
    run = Run(id=uuid.uuid4().hex[:12], started_at=now_iso())
    run.config = sites[0].config.public() if sites else {}
    run.config["tool_version"] = __version__
    slots = asyncio.Semaphore(max(1, parallel))

    async def scan_one(site: SiteConfig) -> SiteRun:
        async with slots:
            if stop is not None and stop.is_set():
                evidence = SiteEvidence(site=site.url, home=site.url)
                return SiteRun(
                    site, evidence, [], {}, error="not scanned: interrupted (Ctrl-C) before it began"
                )
            progress = on_site(site) if on_site is not None else None
            try:
                return await scan_site(site, registry, progress, stop)
            except Exception as exc:  # a bug met on one shop must not lose the others
                log.debug("internal error scanning %s", site.url, exc_info=True)
                evidence = SiteEvidence(site=site.url, home=site.url)
                return SiteRun(site, evidence, [], {}, error=f"internal error: {type(exc).__name__}: {exc}")

    run.sites = list(await asyncio.gather(*(scan_one(site) for site in sites)))
    run.finished_at = now_iso()
    run.interrupted = stop is not None and stop.is_set()
    return run
