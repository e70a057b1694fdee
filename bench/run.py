"""Benchmark shophealth against linkinator on a generated 2,000-page shop served by nginx.

Steps: generate the shop (cached in ``bench/out/``), serve it with nginx on loopback (a
fresh nginx per tool run, so its access log counts that tool's requests alone), run
``shophealth scan`` and then ``linkinator`` as subprocesses, and print for each: pages,
requests, wall seconds, pages/s, requests/s, CPU seconds (user+sys of the tool and its
children), peak RSS of the tool's process tree (polled every 50 ms), the server's CPU
seconds, and the seeded broken targets each one found. The figure that matters is the ratio
of pages/s, since absolute figures drift on shared machines.

Pages and requests are counted the same way for both tools, from nginx's access log: pages
are the distinct HTML pages of the shop fetched with GET and answered 200, requests are all
requests to the shop and its loopback "external" hosts. shophealth's own stats
(``sites[0].stats``) are printed beside them.

``--mode latency`` delays every response by ``--latency-ms`` (50) through nginx's
``auth_request`` and ``bench/delay_server.py``; ``--mode both`` runs both. ``--profile crawl``
(the default) scans with the checks of issue 2 only: browser rendering and Lighthouse off.
Usage::

    .venv/bin/python bench/run.py [--mode normal|latency|both] [--pages 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pwd
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
from generate_shop import EXTERNAL_HOSTS, MANIFEST, generate_shop

BENCH = Path(__file__).resolve().parent
POLL_S = 0.05
NGINX = "/usr/sbin/nginx"
LINKINATOR = BENCH / "node_modules" / ".bin" / "linkinator"
BROKEN_CHECKS = {"links.broken", "images.broken"}


@dataclass(frozen=True)
class Usage:
    """What one tool run cost: wall and CPU seconds, peak RSS of its tree, its exit code."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    exit_code: int


@dataclass(frozen=True)
class Result:
    """One tool's figures on one served shop."""

    tool: str
    mode: str
    usage: Usage
    server_cpu_s: float
    pages: int
    requests: int
    broken_found: int
    broken_seeded: int
    broken_false: int
    own_stats: dict[str, Any]
    politeness_bound_s: float = 0.0  # latency mode: the slowest host's requests × latency ÷ its limit

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.usage.wall_s if self.usage.wall_s else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.usage.wall_s if self.usage.wall_s else 0.0


# --- the shop ---------------------------------------------------------------------------


def ensure_shop(out: Path, pages: int, seed: int, port: int) -> tuple[Path, dict[str, Any]]:
    """Return the cached shop for these parameters, generating it when missing or stale."""
    generator = (BENCH / "generate_shop.py").read_bytes()
    stamp = f"{hashlib.sha256(generator).hexdigest()} {pages} {seed} {port}"
    shop_dir = out.resolve() / f"shop-{pages}-{seed}-{port}"
    stamp_file = shop_dir / ".stamp"
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        print(f"generating {pages} pages into {shop_dir} ...", flush=True)
        generate_shop(shop_dir, pages, seed, port)
        stamp_file.write_text(stamp)
    manifest: dict[str, Any] = json.loads((shop_dir / MANIFEST).read_text())
    return shop_dir, manifest


# --- serving ----------------------------------------------------------------------------

MIME_TYPES = """types { text/html html; text/css css; application/javascript js;
  image/jpeg jpg; image/x-icon ico; application/xml xml; text/plain txt; }"""


def _delay_blocks(delay_port: int | None) -> tuple[str, str, str]:
    """nginx snippets (upstream, auth line, internal location) for the latency mode."""
    if delay_port is None:
        return "", "", ""
    upstream = f"upstream delay {{ server 127.0.0.1:{delay_port}; keepalive 512; }}"
    location = (
        "location = /__delay { internal; proxy_pass http://delay; proxy_pass_request_body off;"
        ' proxy_set_header Content-Length ""; proxy_http_version 1.1;'
        ' proxy_set_header Connection ""; }'
    )
    return upstream, "auth_request /__delay;", location


