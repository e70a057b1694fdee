"""The HTTP layer: pooled aiohttp sessions, politeness per host, bounded everything.

Transport: aiohttp, used directly. Against nginx on loopback at concurrency
50, httpx's default transport did about 250 requests/s at 3.7 ms CPU each,
the aiohttp transport about 2,300 at 0.4 ms (the issue's measurement); a
crawl is CPU-bound here, so the client decides the scan speed. httpx's API
on top of aiohttp (``httpx-aiohttp``) cost a request object, a URL parse and
a response object per request (~10 % of the crawl's CPU, profiled on the
benchmark shop) and 55 ms of imports (httpx pulls in rich and click) in
every worker process: see :meth:`Fetcher._exchange`.

Every request is bounded: a connect timeout, a read timeout (``read_timeout``
without receiving anything, from the request's start and then between chunks of
the body), a total time limit per request (a server that trickles bytes cannot
stall the scan), a byte cap per body, at most ``max_redirects`` hops with loop
detection. The read and total limits are kept by :class:`Deadlines`, one timer
for all requests, to within a quarter of a second. Redirects are followed
here, not by the client, so the chain is recorded hop by hop.

Credentials and extra headers from the environment (``credentials_env``,
``headers_env``) are scoped by origin, as httpx scopes its auth: they go only
to the origins the user gave (scheme, host and port of the start URLs,
:attr:`Fetcher.credential_origins`), and over https only to a host whose
certificate verified. So they never reach another site, a plain ``http://``
server on the shop's host (such as the plain-HTTP probe of an https shop), a
host crawled with verification off, or the target of a redirect that leaves
the origin (each hop is judged on its own).

Politeness (:class:`HostPolicy`): a global and a per-host limit on requests in
flight (smaller for external hosts, and shared with the other workers of a
distributed scan through :attr:`Fetcher.shared_limits`), robots.txt ``Crawl-delay`` as a minimum
interval between request starts, and 429/503 ``Retry-After`` honoured (capped
at ``max_retry_after``) for ``retries`` more attempts, after which the answer
stands with ``retries_exhausted`` set (the link verdict calls that
unverifiable). Only those answers are retried: a connect error, a timeout or
a reset is not asked again.

Errors: :meth:`Fetcher.fetch` never raises for anything a server does (a
refused or reset connection, a failed TLS handshake, an answer that is not
HTTP, a header too long, a timeout): the result carries an
:class:`~shophealth.crawler.evidence.ErrorKind` and a message
(:func:`classify_error`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.message
import functools
import math
import os
import socket
import ssl
import statistics
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
import certifi
import yarl
from multidict import CIMultiDictProxy

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.decoding import BoundedDecoder
from shophealth.crawler.evidence import ErrorKind, Hop
from shophealth.crawler.resolver import AddressGuard, GuardedResolver, LookupFailed
from shophealth.crawler.urls import authority, host_key, is_canonical, normalize, origin

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
RETRY_CODES = frozenset({429, 503})
MIN_WINDOW = 8  # answers a host's limit is judged on, at least
TICK_S = 0.25  # how often requests' time limits are looked at (Deadlines)
FAST_ANSWER_S = 0.005  # answer times below this count as this (a shop next door)
# What a server can make a request raise; ValueError covers bodies that cannot be decoded.
TRANSPORT_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, ssl.SSLError, ValueError)


@dataclass(frozen=True)  # no slots: unpickled from a worker process fast (see crawler.workers)
class FetchResult:
    url: str
    final_url: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    hops: tuple[Hop, ...] = ()
    body: bytes = b""
    truncated: bool = False
    elapsed_ms: float = 0.0
    error: str | None = None
    error_kind: ErrorKind | None = None
    retries_exhausted: bool = False  # still 429/503 after every retry
    backed_off: float = 0.0  # seconds a 429/503 asked to wait (Retry-After) on the way

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class _Answer:
    """One answer to one request (no redirect followed): a :class:`FetchResult` is made
    of the last one, once, when :meth:`Fetcher.fetch` is done."""

    __slots__ = (
        "backed_off",
        "body",
        "error",
        "error_kind",
        "headers",
        "retries_exhausted",
        "status",
        "truncated",
        "url",
    )

    def __init__(
        self,
        url: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        truncated: bool = False,
        error: str | None = None,
        error_kind: ErrorKind | None = None,
    ) -> None:
        self.url = url
        self.status = status
        self.headers = {} if headers is None else headers
        self.body = body
        self.truncated = truncated
        self.error = error
        self.error_kind = error_kind
        self.retries_exhausted = False
        self.backed_off = 0.0


_UNDECIDED = "undecided"  # an origin whose address-guard verdict is not known yet


@dataclass(slots=True)
class _Origin:
    """What a fetcher knows of one origin (``scheme://host:port`` as a URL spells it)."""

    key: str  # host_key: its limits and trust are by host and port
    origin: str  # urls.origin: its credentials are by origin
    policy: HostPolicy
    https: bool
    encodable: bool  # its URLs in canonical form may go to aiohttp pre-encoded (a valid port)
    refusal: str | None = _UNDECIDED  # why the address guard refuses it (an IP literal), or None


def _valid_port(url: str) -> bool:
    """Whether ``url``'s port, if it has one, is one yarl takes (yarl checks it only
    when it encodes a URL itself)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return False
    return port is None or 0 <= port <= 65535


class HostLimit:
    """How many requests may be in flight to one host, adapted to how it answers.

    It starts at ``start``. After each window of answers (as many as the
    limit, at least :data:`MIN_WINDOW`) the window's median answer time is
    compared with the fastest window's: no slower than 1.5 times, and the
    limit grows by half, up to ``ceiling``; over twice as slow, it halves,
    down to ``start``. A host that asks to back off (429/503 with
    Retry-After) sets it back to ``start``, and half the limit it had becomes
    its ceiling. With ``ceiling == start`` it is a plain semaphore.

    So a shop that answers as fast at 32 requests in flight as at 8 is asked
    32 at a time (with 50 ms of latency: 640 requests/s instead of 160), and
    one that slows down under the load is asked less.

    A turn is a counter while the limit is not reached (no lock, no future:
    that is every request of a shop answering within its limit); past it,
    requests wait in line, first come first served, each on a future of its
    own, and a turn given back goes to the first in line.
    """

    def __init__(self, start: int, ceiling: int) -> None:
        self.start = max(1, start)
        self.ceiling = max(self.start, ceiling)
        self.limit = self.start
        self.in_flight = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._window: list[float] = []
        self._fastest: float | None = None

    def try_take(self) -> bool:
        """Take a turn if one is free and nobody waits for it (no coroutine: every request asks)."""
        if self.in_flight < self.limit and not self._waiting:
            self.in_flight += 1
            return True
        return False

    async def acquire(self) -> None:
        if self.try_take():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter  # the turn is counted as in flight when the future is given it
        except asyncio.CancelledError:
            if waiter.cancelled():
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            else:  # given the turn as it was cancelled: it goes to the next in line
                self.in_flight -= 1
                self._admit()
            raise

    def give_back(self, seconds: float) -> None:
        """A request that took ``seconds`` is over: its turn goes to the first in line."""
        self.in_flight -= 1
        self._observe(seconds)
        self._admit()

    def back_off(self) -> None:
        self.ceiling = max(self.start, self.limit // 2)
        self.limit = self.start
        self._window.clear()

    def _admit(self) -> None:
        """Give turns to those in line while the limit allows (several when it grew)."""
        while self._waiting and self.in_flight < self.limit:
            waiter = self._waiting.popleft()
            if not waiter.done():  # cancelled while in line
                self.in_flight += 1
                waiter.set_result(None)

    def _observe(self, seconds: float) -> None:
        if self.ceiling == self.start:
            return
        self._window.append(seconds)
        if len(self._window) < max(self.limit, MIN_WINDOW):
            return
        median = statistics.median(self._window)
        self._window.clear()
        median = max(median, FAST_ANSWER_S)  # below that, differences are noise
        fastest = self._fastest = median if self._fastest is None else min(self._fastest, median)
        if median <= 1.5 * fastest:
            self.limit = min(self.ceiling, self.limit + max(1, self.limit // 2))
        elif median > 2 * fastest:
            self.limit = max(self.start, self.limit // 2)


class Deadlines:
    """The time limits of a fetcher's requests, all watched by one timer.

    A request may take ``total`` seconds in all, and go ``gap`` seconds without
    receiving anything (from its start, then from each chunk of its body: see
    :meth:`Deadline.progress`). ``asyncio.timeout`` and aiohttp's ``sock_read``
    cost each request three timers pushed on the event loop's heap and cancelled
    (~8 us of a HEAD's ~100 us of CPU); here a request records its deadline in a
    set, and one timer, every :data:`TICK_S` while requests run, cancels those
    past it, which raise ``TimeoutError`` as ``asyncio.timeout`` makes them do.
    A limit is thus kept to within :data:`TICK_S` (aiohttp rounds its own limits
    of 5 s or more up to the next whole second)."""

    def __init__(self, total: float, gap: float) -> None:
        self.total = total
        self.gap = gap
        self._running: set[Deadline] = set()
        self._ticking: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the one ticking runs in

    def start(self) -> Deadline:
        """``with deadlines.start() as deadline:`` one request, limited."""
        return Deadline(self)

    def _watch(self, deadline: Deadline) -> None:
        self._running.add(deadline)
        loop = asyncio.get_running_loop()
        if self._ticking is None or self._loop is not loop:  # not ticking, or in a loop now closed
            self._loop = loop
            self._ticking = loop.call_later(TICK_S, self._tick)

    def _tick(self) -> None:
        now = time.monotonic()
        for deadline in self._running:
            if now >= deadline.when:
                deadline.expire()
        self._ticking = self._loop.call_later(TICK_S, self._tick) if self._running and self._loop else None


class Deadline:
    """One request's time limit under :class:`Deadlines` (a context manager of the task
    that makes the request)."""

    __slots__ = ("_cancelling", "_deadlines", "_task", "ends", "expired", "when")

    def __init__(self, deadlines: Deadlines) -> None:
        self._deadlines = deadlines
        self.expired = False

    def __enter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a Deadline is kept in a task")
        self._task = task
        self._cancelling = task.cancelling()
        now = time.monotonic()
        self.ends = now + self._deadlines.total
        self.when = min(self.ends, now + self._deadlines.gap)
        self._deadlines._watch(self)
        return self

    def progress(self) -> None:
        """Something was received: the gap starts again."""
        self.when = min(self.ends, time.monotonic() + self._deadlines.gap)

    def expire(self) -> None:
        if not self.expired:
            self.expired = True
            self._task.cancel()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _: object) -> None:
        self._deadlines._running.discard(self)
        if not self.expired:
            return
        # The cancel expire() asked for is taken back (as asyncio.timeout does); cancelled by
        # it and by nothing else meanwhile, the request timed out.
        cancelled_from_outside = self._task.uncancel() > self._cancelling
        if exc_type is asyncio.CancelledError and not cancelled_from_outside:
            raise TimeoutError from exc


UNSHARED: AbstractAsyncContextManager[None] = contextlib.nullcontext()  # a limit of this process's alone


class SharedLimits(Protocol):
    """Per-host limits shared with other processes (a distributed scan's workers:
    :mod:`shophealth.crawler.shared_limits`); the turn is held around a request."""

    def host(self, host: str, limit: int) -> AbstractAsyncContextManager[None]: ...


@dataclass
class HostPolicy:
    """How hard one host may be asked: concurrency, spacing and back-off."""

    limit: HostLimit
    shared: AbstractAsyncContextManager[None] = UNSHARED  # a turn under the limit other processes share
    min_interval: float = 0.0
    not_before: float = 0.0
    last_start: float = 0.0

    async def wait_turn(self) -> None:
        delay = self.next_start()
        if delay > 0:
            await asyncio.sleep(delay)

    def next_start(self) -> float:
        """Book the next request start (Crawl-delay spacing, Retry-After); seconds until then."""
        now = time.monotonic()
        start = max(self.not_before, self.last_start + self.min_interval, now)
        self.last_start = start
        return start - now

    def back_off(self, seconds: float) -> None:
        self.not_before = max(self.not_before, time.monotonic() + seconds)
        self.limit.back_off()


class Turn:
    """One request's turn to ask a host (``async with fetcher.slot(url) as turn``): the
    host's limit, the limit shared with other processes (if any), the host's spacing,
    then the global limit; given back in the reverse order.

    Timed from when the host's limit granted it to when it is given back, unless
    :meth:`took` says how long the request took. A class, not a generator context
    manager: every request takes one (a generator's frame, its
    ``_AsyncGeneratorContextManager`` and its three context managers cost ~8 µs of
    the coordinator's ~150 µs a HEAD)."""

    __slots__ = ("policy", "pool", "seconds", "started")

    def __init__(self, policy: HostPolicy, pool: HostLimit) -> None:
        self.policy = policy
        self.pool = pool  # the global limit
        self.started = 0.0
        self.seconds: float | None = None

    def took(self, seconds: float) -> None:
        """The request took ``seconds`` where it ran (a worker process's own clock)."""
        self.seconds = seconds

    async def __aenter__(self) -> Turn:
        policy = self.policy
        if not policy.limit.try_take():
            await policy.limit.acquire()
        self.started = time.monotonic()
        delay = None  # booked after the shared limit's turn, if any
        if policy.shared is UNSHARED:
            delay = policy.next_start()
            if delay <= 0 and self.pool.try_take():
                return self  # nothing to wait for: no coroutine more
        try:
            await self._after_host_limit(delay)
        except BaseException:
            policy.limit.give_back(time.monotonic() - self.started)
            raise
        return self

    async def _after_host_limit(self, delay: float | None) -> None:
        """The rest of the turn; ``delay``: the spacing already booked, None if not yet."""
        policy = self.policy
        shared = policy.shared
        if shared is not UNSHARED:
            await shared.__aenter__()
        try:
            if delay is None:
                await policy.wait_turn()
            elif delay > 0:
                await asyncio.sleep(delay)
            await self.pool.acquire()
        except BaseException:
            if shared is not UNSHARED:
                await shared.__aexit__(None, None, None)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        policy = self.policy
        self.pool.give_back(0.0)
        try:
            if policy.shared is not UNSHARED:
                await policy.shared.__aexit__(None, None, None)
        finally:
            seconds = self.seconds if self.seconds is not None else time.monotonic() - self.started
            policy.limit.give_back(seconds)


def trust_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The verifying client context for every fetch: bundle, SSL_CERT_FILE or certifi.

    Loading a bundle takes ~0.1 s of CPU on the event loop (certifi's 150
    roots), so one context is made per bundle file and version and shared by
    every shop and client of the process."""
    source = ca_bundle or os.environ.get("SSL_CERT_FILE") or certifi.where()
    try:
        version = os.stat(source).st_mtime_ns
    except OSError:
        version = 0
    return _trust_context(source, version)


@functools.lru_cache(maxsize=8)
def _trust_context(source: str, version: int) -> ssl.SSLContext:
    if os.path.isdir(source):
        return ssl.create_default_context(capath=source)
    return ssl.create_default_context(cafile=source)


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def classify_error(exc: BaseException, timeout: float) -> tuple[ErrorKind, str]:
    """A transport error's kind, and its message in words a shop owner can act on."""
    # aiohttp wraps OS, TLS and HTTP-parsing errors (a connect error that is a
    # timeout, too), so the underlying error is looked for before believing "timeout".
    causes = _causes(exc)
    if any(isinstance(cause, aiohttp.http_exceptions.LineTooLong) for cause in causes):
        return ErrorKind.TOO_LARGE, "a status line or header of the answer is too long for HTTP clients"
    for cause in causes:
        found = _known_cause(cause)
        if found is not None:
            return found
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT, f"timed out after {timeout:g} s"
    if isinstance(exc, aiohttp.InvalidURL):
        return ErrorKind.INVALID_URL, "not an http(s) URL"
    message = _message(exc)
    if "Name or service not known" in message or "nodename nor servname" in message:
        return ErrorKind.DNS, "DNS lookup failed: host not found"
    if isinstance(exc, OSError):
        return ErrorKind.CONNECT, f"{type(exc).__name__}: {message}"[:200]
    return ErrorKind.PROTOCOL, f"{type(exc).__name__}: {message}"[:200]


def _known_cause(cause: BaseException) -> tuple[ErrorKind, str] | None:
    if isinstance(cause, LookupFailed):  # not found, timed out, or refused by the address guard
        return cause.kind, str(cause)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return ErrorKind.TLS, f"TLS certificate not trusted: {_ssl_reason(cause)}"
    if isinstance(cause, ssl.SSLError):
        return ErrorKind.TLS, f"TLS handshake failed: {_ssl_reason(cause)}"
    if isinstance(cause, socket.gaierror):
        return ErrorKind.DNS, "DNS lookup failed: host not found"
    if isinstance(cause, ConnectionRefusedError):
        return ErrorKind.CONNECT, "connection refused"
    if isinstance(cause, ConnectionResetError):
        return ErrorKind.CONNECT, "connection reset"
    if isinstance(cause, (aiohttp.http_exceptions.HttpProcessingError, aiohttp.ClientResponseError)):
        detail = " ".join(str(getattr(cause, "message", "") or _message(cause)).split())[:200]
        return ErrorKind.PROTOCOL, f"not a valid HTTP answer: {detail}"
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return ErrorKind.PROTOCOL, "the server closed the connection without answering"
    return None


def _ssl_reason(error: ssl.SSLError) -> str:
    """The OpenSSL reason; aiohttp's SSL errors carry it on their ``os_error``."""
    for candidate in (error, getattr(error, "os_error", None)):
        reason = getattr(candidate, "verify_message", None) or getattr(candidate, "reason", None)
        if reason:
            return str(reason)
    return _message(error)


def _message(exc: BaseException) -> str:
    """``str(exc)``, which some aiohttp errors cannot give, cut to one short line."""
    try:
        text = str(exc)
    except Exception:  # an exception's own __str__ failing must not end the fetch
        text = ""
    return " ".join((text or type(exc).__name__).split())[:200]


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException):
            chain.append(os_error)
        current = current.__cause__ or current.__context__
    return chain


class Fetcher:
    """Fetches URLs politely with one pooled client per trust mode."""

    def __init__(
        self,
        config: ScanConfig,
        trust: ssl.SSLContext | None,  # None: the config's, loaded at the first https request
        is_internal: Callable[[str], bool],
        start_url: str | None = None,
    ) -> None:
        self.config = config
        self.start_url = start_url
        self.guard = AddressGuard(start_url, config.allow_private)
        self._resolver: GuardedResolver | None = None
        self.is_internal = is_internal
        self.insecure_hosts: set[str] = set()
        self.credential_origins: set[str] = set()  # origins that get the shop's credentials and headers
        self.requests = 0
        self.cookies = CookieHeaders()  # one jar for both sessions (http.cookiejar's rules)
        self._trust = trust
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._global = HostLimit(config.concurrency, config.concurrency)  # a plain semaphore
        self._hosts: dict[str, HostPolicy] = {}  # by host_key
        self._origins: dict[str, _Origin] = {}  # by urls.authority
        self.shared_limits: SharedLimits | None = None  # external hosts' limits, shared when set
        self._headers = {"accept": "*/*", "accept-encoding": "gzip, deflate", "user-agent": config.user_agent}
        self._shop_headers = config.shop_headers()
        self._timeout = aiohttp.ClientTimeout(
            total=None,  # the whole request, and the time between reads, are bounded by _deadlines
            connect=config.request_timeout,  # waiting for a free connection, and connecting
            sock_connect=config.connect_timeout,
        )
        self._deadlines = Deadlines(config.request_timeout, config.read_timeout)

    def trust(self) -> ssl.SSLContext:
        """The verifying context; loaded at the first https request when not given (30 ms
        of CPU that a plain-http shop's worker processes need not pay)."""
        if self._trust is None:
            self._trust = trust_context(self.config.ca_bundle)
        return self._trust

    def _session(self, verify: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(verify)
        if session is None:
            tls: ssl.SSLContext | bool = self.trust() if verify else False
            connections = self.config.concurrency * 2
            connector = aiohttp.TCPConnector(limit=connections, ssl=tls, resolver=self.resolver())
            # Cookies live in self.cookies alone: aiohttp's own jar would store
            # and send them a second time.
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers=self._headers,  # copied by aiohttp as they are, unless a request adds some
                timeout=self._timeout,
                auto_decompress=False,
            )
            self._sessions[verify] = session
        return session

    def resolver(self) -> GuardedResolver:
        """The one resolver of this fetcher's clients (made in the running event loop)."""
        if self._resolver is None:
            config = self.config
            self._resolver = GuardedResolver(self.guard, config.dns_timeout, config.dns_servers)
        return self._resolver

    async def guarded(self, hosts: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """``hosts`` less those the address guard refuses, for connections made outside the
        HTTP client (the TLS inspection)."""
        if self.guard.allow_private:
            return hosts
        resolver = self.resolver()
        try:
            allowed = await asyncio.gather(*(resolver.allows(host) for host, _ in hosts))
        finally:
            await self.aclose()
        return [host for host, ok in zip(hosts, allowed, strict=True) if ok]

    async def aclose(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
        if self._resolver is not None:
            await self._resolver.close()
            self._resolver = None

    def host_policy(self, url: str) -> HostPolicy:
        return self._origin(url).policy

    def _origin(self, url: str) -> _Origin:
        """What this fetcher knows of ``url``'s origin, looked up by the URL's text up to its
        path (a request asks it for its host's limits, trust and credentials)."""
        prefix = authority(url)
        known = self._origins.get(prefix) if prefix is not None else None
        if known is None:
            secure = urlsplit(url).scheme == "https"
            known = _Origin(host_key(url), origin(url), self._policy(url), secure, _valid_port(url))
            if prefix is not None:
                self._origins[prefix] = known
        return known

    def _policy(self, url: str) -> HostPolicy:
        key = host_key(url)
        policy = self._hosts.get(key)
        if policy is None:
            if self.is_internal(url):
                policy = HostPolicy(HostLimit(self.config.per_host, self.config.per_host_max))
            else:
                external = self.config.per_external_host
                shared = self.shared_limits.host(key, external) if self.shared_limits else UNSHARED
                policy = HostPolicy(HostLimit(external, external), shared)
            self._hosts[key] = policy
        return policy

    async def fetch(self, url: str, method: str = "GET", max_bytes: int | None = None) -> FetchResult:
        """Fetch ``url``, following redirects. Never raises for anything a server
        does: a failure comes back as ``error_kind`` and ``error``."""
        started = time.perf_counter()
        limit = self.config.max_bytes if max_bytes is None else max_bytes
        hops: list[Hop] = []
        # A URL asked again is a loop unless a cookie came meanwhile (an age or
        # cookie gate that sends the visitor back where they started).
        seen = {(url, self.cookies.count)}
        current = url
        while True:
            answer = await self._attempts(current, method, limit)
            location = answer.headers.get("location")
            if answer.status not in REDIRECT_CODES or not location:
                return _finish(answer, url, hops, started)
            target = _redirect_target(current, location)
            hops.append(Hop(current, answer.status, target or location))
            if target is None:
                failure = (ErrorKind.BAD_REDIRECT, "redirect to an invalid URL")
                return _finish(answer, url, hops, started, failure)
            state = (target, self.cookies.count)
            if state in seen:
                return _finish(answer, url, hops, started, (ErrorKind.REDIRECT_LOOP, "redirect loop"))
            if len(hops) >= self.config.max_redirects:
                failure = (ErrorKind.TOO_MANY_REDIRECTS, "too many redirects")
                return _finish(answer, url, hops, started, failure)
            seen.add(state)
            current = target  # the crawler only sends GET and HEAD, which a 303 keeps

    async def _attempts(self, url: str, method: str, limit: int) -> _Answer:
        """One URL (no redirect following), retried on 429/503 with Retry-After."""
        known = self._origin(url)
        attempt = 0
        waited = 0.0
        while True:
            answer = await self._once(known, url, method, limit)
            answer.backed_off = waited
            if answer.status not in RETRY_CODES:
                return answer
            header = answer.headers.get("retry-after")
            if answer.status == 503 and header is None:
                return answer
            wait = retry_after_seconds(header, default=2.0**attempt)
            if attempt >= self.config.retries or wait > self.config.max_retry_after:
                answer.retries_exhausted = True
                answer.backed_off = waited + wait
                return answer
            known.policy.back_off(wait)
            attempt += 1
            waited += wait

    def slot(self, url: str) -> Turn:
        """A turn to ask ``url``'s host: its limit (and the limit shared with other
        processes, if any), its spacing, and the global limit.
        Every request takes one; worker processes' jobs take it here, in the
        coordinating process."""
        return Turn(self.host_policy(url), self._global)

    async def _once(self, known: _Origin, url: str, method: str, limit: int) -> _Answer:
        refusal = await self._literal_refusal(known, url)
        if refusal is not None:
            return _Answer(url, error=refusal, error_kind=ErrorKind.REFUSED)
        async with Turn(known.policy, self._global):
            self.requests += 1
            try:
                with self._deadlines.start() as deadline:
                    return await self._exchange(known, url, method, limit, deadline)
            except TRANSPORT_ERRORS as exc:
                kind, error = classify_error(exc, self.config.request_timeout)
                return _Answer(url, error=error, error_kind=kind)

    async def _literal_refusal(self, known: _Origin, url: str) -> str | None:
        """Why the guard refuses a URL whose host is an IP address (aiohttp resolves no
        IP literal, so the resolver never sees them): decided once per origin."""
        if self.guard.allow_private:
            return None
        if self.guard.allow_private is None:
            await self.resolver().decide_guard()
            if self.guard.allow_private:
                return None
        if known.refusal is _UNDECIDED:
            known.refusal = self.guard.literal_refusal(url)
        return known.refusal

    def sends_credentials(self, url: str) -> bool:
        """Whether ``url`` gets the shop's credentials: one of the origins given,
        and over https only when its certificate is verified."""
        return self._credentialed(self._origin(url), url)

    def _credentialed(self, known: _Origin, url: str) -> bool:
        if known.origin not in self.credential_origins:
            return False
        return not url.startswith("https:") or known.key not in self.insecure_hosts

    async def _exchange(
        self, known: _Origin, url: str, method: str, limit: int, deadline: Deadline
    ) -> _Answer:
        """One request, its answer's headers and (up to ``limit`` bytes of) its body.

        Redirects are followed by :meth:`fetch`; cookies are kept in one jar per
        fetcher and handled only once a shop has set one."""
        headers: dict[str, str] | None = None  # more than the session's own
        if self._shop_headers and self._credentialed(known, url):
            headers = self._shop_headers
        if self.cookies.count:
            headers = {**(headers or {}), **self.cookies.header(url, known.origin)}
        # Plain http goes through the session that verifies nothing: there is nothing to
        # verify, and the trusted roots are then loaded only if an https URL comes.
        verify = known.https and known.key not in self.insecure_hosts
        # A URL in canonical form goes to aiohttp as it is (``encoded``): yarl would
        # re-encode it to the same bytes, at ~8 us a request (tests/test_fetch_wire.py).
        target = yarl.URL(url, encoded=True) if known.encodable and is_canonical(url) else url
        async with self._session(verify).request(
            method, target, headers=headers, allow_redirects=False
        ) as response:
            answer = _header_dict(response.headers)
            if "set-cookie" in answer:
                self.cookies.keep(url, response.headers)
            body, truncated = b"", False
            if method != "HEAD" and response.status not in REDIRECT_CODES and limit > 0:
                body, truncated = await _read_body(response, limit, deadline)
            if truncated:
                response.close()  # the rest is not wanted: the connection is not reused
        return _Answer(url, response.status, answer, body, truncated)


def _header_dict(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """The answer's headers by lower-case name, repeated ones joined with ", "."""
    merged = {name.lower(): value for name, value in headers.items()}
    if len(merged) == len(headers):
        return merged
    merged = {}  # a name repeated (Set-Cookie, Vary…): joined
    for name, value in headers.items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _cookie_header(jar: CookieJar, url: str) -> dict[str, str]:
    """The Cookie header ``jar`` sends to ``url``, if any."""
    request = urllib.request.Request(url)
    jar.add_cookie_header(request)
    cookie = request.get_header("Cookie")
    return {"cookie": cookie} if cookie else {}


class _CookieAnswer:
    """What :meth:`CookieJar.extract_cookies` reads of an answer: its headers, as a message."""

    def __init__(self, headers: CIMultiDictProxy[str]) -> None:
        self._message = email.message.Message()
        for name in ("set-cookie", "set-cookie2"):
            for value in headers.getall(name, ()):
                self._message[name] = value

    def info(self) -> email.message.Message:
        return self._message


def _keep_cookies(jar: CookieJar, url: str, headers: CIMultiDictProxy[str]) -> None:
    jar.extract_cookies(_CookieAnswer(headers), urllib.request.Request(url))  # type: ignore[arg-type]


class CookieHeaders:
    """The ``Cookie`` header a request carries, from one jar (http.cookiejar's rules).

    The jar works it out at ~20 µs a request (a ``urllib`` request, every cookie's
    domain, path, port, secure and expiry rules). While the jar is unchanged, none of
    its cookies has expired and every one is for the path ``/``, the header depends
    on the request's origin alone: it is then kept per origin. Otherwise the jar
    is asked each time, as it always was."""

    def __init__(self) -> None:
        self.jar = CookieJar()
        self.count = 0  # cookies in the jar (len(jar) walks it)
        self._by_origin: dict[str, dict[str, str]] = {}
        self._root_only = True  # every cookie is for the path /
        self._valid_until = math.inf  # the first expiry of a cookie in the jar

    def header(self, url: str, url_origin: str) -> dict[str, str]:
        """``{"cookie": …}`` for a request to ``url`` (of ``url_origin``), or ``{}``."""
        if not self.count:
            return {}
        if self._root_only and time.time() < self._valid_until:
            header = self._by_origin.get(url_origin)
            if header is None:
                header = self._by_origin[url_origin] = _cookie_header(self.jar, url)
            return header
        header = _cookie_header(self.jar, url)
        self._changed()  # the jar drops expired cookies as it works the header out
        return header

    def keep(self, url: str, headers: CIMultiDictProxy[str]) -> None:
        """Store the cookies an answer from ``url`` sets."""
        _keep_cookies(self.jar, url, headers)
        self._changed()

    def _changed(self) -> None:
        cookies = list(self.jar)
        self.count = len(cookies)
        self._by_origin.clear()
        self._root_only = all(cookie.path == "/" for cookie in cookies)
        expiries = [cookie.expires for cookie in cookies if cookie.expires is not None]
        self._valid_until = min(expiries, default=math.inf)


async def _read_body(response: aiohttp.ClientResponse, limit: int, deadline: Deadline) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the decoded body, and whether there was more.

    Decoded here, not by the client, so that a compression bomb is cut at
    ``limit`` decoded bytes without being inflated first (:mod:`crawler.decoding`);
    the bytes read off the wire are capped at ``limit`` as well."""
    decoder = BoundedDecoder(response.headers.get("content-encoding", ""))
    parts: list[bytes] = []  # joined once at the end (a body in one chunk is not copied)
    size = received = 0
    async for chunk in response.content.iter_any():
        deadline.progress()
        received += len(chunk)
        decoded, more = decoder.decode(chunk, limit - size)
        parts.append(decoded)
        size += len(decoded)
        if more or size >= limit or received >= limit:
            return b"".join(parts), more or received > limit
    return b"".join(parts), False


def _redirect_target(current: str, location: str) -> str | None:
    try:
        absolute = urljoin(current, location.strip())
        if urlsplit(absolute).scheme not in ("http", "https"):
            return None
        return normalize(absolute)
    except ValueError:
        return None


def _finish(
    last: _Answer,
    url: str,
    hops: list[Hop],
    started: float,
    failure: tuple[ErrorKind, str] | None = None,
) -> FetchResult:
    kind, error = failure if failure is not None else (last.error_kind, last.error)
    return FetchResult(
        url=url,
        final_url=last.url,
        status=last.status,
        headers=last.headers,
        hops=tuple(hops),
        body=last.body,
        truncated=last.truncated,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        error=error,
        error_kind=kind,
        retries_exhausted=last.retries_exhausted,
        backed_off=last.backed_off,
    )
