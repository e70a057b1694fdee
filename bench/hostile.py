"""Scan the hostile shop beside two normal shops in one run; print duration and peak memory.

Not a test: a measurement to run by hand (issue 15). It serves, on 127.0.0.1,
the hostile shop (``shophealth.demo.hostile``: traps, a gzip bomb, a 2 GB body,
one byte a second, a connection that never closes, 100,000 links, a 10 MB
robots.txt, a sitemap bomb, a million-URL sitemap…) and two normal shops (the
demo shop and the crawl test shop), writes a sites file listing the three,
runs ``shophealth scan --sites`` as a subprocess, and prints its wall time,
peak RSS of its process tree (polled every 50 ms, the same way as
``bench/run.py``), each shop's stats and the findings per check. The issue's
bar: the run ends within its budget, reports the hostile behaviours, finds the
normal shops' problems, and stays under 500 MB. Usage::

    .venv/bin/python bench/hostile.py [--budget 120] [--max-pages N] [--out bench/out]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import yaml

from shophealth.demo.hostile import serve_hostile
from shophealth.demo.server import serve_shop

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from run import measure  # noqa: E402  (bench/ is a folder of scripts, not a package)

REPO = BENCH.parent
NORMAL_SHOPS = {
    "demo shop": REPO / "fixtures" / "demo_shop",
    "crawl test shop": REPO / "fixtures" / "test_shops" / "crawl",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per shop")
    parser.add_argument("--max-pages", type=int, default=None, help="default: the scan's own")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("shophealth", path=str(Path(sys.executable).parent)) or "shophealth"
    with ExitStack() as stack:
        urls = {"hostile shop": stack.enter_context(serve_hostile())}
        urls.update(
            {name: stack.enter_context(serve_shop(folder)).url for name, folder in NORMAL_SHOPS.items()}
        )
        defaults: dict[str, object] = {"budget_s": args.budget, "render": "off", "lighthouse_pages": 0}
        if args.max_pages:
            defaults["max_pages"] = args.max_pages
        sites = {"defaults": defaults, "sites": [{"url": url, "name": name} for name, url in urls.items()]}
        sites_file = args.out / "hostile-sites.yaml"
        sites_file.write_text(yaml.safe_dump(sites))
        report = args.out / "hostile-report.json"
        cmd = [exe, "scan", "--sites", str(sites_file), "--json", str(report), "--quiet", "--parallel", "3"]
        print(" ".join(cmd), flush=True)
        usage = measure(
            cmd, args.out / "hostile.stdout", args.out / "hostile.stderr", args.out / "hostile.rss.tsv"
        )
    print(
        f"exit {usage.exit_code}  wall {usage.wall_s:.1f} s  cpu {usage.cpu_s:.1f} s  peak RSS {usage.peak_rss_mb:.0f} MB"
    )
    for site in json.loads(report.read_text())["sites"]:
        stats = site["stats"]
        print(
            f"\n{site['name']}: {stats['pages']} pages, {stats['duration_s']} s, stopped: {stats['stopped_reason']}"
        )
        counts = Counter((f["check"], f["severity"]) for f in site["findings"])
        for (check, severity), n in sorted(counts.items()):
            print(f"  {check:22} {severity:8} {n}")
        print(f"  unverifiable: {len(site['unverifiable'])}")


if __name__ == "__main__":
    main()
