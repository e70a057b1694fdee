"""robots.txt, read once per host with Protego (Scrapy's parser, RFC 9309).

RFC 9309's rules for an unreadable file: a 4xx answer means no rules (crawl
everything); a 5xx answer or no answer means "disallow everything" until it
can be read. When nothing answered at all, :attr:`RobotsRules.unreachable`
keeps the transport error, so the shop is reported unreachable (connection
refused, DNS, TLS) rather than as having an unreadable robots.txt. Loading
never raises: a failure is taken as no answer.

``Crawl-delay`` becomes the host's minimum interval between requests, capped at 10 s so a hostile value cannot stall a nightly scan.
Only the shop's own hosts are governed: link verification of other hosts
sends one HEAD/GET per target, as every link checker does.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from protego import Protego

from shophealth.crawler.evidence import ErrorKind
from shophealth.crawler.fetch import Fetcher
from shophealth.crawler.urls import origin

ROBOTS_MAX_BYTES = 512_000
MAX_CRAWL_DELAY = 10.0
USER_AGENT_TOKEN = "shophealth"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RobotsRules:
    parser: Protego | None  # None: no rules at all
    disallow_all: bool = False
    reason: str | None = None
    unreachable: str | None = None  # the host gave no answer at all: why
    unreachable_kind: ErrorKind | None = None  # and the transport error's kind

    def allows(self, url: str) -> bool:
        if self.disallow_all:
            return False
        return self.parser is None or bool(self.parser.can_fetch(url, USER_AGENT_TOKEN))


class RobotsCache:
    """Rules per origin, each fetched once however many workers ask at once."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self._rules: dict[str, asyncio.Task[RobotsRules]] = {}

    async def rules_for(self, url: str) -> RobotsRules:
        key = origin(url)
        task = self._rules.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key))
            self._rules[key] = task
        return task.result() if task.done() else await task

    async def allows(self, url: str) -> bool:
        return (await self.rules_for(url)).allows(url)

    async def _load(self, site_origin: str) -> RobotsRules:
        try:
            result = await self._fetcher.fetch(site_origin + "/robots.txt", max_bytes=ROBOTS_MAX_BYTES)
        except Exception as exc:  # fetch should not raise; if it does, the host is not lost with it
            log.debug("internal error reading %s/robots.txt", site_origin, exc_info=True)
            why = f"internal error: {type(exc).__name__}: {exc}"
            return _unreachable(why, ErrorKind.INTERNAL)
        if result.status is None:
            return _unreachable(result.error or "no answer", result.error_kind)
        if result.status >= 500 or result.status == 429:
            return RobotsRules(
                None, disallow_all=True, reason=f"robots.txt unreadable (HTTP {result.status})"
            )
        if result.status >= 400:
            return RobotsRules(None)
        parser = Protego.parse(result.body.decode("utf-8", "replace"))
        delay = parser.crawl_delay(USER_AGENT_TOKEN)
        if delay:
            policy = self._fetcher.host_policy(site_origin + "/")
            policy.min_interval = min(float(delay), MAX_CRAWL_DELAY)
        return RobotsRules(parser)

    def sitemaps(self, url: str) -> list[str]:
        task = self._rules.get(origin(url))
        parser = task.result().parser if task is not None and task.done() else None
        return list(parser.sitemaps) if parser is not None else []


def _unreachable(why: str, kind: ErrorKind | None) -> RobotsRules:
    """No answer at all: disallow everything, and say why the host is unreachable."""
    reason = f"robots.txt unreadable ({why})"
    return RobotsRules(None, disallow_all=True, reason=reason, unreachable=why, unreachable_kind=kind)