def _raise_open_files_limit() -> int:
    """Raise this process's (so nginx's) open-file limit towards the hard one; return it.

    linkinator opens a new connection per request, thousands at once; with nginx's
    default 1,024 connections it gets resets, which it reports as broken links."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    return limit


def nginx_config(shop_dir: Path, tmp: Path, port: int, delay_port: int | None) -> str:
    """A self-contained nginx config: unprivileged, foreground, one worker, loopback only."""
    upstream, auth, delay_location = _delay_blocks(delay_port)
    ext_listen = " ".join(f"listen 127.0.0.{k}:{port};" for k in range(2, 2 + EXTERNAL_HOSTS))
    servers = f"""  log_format bench '$server_addr $request_method $request_uri $status';
  access_log {tmp}/access.log bench buffer=256k;
  {upstream}
  server {{
    listen 127.0.0.1:{port};
    root {shop_dir / "site"};
    location / {{ {auth} try_files $uri $uri.html $uri/index.html =404; }}
    {delay_location}
  }}
  server {{
    {ext_listen}
    root {shop_dir / "ext"}/$server_addr;
    location / {{ {auth} try_files $uri $uri.html =404; }}
    {delay_location}
  }}"""
    return nginx_wrapper(tmp, servers)


def nginx_wrapper(tmp: Path, http_body: str) -> str:
    """An nginx config around ``http_body`` (logging and servers): unprivileged, foreground,
    one worker, every file in ``tmp``, static files served fast."""
    temp_paths = " ".join(
        f"{name}_temp_path {tmp}/{name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx would run its worker as "nobody", who may not read the shop.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    return f"""daemon off;
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections {_raise_open_files_limit() - 100}; }}
http {{
  {MIME_TYPES}
  default_type application/octet-stream;
  {temp_paths}
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 65; keepalive_requests 1000000;
  open_file_cache max=20000 inactive=120s; open_file_cache_errors on;
{http_body}
}}
"""


def _wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {host}:{port}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def delay_server(delay_ms: float | None) -> Iterator[tuple[psutil.Process, int] | None]:
    """Run bench/delay_server.py when a delay is asked for; yield (process, port) or None."""
    if not delay_ms:
        yield None
        return
    port = _free_port()
    script = str(BENCH / "delay_server.py")
    proc = subprocess.Popen([sys.executable, script, str(port), str(delay_ms)])
    try:
        _wait_for_port("127.0.0.1", port, proc, "delay server")
        yield psutil.Process(proc.pid), port
    finally:
        _stop(proc, 15)


@dataclass(frozen=True)
class Served:
    """A running nginx: its master process, access log, and the delay server if any."""

    master: psutil.Process
    access_log: Path
    delay: psutil.Process | None

    def cpu_s(self) -> float:
        """CPU seconds used so far by nginx (master and workers) and the delay server."""
        procs = [self.master, *self.master.children(recursive=True)]
        if self.delay is not None:
            procs.append(self.delay)
        return sum(_cpu_of(p) for p in procs)


def _cpu_of(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


@contextlib.contextmanager
def serve(shop_dir: Path, port: int, delay: tuple[psutil.Process, int] | None, tmp: Path) -> Iterator[Served]:
    """Serve the shop with a fresh nginx whose files live in ``tmp``; on exit stop it
    gracefully, which writes out the buffered access log."""
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_config(shop_dir, tmp, port, delay[1] if delay else None))
    cmd = [NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)]
    proc = subprocess.Popen(cmd)
    try:
        _wait_for_port("127.0.0.1", port, proc, "nginx")
        yield Served(psutil.Process(proc.pid), tmp / "access.log", delay[0] if delay else None)
    except RuntimeError:
        print((tmp / "error.log").read_text(errors="replace"), file=sys.stderr)
        raise
    finally:
        _stop(proc, 3)  # SIGQUIT: graceful shutdown


# --- measuring --------------------------------------------------------------------------


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    """(summed RSS, number of processes) of ``proc`` and its descendants."""
    total = count = 0
    with contextlib.suppress(psutil.NoSuchProcess):
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
                count += 1
    return total, count


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(cmd: list[str], stdout: Path, stderr: Path, timeline: Path) -> Usage:
    """Run ``cmd`` to completion, polling its process tree's RSS every 50 ms; each
    sample (seconds, processes, MB) is written to ``timeline``, to see which phase peaks."""
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    with stdout.open("wb") as out, stderr.open("wb") as err, timeline.open("w") as samples:
        proc = psutil.Popen(cmd, stdout=out, stderr=err)
        peak = 0
        while proc.poll() is None:
            rss, processes = _tree_rss(proc)
            peak = max(peak, rss)
            samples.write(f"{time.perf_counter() - start:.2f}\t{processes}\t{rss / 2**20:.1f}\n")
            time.sleep(POLL_S)
    wall = time.perf_counter() - start
    return Usage(wall, _children_cpu_s() - cpu_before, peak / 2**20, int(proc.returncode))


def count_requests(access_log: Path, page_paths: set[str]) -> tuple[int, Counter[str]]:
    """(distinct shop pages fetched with GET and answered 200, requests per address) from the log."""
    pages: set[str] = set()
    requests: Counter[str] = Counter()
    for line in access_log.read_text(errors="replace").splitlines():
        addr, method, uri, status = line.split(" ")
        requests[addr] += 1
        path = uri.split("?", 1)[0]
        if addr == "127.0.0.1" and method == "GET" and status == "200" and path in page_paths:
            pages.add(path)
    return len(pages), requests


# --- the tools --------------------------------------------------------------------------


def shophealth_command(exe: str, shop: list[str], report: Path, max_pages: int, extra: str) -> list[str]:
    limit = ["--max-pages", str(max_pages)] if max_pages else []  # 0: the scan's own default
    options = ["--json", str(report), *limit, "--quiet", *shlex.split(extra)]
    return [exe, "scan", *shop, *options]


def shop_arguments(base: str, checks_off: str, out: Path) -> list[str]:
    """The shop's URL, or a sites file naming it with ``checks_off`` (comma-separated ids) off."""
    ids = [check.strip() for check in checks_off.split(",") if check.strip()]
    if not ids:
        return [base]
    sites = out / "bench-sites.yaml"
    settings = ", ".join(f"{check}: off" for check in ids)
    sites.write_text(f"sites:\n  - url: {base}\n    checks: {{{settings}}}\n")
    return ["--sites", str(sites)]


