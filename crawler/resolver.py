"""Name lookups for the HTTP transport: asynchronous, bounded, cached, and guarded.

Resolver: c-ares through ``aiodns``, as aiohttp's own :class:`aiohttp.AsyncResolver`
(which this subclasses). The standard resolver runs ``getaddrinfo`` in a handful
of threads; on these machines one lookup takes ~0.1 s, but ~60 at once take
10-20 s each, so a scan of pages that link to ~500 outside hosts sat idle for
minutes. c-ares sends every query from the event loop, all at once.

Each lookup has a deadline (``dns_timeout``); its answer, or its failure, is
kept per host for the run (one scan of one shop, per process), and lookups of
a host already under way are shared. A lookup that timed out is reported as
``DNS lookup timed out after N s`` (``ErrorKind.DNS_TIMEOUT``), which
``checks.linkverdict`` judges unverifiable, not broken: the host may well exist.

Network safety (:class:`AddressGuard`): when the shop's start URL is a public
address, answers that point into the auditor's own network -- private,
loopback, link-local, carrier-grade NAT, metadata, unique-local and
site-local IPv6 (:data:`BLOCKED_NETWORKS`) -- are refused, so a shop's page
cannot make the crawler reach them. The check is on the resolved addresses,
not the URL text, and the resolver makes it for every connection, so every
redirect hop is covered; hosts written as IP literals, which aiohttp does not
resolve, are checked by :meth:`AddressGuard.literal_refusal` before the request.
``--allow-private`` (``allow_private``) turns the guard off; it is off by itself
when the start URL's host is itself private or loopback (a staging shop or the
local fixture shops). Refused targets (``ErrorKind.REFUSED``) are unverifiable
with the reason.

The browsers (rendering, Lighthouse) ask :meth:`GuardedResolver.url_refusal`
about every request their pages make and abort the refused ones
(:mod:`shophealth.crawler.browser`, :mod:`shophealth.crawler.devtools`); their
Chromium gets the shop's host pinned to our answer (:meth:`GuardedResolver.host_rule`,
``--host-resolver-rules``). Known limits: Chromium resolves other allowed names
once more itself, so a third-party name that answers us with a public address
and Chromium a moment later with a private one (DNS rebinding) is not caught;
WebSockets are not guarded in the browser. The start URL's own answers are trusted as they are: a shop on a private
address is scanned (the guard is then off for the whole scan).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import AsyncResolver
from aiohttp.abc import ResolveResult

from shophealth.crawler.evidence import ErrorKind

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "fd00:ec2::254/128",  # AWS metadata over IPv6 (inside fc00::/7, named for the reader)
    )
)
TIMED_OUT = "DNS lookup timed out"
REFUSED = "refused: "
LOOKUP_TRIES = 2  # c-ares asks each name server this many times within the deadline


class LookupFailed(OSError):
    """A lookup that gave no usable answer; its message is the report's reason."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __str__(self) -> str:
        return str(self.args[0])


def is_blocked_address(address: str, blocked: Sequence[IPNetwork] = BLOCKED_NETWORKS) -> bool:
    """Whether ``address`` lies in the auditor's own network (or is no address at all)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.5 is 10.0.0.5
    return any(ip in net for net in blocked if net.version == ip.version)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AddressGuard:
    """Refuses addresses in :data:`BLOCKED_NETWORKS` unless private addresses are allowed.

    ``allow_private`` None: decided on the first lookup, by whether the start
    URL's host resolves (or is) a blocked address."""

    def __init__(
        self,
        start_url: str | None,
        allow_private: bool,
        blocked: Sequence[IPNetwork] | None = None,
    ) -> None:
        self.start_host = (urlsplit(start_url).hostname or "") if start_url else ""
        self.blocked = tuple(BLOCKED_NETWORKS if blocked is None else blocked)
        self.allow_private: bool | None = True if allow_private or not self.start_host else None
        if _is_ip_literal(self.start_host):
            self.decide([self.start_host])

    def refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        """Why ``host``'s ``addresses`` may not be asked, or None."""
        if self.allow_private:
            return None
        bad = next((a for a in addresses if is_blocked_address(a, self.blocked)), None)
        if bad is None:
            return None
        where = f"{host} is" if host == bad else f"{host} resolves to {bad},"
        return (
            f"{REFUSED}{where} a private or local address; "
            "a public shop may not lead the crawler there (--allow-private to allow it)"
        )

    def literal_refusal(self, url: str) -> str | None:
        """Why a URL whose host is an IP literal may not be asked, or None (also for names)."""
        host = urlsplit(url).hostname or ""
        return self.refusal(host, [host]) if _is_ip_literal(host) else None

    def decide(self, start_addresses: Iterable[str]) -> None:
        """Allow private addresses when the start URL's host is one itself."""
        if self.allow_private is None:
            self.allow_private = any(is_blocked_address(a, self.blocked) for a in start_addresses)


