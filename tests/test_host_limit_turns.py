"""Turns under a host's limit: first come first served, none lost to a cancelled request,
and every turn a fetcher's slot took given back however the request ended."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.fetch import MIN_WINDOW, Fetcher, HostLimit

URL = "http://shop.example/p1"


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.001)


async def _line_up(limit: HostLimit, count: int, admitted: list[int]) -> list[asyncio.Task[None]]:
    """``count`` requests waiting in line (in that order) for ``limit``."""

    async def request(i: int) -> None:
        await limit.acquire()
        admitted.append(i)

    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(request(i)))
        await _until(lambda n=i: len(limit._waiting) == n + 1)
    return tasks


async def test_waiting_requests_get_their_turns_in_the_order_they_came() -> None:
    limit = HostLimit(1, 1)
    await limit.acquire()
    admitted: list[int] = []
    tasks = await _line_up(limit, 5, admitted)
    for turn in range(5):
        limit.give_back(0.01)
        await _until(lambda t=turn: len(admitted) == t + 1)
    await asyncio.gather(*tasks)
    assert admitted == [0, 1, 2, 3, 4]
    assert limit.in_flight == 1


async def test_a_newcomer_does_not_pass_those_in_line() -> None:
    limit = HostLimit(1, 1)
    await limit.acquire()
    admitted: list[int] = []
    tasks = await _line_up(limit, 1, admitted)
    limit.give_back(0.01)  # the turn goes to request 0, which has not run yet
    newcomer = asyncio.create_task(limit.acquire())
    await _until(lambda: admitted == [0])
    assert not newcomer.done()
    limit.give_back(0.01)
    await asyncio.wait_for(newcomer, 5)
    await asyncio.gather(*tasks)


async def test_a_request_cancelled_in_line_loses_no_turn() -> None:
    limit = HostLimit(1, 1)
    await limit.acquire()
    admitted: list[int] = []
    tasks = await _line_up(limit, 3, admitted)
    tasks[0].cancel()
    limit.give_back(0.01)  # request 0 was cancelled: request 1 gets the turn
    await _until(lambda: admitted == [1])
    limit.give_back(0.01)
    await _until(lambda: admitted == [1, 2])
    assert limit.in_flight == 1 and not limit._waiting


async def test_a_turn_given_to_a_request_cancelled_meanwhile_goes_to_the_next() -> None:
    limit = HostLimit(1, 1)
    await limit.acquire()
    admitted: list[int] = []
    tasks = await _line_up(limit, 2, admitted)
    limit.give_back(0.01)  # request 0 is given the turn...
    tasks[0].cancel()  # ...and cancelled before it ran
    await _until(lambda: admitted == [1])
    assert tasks[0].cancelled()
    assert limit.in_flight == 1


async def test_the_limit_still_grows_and_lets_the_line_in_at_once() -> None:
    limit = HostLimit(1, 4)
    for _ in range(MIN_WINDOW):
        await limit.acquire()
        limit.give_back(0.01)
    assert limit.limit == 2
    await limit.acquire()
    await limit.acquire()
    admitted: list[int] = []
    tasks = await _line_up(limit, 3, admitted)
    for _ in range(MIN_WINDOW - 1):  # the rest of the next window, all answered as fast
        limit._observe(0.01)
    limit.give_back(0.01)  # window full: the limit grows to 3, and two come in at once
    assert limit.limit == 3
    await _until(lambda: admitted == [0, 1])
    assert limit.in_flight == 3 and len(limit._waiting) == 1
    limit.give_back(0.01)
    await _until(lambda: admitted == [0, 1, 2])
    await asyncio.gather(*tasks)


async def test_a_slot_is_given_back_when_its_request_is_cancelled_waiting_for_the_crawl_delay() -> None:
    fetcher = Fetcher(ScanConfig(concurrency=1), None, lambda url: True, URL)
    policy = fetcher.host_policy(URL)
    policy.min_interval = 60.0
    async with fetcher.slot(URL):  # the first request starts at once
        pass
    waiting = asyncio.create_task(fetcher.slot(URL).__aenter__())
    await _until(lambda: policy.limit.in_flight == 1)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert policy.limit.in_flight == 0
    policy.min_interval = 0.0
    policy.last_start = 0.0
    async with asyncio.timeout(5), fetcher.slot(URL) as turn:  # the global turn was given back too
        turn.took(0.01)
    assert policy.limit.in_flight == 0


async def test_slots_of_a_host_with_a_crawl_delay_start_that_far_apart() -> None:
    fetcher = Fetcher(ScanConfig(), None, lambda url: True, URL)
    policy = fetcher.host_policy(URL)
    policy.min_interval = 0.15
    booked, started = [], []
    for _ in range(3):
        async with fetcher.slot(URL):
            booked.append(policy.last_start)
            started.append(time.monotonic())
    assert [round(later - earlier, 6) for earlier, later in itertools.pairwise(booked)] == [0.15, 0.15]
    assert all(start >= at - 0.001 for start, at in zip(started, booked, strict=True))
