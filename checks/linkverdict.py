"""Whether a link target is ok, broken or unverifiable: one pure function of its facts.

The crawler records what asking a target showed (:class:`LinkResult`); this
module decides what that means, for ``links.*``, ``images.broken`` and the
report's ``unverifiable`` list alike, so they always agree.

``unverifiable`` (neither broken nor fine; listed in the report, never a finding):
    the crawler did not ask (robots.txt forbids it, a social site, external
    links not verified, the scan ended first); a bot wall (HTTP 999, a
    ``cf-mitigated`` header, a challenge page's markers in the first 4 KB of a
    401/403/429/503 body, a 403 from Akamai or Cloudflare); a 429/503 still
    refused after every retry; a 401/403 from another site's *page* (such
    pages refuse crawlers more often than they are gone; a missing image on a
    CDN also answers 403, so only links from ``a``, ``area`` and ``iframe``
    count); a name lookup that timed out, or an address the private-address
    guard refused (``crawler.resolver``); an internal error met on that URL.
``broken``
    any other transport error (DNS, connect, TLS, timeout, protocol, an
    invalid URL, a redirect loop) or an HTTP status of 400 or more.
``ok``
    everything else.

Limits: bot walls are recognised by the markers above; a wall that answers
200 with a challenge page is taken as ok.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple

from shophealth.crawler.evidence import ErrorKind, LinkResult

Outcome = Literal["ok", "broken", "unverifiable"]
PAGE_LINK_TAGS = frozenset({"a", "area", "iframe"})
NOT_JUDGED_KINDS = frozenset({ErrorKind.DNS_TIMEOUT, ErrorKind.REFUSED})
WALL_STATUSES = frozenset({401, 403, 429, 503})
BOT_WALL_MARKERS = (
    "cf-browser-verification", "challenge-platform", "just a moment...", "attention required!",
    "captcha", "access denied", "perimeterx", "px-captcha", "datadome", "incapsula",
)  # fmt: skip


class Verdict(NamedTuple):
    outcome: Outcome
    reason: str | None = None  # why unverifiable


OK = Verdict("ok")
BROKEN = Verdict("broken")


def link_verdict(result: LinkResult) -> Verdict:
    """Ok, broken or unverifiable (with the reason), from the facts alone."""
    if result.not_asked is not None:
        return Verdict("unverifiable", result.not_asked)
    if result.error_kind is ErrorKind.INTERNAL:
        return Verdict("unverifiable", f"internal error: {result.error}")
    if result.error_kind in NOT_JUDGED_KINDS:  # the host may well exist, or was not to be asked
        return Verdict("unverifiable", result.error)
    wall = bot_wall_reason(result)
    if wall is not None:
        return Verdict("unverifiable", wall)
    if result.error_kind is not None or result.status is None or result.status >= 400:
        if _refused_page_link(result):
            return Verdict(
                "unverifiable", f"HTTP {result.status} from another site's page: it may refuse crawlers"
            )
        return BROKEN
    return OK


def bot_wall_reason(result: LinkResult) -> str | None:
    """Why an answer is a bot wall or a rate limit rather than a verdict, or None."""
    if result.status == 999:
        return "bot wall: HTTP 999 (LinkedIn-style refusal)"
    if result.retries_exhausted:
        return f"rate limited: HTTP {result.status} still refused after retries"
    if result.status not in WALL_STATUSES:
        return None
    if "cf-mitigated" in result.headers:
        return f"bot wall: {result.status} cf-mitigated"
    server = result.headers.get("server", "").lower()
    head = result.body_head.decode("latin-1").lower()
    if any(marker in head for marker in BOT_WALL_MARKERS):
        vendor = server.split("/")[0] or "server"
        return f"bot wall: {result.status} challenge page ({vendor})"
    if result.status == 403 and ("akamaighost" in server or "cloudflare" in server):
        return f"bot wall: 403 from {server}"
    return None


def _refused_page_link(result: LinkResult) -> bool:
    """A 401/403 from another site's page, linked only as a page."""
    if result.internal or result.status not in (401, 403) or not result.seen:
        return False
    return all(s.tag in PAGE_LINK_TAGS for s in result.seen)


def unverifiable_links(links: Iterable[LinkResult]) -> list[tuple[LinkResult, str]]:
    """The targets that could not be judged, each with the reason, in URL order."""
    found = [(result, link_verdict(result)) for result in links]
    return sorted(
        ((r, v.reason or "") for r, v in found if v.outcome == "unverifiable"), key=lambda p: p[0].url
    )
