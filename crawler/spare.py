"""A worker process started before the scan's own imports, for the first worker pool to adopt.

A ``shophealth scan`` process spends its first ~0.35 s importing (aiohttp, the checks,
the reports) on one core, before its first request. Its worker process
(:mod:`shophealth.crawler.workers`), started once the crawl knows enough pages, then
spends about as long importing the same, while the crawl runs in-process on one core.
Started here instead, first thing (:func:`start`, from :func:`shophealth.crawler.entry.main`
for the commands that crawl), the worker imports on the other core meanwhile and is ready
when the crawl starts: :meth:`WorkerPool._spawn` adopts it (:func:`take`) for the first
worker it starts, and starts others as before.

The spare imports what a worker otherwise imports at its first product page
(:data:`PRELOADED`), then reads its setup frame once adopted; until then it waits on its input. A
scan that starts no worker (one core, ``workers: 0``, a shop too small for them) leaves it
unused: :func:`discard` (at exit) closes its input, and a worker whose input ends before its
setup exits quietly. Its process group is its own, as for every worker, so a terminal's
Ctrl-C is the scan's to handle; if the scan dies, the worker's input ends with it.

This module imports only the standard library: it runs before everything else.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import subprocess
import sys

COMMANDS = frozenset({"scan"})  # the commands that crawl with worker processes
SPARE_FLAG = "--spare"  # on a spare's command line: it preloads while it waits
# What a worker imports only at its first product page (extruct's extractors, lxml): a spare
# imports it while it waits, (module, function) called. None of it registers what the checks'
# passes depend on (the artifacts' fingerprint).
PRELOADED = (("shophealth.checks.structured", "extractors"),)
_spare: subprocess.Popen[bytes] | None = None


def worker_command() -> list[str]:
    return [sys.executable, "-m", "shophealth.crawler.workers"]


def wanted(argv: list[str]) -> bool:
    """Whether the command line ``argv`` (without the program) may crawl, on more than one core.

    Read before the command line is parsed: any word that names a crawling command counts (a
    global option's value, such as ``--log-level debug``, can stand before the command). A
    word that only looks like one costs an unused spare, nothing else."""
    return any(word in COMMANDS for word in argv) and usable_cores() > 1


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def start() -> None:
    """Start the spare worker process (once); a failure to start it is left to the pool,
    which meets the same failure and says so."""
    global _spare
    if _spare is not None:
        return
    try:
        _spare = subprocess.Popen(
            [*worker_command(), SPARE_FLAG],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,
        )
    except OSError:
        return
    atexit.register(discard)


def preload() -> None:
    """In the spare worker process, before it waits for its setup: import :data:`PRELOADED`."""
    for module, function in PRELOADED:
        with contextlib.suppress(ImportError):
            getattr(importlib.import_module(module), function)()


def take() -> subprocess.Popen[bytes] | None:
    """The spare, still running, for a pool to adopt; None if there is none (any more)."""
    global _spare
    spare, _spare = _spare, None
    if spare is not None and spare.poll() is not None:
        _close(spare)
        return None
    return spare


def discard() -> None:
    """End an unused spare: its input closed, it exits on its own."""
    spare = take()
    if spare is not None:
        _close(spare)


def _close(spare: subprocess.Popen[bytes]) -> None:
    for pipe in (spare.stdin, spare.stdout, spare.stderr):
        if pipe is not None:
            pipe.close()
