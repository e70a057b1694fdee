"""What sharing per-host limits through Redis costs a distributed worker.

Starts a throw-away ``redis-server`` on loopback, then sends ``--requests``
simulated requests (each holds its turn for ``--hold-ms``) to ``--hosts``
external hosts, ``--limit`` at a time per host, through
:class:`shophealth.crawler.shared_limits.RedisHostLimits`: once with leases
taken in batches and reused (the defaults), once with a lease asked for and
given back on every request (:class:`LeasePerRequest`, what a plain Redis
semaphore such as async-redis-rate-limiters' does, with the same Lua script). Prints Redis round trips per request and CPU microseconds per
request of the worker process. Run it under the bench lock::

    flock /work/bench.lock .venv/bin/python bench/shared_limits_cost.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from db_servers import redis_server

from shophealth.crawler.shared_limits import (
    CONNECTIONS,
    GRANT,
    KEY_PREFIX,
    POLL_MAX_S,
    TTL_S,
    RedisHostLimits,
)


class LeasePerRequest:
    """The plain semaphore: a round trip to take a lease, another to give it back."""

    def __init__(self, url: str) -> None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=CONNECTIONS, timeout=None)
        self.client = redis.asyncio.Redis.from_pool(pool)
        self.grant = self.client.register_script(GRANT)
        self.round_trips = 0
        self.names = iter(range(10**9))

    async def __aenter__(self) -> LeasePerRequest:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.aclose()

    @contextlib.asynccontextmanager
    async def host(self, host: str, limit: int) -> AsyncIterator[None]:
        name, key = f"bench:{next(self.names)}", KEY_PREFIX + host
        while True:
            self.round_trips += 1
            if await self.grant(keys=[key], args=[limit, 1, int(TTL_S * 1000), name]):
                break
            await asyncio.sleep(POLL_MAX_S / 10)
        try:
            yield
        finally:
            self.round_trips += 1
            await self.client.zrem(key, name)


async def run(url: str, args: argparse.Namespace, batched: bool) -> tuple[int, float, float]:
    """Round trips, CPU seconds and wall seconds for the requests."""
    async with RedisHostLimits(url) if batched else LeasePerRequest(url) as limits:
        slots = asyncio.Semaphore(args.limit * args.hosts)

        async def request(n: int) -> None:
            async with slots, limits.host(f"host{n % args.hosts}.example:443", args.limit):
                await asyncio.sleep(args.hold_ms / 1000)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(request(n) for n in range(args.requests)))
        return limits.round_trips, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--hold-ms", type=float, default=20.0)
    args = parser.parse_args()
    with redis_server() as url:
        for batched in (True, False):
            trips, cpu, wall = asyncio.run(run(url, args, batched))
            name = "batched leases" if batched else "a lease per request"
            print(
                f"{name:20} {trips / args.requests:6.3f} round trips/request  "
                f"{cpu / args.requests * 1e6:7.1f} CPU us/request  {wall:5.2f} s wall"
            )


if __name__ == "__main__":
    main()
