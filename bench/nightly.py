"""The nightly figure (issue 14): 50 shops of ~500 pages, Lighthouse on 3 pages each, in an hour?

Generates ``--shops`` distinct shops of ``--pages`` pages (``generate_shop.py``, seeds
100, 101, …; cached in ``bench/out/nightly/``), each on its own loopback port, all linking
to the same 30 "external" hosts (127.0.0.2-31 on one shared port, as payment, map and
supplier sites are shared by real shops), serves them all from one nginx, writes a
``sites.yaml`` naming them, and runs what cron would run::

    shophealth scan --sites sites.yaml --store sqlite:///…/history.db --quiet --parallel N

with the scan's defaults (browser rendering of a sample, Lighthouse on 3 page templates a
shop, TLS, every check) and a fresh store. Prints the wall time, pages, Lighthouse runs,
peak RSS of the scan's process tree, CPU seconds, the store's size and the exit code.
``--parallel`` takes a list (``2,4``) to compare, one run each. Run it under the bench lock::

    flock /work/bench.lock .venv/bin/python bench/nightly.py --shops 5 --parallel 2,4
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from generate_shop import EXTERNAL_HOSTS, generate_shop
from run import Usage, _stop, _wait_for_port, measure, nginx_wrapper

BENCH = Path(__file__).resolve().parent
NGINX = "/usr/sbin/nginx"
FIRST_PORT = 19100  # shop i listens on 127.0.0.1:FIRST_PORT+i
EXTERNAL_PORT = 19099  # the shared external hosts 127.0.0.2-31 listen here
FIRST_SEED = 100


def ensure_shops(out: Path, shops: int, pages: int) -> list[Path]:
    """The shops' folders, generated when missing or made by another generator or size."""
    generator = (BENCH / "generate_shop.py").read_bytes()
    folders = []
    for i in range(shops):
        folder = out / f"shop-{i}"
        stamp = f"{hashlib.sha256(generator).hexdigest()} {pages} {FIRST_SEED + i} {FIRST_PORT + i} {EXTERNAL_PORT}"
        stamp_file = folder / ".stamp"
        if not (stamp_file.exists() and stamp_file.read_text() == stamp):
            generate_shop(folder, pages, FIRST_SEED + i, FIRST_PORT + i, EXTERNAL_PORT)
            stamp_file.write_text(stamp)
        folders.append(folder)
    return folders


def nginx_config(folders: list[Path], tmp: Path) -> str:
    """One nginx, one worker: a server per shop, one for the shared external hosts (their
    pages are the same for every shop, so the first shop's copy serves them all)."""
    shops = "\n".join(
        f"  server {{ listen 127.0.0.1:{FIRST_PORT + i}; root {folder / 'site'};"
        " location / { try_files $uri $uri.html $uri/index.html =404; } }"
        for i, folder in enumerate(folders)
    )
    ext_listen = " ".join(f"listen 127.0.0.{k}:{EXTERNAL_PORT};" for k in range(2, 2 + EXTERNAL_HOSTS))
    external = (
        f"  server {{ {ext_listen} root {folders[0] / 'ext'}/$server_addr;\n"
        "    location / { try_files $uri $uri.html =404; } }"
    )
    return nginx_wrapper(tmp, f"  access_log off;\n{shops}\n{external}")


@contextmanager
def serve(folders: list[Path], tmp: Path) -> Iterator[None]:
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_config(folders, tmp))
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)], stderr=subprocess.PIPE)
    try:
        for i in range(len(folders)):
            _wait_for_port("127.0.0.1", FIRST_PORT + i, proc, "nginx")
        yield
    finally:
        _stop(proc, 15)


def sites_yaml(count: int, path: Path, lighthouse_pages: int) -> Path:
    lines = [f"defaults: {{lighthouse_pages: {lighthouse_pages}}}", "sites:"]
    lines += [f"  - {{url: 'http://127.0.0.1:{FIRST_PORT + i}/', name: 'Shop {i}'}}" for i in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def scan(
    exe: str, sites: Path, parallel: int, work: Path, extra: list[str]
) -> tuple[Usage, dict[str, Any], tuple[int, int]]:
    """One scan of every shop into a fresh store: its cost, its report, the store's size
    as written and after VACUUM."""
    store = work / f"history-{parallel}.db"
    report = work / f"report-{parallel}.json"
    store.unlink(missing_ok=True)
    command = [exe, "scan", "--sites", str(sites), "--store", f"sqlite:///{store}", "--quiet"]
    command += ["--parallel", str(parallel), "--json", str(report), *extra]
    print(" ".join(command), flush=True)
    outputs = [work / f"scan-{parallel}.{name}" for name in ("stdout", "stderr", "rss.tsv")]
    usage = measure(command, *outputs)
    data = json.loads(report.read_text()) if report.exists() else {"sites": []}
    sizes = (store.stat().st_size, vacuumed_size(store)) if store.exists() else (0, 0)
    return usage, data, sizes


def vacuumed_size(store: Path) -> int:
    """The store's size once SQLite has dropped the pages freed by the run's checkpoints."""
    copy = store.with_suffix(".vacuumed.db")
    copy.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(store)) as db:
        db.execute("VACUUM INTO ?", (str(copy),))
    size = copy.stat().st_size
    copy.unlink()
    return size


def summary(
    parallel: int, usage: Usage, report: dict[str, Any], store_bytes: tuple[int, int], shops: int
) -> str:
    sites = report["sites"]
    pages = sum(s["stats"].get("pages", 0) for s in sites)
    lighthouse = sum(s["stats"].get("lighthouse_runs", 0) for s in sites)
    failed = [s["site"] for s in sites if s.get("error") or not s["stats"].get("complete", False)]
    return (
        f"parallel {parallel}: {len(sites)}/{shops} shops, {pages} pages, {lighthouse} Lighthouse runs, "
        f"wall {usage.wall_s:.0f} s ({usage.wall_s / max(1, len(sites)):.1f} s a shop), "
        f"CPU {usage.cpu_s:.0f} s, peak RSS {usage.peak_rss_mb:.0f} MB, store {store_bytes[0] / 2**20:.1f} MB "
        f"({store_bytes[1] / 2**20:.1f} MB after VACUUM), "
        f"exit {usage.exit_code}, incomplete: {len(failed)} {failed[:3]}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--parallel", default="2", help="shops at once; a comma list runs each")
    parser.add_argument("--lighthouse-pages", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "nightly")
    parser.add_argument("--scan-args", default="", help="more options for the scan (to find where time goes)")
    parser.add_argument("--shophealth", help="the shophealth command (default: next to this Python)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    exe = args.shophealth or shutil.which("shophealth", path=str(Path(sys.executable).parent))
    if exe is None:
        sys.exit("shophealth: command not found")
    started = time.perf_counter()
    folders = ensure_shops(args.out.resolve(), args.shops, args.pages)
    print(f"{len(folders)} shops ready in {time.perf_counter() - started:.1f} s", flush=True)
    work = args.out.resolve() / "run"  # kept: the reports, the stores and the scans' output
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sites = sites_yaml(len(folders), work / "sites.yaml", args.lighthouse_pages)
    results = []
    with serve(folders, work):
        for parallel in (int(p) for p in args.parallel.split(",")):
            usage, report, sizes = scan(exe, sites, parallel, work, args.scan_args.split())
            results.append(summary(parallel, usage, report, sizes, len(folders)))
            print(results[-1], flush=True)
            if usage.exit_code not in (0, 1):
                print((work / f"scan-{parallel}.stderr").read_text()[-2000:], file=sys.stderr)
    print("\n".join(results))


if __name__ == "__main__":
    main()
