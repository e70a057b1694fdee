"""Scale-out: shops scanned by Celery workers, results in the shared store.

``shophealth scan --distributed`` writes the run's header to the store and
enqueues one job per shop on a Celery broker (Redis); ``shophealth worker``
processes take jobs one at a time, scan the shop exactly as a local scan
would (:func:`shophealth.crawler.scan.scan_site`) and write its part of the
report to the store (PostgreSQL, shared by every machine); the enqueuing
side waits until every shop is stored (or returns the run id at once with
``--detach``) and builds the report from the store.

Why Celery: it is the established engine for this and gives what the crawl
needs without code of ours: late acknowledgement (``task_acks_late``: a job
is removed from the queue only once its shop is stored, so a worker killed
mid-shop leaves it to be delivered again, to another worker, once the
broker's ``visibility_timeout`` has passed) and a prefetch of one (a worker
holds no jobs it is not working on).

Exactly once, as far as results go: writes are idempotent (a shop's part of a
run replaces what was stored for that run and shop, in one transaction), a
job whose shop is already stored for its run does nothing, and a shop is
scanned by one worker at a time: a Redis lock per shop URL, kept alive while
the scan runs and expiring ``LOCK_TTL_S`` after a worker died. A job that
finds its shop locked is retried a little later.

Politeness across workers: besides the shop lock, the per-host limit on
requests to *other* sites that several shops link to (payment, maps,
suppliers: ``per_external_host``) is shared by every worker through the
broker's Redis (:mod:`shophealth.crawler.shared_limits`), so two workers
together ask such a host no harder than one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from typing import Any

import redis
from celery import Celery, Task

from shophealth.checks.registry import load_registry
from shophealth.crawler.config import ScanConfig, SiteConfig, apply_options
from shophealth.crawler.hooks import RunHooks
from shophealth.crawler.scan import SiteRun, scan_site
from shophealth.crawler.shared_limits import RedisHostLimits
from shophealth.reports.report import site_report
from shophealth.reports.store import Store

QUEUE = "shophealth"
TASK = "shophealth.scan_shop"
LOCK_TTL_S = 15.0  # a dead worker's shop is free again after this
RETRY_LOCKED_S = 5.0


def site_to_job(site: SiteConfig) -> dict[str, Any]:
    """A shop as JSON data (credentials stay names of environment variables)."""
    return {
        "url": site.url,
        "name": site.name,
        "start_urls": list(site.start_urls),
        "config": site.config.public(),
    }


def site_from_job(data: Mapping[str, Any]) -> SiteConfig:
    config = apply_options(ScanConfig(), data["config"], f"job for {data['url']}")
    return SiteConfig(
        url=data["url"], name=data.get("name"), start_urls=tuple(data["start_urls"]), config=config
    )


def make_app(broker: str, store: str | None = None, visibility_timeout: float = 1800.0) -> Celery:
    app = Celery("shophealth", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        task_ignore_result=True,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            # look for jobs of dead workers every quarter of the timeout (kombu's
            # default, every 10th check of 10 s, left them for 100 s)
            "unacked_restore_interval": max(1.0, min(60.0, visibility_timeout / 4)),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.conf.shophealth_store = store
    app.task(name=TASK, bind=True, max_retries=None)(scan_shop_job)
    return app


def enqueue(app: Celery, run_id: str, sites: list[SiteConfig]) -> None:
    for position, site in enumerate(sites):
        app.send_task(TASK, args=[run_id, position, site_to_job(site)], queue=QUEUE)


def scan_shop_job(task: Task, run_id: str, position: int, job: dict[str, Any]) -> str:
    """One shop of a distributed run: scanned once, stored once."""
    site = site_from_job(job)
    with Store(task.app.conf.shophealth_store) as store:
        if store.has_site(run_id, site.url):
            return "stored already"
        lock = ShopLock(redis.Redis.from_url(task.app.conf.broker_url), site.url)
        if not lock.acquire():
            raise task.retry(countdown=RETRY_LOCKED_S)
        try:
            site_run = asyncio.run(scan_politely(site, task.app.conf.broker_url))
            store.save_site(run_id, position, site_report(site_run))
        finally:
            lock.release()
    return "stored"


async def scan_politely(site: SiteConfig, broker: str) -> SiteRun:
    """:func:`scan_site`, its external hosts' limits shared with the other workers."""
    async with RedisHostLimits(broker) as shared:
        return await scan_site(site, load_registry(), hooks=RunHooks(shared_limits=shared))


class ShopLock:
    """A Redis lock on one shop, renewed while held; its value names the holder
    (``host:pid:…``), and it expires when the holder dies."""

    def __init__(self, client: redis.Redis, shop: str) -> None:
        self.lock = client.lock(f"shophealth:shop:{shop}", timeout=LOCK_TTL_S)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, daemon=True)

    def acquire(self) -> bool:
        if not self.lock.acquire(blocking=False, token=self.token):
            return False
        self._renewer.start()
        return True

    def release(self) -> None:
        self._stop.set()
        self._renewer.join()
        with contextlib.suppress(redis.exceptions.LockError):  # expired meanwhile
            self.lock.release()

    def _renew(self) -> None:
        while not self._stop.wait(LOCK_TTL_S / 3):
            try:
                self.lock.reacquire()
            except redis.exceptions.RedisError:
                return
