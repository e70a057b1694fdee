"""What the crawl phase costs on the benchmark shop (a measurement, not a test).

Serves the generated shop with nginx as ``run.py`` does and runs only the gathering of
``shophealth scan`` (``gather_site``, render and Lighthouse off; no checks, no report) in
this process, then prints the crawl's wall seconds, the CPU seconds of this process (the
coordinator) and of its worker processes, requests and pages. ``--profile DIR`` writes a
cProfile of the coordinator (``DIR/coordinator.prof``) and of each worker
(``DIR/worker-PID.prof``, through ``SHOPHEALTH_WORKER_PROFILE``); read them with
``python -m pstats``. ``--workers N`` sets the scan's ``workers`` (0: crawl in-process).

    flock /work/bench.lock .venv/bin/python bench/crawl_cost.py [--workers 2] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from run import BENCH, ensure_shop, serve

from shophealth.checks.registry import load_registry
from shophealth.crawler.config import ScanConfig, SiteConfig
from shophealth.crawler.scan import gather_site
from shophealth.crawler.workers import PROFILE_ENV


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def crawl(base: str, workers: int | None, profile: Path | None) -> dict[str, Any]:
    """Gather the shop at ``base`` once and return its figures."""
    config = ScanConfig(render="off", lighthouse_pages=0, workers=workers)
    site = SiteConfig(url=base, config=config)
    profiler = cProfile.Profile() if profile else None
    me = psutil.Process()
    self_cpu, children_cpu = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    _, stats = asyncio.run(gather_site(site, registry=load_registry()))
    if profiler is not None and profile is not None:
        profiler.disable()
        profiler.dump_stats(profile / "coordinator.prof")
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "crawl_s": stats["duration_s"],
        "coordinator_cpu_s": round(_cpu(resource.RUSAGE_SELF) - self_cpu, 2),
        "workers_cpu_s": round(_cpu(resource.RUSAGE_CHILDREN) - children_cpu, 2),
        "coordinator_rss_mb": round(me.memory_info().rss / 2**20),
        "pages": stats["pages"],
        "requests": stats["requests"],
        "workers": stats["workers"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=18391)
    parser.add_argument("--workers", type=int, help="the scan's workers setting (default: automatic)")
    parser.add_argument("--profile", type=Path, help="folder for cProfile files")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shop_dir, manifest = ensure_shop(args.out, args.pages, args.seed, args.port)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        os.environ[PROFILE_ENV] = str(args.profile.resolve())
    with (
        tempfile.TemporaryDirectory(prefix="shophealth-crawl-") as tmp,
        serve(shop_dir, manifest["port"], None, Path(tmp)),
    ):
        figures = crawl(manifest["base"], args.workers, args.profile)
    print(" ".join(f"{key}={value}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
