"""robots.txt, read once per host with Protego (Scrapy's parser, RFC 9309).

RFC 9309's rules for an unreadable file: a 4xx answer means no rules (crawl
everything); a 5xx answer or no answer means "disallow everything" until it
can be read. ``Crawl-delay`` becomes the host's minimum interval between
requests, capped at 10 s so a hostile value cannot stall a nightly scan.
Only the shop's own hosts are governed: link verification of other hosts
sends one HEAD/GET per target, as every link checker does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from protego import Protego

from shophealth.crawler.evidence import ErrorKind
from shophealth.crawler.fetch import Fetcher
from shophealth.crawler.urls import origin

ROBOTS_MAX_BYTES = 512_000
MAX_CRAWL_DELAY = 10.0
USER_AGENT_TOKEN = "shophealth"


@dataclass(frozen=True)
class RobotsRules:
    parser: Protego | None  # None: no rules at all
    disallow_all: bool = False
    reason: str | None = None
    error_kind: ErrorKind | None = None  # when robots.txt could not be fetched at all

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
        return await task

    async def allows(self, url: str) -> bool:
        return (await self.rules_for(url)).allows(url)

    async def _load(self, site_origin: str) -> RobotsRules:
        result = await self._fetcher.fetch(site_origin + "/robots.txt", max_bytes=ROBOTS_MAX_BYTES)
        if result.status is None or result.status >= 500 or result.status == 429:
            why = result.error or f"HTTP {result.status}"
            reason = f"robots.txt unreadable ({why})"
            return RobotsRules(None, disallow_all=True, reason=reason, error_kind=result.error_kind)
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
