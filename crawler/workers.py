"""Worker processes that fetch and parse for a crawl, so that a scan uses every core.

A crawl is CPU-bound on a fast shop (HTTP, decoding, parsing and
compressing each page, verifying the links it adds), and one event loop
uses one core. So the
coordinator (:class:`shophealth.crawler.gather.SiteCrawl`, in the main process) keeps
the frontier, robots.txt, the politeness limits and every record, and hands
the per-URL jobs of :mod:`shophealth.crawler.jobs` (fetch and parse a page, verify a
link) to worker processes, each with its own event loop and connection
pool. A parsed page comes back as its
:class:`~shophealth.crawler.parse.ParsedDocument` (compressed HTML and text,
facts, references), which is cheap to unpickle. What this costs and saves on
the 2,000-page benchmark shop is in ``bench/README.md``.

When: ``workers: N`` starts N workers and waits for them before the crawl.
Unset, there is one per core but one on a machine with two or more, started once
the crawl knows of :data:`AUTO_START_PAGES` pages; a smaller shop spawns
nothing. While workers start (their imports take a noticeable fraction of
a second) jobs run in-process. ``shophealth scan`` starts one worker process before
its own imports (:mod:`shophealth.crawler.spare`); the first pool adopts it, ready.
``stats.workers`` in the report says how many took jobs.

Politeness is still decided in one place: the coordinator takes the request's
slot (the per-host limit, robots.txt ``Crawl-delay`` spacing, the global
limit) before it hands a job over and holds it until the job's requests are
over: for a page, until the worker says it has the answer (a
:class:`Fetched` frame, with how long the requests took), not until it has
parsed it, so that the host is asked as many requests at once as its limit
allows, and its adaptive limit (``fetch.HostLimit``) is fed the requests'
times, not the worker's parsing queue. A worker's own limit for the shop's
hosts is therefore the ceiling, never the adaptive start: the coordinator's
decides. ``Retry-After`` waits happen in the worker, holding the slot.

Protocol: each worker is ``python -m shophealth.crawler.workers``; frames on its stdin
and stdout are a 4-byte length and a pickle. The first frame is the
:class:`WorkerSetup`; then jobs ``(id, kind, url)`` and answers ``(id,
requests so far, ok, PageFetch | LinkFetch | (error text, traceback), refs)``, each
page's answer preceded by ``(id, requests so far, True, Fetched, None)``. A job
``(id, "artifacts", Page)`` asks for judging's artifacts of a page the coordinator
parsed itself (:mod:`shophealth.crawler.artifacts`; answered with a
``PageArtifacts`` or None, no request made). The worker's
first answer, id :data:`HELLO`, says it is ready. End of input ends the
worker and cancels what it still holds. Only the coordinator writes what a
worker unpickles.

A page's references travel as numbers (:class:`RefTable`): a shop's pages repeat
the same links (160,022 references on the benchmark's 2,000 pages, 12,129
distinct), so each worker numbers the distinct ones as it first sends them and
an answer carries the references new to the coordinator and the numbers of all
of the page's. Pickling a page's answer took 63 µs with its 80 ``Ref`` tuples and
11 µs without, unpickling it 33 µs and 11 µs.

Failures: a worker that dies (the parser crashing on hostile HTML, the
kernel's OOM killer) fails only the jobs it held. Each is tried once more
on another worker and then given up as an internal error; the worker is
replaced, at most :data:`MAX_RESTARTS` times a shop, after which the jobs
run in-process and ``stats.workers_fallback`` says why. A worker's stderr is
kept (its last 2 KB) for the reason.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Container
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from shophealth import tune_gc
from shophealth.checks.dom import PageArtifacts
from shophealth.crawler import spare
from shophealth.crawler.artifacts import ArtifactsSpec, Maker, maker
from shophealth.crawler.config import ScanConfig
from shophealth.crawler.evidence import Page, Ref
from shophealth.crawler.fetch import Fetcher
from shophealth.crawler.jobs import (
    Fetched,
    JobError,
    LinkFetch,
    LocalJobs,
    PageFetch,
    fetch_page,
    verify_link,
)
from shophealth.crawler.spare import usable_cores
from shophealth.crawler.urls import Scope

MAX_RESTARTS = 3
STDERR_TAIL = 2048
STOP_GRACE_S = 2.0
READY_TIMEOUT_S = 10.0
READ_LIMIT = 1 << 20
HELLO = 0  # the job id of a worker's first answer: it is ready
PROFILE_ENV = "SHOPHEALTH_WORKER_PROFILE"  # a folder: each worker writes its cProfile there
AUTO_START_PAGES = 50  # pages the crawl must know of before automatic workers start
REF_TABLE_MAX = 200_000  # distinct references a worker numbers before it starts over
_LENGTH = struct.Struct("!I")
log = logging.getLogger(__name__)


class WorkerLost(JobError):
    """A worker process exited while it held the job."""


class WorkerJobError(JobError):
    """A job raised inside a worker; the message is the worker's."""


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to fetch like the coordinator would."""

    config: ScanConfig
    scope: Scope
    insecure_hosts: frozenset[str]
    credential_origins: frozenset[str] = frozenset()
    start_url: str | None = None  # the shop's, for the resolver's address guard
    artifacts: ArtifactsSpec | None = None  # make judging's per-page passes with the parse


@dataclass
class _Job:
    """A job handed to a worker: when its requests are over, and its answer."""

    fetched: asyncio.Future[float | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    answer: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def requests_over(self, seconds: float | None) -> None:
        """Say the requests are over; None: how long they took is not known."""
        if not self.fetched.done():
            self.fetched.set_result(seconds)


def default_workers(config: ScanConfig) -> tuple[int, int]:
    """How many worker processes a shop gets, and after how many jobs they start.

    ``config.workers`` set: that many, ready before the first job. Unset: one per core
    but one on a machine with two or more, the last core being the coordinator's (it
    keeps the frontier and unpickles and records every page); on one core they only add
    overhead. On the 2-core benchmark machine one worker crawled the 2,000-page shop as
    fast as two (6.3 s) with 55 MB less peak RSS (``bench/README.md``). They start as
    soon as the crawl knows of :data:`AUTO_START_PAGES` pages (the sitemap, or the home
    page's links, tell within a page or two), so that a small shop (or a demo of nine)
    costs no process start-ups; starting them later cost the benchmark time."""
    if config.workers is not None:
        return config.workers, 0
    cores = usable_cores()
    return (cores - 1 if cores > 1 else 0), AUTO_START_PAGES


def frame(obj: Any) -> bytes:
    blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(blob)) + blob


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next frame's object; raises ``asyncio.IncompleteReadError`` at end of input."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return pickle.loads(await reader.readexactly(length))


# (start over, references new to the coordinator, the page's references as table numbers)
RefsWire = tuple[bool, tuple[Ref, ...], bytes]


class RefTable:
    """The distinct references a worker has sent, numbered in the order sent.

    The worker (:meth:`pack`) and the coordinator (:meth:`unpack`) each keep
    one per worker process; answers are packed just before they are written
    and unpacked in the order read, so both number the same references alike.
    After :data:`REF_TABLE_MAX` references the worker starts a new numbering
    (a hostile shop whose every link differs) and says so."""

    def __init__(self) -> None:
        self._numbers: dict[Ref, int] = {}
        self._refs: list[Ref] = []

    def pack(self, answer: object) -> tuple[object, RefsWire | None]:
        """``answer`` without its page's references, and those references as numbers."""
        if not isinstance(answer, PageFetch) or answer.document is None:
            return answer, None
        numbers = self._numbers
        restart = len(numbers) + len(answer.document.refs) > REF_TABLE_MAX
        if restart:
            numbers.clear()
        new: list[Ref] = []
        ids = array.array("I")
        for ref in answer.document.refs:
            number = numbers.get(ref)
            if number is None:
                number = numbers[ref] = len(numbers)
                new.append(ref)
            ids.append(number)
        document = dataclasses.replace(answer.document, refs=())
        return dataclasses.replace(answer, document=document), (restart, tuple(new), ids.tobytes())

    def unpack(self, answer: Any, wire: RefsWire | None) -> Any:
        """``answer`` with its page's references back (``wire`` as :meth:`pack` made it)."""
        if wire is None:
            return answer
        restart, new, ids = wire
        if restart:
            self._refs.clear()
        self._refs.extend(new)
        refs = tuple(map(self._refs.__getitem__, array.array("I", ids)))
        return dataclasses.replace(answer, document=dataclasses.replace(answer.document, refs=refs))


# --- the coordinator's side ----------------------------------------------------------


class WorkerProcess(Protocol):
    """What :class:`_Worker` uses of its process: an ``asyncio.subprocess.Process`` or an
    :class:`AdoptedProcess`."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    @property
    def stdin(self) -> asyncio.StreamWriter | None: ...
    @property
    def stdout(self) -> asyncio.StreamReader | None: ...
    @property
    def stderr(self) -> asyncio.StreamReader | None: ...
    async def wait(self) -> int: ...
    def kill(self) -> None: ...


class _Worker:
    """One worker process and the jobs it holds."""

    def __init__(self, proc: WorkerProcess) -> None:
        self.proc = proc
        self.pending: dict[int, _Job] = {}
        self.requests = 0
        self.alive = True
        self.ready = False  # it has read its setup and imported what it needs
        self.settled = asyncio.Event()  # ready, or gone
        self.stopping = False
        self.stderr_tail = b""
        self.refs = RefTable()
        self._tasks = [asyncio.create_task(self._read_answers()), asyncio.create_task(self._read_stderr())]

    def submit(self, job_id: int, kind: str, target: str | Page) -> _Job:
        assert self.proc.stdin is not None
        job = self.pending[job_id] = _Job()
        self.proc.stdin.write(frame((job_id, kind, target)))
        return job

    async def _read_answers(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                job_id, requests, ok, payload, refs = await read_frame(self.proc.stdout)
                payload = self.refs.unpack(payload, refs)  # even for a job given up: it numbers refs
                self.requests = requests
                if job_id == HELLO:
                    self.ready = True
                    self.settled.set()
                    continue
                if isinstance(payload, Fetched):
                    if (job := self.pending.get(job_id)) is not None:
                        job.requests_over(payload.seconds)
                    continue
                job = self.pending.pop(job_id, None)
                if job is None:
                    continue
                job.requests_over(None)
                future = job.answer
                if future.done():
                    continue  # its caller gave up (the shop's time budget ran out)
                if ok:
                    future.set_result(payload)
                else:
                    message, trace = payload
                    log.debug("job %d failed in worker %d:\n%s", job_id, self.proc.pid, trace)
                    future.set_exception(WorkerJobError(message))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker ended
        except Exception as exc:  # an answer this process cannot read (a worker of another version)
            self.stderr_tail += f"\nunreadable answer: {type(exc).__name__}: {exc}"[:300].encode()
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        finally:
            await self._lost()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(4096):
            self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]

    async def _lost(self) -> None:
        self.alive = False
        self.settled.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_GRACE_S):
                await self.proc.wait()
        reason = self.reason()
        for job in self.pending.values():
            job.requests_over(None)
            if not job.answer.done():
                job.answer.set_exception(WorkerLost(reason))
        self.pending.clear()

    def reason(self) -> str:
        code = self.proc.returncode
        last = self.stderr_tail.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        exit_text = f"exit code {code}" if code is not None else "no exit code"
        return f"worker process ended ({exit_text}){': ' + last[0][:200] if last[0] else ''}"

    @property
    def died(self) -> bool:
        """It ended without being asked to."""
        return not self.alive and not self.stopping

    async def stop(self) -> None:
        self.stopping = self.proc.returncode is None  # one that exited already died on its own
        if self.proc.returncode is None and self.proc.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.proc.stdin.close()
        try:
            async with asyncio.timeout(STOP_GRACE_S):
                await self.proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class WorkerPool:
    """Runs a crawl's jobs in ``size`` worker processes (see the module docstring)."""

    def __init__(self, size: int, setup: WorkerSetup, fetcher: Fetcher, start_at_pages: int = 0) -> None:
        self.size = size
        self.start_at_pages = start_at_pages
        self.setup = setup
        self.fetcher = fetcher  # the coordinator's: slots, and the in-process fallback
        self.local = LocalJobs(fetcher, setup.scope.is_internal)
        # With fewer workers than cores (the default: one core is the coordinator's) the
        # coordinator verifies links itself and the workers take the pages: a HEAD costs
        # it little more than handing the job over and unpickling the answer, and the
        # worker, which would otherwise do every request and parse, is the bottleneck.
        self.links_here = size < usable_cores()
        self.restarts = 0
        self.deaths: list[str] = []  # why workers ended unasked
        self._workers: list[_Worker] = []
        self._retired_requests = 0
        self._retired_ready = 0
        self._spawn_lock = asyncio.Lock()
        self._next_id = HELLO
        self._starting: asyncio.Task[None] | None = None

    @property
    def requests(self) -> int:
        """Requests the workers have made."""
        return self._retired_requests + sum(w.requests for w in self._workers)

    @property
    def used(self) -> int:
        """Worker processes that took jobs (at most ``size``): 0 when the crawl ran in-process."""
        return min(self.size, self._retired_ready + sum(w.ready for w in self._workers))

    @property
    def fallback_reason(self) -> str | None:
        """Why the crawl ran in-process although workers were wanted, if they failed."""
        if self.used or not self.deaths:
            return None
        return f"worker processes failed ({self.deaths[-1]}); crawled in-process"

    async def start(self) -> None:
        for _ in range(self.size):
            await self._spawn()

    async def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until every worker is ready or gone (at most ``timeout`` seconds)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(w.settled.wait() for w in self._workers))

    def expect(self, pages: int) -> None:
        """The crawl knows of ``pages`` pages: start the workers if that is enough."""
        if self._starting is None and self.start_at_pages and pages >= self.start_at_pages:
            self._starting = asyncio.create_task(self.start())

    async def aclose(self) -> None:
        if self._starting is not None:
            await self._starting
        workers, self._workers = self._workers, []
        await asyncio.gather(*(w.stop() for w in workers))
        self._retire(workers)

    async def page(self, url: str, parsed: Container[str] = ()) -> PageFetch:
        """A page fetched and parsed by a worker. ``parsed`` is not seen there: a
        page reached again by a redirect is parsed again and dropped by the caller."""
        answer = await self._run("page", url)
        if answer is None:
            return await self.local.page(url, parsed)
        assert isinstance(answer, PageFetch)
        return answer

    async def link(self, url: str) -> LinkFetch:
        """A link verified by a worker, or in this process when the workers leave
        it a core (see :attr:`links_here`)."""
        answer = None if self.links_here else await self._run("link", url)
        if answer is None:
            return await self.local.link(url)
        assert isinstance(answer, LinkFetch)
        return answer

    async def structured_of(self, page: Page) -> PageArtifacts | None:
        """The structured data of a page crawled in this process, read by a worker
        (:meth:`shophealth.crawler.artifacts.Maker.structured_of`); None when no worker
        is ready or makes artifacts, or it failed. No request is made: it takes no slot."""
        worker = self._least_busy()
        if worker is None or self.setup.artifacts is None:
            return None
        self._next_id += 1
        job = worker.submit(self._next_id, "artifacts", dataclasses.replace(page, refs=(), headers={}))
        try:
            made = await job.answer
        except JobError:
            return None
        assert made is None or isinstance(made, PageArtifacts)
        return made

    async def _run(self, kind: str, url: str) -> PageFetch | LinkFetch | None:
        """The job's answer from a worker, or None when it must run in-process."""
        for attempt in range(2):
            await self._replace_dead()
            if self._least_busy() is None:
                return None  # the fetcher takes the slot itself
            async with self.fetcher.slot(url) as turn:
                worker = self._least_busy()
                if worker is None:  # it died while the job waited for its turn
                    continue
                self._next_id += 1
                job = worker.submit(self._next_id, kind, url)
                try:
                    seconds = await job.fetched  # the parse goes on without the slot
                except BaseException:  # cancelled: the answer is not wanted either
                    job.answer.cancel()
                    raise
                if seconds is not None:
                    turn.took(seconds)
            try:
                answer: PageFetch | LinkFetch = await job.answer
            except WorkerLost:
                if attempt == 1:
                    raise
                continue
            if answer.result.backed_off:  # the host asked a worker to wait: ask it less
                self.fetcher.host_policy(url).limit.back_off()
            return answer
        return None

    def _least_busy(self) -> _Worker | None:
        """The ready worker with the fewest jobs, or None: while workers start
        (about 0.3 s of imports), or after they failed, the crawl goes on in-process."""
        ready = [w for w in self._workers if w.alive and w.ready]
        return min(ready, key=lambda w: len(w.pending)) if ready else None

    async def _replace_dead(self) -> None:
        if self.restarts >= MAX_RESTARTS or not self._workers:
            return
        for worker in self._workers:
            if not worker.alive:
                break
        else:
            return
        async with self._spawn_lock:
            while self.restarts < MAX_RESTARTS and sum(w.alive for w in self._workers) < self.size:
                self.restarts += 1
                await self._spawn()

    def _retire(self, workers: list[_Worker]) -> None:
        for worker in workers:
            self._retired_requests += worker.requests
            self._retired_ready += worker.ready
            if worker.died:
                self.deaths.append(worker.reason())
                log.warning("%s", worker.reason())

    async def _spawn(self) -> None:
        dead = [w for w in self._workers if not w.alive]
        self._retire(dead)
        self._workers = [w for w in self._workers if w.alive]
        try:
            proc = await _adopted(spare.take()) or await asyncio.create_subprocess_exec(
                *worker_command(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=READ_LIMIT,
                process_group=0,  # a terminal's Ctrl-C is the coordinator's to handle, not theirs
            )  # fmt: skip
        except OSError as exc:
            self.deaths.append(f"cannot start a worker process: {exc}")
            log.warning("cannot start a worker process, crawling in-process: %s", exc)
            self.restarts = MAX_RESTARTS
            return
        worker = _Worker(proc)
        assert proc.stdin is not None
        proc.stdin.write(frame(self.setup))
        self._workers.append(worker)


def worker_command() -> list[str]:
    return spare.worker_command()


class AdoptedProcess:
    """A worker process started by :mod:`shophealth.crawler.spare` (a ``subprocess.Popen``)
    behind the members of ``asyncio.subprocess.Process`` that :class:`_Worker` uses."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    async def wait(self) -> int:
        return await asyncio.to_thread(self._popen.wait)

    def kill(self) -> None:
        self._popen.kill()


async def _adopted(popen: subprocess.Popen[bytes] | None) -> AdoptedProcess | None:
    """The spare worker process ``popen`` with its pipes as asyncio streams."""
    if popen is None or popen.stdin is None or popen.stdout is None or popen.stderr is None:
        return None
    stdout, stderr = await _reader_of(popen.stdout), await _reader_of(popen.stderr)
    return AdoptedProcess(popen, await _writer_to(popen.stdin), stdout, stderr)


async def _reader_of(pipe: IO[bytes]) -> asyncio.StreamReader:
    """A stream reading the pipe ``pipe``."""
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return reader


async def _writer_to(pipe: IO[bytes], reader: asyncio.StreamReader | None = None) -> asyncio.StreamWriter:
    """A stream writing to the pipe ``pipe`` (``reader``: the other side's, if any)."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
    return asyncio.StreamWriter(transport, protocol, reader, loop)


# --- the worker's side ----------------------------------------------------------------


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer jobs from ``reader`` on ``writer`` until end of input.

    The coordinator closes the input once it wants no more answers: after the
    crawl, or when the shop's time budget ran out with jobs in flight, which
    are then cancelled rather than waited for."""
    try:
        setup: WorkerSetup = await read_frame(reader)
    except asyncio.IncompleteReadError:
        return  # a spare worker no pool adopted (crawler.spare)
    # The coordinator's slot adapts the shop's per-host limit; here it is only a ceiling.
    config = dataclasses.replace(setup.config, per_host=setup.config.per_host_max)
    fetcher = Fetcher(config, None, setup.scope.is_internal, setup.start_url)
    fetcher.insecure_hosts.update(setup.insecure_hosts)
    fetcher.credential_origins.update(setup.credential_origins)
    make_artifacts = maker(setup.artifacts) if setup.artifacts is not None else None
    gc.freeze()  # the check modules just imported, as tune_gc froze the worker's own imports
    writer.write(frame((HELLO, 0, True, None, None)))
    refs = RefTable()
    running: set[asyncio.Task[None]] = set()
    if make_artifacts is not None:
        running.add(asyncio.create_task(make_artifacts.lag.watch()))
    try:
        while True:
            try:
                job_id, kind, target = await read_frame(reader)
            except asyncio.IncompleteReadError:
                break
            answer = _answer(fetcher, setup.scope, writer, refs, job_id, kind, target, make_artifacts)
            task = asyncio.create_task(answer)
            running.add(task)
            task.add_done_callback(running.discard)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await fetcher.aclose()


async def _answer(
    fetcher: Fetcher,
    scope: Scope,
    writer: asyncio.StreamWriter,
    refs: RefTable,
    job_id: int,
    kind: str,
    target: str | Page,  # a page: its artifacts are asked for (Maker.structured_of)
    make_artifacts: Maker | None = None,
) -> None:
    started = time.monotonic()

    def requests_over() -> None:
        writer.write(frame((job_id, fetcher.requests, True, Fetched(time.monotonic() - started), None)))

    try:
        if isinstance(target, Page):  # kind "artifacts"
            answer: object = make_artifacts.structured_of(target) if make_artifacts is not None else None
        elif kind == "page":
            answer = await fetch_page(
                fetcher, scope.is_internal, target, on_fetched=requests_over, make_artifacts=make_artifacts
            )
        else:
            answer = await verify_link(fetcher, target)
        ok = True
    except Exception as exc:  # the coordinator reports it (and logs the traceback); the worker goes on
        answer, ok = (f"{type(exc).__name__}: {exc}"[:300], traceback.format_exc()), False
    answer, wire = refs.pack(answer)
    # Not drained: the coordinator has at most its ``concurrency`` jobs out with this worker,
    # each answered once, which bounds what waits in the pipe's buffer. Drained, each answer
    # waited, holding its page, until the buffer was nearly empty, which on a fast shop whose
    # coordinator reads behind it never was before the crawl's end: 1,564 answers held at once
    # on the benchmark's 2,000 pages, the worker at 125 MB instead of 75.
    writer.write(frame((job_id, fetcher.requests, ok, answer, wire)))


async def _main() -> None:
    # A worker runs in a process group of its own, so a terminal's Ctrl-C does not
    # reach it; the coordinator decides when it stops (it closes the worker's input).
    # A SIGINT sent to it all the same is ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if spare.SPARE_FLAG in sys.argv:
        spare.preload()
    tune_gc()
    answers = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print must not land in the answer stream
    reader = await _reader_of(sys.stdin.buffer)
    writer = await _writer_to(answers, reader)
    await serve(reader, writer)
    writer.close()


def _profiled_main(folder: str) -> None:
    """Run the worker under cProfile and write its profile to ``folder/worker-PID.prof``
    (``SHOPHEALTH_WORKER_PROFILE=folder``, see ``bench/README.md``)."""
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(asyncio.run, _main())
    finally:
        profiler.dump_stats(os.path.join(folder, f"worker-{os.getpid()}.prof"))


if __name__ == "__main__":
    if PROFILE_ENV in os.environ:
        _profiled_main(os.environ[PROFILE_ENV])
    else:
        asyncio.run(_main())