def linkinator_command(base: str, concurrency: int) -> list[str]:
    return [
        str(LINKINATOR), base, "--recurse", "--clean-urls",
        "--concurrency", str(concurrency), "--format", "json",
    ]  # fmt: skip


def shophealth_broken(report: Path) -> tuple[set[str], dict[str, Any]]:
    """Broken targets and stats from a shophealth JSON report (SPEC §3)."""
    data = json.loads(report.read_text())
    site = data["sites"][0]
    broken = {f["target"] for f in site["findings"] if f["check"] in BROKEN_CHECKS and f["target"]}
    return broken, dict(site.get("stats", {}))


def linkinator_broken(output: Path) -> tuple[set[str], dict[str, Any]]:
    """Broken URLs and link counts from linkinator's ``--format json`` output."""
    data = json.loads(output.read_text())
    links = data["links"]
    broken = {link["url"] for link in links if link["state"] == "BROKEN"}
    return broken, {"links": len(links), "passed": data.get("passed")}


def ensure_linkinator() -> None:
    if not LINKINATOR.exists():
        subprocess.run(["npm", "ci", "--prefix", str(BENCH), "--no-audit", "--no-fund"], check=True)


@dataclass(frozen=True)
class Setup:
    """Everything a tool run needs to know about the served shop and this run."""

    shop_dir: Path
    manifest: dict[str, Any]
    out: Path
    mode: str
    delay_ms: float | None
    args: argparse.Namespace


