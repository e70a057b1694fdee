"""Per-host limits shared by every worker of a distributed scan, through Redis.

A distributed scan (:mod:`shophealth.crawler.distributed`) has several
worker machines scanning different shops at once; shops link to the same
external hosts (payment, maps, suppliers), and each worker's own per-host
limit (``per_external_host``) would let N workers ask such a host N times as
hard. :class:`RedisHostLimits` makes the limit one for all of them: a request
to an external host first takes a *lease* on one of the host's slots.

The leases of a host are the members of a Redis sorted set scored by their
expiry (the well-known sorted-set counting semaphore): a Lua script drops the
expired members and grants leases while fewer than the limit are held, all
in one atomic step on the server's clock (so workers' clocks need not agree).
A worker renews the leases it holds every third of ``ttl_s``; a worker that
dies (SIGKILL, power loss) stops renewing, and its slots free themselves at
most ``ttl_s`` later.

Cost: leases are taken in small batches and reused, not asked for per
request. A worker asks for as many leases as it has requests waiting for the
host (one round trip for all of them); a lease given back locally is kept and
used for the next request to the host without asking Redis, until it has been
idle for ``linger_s`` or held for ``reuse_s`` (then it goes back to Redis, so
that other workers waiting for the host get their turn). Waiting for a full
host polls Redis, from every 10 ms up to every 100 ms.

Which hosts: external hosts only. A shop's own hosts are scanned by one
worker at a time already (the shop lock), and their adaptive limit
(:class:`~shophealth.crawler.fetch.HostLimit`) stays local.

Known limits: a shop linking to another shop of the same run treats it as an
external host (shared, at ``per_external_host``) while the other shop's own
scan counts it as internal (local, adaptive); redirect hops followed inside a
crawler worker process take no lease of their own (as they take no local
slot of the coordinator). When Redis cannot be reached, the scan goes on with
the local limits alone and says so once in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field

import redis
import redis.asyncio

KEY_PREFIX = "shophealth:host:"
TTL_S = 15.0  # a dead worker's slots are free again after this
LINGER_S = 0.2  # an idle lease is given back after this
REUSE_S = 1.0  # a lease is given back after this long, used or not, for others' turns
POLL_MIN_S = 0.01
POLL_MAX_S = 0.1
CONNECTIONS = 8  # to Redis, per scan
log = logging.getLogger(__name__)

# Grant up to ARGV[2] of the leases named in ARGV[4..] while fewer than ARGV[1]
# are held; expired leases are dropped first. Returns the names granted.
GRANT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
local granted = {}
for i = 1, math.min(free, tonumber(ARGV[2])) do
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3 + i])
  granted[i] = ARGV[3 + i]
end
redis.call('PEXPIRE', KEYS[1], ttl)
return granted
"""
# Extend the leases named in ARGV[2..] that are still held; returns those lost.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', KEYS[1], ttl)
return lost
"""


@dataclass
class _Lease:
    name: str
    granted: float  # monotonic time it was granted
    idle_since: float = 0.0


@dataclass
class _HostLeases:
    key: str
    limit: int
    idle: list[_Lease] = field(default_factory=list)
    busy: list[_Lease] = field(default_factory=list)
    waiting: int = 0
    asking: asyncio.Lock = field(default_factory=asyncio.Lock)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def owned(self) -> int:
        return len(self.idle) + len(self.busy)

    async def wait_release(self, timeout: float | None) -> None:
        """Until a lease comes back here, or ``timeout`` seconds (then Redis is asked again)."""
        self.released.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.released.wait()


class SharedHostTurn:
    """``async with turn:`` one request to a host, under the host's shared limit."""

    __slots__ = ("leases", "limits")

    def __init__(self, limits: RedisHostLimits, leases: _HostLeases) -> None:
        self.limits = limits
        self.leases = leases

    async def __aenter__(self) -> None:
        await self.limits.acquire(self.leases)

    async def __aexit__(self, *exc_info: object) -> None:
        self.limits.release(self.leases)


