"""Why a shop could not be scanned at all: a start page that never answered usably.

A shop is scanned when at least one of its start pages answered with a
success (below 400, no transport error, not a redirect loop). Otherwise the
whole shop is reported as not scanned, with a stop code and the reason in
words, and no check judges it (a shop that is down gets no clean bill of
health):

``unreachable``
    no HTTP answer (DNS, connect, TLS handshake, time out) or a start URL
    that redirects in a loop or past ``max_redirects``;
``unavailable``
    5xx, or 429/503 still refused after the retries or with a Retry-After
    beyond ``max_retry_after``;
``refused``
    another 4xx, 401 and 403 included (credentials missing or refused);
``disallowed``
    robots.txt forbids the start page.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.evidence import ErrorKind, Page, TlsFacts
from shophealth.crawler.fetch import retry_after_seconds

NOT_SCANNED = frozenset({"unreachable", "unavailable", "refused", "disallowed"})  # the stop codes below
LOOP_KINDS = frozenset({ErrorKind.REDIRECT_LOOP, ErrorKind.TOO_MANY_REDIRECTS})
MAX_CHAIN = 200  # characters of a redirect chain quoted in a reason (its paths are the shop's text)
CONNECTION_TLS_KINDS = ("handshake", "connect")


def why_not_scanned(
    pages: Sequence[Page], home: str, config: ScanConfig, stopped: str | None, home_tls: TlsFacts | None
) -> tuple[str, str] | None:
    """(stop code, reason) when no start page answered usably, else None.
    ``home_tls`` is what the home's TLS inspection showed, if it was https."""
    starts = [p for p in pages if p.depth == 0]
    if any(_usable(p) for p in starts):
        return None
    if not starts:  # ended (budget, Ctrl-C) before any start page came back
        return None if stopped is not None else ("unreachable", "no answer")
    start = next((p for p in starts if p.url == home), starts[0])
    return _why_down(start, config, home_tls)


def _usable(page: Page) -> bool:
    return page.status is not None and page.status < 400 and page.error is None


def _why_down(page: Page, config: ScanConfig, home_tls: TlsFacts | None) -> tuple[str, str]:
    if page.error_kind in LOOP_KINDS:
        chain = " → ".join([*(urlsplit(h.url).path or "/" for h in page.redirects), _last_path(page)])
        return "unreachable", f"the start URL: {page.error} ({chain[:MAX_CHAIN]})"
    if page.status is not None and page.status < 400:  # a redirect that led nowhere usable
        return "unreachable", f"the start URL: {page.error}"
    if page.status is None:
        if home_tls is not None and home_tls.error_kind in CONNECTION_TLS_KINDS:
            return "unreachable", f"TLS to {home_tls.host}:{home_tls.port} failed: {home_tls.error}"
        if page.error_kind is None:  # not asked at all: robots.txt forbids it (gather.SiteCrawl)
            return "disallowed", f"the start page: {page.error}"
        return "unreachable", page.error or "no answer"
    status = page.status
    said = f"the start page answers HTTP {status}"
    if status in (429, 503):
        return "unavailable", f"{said}: {_still_refused(page, config)}"
    if status >= 500:
        return "unavailable", said
    if status in (401, 407):
        return "refused", f"{said}: {_credentials_note(config)}"
    return "refused", said


def _last_path(page: Page) -> str:
    location = page.redirects[-1].location if page.redirects else page.final_url
    return urlsplit(location).path or "/"


def _still_refused(page: Page, config: ScanConfig) -> str:
    header = page.headers.get("retry-after")
    if header is None:
        return "unavailable (no Retry-After given)"
    wait = retry_after_seconds(header, default=0.0)
    if wait > config.max_retry_after:
        return f"unavailable, Retry-After {wait:g} s is beyond max_retry_after ({config.max_retry_after:g} s)"
    return f"still unavailable after {config.retries} retries"


def _credentials_note(config: ScanConfig) -> str:
    if config.credentials_env:
        return (
            f"the credentials in {config.credentials_env} were refused (they are sent only to the "
            "origin given, and over HTTPS only once its certificate verified)"
        )
    return "it needs credentials (give --credentials-env or credentials_env)"