def tool_command(setup: Setup, tool: str, output: Path) -> list[str] | None:
    """The command line of one tool writing its JSON to ``output``; None if not installed."""
    base = setup.manifest["base"]
    if tool == "linkinator":
        ensure_linkinator()
        return linkinator_command(base, setup.args.concurrency)
    bin_dir = str(Path(sys.executable).parent)
    exe = setup.args.shophealth or shutil.which("shophealth", path=bin_dir) or shutil.which("shophealth")
    if exe is None:
        print("shophealth: command not found; skipped", file=sys.stderr)
        return None
    output.unlink(missing_ok=True)
    extra = setup.args.shophealth_args
    if setup.args.profile == "crawl":
        extra = f"{crawl_only_options(exe)} {extra}"
    shop = shop_arguments(base, setup.args.checks_off, setup.out)
    return shophealth_command(exe, shop, output, setup.args.max_pages, extra)


def crawl_only_options(exe: str) -> str:
    """Options that switch off what issue 2 does not ask for (browser rendering, Lighthouse),
    limited to those this shophealth's ``scan`` knows."""
    usage = subprocess.run(
        [exe, "scan", "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
    ).stdout
    wanted = {"--render": "off", "--lighthouse-pages": "0"}
    return " ".join(f"{name} {value}" for name, value in wanted.items() if name in usage)


def run_tool(setup: Setup, tool: str) -> Result | None:
    """Serve the shop afresh, run one tool on it and collect its figures."""
    manifest, out, mode = setup.manifest, setup.out, setup.mode
    output = out / f"{tool}-{mode}.json"
    cmd = tool_command(setup, tool, output)
    if cmd is None:
        return None
    stdout = output if tool == "linkinator" else out / f"{tool}-{mode}.stdout"
    stderr = out / f"{tool}-{mode}.stderr"
    with (
        tempfile.TemporaryDirectory(prefix="shophealth-bench-") as tmp,
        delay_server(setup.delay_ms) as delay,
    ):
        with serve(setup.shop_dir, manifest["port"], delay, Path(tmp)) as served:
            server_cpu = served.cpu_s()
            print(f"[{mode}] {' '.join(cmd)}", flush=True)
            usage = measure(cmd, stdout, stderr, out / f"{tool}-{mode}.rss.tsv")
            server_cpu = served.cpu_s() - server_cpu
        pages, requests = count_requests(served.access_log, set(manifest["page_paths"]))
        shutil.copy(Path(tmp) / "error.log", out / f"{tool}-{mode}.nginx-error.log")
    result = _result(tool, mode, usage, server_cpu, pages, sum(requests.values()), output, stderr, manifest)
    if result is not None and setup.delay_ms:
        bound = politeness_bound_s(requests, manifest["base"], setup.delay_ms / 1000, setup.args)
        result = replace(result, politeness_bound_s=bound)
    return result


def politeness_bound_s(
    requests: Counter[str], base: str, latency_s: float, args: argparse.Namespace
) -> float:
    """The shortest wall time per-host politeness allows: the slowest host's requests × latency
    ÷ requests in flight allowed to it (``--per-host-max`` for the shop, ``--per-external-host``
    for the others)."""
    shop_addr = urlsplit(base).hostname
    return max(
        (count * latency_s / (args.per_host_max if addr == shop_addr else args.per_external_host)
         for addr, count in requests.items()),
        default=0.0,
    )  # fmt: skip


def _result(
    tool: str, mode: str, usage: Usage, server_cpu: float, pages: int, requests: int,
    output: Path, stderr: Path, manifest: dict[str, Any],
) -> Result | None:  # fmt: skip
    reader = shophealth_broken if tool == "shophealth" else linkinator_broken
    try:
        broken, stats = reader(output)
    except (OSError, ValueError, KeyError) as exc:
        tail = stderr.read_text(errors="replace")[-2000:]
        print(f"{tool}: no usable output ({exc}); exit {usage.exit_code}\n{tail}", file=sys.stderr)
        broken, stats = set(), {"error": str(exc)}
    seeded = {b["url"] for b in manifest["broken"]}
    return Result(
        tool, mode, usage, server_cpu, pages, requests,
        broken_found=len(broken & seeded), broken_seeded=len(seeded),
        broken_false=len(broken - seeded), own_stats=stats,
    )  # fmt: skip


# --- output -----------------------------------------------------------------------------


def _median_pages_per_s(results: list[Result], mode: str, tool: str) -> float:
    rates = [r.pages_per_s for r in results if r.mode == mode and r.tool == tool]
    return statistics.median(rates) if rates else 0.0


def print_table(results: list[Result]) -> None:
    header = (
        f"{'tool':<11}{'mode':<9}{'pages':>6}{'reqs':>7}{'wall s':>8}{'pages/s':>9}{'reqs/s':>8}"
        f"{'CPU s':>7}{'RSS MB':>8}{'srv CPU':>8}  broken found/seeded (+false)"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        u = r.usage
        print(
            f"{r.tool:<11}{r.mode:<9}{r.pages:>6}{r.requests:>7}{u.wall_s:>8.1f}{r.pages_per_s:>9.1f}"
            f"{r.requests_per_s:>8.0f}{u.cpu_s:>7.1f}{u.peak_rss_mb:>8.0f}{r.server_cpu_s:>8.1f}"
            f"  {r.broken_found}/{r.broken_seeded} (+{r.broken_false})  exit {u.exit_code}"
        )
    for mode in dict.fromkeys(r.mode for r in results):
        sh, li = (_median_pages_per_s(results, mode, tool) for tool in ("shophealth", "linkinator"))
        if sh and li:
            print(f"[{mode}] shophealth pages/s ÷ linkinator pages/s = {sh / li:.2f} (medians)")
    for r in results:
        if r.politeness_bound_s:
            ratio = r.usage.wall_s / r.politeness_bound_s
            print(f"[{r.mode}] {r.tool} wall ÷ politeness bound {r.politeness_bound_s:.1f} s = {ratio:.2f}")
    for r in results:
        print(f"[{r.mode}] {r.tool} own stats: {json.dumps(r.own_stats)}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("normal", "latency", "both"), default="normal")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=18391, help="shop port (baked into the shop)")
    parser.add_argument("--tools", default="shophealth,linkinator", help="comma-separated")
    parser.add_argument("--shophealth", help="path of the shophealth command")
    parser.add_argument("--max-pages", type=int, default=0, help="0 (default): shophealth's default")
    parser.add_argument("--checks-off", default="", help="check ids to switch off, comma-separated")
    parser.add_argument("--per-host-max", type=int, default=32, help="shophealth's, for the bound")
    parser.add_argument("--per-external-host", type=int, default=4, help="shophealth's, for the bound")
    parser.add_argument("--shophealth-args", default="", help="more scan options, one string")
    parser.add_argument(
        "--profile",
        choices=("crawl", "default"),
        default="crawl",
        help="crawl: the checks of issue 2, browser rendering and Lighthouse off; "
        "default: whatever `shophealth scan` does by default",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool and mode")
    parser.add_argument("--concurrency", type=int, default=100, help="linkinator's")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    shop_dir, manifest = ensure_shop(args.out, args.pages, args.seed, args.port)
    modes = ["normal", "latency"] if args.mode == "both" else [args.mode]
    results: list[Result] = []
    for mode in modes:
        delay = args.latency_ms if mode == "latency" else None
        setup = Setup(shop_dir, manifest, args.out, mode, delay, args)
        for _ in range(args.repeat):
            runs = (run_tool(setup, tool.strip()) for tool in args.tools.split(","))
            results += [r for r in runs if r is not None]
    print_table(results)
    summary = [
        {**asdict(r), "pages_per_s": r.pages_per_s, "requests_per_s": r.requests_per_s} for r in results
    ]
    (args.out / "results.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    print(f"\nfigures written to {args.out / 'results.json'} (cpu count {os.cpu_count()})")


if __name__ == "__main__":
    main()
