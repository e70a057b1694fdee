"""inspect_tls against real TLS servers on 127.0.0.1, one per certificate problem."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import replace
from pathlib import Path

import pytest
from certs import Authority, Leaf, make_intermediate, make_leaf, make_root

from shophealth.crawler.evidence import TlsFacts
from shophealth.crawler.fetch import trust_context
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.tls import (
    hosts_to_inspect,
    inspect_hosts,
    inspect_tls,
    needs_unverified_crawl,
)

HOST = "127.0.0.1"
TIMEOUT = 5.0

Serve = Callable[[Leaf], AbstractAsyncContextManager[int]]


@pytest.fixture(scope="module")
def root() -> Authority:
    return make_root()


@pytest.fixture(scope="module")
def intermediate(root: Authority) -> Authority:
    return make_intermediate(root)


@pytest.fixture(scope="module")
def ca_file(root: Authority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return root.write(tmp_path_factory.mktemp("ca") / "root.pem")


@pytest.fixture
def trust(ca_file: Path) -> ssl.SSLContext:
    return trust_context(str(ca_file))


async def _drain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(OSError, TimeoutError):
        await asyncio.wait_for(reader.read(), 2)
    writer.close()


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """Serve a leaf (and the chain it sends) over TLS on an ephemeral port."""

    @asynccontextmanager
    async def serving(leaf: Leaf) -> AsyncIterator[int]:
        cert_path, key_path = leaf.write(tmp_path, "server")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        server = await asyncio.start_server(_drain, HOST, 0, ssl=context)
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()

    return serving


async def _inspect(serve: Serve, leaf: Leaf, trust: ssl.SSLContext | None) -> TlsFacts:
    async with serve(leaf) as port:
        return await inspect_tls(HOST, port, trust, TIMEOUT)


async def test_valid_certificate_verifies_with_all_facts(
    serve: Serve, intermediate: Authority, trust: ssl.SSLContext
) -> None:
    facts = await _inspect(serve, make_leaf(intermediate, valid_until_days=60), trust)
    assert facts.valid, facts.error
    assert facts.error is None and facts.error_kind is None
    assert facts.chain_length == 2
    assert set(facts.sans) == {"localhost", "127.0.0.1"}
    assert facts.issuer is not None and "intermediate" in facts.issuer
    assert facts.subject is not None and "CN=localhost" in facts.subject
    assert facts.days_left is not None and 59.9 < facts.days_left < 60.1
    assert facts.lifetime_days is not None and 60.9 < facts.lifetime_days < 61.1
    assert facts.not_after is not None and facts.not_after.endswith("Z")
    assert facts.protocol in {"TLSv1.2", "TLSv1.3"}


@pytest.mark.parametrize("days", [5, 20])
async def test_expiring_certificate_is_still_valid(
    serve: Serve, intermediate: Authority, trust: ssl.SSLContext, days: int
) -> None:
    leaf = make_leaf(intermediate, valid_from_days=-360, valid_until_days=days)
    facts = await _inspect(serve, leaf, trust)
    assert facts.valid
    assert facts.days_left is not None and days - 0.1 < facts.days_left < days + 0.1


async def test_expired_certificate_is_read_anyway(
    serve: Serve, intermediate: Authority, trust: ssl.SSLContext
) -> None:
    leaf = make_leaf(intermediate, valid_from_days=-400, valid_until_days=-3)
    facts = await _inspect(serve, leaf, trust)
    assert not facts.valid
    assert facts.error_kind == "expired"
    assert facts.error is not None and "expired on" in facts.error
    assert facts.days_left is not None and -3.1 < facts.days_left < -2.9


async def test_not_yet_valid_certificate(
    serve: Serve, intermediate: Authority, trust: ssl.SSLContext
) -> None:
    leaf = make_leaf(intermediate, valid_from_days=2, valid_until_days=90)
    facts = await _inspect(serve, leaf, trust)
    assert (facts.valid, facts.error_kind) == (False, "not-yet-valid")


async def test_wrong_host_certificate(serve: Serve, intermediate: Authority, trust: ssl.SSLContext) -> None:
    leaf = make_leaf(intermediate, names=("shop.example",))
    facts = await _inspect(serve, leaf, trust)
    assert (facts.valid, facts.error_kind) == (False, "hostname")
    assert facts.error is not None and "shop.example" in facts.error and HOST in facts.error
    assert facts.sans == ("shop.example",)


async def test_self_signed_certificate(serve: Serve, trust: ssl.SSLContext) -> None:
    facts = await _inspect(serve, make_leaf(None), trust)
    assert (facts.valid, facts.error_kind) == (False, "self-signed")
    assert facts.days_left is not None and facts.days_left > 59


async def test_chain_missing_its_intermediate(
    serve: Serve, intermediate: Authority, trust: ssl.SSLContext
) -> None:
    facts = await _inspect(serve, make_leaf(intermediate, send_chain=False), trust)
    assert (facts.valid, facts.error_kind) == (False, "incomplete-chain")
    assert facts.chain_length == 1
    assert facts.error is not None and "intermediate" in facts.error


async def test_chain_to_a_root_the_store_does_not_hold(serve: Serve, trust: ssl.SSLContext) -> None:
    stranger = make_intermediate(make_root("some corporate root"))
    facts = await _inspect(serve, make_leaf(stranger), trust)
    assert (facts.valid, facts.error_kind) == (False, "untrusted")
    assert facts.error is not None and "--ca-bundle" in facts.error


async def test_default_trust_store_does_not_know_the_test_ca(
    serve: Serve, intermediate: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    facts = await _inspect(serve, make_leaf(intermediate), None)
    assert (facts.valid, facts.error_kind) == (False, "untrusted")


async def test_ssl_cert_file_sets_the_trust_store(
    serve: Serve, intermediate: Authority, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    facts = await _inspect(serve, make_leaf(intermediate), trust_context(None))
    assert facts.valid, facts.error


async def test_ca_bundle_wins_over_ssl_cert_file(
    serve: Serve, intermediate: Authority, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/bundle.pem")
    facts = await _inspect(serve, make_leaf(intermediate), trust_context(str(ca_file)))
    assert facts.valid, facts.error


async def test_refused_connection(trust: ssl.SSLContext) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    facts = await inspect_tls(HOST, port, trust, TIMEOUT)
    assert (facts.valid, facts.error_kind) == (False, "connect")
    assert facts.days_left is None


async def test_server_that_does_not_speak_tls(trust: ssl.SSLContext) -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain_http, HOST, 0)
    try:
        facts = await inspect_tls(HOST, server.sockets[0].getsockname()[1], trust, TIMEOUT)
    finally:
        server.close()
    assert (facts.valid, facts.error_kind) == (False, "handshake")


async def test_silent_server_is_bounded_by_the_timeout(trust: ssl.SSLContext) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, HOST, 0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        facts = await inspect_tls(HOST, server.sockets[0].getsockname()[1], trust, 0.3)
    finally:
        server.close()
    assert loop.time() - started < 1.5
    assert (facts.valid, facts.error_kind) == (False, "connect")
    assert facts.error is not None and "0.3 s" in facts.error


def test_hosts_to_inspect_are_the_shops_then_payment_and_asset_hosts() -> None:
    home = page_from_body(
        "https://shop.example/",
        b'<a href="https://shop.example/about">about</a>'
        b'<a href="https://blog.example/">blog</a>'
        b'<a href="https://pay.example/checkout?id=1">pay</a>'
        b'<img src="https://cdn.example/a.png"><img src="https://cdn.example/b.png">'
        b'<script src="https://js.example:8443/app.js"></script>'
        b'<img src="http://plain.example/a.png">'
        b'<form action="https://forms.example/send"></form>',
    )
    other = replace(page_from_body("https://shop.example/p", b""), final_url="https://www.shop.example/p")
    assert hosts_to_inspect("https://shop.example/", [home, other]) == [
        ("shop.example", 443),
        ("www.shop.example", 443),
        ("cdn.example", 443),
        ("pay.example", 443),
        ("js.example", 8443),
        ("forms.example", 443),
    ]
    assert hosts_to_inspect("https://shop.example/", [home], limit=2) == [
        ("shop.example", 443),
        ("cdn.example", 443),
    ]
    assert hosts_to_inspect("http://shop.example/", []) == []


async def test_inspect_hosts_keeps_order_and_marks_unverified_crawls(
    serve: Serve, intermediate: Authority, trust: ssl.SSLContext
) -> None:
    async with serve(make_leaf(intermediate)) as good, serve(make_leaf(None)) as bad:
        facts = await inspect_hosts([(HOST, bad), (HOST, good)], trust, TIMEOUT)
    assert [(f.port, f.valid) for f in facts] == [(bad, False), (good, True)]
    assert [needs_unverified_crawl(f) for f in facts] == [True, False]
    refused = TlsFacts(HOST, 1, valid=False, error_kind="connect")
    assert not needs_unverified_crawl(refused)


async def test_host_name_that_cannot_be_encoded_is_a_connect_failure(trust: ssl.SSLContext) -> None:
    facts = await inspect_tls("bad..name-" + "x" * 70 + ".example", 443, trust, TIMEOUT)
    assert (facts.valid, facts.error_kind) == (False, "connect")
