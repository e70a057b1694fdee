"""Whatever a server does, a fetch ends with facts: an error kind and a message, never a raise.

Servers on loopback: a fixture shop asked over https:// on its plain-HTTP port
(the TLS handshake fails), and a raw TCP server that answers garbage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from conftest import fast_config, scan_url

from shophealth.checks.linkverdict import link_verdict
from shophealth.checks.registry import Registry
from shophealth.crawler.evidence import ErrorKind
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.demo.server import RunningShop, serve_shop


@asynccontextmanager
async def raw_server(answer: bytes) -> AsyncIterator[str]:
    """A TCP server on loopback that answers every request with ``answer``; its URL."""

    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(respond, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


@pytest.fixture
async def garbage_url() -> AsyncIterator[str]:
    """A server whose answer is not HTTP."""
    async with raw_server(b"HELLO THERE\r\n\r\n") as url:
        yield url


@pytest.fixture
def plain_shop(tmp_path: Path) -> Iterator[RunningShop]:
    (tmp_path / "index.html").write_text("<title>Plain</title><p>Only HTTP here.</p>")
    with serve_shop(tmp_path) as shop:
        yield shop


async def _fetch(url: str) -> tuple[ErrorKind | None, str | None]:
    fetcher = Fetcher(fast_config(), trust_context(), lambda _: True)
    try:
        result = await fetcher.fetch(url)
    finally:
        await fetcher.aclose()
    return result.error_kind, result.error


async def test_https_on_a_plain_http_port_is_a_tls_error(plain_shop: RunningShop) -> None:
    kind, error = await _fetch(plain_shop.url.replace("http://", "https://"))
    assert kind is ErrorKind.TLS
    assert error is not None and error.startswith("TLS handshake failed")


async def test_an_answer_that_is_not_http_is_a_protocol_error(garbage_url: str) -> None:
    kind, error = await _fetch(garbage_url)
    assert kind is ErrorKind.PROTOCOL
    assert error is not None and "HELLO THERE" in error


async def test_a_header_longer_than_clients_accept_is_too_large() -> None:
    async with raw_server(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 20_000 + b"\r\n\r\n") as url:
        kind, error = await _fetch(url)
    assert kind is ErrorKind.TOO_LARGE
    assert error is not None and "too long" in error


async def test_nothing_listening_is_a_connect_error(garbage_url: str) -> None:
    kind, _ = await _fetch("http://127.0.0.1:9/")  # the discard port: nothing listens on loopback
    assert kind is ErrorKind.CONNECT


async def test_such_links_are_broken_with_their_kind(
    tmp_path: Path, plain_shop: RunningShop, garbage_url: str, registry: Registry
) -> None:
    # Other sites' links (localhost is not the shop's 127.0.0.1), so their robots.txt is not asked.
    wrong_scheme = plain_shop.url.replace("http://127.0.0.1", "https://localhost") + "secure"
    garbage = garbage_url.replace("127.0.0.1", "localhost") + "x"
    shop_dir = tmp_path / "shop"
    shop_dir.mkdir()
    page = f'<title>Shop</title><a href="{wrong_scheme}">secure</a><a href="{garbage}">odd</a>'
    (shop_dir / "index.html").write_text(page)
    with serve_shop(shop_dir) as shop:
        run = await scan_url(shop.url, registry)
    links = run.evidence.links
    assert links[wrong_scheme].error_kind is ErrorKind.TLS
    assert links[garbage].error_kind is ErrorKind.PROTOCOL
    assert {link_verdict(links[u]).outcome for u in (wrong_scheme, garbage)} == {"broken"}
    broken = {f.target: f.evidence["error_kind"] for f in run.findings if f.check == "links.broken"}
    assert broken == {wrong_scheme: "tls", garbage: "protocol"}
    assert run.unverifiable == []
