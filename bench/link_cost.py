"""What verifying one link costs the coordinator (a measurement, not a test).

Serves the benchmark shop with nginx as ``run.py`` does and asks HEAD of its
product images (``verify_link`` on one :class:`Fetcher`, 32 in flight, as the
coordinator does during a crawl), then prints the CPU microseconds a request costs
this process, user and system (the kernel's part, the socket writes and reads, varies
with what else the machine runs: compare user time between versions). ``--pages``
GETs the shop's pages instead (a worker process's request, without the parse). Run it
under the benchmark lock:

    flock /work/bench.lock .venv/bin/python bench/link_cost.py [--requests 4000] [--pages]

For figures that the machine's load does not move, count instructions instead
(valgrind; the difference of two runs leaves out start-up and warm-up):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/link_cost.py --requests N --repeat 1   # N = 500, then 2500
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


async def verify(base: str, urls: list[str], in_flight: int, pages: bool) -> tuple[float, float]:
    """CPU seconds (user, system) of verifying ``urls`` as links of the shop at ``base``
    (or, with ``pages``, of GETting them as a worker process does a page, without the parse)."""
    config = ScanConfig(render="off", lighthouse_pages=0)
    fetcher = Fetcher(config, None, Scope.for_start_urls([base]).is_internal, base)

    async def ask(url: str) -> None:
        await (fetcher.fetch(url) if pages else verify_link(fetcher, url))

    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls[:200]:  # warm-up: connections and caches, not counted
        await ask(url)
    for url in urls:
        queue.put_nowait(url)

    async def work() -> None:
        while not queue.empty():
            await ask(queue.get_nowait())

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
    parser.add_argument("--pages", action="store_true", help="GET the shop's pages instead (~60 KB each)")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    args = parser.parse_args()
    shop_dir, manifest = ensure_shop(args.out, 2000, 7, 18391)
    with (
        tempfile.TemporaryDirectory(prefix="shophealth-links-") as tmp,
        serve(shop_dir, manifest["port"], None, Path(tmp)),
    ):
        base = manifest["base"]
        if args.pages:
            paths = manifest["page_paths"]
            urls = [base + paths[n % len(paths)].lstrip("/") for n in range(args.requests)]
        else:
            urls = [f"{base}cdn/images/p-{n % 2000}-{n // 2000}.jpg" for n in range(args.requests)]
        spent = [asyncio.run(verify(base, urls, args.in_flight, args.pages)) for _ in range(args.repeat)]
    per_link = [(user / args.requests * 1e6, system / args.requests * 1e6) for user, system in spent]
    print(
        " ".join(f"{user + system:.0f} ({user:.0f}+{system:.0f})" for user, system in per_link),
        "us CPU a",
        "page" if args.pages else "link",
        "(user+system, each run), min",
        f"{min(user + system for user, system in per_link):.0f}, min user {min(u for u, _ in per_link):.0f}",
    )


if __name__ == "__main__":
    main()
