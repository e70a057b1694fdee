"""Checkpoints of a scan in progress, kept in the history store so that a
scan killed half-way (SIGKILL, power loss) goes on with ``--resume``.

Every page crawled and every link verdict is recorded as the crawl goes; a
background thread writes what was recorded every ``interval_s`` (0.2 s) in
one transaction, so the crawl never waits for the database and a kill loses
at most the last fraction of a second. On resume the pages and verdicts are
read back and the crawl restored from them (:meth:`SiteCrawl.attach`); pages
done are not fetched again. Checkpoints are dropped once the run is stored
complete, and kept when it was interrupted.

Pages are stored as pickles (their HTML is already Zstandard-compressed):
only a store this tool wrote is ever read back, the same trust as the
database itself. What is not restored: links found only by rendering a page
in the browser (the page is not rendered again), and the phases after the
crawl (the not-found probe, TLS, the browser sample, Lighthouse), which run
again on resume.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from shophealth.crawler.evidence import LinkResult, Page
from shophealth.reports.store import Store, StoreError

Item = tuple[str, str, str, bytes]  # site, kind, url, pickle


class StoreCheckpoints:
    """The checkpoints of one run (implements :class:`shophealth.crawler.hooks.Checkpoints`)."""

    def __init__(self, store: Store, run_id: str, resume: bool, interval_s: float = 0.2) -> None:
        self.store = store
        self.run_id = run_id
        self.interval_s = interval_s
        self.error: str | None = None  # why checkpointing stopped, if it did
        self._restored = store.load_checkpoint(run_id) if resume else {}
        self._pending: list[Item] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name="checkpoints", daemon=True)
        self._thread.start()

    def for_site(self, site: str) -> SiteCheckpoints:
        return SiteCheckpoints(self, site)

    def restored(self, site: str) -> tuple[list[Page], dict[str, LinkResult]]:
        pages, links = self._restored.get(site, ({}, {}))
        return [pickle.loads(blob) for blob in pages.values()], {u: pickle.loads(b) for u, b in links.items()}

    def record(self, site: str, kind: str, url: str, obj: Any) -> None:
        item = (site, kind, url, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        with self._lock:
            self._pending.append(item)

    def flush(self) -> None:
        with self._lock:
            items, self._pending = self._pending, []
        if items and self.error is None:
            try:
                self.store.write_checkpoint(self.run_id, items)
            except StoreError as exc:
                self.error = str(exc)

    def close(self) -> None:
        """Stop the writer and write what is left."""
        self._stop.set()
        self._thread.join()
        self.flush()

    def _write_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()


class SiteCheckpoints:
    """One shop's view (implements :class:`shophealth.crawler.hooks.SiteCheckpoint`)."""

    def __init__(self, run: StoreCheckpoints, site: str) -> None:
        self.run = run
        self.site = site

    def restored(self) -> tuple[Sequence[Page], Mapping[str, LinkResult]]:
        return self.run.restored(self.site)

    def page_done(self, page: Page) -> None:
        self.run.record(self.site, "page", page.url, page)

    def link_judged(self, url: str, result: LinkResult) -> None:
        self.run.record(self.site, "link", url, result)
