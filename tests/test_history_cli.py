"""``scan --store``, ``history`` and ``diff`` as an operator runs them at night:
a defect added between two runs is exactly what the diff calls new; two runs
never overlap on one store; regressions reach a webhook and an SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import filelock
import pytest
from aiosmtpd.controller import Controller
from db_servers import free_port

from shophealth.crawler.nightly import lock_path
from shophealth.demo.server import RunningShop, serve_shop

SHOPHEALTH = [sys.executable, "-m", "shophealth"]
PAGE = (
    '<html lang="en"><head><title>{title}</title><meta name="description" content="{title}">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>{body}</body></html>'
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("SHOPHEALTH_STORE", None)
    return subprocess.run([*SHOPHEALTH, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[RunningShop]:
    """A three-page shop whose files the test may change between scans."""
    root = tmp_path / "shop"
    root.mkdir()
    (root / "index.html").write_text(
        PAGE.format(title="Home", body='<a href="/a.html">A</a> <a href="/b.html">B</a>')
    )
    for name in ("a", "b"):
        (root / f"{name}.html").write_text(PAGE.format(title=f"Page {name}", body='<a href="/">Home</a>'))
    with serve_shop(root) as running:
        yield running


def add_broken_link(shop: RunningShop) -> None:
    page = shop.server.root / "b.html"
    page.write_text(PAGE.format(title="Page b", body='<a href="/">Home</a> <a href="/gone.html">Gone</a>'))


def nightly(shop: RunningShop, store: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "scan", shop.url, "--render", "off", "--lighthouse-pages", "0", "--store", store, "--quiet", *extra
    )


def test_diff_shows_exactly_the_added_defect_as_new(shop: RunningShop, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    first = nightly(shop, store)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("run ") and len(first.stdout.splitlines()) == 1
    add_broken_link(shop)
    second = nightly(shop, store)
    assert second.returncode == 0, second.stderr
    assert "1 new, 0 fixed since the last run" in second.stdout

    result = run_cli("diff", "previous", "latest", "--store", store, "--json")
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert diff["totals"]["new"] == 1 and diff["totals"]["fixed"] == 0
    [site] = diff["sites"]
    [new] = site["new"]
    assert (new["check"], new["target"]) == ("links.broken", shop.url + "gone.html")
    assert site["scores"]["overall"]["change"] < 0

    history = run_cli("history", shop.url, "--store", store, "--json")
    assert history.returncode == 0, history.stderr
    rows = json.loads(history.stdout)
    assert [r["run_id"] for r in rows] == [diff["new"], diff["old"]]
    assert rows[0]["findings"].get("error", 0) == rows[1]["findings"].get("error", 0) + 1


def test_diff_of_two_json_reports(shop: RunningShop, tmp_path: Path) -> None:
    base = ["scan", shop.url, "--render", "off", "--lighthouse-pages", "0", "--quiet", "--json"]
    assert run_cli(*base, str(tmp_path / "old.json")).returncode == 0
    add_broken_link(shop)
    assert run_cli(*base, str(tmp_path / "new.json")).returncode == 0
    result = run_cli("diff", str(tmp_path / "new.json"), str(tmp_path / "old.json"), "--json")
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert [f["target"] for f in diff["sites"][0]["fixed"]] == [shop.url + "gone.html"]
    assert diff["totals"]["new"] == 0


def test_second_run_on_a_locked_store_exits_with_a_clear_message(shop: RunningShop, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.sqlite3'}"
    with filelock.FileLock(lock_path(store)):
        result = nightly(shop, store)
    assert result.returncode == 75
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "another shophealth scan is using store" in lines[0]
    assert shop.server.log == []  # nothing was fetched
    assert nightly(shop, store).returncode == 0  # the lock is released with its holder


def test_unusable_store_is_bad_input(shop: RunningShop, tmp_path: Path) -> None:
    result = nightly(shop, "nonsense://")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    missing = run_cli("diff", "a", "b", "--store", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert missing.returncode == 2 and "no stored run matches 'a'" in missing.stderr


class Receiver(BaseHTTPRequestHandler):
    bodies: list[Any]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def test_regressions_are_posted_and_mailed(shop: RunningShop, tmp_path: Path) -> None:
    bodies: list[Any] = []
    handler = type("Handler", (Receiver,), {"bodies": bodies})
    http = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        store = f"sqlite:///{tmp_path / 'history.sqlite3'}"
        notify = ["--webhook", f"http://127.0.0.1:{http.server_port}/hook", "--mail-to", "ops@shop.example"]
        notify += ["--smtp", f"smtp://127.0.0.1:{smtp.port}"]
        assert nightly(shop, store, *notify).returncode == 0
        assert nightly(shop, store, *notify).returncode == 0
        assert bodies == [] and inbox.messages == []  # nothing new, nothing sent
        add_broken_link(shop)
        result = nightly(shop, store, *notify)
        assert result.returncode == 0, result.stderr
    finally:
        smtp.stop()
        http.shutdown()
        http.server_close()
    [(content_type, diff)] = bodies
    assert content_type == "application/json"
    assert [f["target"] for f in diff["sites"][0]["new"]] == [shop.url + "gone.html"]
    [raw] = inbox.messages
    mail = message_from_bytes(raw)
    assert mail["To"] == "ops@shop.example"
    assert "1 new problems" in mail["Subject"]
    text = next(part for part in mail.walk() if part.get_content_type() == "text/plain").get_payload(
        decode=True
    )
    assert b"gone.html" in text
