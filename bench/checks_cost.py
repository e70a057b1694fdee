"""What each check costs per page on a scan's saved evidence (a measurement, not a test).

Judges the evidence ``shophealth scan … --save-evidence DIR`` wrote (e.g. of the benchmark
shop, ``bench/run.py --shophealth-args "--save-evidence DIR"``), check by check in the
registry's order as a scan does, and prints each check's milliseconds per crawled page,
slowest first. Checks share memoised derived evidence (``checks.dom``, the i18n caches), so
the first check to need it pays for it; ``--profile FILE`` also writes a cProfile of the
whole checks phase (read it with ``python -m pstats FILE`` or snakeviz). ``--warm`` first makes
every page's shared passes (``checks.dom.warm_page``), as a scan's warmup does during the crawl
when it reaches every page (the latency mode's does), and prints their cost apart.

    .venv/bin/python bench/checks_cost.py /tmp/evidence
"""

from __future__ import annotations

import argparse
import cProfile
import time
from pathlib import Path

from shophealth.checks.dom import warm_page
from shophealth.checks.registry import load_registry, run_check
from shophealth.crawler.evidence_store import load_evidence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evidence", type=Path, help="folder written by scan --save-evidence")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the checks phase here")
    parser.add_argument("--warm", action="store_true", help="make the pages' shared passes first")
    args = parser.parse_args()
    saved = load_evidence(args.evidence)
    evidence = saved.sites[0].evidence
    checks = load_registry(autoload_plugins=False).select()
    pages = max(len(evidence.pages), 1)
    profiler = cProfile.Profile()
    costs: dict[str, float] = {}
    if args.warm:
        started = time.perf_counter()
        for page in evidence.html_pages():
            warm_page(page)
        print(f"{'(warmup)':<24}{(time.perf_counter() - started) * 1000 / pages:8.3f} ms/page")
    for check in checks:
        started = time.perf_counter()
        profiler.enable()
        run_check(check, evidence, {})
        profiler.disable()
        costs[check.id] = (time.perf_counter() - started) * 1000 / pages
    for check_id, ms in sorted(costs.items(), key=lambda item: -item[1]):
        print(f"{check_id:<24}{ms:8.3f} ms/page")
    print(f"{'all checks':<24}{sum(costs.values()):8.3f} ms/page on {len(evidence.pages)} pages")
    if args.profile:
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
