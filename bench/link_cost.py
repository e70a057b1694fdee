"""What verifying one link costs the coordinator (a measurement, not a test).

Serves the benchmark shop with nginx as ``run.py`` does and asks HEAD of its
product images (``verify_link`` on one :class:`Fetcher`, 32 in flight, as the
coordinator does during a crawl), then prints the CPU microseconds a request costs
this process, user and system (the kernel's part, the socket writes and reads, varies
with what else the machine runs: compare user time between versions). Run it under
the benchmark lock:

    flock /work/bench.lock .venv/bin/python bench/link_cost.py [--requests 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
from pathlib import Path

from run import BENCH, ensure_shop, serve

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.fetch import Fetcher
from shophealth.crawler.jobs import verify_link
from shophealth.crawler.urls import Scope


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def verify(base: str, requests: int, in_flight: int) -> tuple[float, float]:
    """CPU seconds (user, system) of verifying ``requests`` links of the shop at ``base``."""
    config = ScanConfig(render="off", lighthouse_pages=0)
    fetcher = Fetcher(config, None, Scope.for_start_urls([base]).is_internal, base)
    urls = [f"{base}cdn/images/p-{n % 2000}-{n // 2000}.jpg" for n in range(requests)]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls[:200]:  # warm-up: connections and caches, not counted
        await verify_link(fetcher, url)
    for url in urls:
        queue.put_nowait(url)

    async def work() -> None:
        while not queue.empty():
            await verify_link(fetcher, queue.get_nowait())

    user, system = _cpu()
    await asyncio.gather(*(work() for _ in range(in_flight)))
    user_after, system_after = _cpu()
    await fetcher.aclose()
    return user_after - user, system_after - system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    args = parser.parse_args()
    shop_dir, manifest = ensure_shop(args.out, 2000, 7, 18391)
    with (
        tempfile.TemporaryDirectory(prefix="shophealth-links-") as tmp,
        serve(shop_dir, manifest["port"], None, Path(tmp)),
    ):
        spent = [
            asyncio.run(verify(manifest["base"], args.requests, args.in_flight)) for _ in range(args.repeat)
        ]
    per_link = [(user / args.requests * 1e6, system / args.requests * 1e6) for user, system in spent]
    print(
        " ".join(f"{user + system:.0f} ({user:.0f}+{system:.0f})" for user, system in per_link),
        "us CPU a link (user+system, each run), min",
        f"{min(user + system for user, system in per_link):.0f}, min user {min(u for u, _ in per_link):.0f}",
    )


if __name__ == "__main__":
    main()
