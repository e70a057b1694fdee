"""Requests' time limits, kept by one timer for all (fetch.Deadlines): a whole request is
cut at its total, a silent one at its gap, a trickle that keeps sending still at its total;
the cut is a TimeoutError, and a cancellation from outside stays a cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.evidence import ErrorKind
from shophealth.crawler.fetch import TICK_S, Deadlines, Fetcher


async def test_a_request_is_cut_at_its_total_though_it_keeps_receiving() -> None:
    deadlines = Deadlines(total=0.6, gap=0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError), deadlines.start() as deadline:
        while True:
            await asyncio.sleep(0.05)
            deadline.progress()
    assert 0.6 <= time.monotonic() - started < 0.6 + 2 * TICK_S + 0.5


async def test_a_silent_request_is_cut_at_its_gap() -> None:
    deadlines = Deadlines(total=30.0, gap=0.3)
    started = time.monotonic()
    with pytest.raises(TimeoutError), deadlines.start():
        await asyncio.sleep(10)
    assert 0.3 <= time.monotonic() - started < 0.3 + 2 * TICK_S + 0.5


async def test_a_cancellation_from_outside_is_not_a_timeout() -> None:
    deadlines = Deadlines(total=30.0, gap=30.0)
    entered = asyncio.Event()

    async def request() -> None:
        with deadlines.start():
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(request())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_requests_within_their_limits_end_the_ticking() -> None:
    deadlines = Deadlines(total=5.0, gap=5.0)
    for _ in range(3):
        with deadlines.start():
            await asyncio.sleep(0)
    async with asyncio.timeout(5):
        while deadlines._ticking is not None:
            await asyncio.sleep(TICK_S / 2)
    assert not deadlines._running


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers the head of a response, then one byte of its body every 0.1 s, for ever."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
    try:
        while True:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.1)
    except ConnectionError:
        pass


@pytest.fixture
async def trickle() -> AsyncIterator[str]:
    server = await asyncio.start_server(_hang, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        server.close()


async def test_a_fetch_from_a_trickling_server_times_out_and_a_new_loop_still_ticks(trickle: str) -> None:
    fetcher = Fetcher(ScanConfig(request_timeout=0.8, read_timeout=0.5), None, lambda url: True, trickle)
    stale = asyncio.get_running_loop().call_later(3600, print)
    fetcher._deadlines._ticking, fetcher._deadlines._loop = stale, None  # as a closed loop's timer
    started = time.monotonic()
    try:
        result = await fetcher.fetch(trickle)
    finally:
        stale.cancel()
        await fetcher.aclose()
    assert result.error_kind is ErrorKind.TIMEOUT, result.error
    assert result.error == "timed out after 0.8 s"
    assert time.monotonic() - started < 0.8 + 2 * TICK_S + 1


async def test_a_cut_caught_inside_leaves_the_task_not_cancelling() -> None:
    deadlines = Deadlines(total=0.1, gap=0.1)
    with deadlines.start(), contextlib.suppress(asyncio.CancelledError):  # swallowed, as some code does
        await asyncio.sleep(10)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