class GuardedResolver(AsyncResolver):
    """aiohttp's c-ares resolver with a deadline per lookup, a cache per host, and the guard."""

    def __init__(self, guard: AddressGuard, timeout: float, nameservers: Sequence[str] = ()) -> None:
        options: dict[str, Any] = {"timeout": timeout / LOOKUP_TRIES, "tries": LOOKUP_TRIES}
        if nameservers:
            options["nameservers"] = list(nameservers)
        super().__init__(**options)
        self.guard = guard
        self.timeout = timeout
        self._answers: dict[tuple[str, int], asyncio.Future[list[ResolveResult]]] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        await self.decide_guard()
        answers = await self._lookup(host, port, family)
        refusal = self.guard.refusal(host, (r["host"] for r in answers))
        if refusal is not None:
            raise LookupFailed(ErrorKind.REFUSED, refusal)
        return answers

    async def allows(self, host: str) -> bool:
        """Whether the guard lets a connection to ``host`` be made (a failed lookup is let
        through: the connection then fails and says why)."""
        try:
            await self.resolve(host, 0, socket.AF_UNSPEC)
        except LookupFailed as exc:
            return exc.kind is not ErrorKind.REFUSED
        return True

    async def url_refusal(self, url: str) -> str | None:
        """Why the browser may not ask ``url`` (its host is, or resolves to, a blocked
        address), or None; a name that does not resolve is let through, to fail by itself."""
        await self.decide_guard()
        host = urlsplit(url).hostname or ""
        if self.guard.allow_private or not host:
            return None
        if _is_ip_literal(host):
            return self.guard.refusal(host, [host])
        try:
            await self.resolve(host, 0, socket.AF_UNSPEC)
        except LookupFailed as exc:
            return str(exc) if exc.kind is ErrorKind.REFUSED else None
        return None

    async def host_rule(self) -> str | None:
        """Chromium's ``--host-resolver-rules`` entry pinning the start URL's host to the
        address this resolver found for it (``MAP shop.example 203.0.113.10``), or None
        for an IP literal or a host that does not resolve."""
        host = self.guard.start_host
        if not host or _is_ip_literal(host):
            return None
        try:
            answers = await self._lookup(host, 0, socket.AF_UNSPEC)
        except LookupFailed:
            return None
        if not answers:
            return None
        address = answers[0]["host"]
        return f"MAP {host} {address}" if ":" not in address else f"MAP {host} [{address}]"

    async def decide_guard(self) -> None:
        """Look the start URL's host up once, so the guard knows if the shop is private."""
        if self.guard.allow_private is not None:
            return
        try:
            start = await self._lookup(self.guard.start_host, 0, socket.AF_UNSPEC)
        except LookupFailed:
            start = []  # the shop's own name does not resolve: nothing to allow
        self.guard.decide(r["host"] for r in start)

    async def _lookup(self, host: str, port: int, family: socket.AddressFamily) -> list[ResolveResult]:
        """``host``'s addresses, looked up once per run; failures are remembered too."""
        key = (host, family)
        answer = self._answers.get(key)
        if answer is None:
            answer = asyncio.ensure_future(self._ask(host, family))
            self._answers[key] = answer
        results = await asyncio.shield(answer)
        return [{**r, "port": port} for r in results]

    async def _ask(self, host: str, family: socket.AddressFamily) -> list[ResolveResult]:
        try:
            async with asyncio.timeout(self.timeout):
                return await super().resolve(host, 0, family)
        except TimeoutError:
            raise LookupFailed(ErrorKind.DNS_TIMEOUT, f"{TIMED_OUT} after {self.timeout:g} s") from None
        except OSError as exc:
            if "timeout" in str(exc).lower():
                raise LookupFailed(ErrorKind.DNS_TIMEOUT, f"{TIMED_OUT} after {self.timeout:g} s") from None
            raise LookupFailed(ErrorKind.DNS, f"DNS lookup failed: {_plain(exc)}") from None

    async def close(self) -> None:
        for answer in self._answers.values():
            answer.cancel()
        await super().close()


def _plain(exc: OSError) -> str:
    message = exc.strerror or str(exc)
    return "host not found" if "not found" in message.lower() or "no data" in message.lower() else message
