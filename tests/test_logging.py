"""Logs: --log-level and --log-file on every command, tracebacks of internal errors at debug,
warnings for skipped phases, and no secret in any record."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import scan_url
from test_cli import assert_one_line_error, run_cli

from shophealth.checks.base import Check
from shophealth.checks.registry import Registry, run_check
from shophealth.crawler.evidence import SiteEvidence
from shophealth.crawler.logs import HANDLER_NAME, RedactSecrets, configure_logging, forget_in_logs
from shophealth.demo.server import RunningShop, serve_shop


def _explode(evidence: SiteEvidence, options: object) -> list[object]:
    raise ZeroDivisionError("a check with a bug")


def test_a_check_that_raises_has_its_traceback_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="shophealth")
    check = Check(id="x.bug", title="bug", requires=(), run=_explode)  # type: ignore[arg-type]
    outcome = run_check(check, SiteEvidence(site="https://shop.example/", home="https://shop.example/"), {})
    assert outcome.status == "error"
    record = next(r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info)
    assert "x.bug" in record.getMessage() and record.exc_info[0] is ZeroDivisionError  # type: ignore[index]


async def test_an_internal_error_on_a_page_has_its_traceback_at_debug(
    small_shop: RunningShop,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = __import__("shophealth.crawler.jobs", fromlist=["fetch_page"]).fetch_page

    async def fetch_page(fetcher: object, is_internal: object, url: str, parsed: object = ()) -> object:
        if url.endswith("/p3.html"):
            raise ValueError("parser exploded")
        return await real(fetcher, is_internal, url, parsed)

    monkeypatch.setattr("shophealth.crawler.jobs.fetch_page", fetch_page)
    caplog.set_level(logging.DEBUG, logger="shophealth")
    run = await scan_url(small_shop.url, registry, workers=0)
    assert dict((r.url, reason) for r, reason in run.unverifiable)[small_shop.url + "p3.html"] == (
        "internal error: ValueError: parser exploded"
    )
    traced = [r for r in caplog.records if r.exc_info and "p3.html" in r.getMessage()]
    assert traced and traced[0].levelno == logging.DEBUG


@pytest.fixture
def own_handler() -> Iterator[None]:
    """configure_logging's handler and levels, removed after the test."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    logging.getLogger("shophealth").setLevel(logging.NOTSET)


@pytest.mark.usefixtures("own_handler")
def test_secrets_are_redacted_from_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_AUTH", "staff:hunter22")
    log_file = tmp_path / "log.txt"
    configure_logging("debug", log_file)
    forget_in_logs(["SHOP_AUTH"])
    log = logging.getLogger("shophealth.test")
    log.debug("asked %s with %s", "https://staff:hunter22@shop.example/", "Basic c3RhZmY6aHVudGVyMjI=")
    try:
        raise RuntimeError("password staff:hunter22 refused")
    except RuntimeError:
        log.debug("failed", exc_info=True)
    configure_logging("warning", tmp_path / "next.log")  # closes the first file
    text = log_file.read_text()
    assert "hunter22" not in text and "c3RhZmY6aHVudGVyMjI=" not in text
    assert "asked https://***@shop.example/ with Basic ***" in text
    assert "RuntimeError: password *** refused" in text


def test_short_values_are_not_redacted() -> None:
    assert RedactSecrets(["ab"])._redact("a cab") == "a cab"


def test_a_skipped_phase_is_a_warning_in_the_log_file(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<title>Shop</title>")
    log_file = tmp_path / "scan.log"
    with serve_shop(tmp_path) as shop:
        result = run_cli(
            "--log-file", str(log_file), "--log-level", "info", "scan", shop.url, "--quiet",
            "--lighthouse-pages", "0", "--browser", str(tmp_path / "no-chromium"),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "WARNING shophealth.crawler.rendering: rendering and Lighthouse skipped" in log_file.read_text()


def test_a_bad_log_level_is_bad_input() -> None:
    assert_one_line_error(run_cli("--log-level", "loud", "version"), 2, "--log-level must be one of")


@pytest.fixture
def small_shop(tmp_path: Path) -> Iterator[RunningShop]:
    for n in range(1, 5):
        (tmp_path / f"p{n}.html").write_text(f"<title>P{n}</title>")
    (tmp_path / "index.html").write_text("".join(f'<a href="/p{n}.html">{n}</a>' for n in range(1, 5)))
    with serve_shop(tmp_path) as shop:
        yield shop


async def test_an_internal_error_on_the_start_page_is_not_taken_for_robots_txt(
    small_shop: RunningShop, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fetch_page(*args: object) -> object:
        raise ValueError("parser exploded")

    monkeypatch.setattr("shophealth.crawler.jobs.fetch_page", fetch_page)
    run = await scan_url(small_shop.url, registry, workers=0)
    assert run.stats["stopped_reason"] == "unreachable"
    assert run.error == "internal error: ValueError: parser exploded"
