"""Per-host limits shared through Redis (crawler.shared_limits) against a real
Redis started by the suite: holders in different "workers" never exceed the
limit together, leases are reused rather than asked for per request, a killed
holder's slots free themselves, and a Redis that is gone leaves the local
limits in charge."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from db_servers import free_port, redis_url

from shophealth.crawler.shared_limits import KEY_PREFIX, RedisHostLimits

_ = redis_url  # fixture
HOLDER = """
import asyncio, sys
from shophealth.crawler.shared_limits import RedisHostLimits

async def main():
    async with RedisHostLimits(sys.argv[1], ttl_s=1.0) as limits:
        turns = [limits.host(sys.argv[2], 2), limits.host(sys.argv[2], 2)]
        for turn in turns:
            await turn.__aenter__()
        print("held", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


def host() -> str:
    return f"pay-{uuid.uuid4().hex[:8]}.example:443"


async def hammer(limits: RedisHostLimits, name: str, requests: int, seen: dict[str, int]) -> None:
    async def one() -> None:
        async with limits.host(name, 2):
            seen["now"] += 1
            seen["max"] = max(seen["max"], seen["now"])
            await asyncio.sleep(0.005)  # the request's time on the wire
            seen["now"] -= 1

    await asyncio.gather(*(one() for _ in range(requests)))


def test_two_holders_together_stay_within_the_limit(redis_url: str) -> None:
    name = host()

    async def main() -> tuple[dict[str, int], list[int]]:
        seen = {"now": 0, "max": 0}
        async with RedisHostLimits(redis_url) as first, RedisHostLimits(redis_url) as second:
            await asyncio.gather(hammer(first, name, 40, seen), hammer(second, name, 40, seen))
            return seen, [first.round_trips, second.round_trips]

    seen, round_trips = asyncio.run(main())
    assert seen["max"] == 2  # two at once, never three or four
    assert all(round_trips)  # both asked Redis: neither ran on local turns alone
    assert redis.Redis.from_url(redis_url).zcard(KEY_PREFIX + name) == 0  # all given back


def test_leases_are_reused_not_asked_for_each_request(redis_url: str) -> None:
    async def main() -> int:
        async with RedisHostLimits(redis_url) as limits:
            seen = {"now": 0, "max": 0}
            for _ in range(20):
                await hammer(limits, "maps.example:443", 10, seen)
            return limits.round_trips

    # 200 requests, about a second: leases are asked for, given back and asked
    # for again each reuse_s (1 s), not once a request
    assert asyncio.run(main()) <= 20


def test_a_killed_holders_slots_free_themselves(redis_url: str) -> None:
    name = host()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, redis_url, name], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        client = redis.Redis.from_url(redis_url)
        renewed_until = time.monotonic() + 2.5  # well past the 1 s lease: renewed while alive
        while time.monotonic() < renewed_until:
            assert client.zcard(KEY_PREFIX + name) == 2
            time.sleep(0.1)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        killed = time.monotonic()
        deadline = killed + 10
        while client.zcount(KEY_PREFIX + name, f"({_redis_ms(client)}", "+inf") > 0:
            assert time.monotonic() < deadline, "the dead holder's leases never expired"
            time.sleep(0.05)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()

    async def take() -> None:
        async with RedisHostLimits(redis_url) as limits, limits.host(name, 2), limits.host(name, 2):
            pass

    asyncio.run(asyncio.wait_for(take(), 5))  # both slots free again
    assert time.monotonic() - killed < 3


def _redis_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_without_redis_the_local_limits_go_on(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> str | None:
        async with RedisHostLimits(f"redis://127.0.0.1:{free_port()}/0") as limits:
            async with limits.host("pay.example:443", 2):
                pass
            async with limits.host("pay.example:443", 2):
                pass
            return limits.broken

    broken = asyncio.run(main())
    assert broken is not None and "Connection" in broken
    assert [r.message for r in caplog.records if "shared per-host limits off" in r.message]
