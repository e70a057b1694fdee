"""The per-host limit grows while a host answers as fast, and gives way when it slows or refuses."""

from __future__ import annotations

import asyncio

from shophealth.crawler.fetch import MIN_WINDOW, HostLimit


async def _answer(limit: HostLimit, seconds: float, count: int) -> None:
    for _ in range(count):
        await limit.acquire()
        limit.give_back(seconds)


async def test_grows_by_half_a_window_at_a_time_up_to_the_ceiling() -> None:
    limit = HostLimit(8, 32)
    seen = [limit.limit]
    for _ in range(6):
        await _answer(limit, 0.05, max(limit.limit, MIN_WINDOW))
        seen.append(limit.limit)
    assert seen == [8, 12, 18, 27, 32, 32, 32]


async def test_halves_when_answers_get_twice_as_slow_but_not_below_the_start() -> None:
    limit = HostLimit(8, 32)
    for _ in range(3):
        await _answer(limit, 0.05, limit.limit)
    assert limit.limit == 27
    await _answer(limit, 0.08, limit.limit)  # 1.6 times as slow: stays
    assert limit.limit == 27
    await _answer(limit, 0.2, limit.limit)
    assert limit.limit == 13
    await _answer(limit, 0.2, limit.limit)
    assert limit.limit == 8
    await _answer(limit, 0.2, limit.limit)
    assert limit.limit == 8


async def test_back_off_returns_to_the_start_and_lowers_the_ceiling() -> None:
    limit = HostLimit(8, 32)
    for _ in range(3):
        await _answer(limit, 0.05, limit.limit)
    limit.back_off()
    assert (limit.limit, limit.ceiling) == (8, 13)
    for _ in range(4):
        await _answer(limit, 0.05, max(limit.limit, MIN_WINDOW))
    assert limit.limit == 13


async def test_never_more_in_flight_than_the_limit() -> None:
    limit = HostLimit(2, 2)
    most = 0

    async def request() -> None:
        nonlocal most
        await limit.acquire()
        most = max(most, limit.in_flight)
        await asyncio.sleep(0.001)
        limit.give_back(0.001)

    await asyncio.gather(*(request() for _ in range(50)))
    assert most == 2
    assert limit.limit == 2  # start == ceiling: a plain semaphore


async def test_a_grown_limit_lets_waiting_requests_in_at_once() -> None:
    limit = HostLimit(1, 4)
    await _answer(limit, 0.01, MIN_WINDOW)  # grows to 2
    await _answer(limit, 0.01, MIN_WINDOW)  # grows to 3
    assert limit.limit == 3
    started: list[int] = []
    answer = asyncio.Event()  # no request is answered (released) before all three got in

    async def request(i: int) -> None:
        await limit.acquire()
        started.append(i)
        await answer.wait()
        limit.give_back(0.01)

    tasks = [asyncio.create_task(request(i)) for i in range(3)]
    async with asyncio.timeout(5):
        while len(started) < 3:
            await asyncio.sleep(0.001)
    answer.set()
    await asyncio.gather(*tasks)


async def test_instant_answers_do_not_make_every_later_answer_look_slow() -> None:
    limit = HostLimit(8, 32)
    await _answer(limit, 0.0, 8)  # refused connections, say: counted as 5 ms
    assert limit.limit == 12
    await _answer(limit, 0.009, 12)  # under twice 5 ms: kept
    assert limit.limit == 12
    await _answer(limit, 0.02, 12)
    assert limit.limit == 8