class RedisHostLimits:
    """Leases on hosts' request slots, shared through Redis (see the module docstring).

    Made and used inside one event loop: ``async with RedisHostLimits(url) as
    limits:``; :meth:`host` gives the context manager a request holds."""

    def __init__(
        self, url: str, ttl_s: float = TTL_S, linger_s: float = LINGER_S, reuse_s: float = REUSE_S
    ) -> None:
        # Asks for different hosts queue for one of a few connections (a plain pool
        # fails past its maximum, which would turn the shared limits off).
        pool = redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=CONNECTIONS, timeout=None)
        self.client = redis.asyncio.Redis.from_pool(pool)
        self.ttl_ms = int(ttl_s * 1000)
        self.linger_s = linger_s
        self.reuse_s = reuse_s
        self.broken: str | None = None  # why Redis is no longer asked
        self.round_trips = 0
        self._grant = self.client.register_script(GRANT)
        self._renew = self.client.register_script(RENEW)
        self._hosts: dict[str, _HostLeases] = {}
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._names = itertools.count()
        self._keeper: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RedisHostLimits:
        self._keeper = asyncio.create_task(self._keep())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        for leases in self._hosts.values():
            await self._give_back(leases, [*leases.idle, *leases.busy])
            leases.idle.clear()
            leases.busy.clear()
        await self.client.aclose()

    def host(self, host: str, limit: int) -> SharedHostTurn:
        leases = self._hosts.get(host)
        if leases is None:
            leases = self._hosts[host] = _HostLeases(KEY_PREFIX + host, max(1, limit))
        return SharedHostTurn(self, leases)

    async def acquire(self, leases: _HostLeases) -> None:
        leases.waiting += 1
        try:
            pause = POLL_MIN_S
            while not leases.idle and self.broken is None:
                wait: float | None = None  # holding the limit already: only a release helps
                if leases.owned < leases.limit:
                    async with leases.asking:
                        if not leases.idle:
                            await asyncio.shield(self._ask(leases))
                    wait, pause = pause, min(POLL_MAX_S, pause * 2)
                if not leases.idle:
                    await leases.wait_release(wait)
        finally:
            leases.waiting -= 1
        if leases.idle:
            leases.busy.append(leases.idle.pop())

    def release(self, leases: _HostLeases) -> None:
        if not leases.busy:  # Redis broke while the request ran: it held no lease
            return
        lease = leases.busy.pop()
        lease.idle_since = time.monotonic()
        leases.idle.append(lease)
        leases.released.set()

    async def _ask(self, leases: _HostLeases) -> None:
        """As many leases as requests wait for the host, in one round trip."""
        wanted = min(leases.waiting, leases.limit - leases.owned)
        names = [f"{self._holder}:{next(self._names)}" for _ in range(wanted)]
        try:
            self.round_trips += 1
            granted = await self._grant(
                keys=[leases.key], args=[leases.limit, len(names), self.ttl_ms, *names]
            )
        except redis.RedisError as exc:
            self._break(exc)
            return
        now = time.monotonic()
        leases.idle.extend(_Lease(name.decode(), now, now) for name in granted)

    async def _keep(self) -> None:
        """Give back leases idle or held long enough; renew the others before they expire."""
        renewed = time.monotonic()
        while self.broken is None:
            await asyncio.sleep(max(POLL_MIN_S, min(self.linger_s, self.reuse_s) / 2))
            now = time.monotonic()
            for leases in self._hosts.values():
                done = [lease for lease in leases.idle if self._done_with(lease, now)]
                if done:
                    leases.idle = [lease for lease in leases.idle if lease not in done]
                    await self._give_back(leases, done)
            if now - renewed >= self.ttl_ms / 3000:
                renewed = now
                await self._renew_all()

    def _done_with(self, lease: _Lease, now: float) -> bool:
        return now - lease.idle_since >= self.linger_s or now - lease.granted >= self.reuse_s

    async def _give_back(self, leases: _HostLeases, done: list[_Lease]) -> None:
        if not done or self.broken is not None:
            return
        try:
            self.round_trips += 1
            await self.client.zrem(leases.key, *(lease.name for lease in done))
        except redis.RedisError as exc:
            self._break(exc)

    async def _renew_all(self) -> None:
        for leases in self._hosts.values():
            held = [*leases.idle, *leases.busy]
            if not held:
                continue
            try:
                self.round_trips += 1
                lost = await self._renew(
                    keys=[leases.key], args=[self.ttl_ms, *(lease.name for lease in held)]
                )
            except redis.RedisError as exc:
                self._break(exc)
                return
            gone = {name.decode() for name in lost}  # expired meanwhile (this worker stalled)
            leases.idle = [lease for lease in leases.idle if lease.name not in gone]
            leases.busy = [lease for lease in leases.busy if lease.name not in gone]

    def _break(self, exc: redis.RedisError) -> None:
        if self.broken is None:
            self.broken = f"{type(exc).__name__}: {exc}"[:200]
            log.warning("shared per-host limits off, Redis failed (%s): local limits only", self.broken)
            for leases in self._hosts.values():
                leases.released.set()  # waiters go on without a lease
