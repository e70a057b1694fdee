"""A URL goes on the wire as the crawler spelled it: the request line and Host header
of every request are what aiohttp sends for the URL's text, byte for byte, whether the
fetcher hands it over pre-encoded (canonical URLs) or as text for yarl to encode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import yarl

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.fetch import Fetcher
from shophealth.crawler.urls import is_canonical, normalize

# Paths and queries as shops write them, and as crawler.urls.normalize leaves them.
ODD_TARGETS = [
    "/",
    "/a;b=c/d:e@f/!$'()*+,~_.-",
    "/p/123?colour=red&size=m",
    "/search?q=a+b&x=~&y=(1)&z=*",
    "/q?a=b=c;d&e=&&f",
    "/x?next=/account/login:@!$'()",
    "/trailing.",
    "/UPPER/Case?Q=V",
    "/caf%C3%A9?q=%E4%B8%AD%E6%96%87",
    "/a%2Fb/%25/%20",
    "/商品/茶?名=烏龍",
    "/a/./b/../c?d",
    "/sp ace?q=a b",
    "/%7Euser/%7e",
]


class WireLog:
    """A loopback server that answers 200 to everything and keeps each request's head."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                body = b"" if head.startswith(b"HEAD ") else b"ok"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def last(self) -> tuple[bytes, bytes]:
        """The last request's line and Host header."""
        lines = self.heads[-1].split(b"\r\n")
        host = next(line for line in lines if line.lower().startswith(b"host:"))
        return lines[0], host


@pytest.fixture
async def wire() -> AsyncIterator[tuple[WireLog, str]]:
    log = WireLog()
    server = await asyncio.start_server(log.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield log, f"http://127.0.0.1:{port}"
        server.close()


async def test_every_url_is_sent_as_aiohttp_sends_its_text(wire: tuple[WireLog, str]) -> None:
    log, base = wire
    fetcher = Fetcher(ScanConfig(), None, lambda url: True, base + "/")
    written = [base + target for target in ODD_TARGETS]  # fetch is not only given normalised URLs
    urls = written + [normalize(url) for url in written]
    assert 10 <= sum(is_canonical(url) for url in urls) < len(urls)  # both ways of handing a URL over
    try:
        async with aiohttp.ClientSession() as plain:
            for url in urls:
                for method in ("HEAD", "GET"):
                    result = await fetcher.fetch(url, method=method)
                    assert result.status == 200, result.error
                    sent = log.last()
                    async with plain.request(method, url, allow_redirects=False) as answer:
                        await answer.read()
                    assert sent == log.last(), url
    finally:
        await fetcher.aclose()


async def test_a_canonical_url_is_sent_exactly_as_written(wire: tuple[WireLog, str]) -> None:
    log, base = wire
    fetcher = Fetcher(ScanConfig(), None, lambda url: True, base + "/")
    try:
        for target in ODD_TARGETS:
            url = base + target
            if not is_canonical(url):
                continue
            await fetcher.fetch(url, method="HEAD")
            line, host = log.last()
            assert line == f"HEAD {target} HTTP/1.1".encode()
            assert host.split(b":", 1)[1].strip() == base.removeprefix("http://").encode()
    finally:
        await fetcher.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "http://bücher.example/a?b=c",
        "https://MÜNCHEN.example:8443/straße",
        "http://xn--bcher-kva.example/x",
        "https://shop.example:443/p",
        "http://shop.example:08080/p",
    ],
)
def test_an_international_host_gives_the_same_host_header(url: str) -> None:
    """Hosts are not reached in a test (no public DNS): their Host header is compared."""
    normal = normalize(url)
    sent = yarl.URL(normal, encoded=True) if is_canonical(normal) else yarl.URL(normal)
    assert sent.host_port_subcomponent == yarl.URL(url).host_port_subcomponent
    assert sent.raw_path_qs == yarl.URL(normal).raw_path_qs


async def test_plain_http_loads_no_trusted_roots(wire: tuple[WireLog, str]) -> None:
    """The CA bundle (~30 ms of CPU in each process) is loaded at the first https request only."""
    _, base = wire
    fetcher = Fetcher(ScanConfig(), None, lambda url: True, base + "/")
    try:
        assert (await fetcher.fetch(base + "/p", method="HEAD")).status == 200
        assert fetcher._trust is None
    finally:
        await fetcher.aclose()


async def test_repeated_answer_headers_are_joined() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVary: Accept\r\nX-A: 1\r\nvary: Cookie\r\n"
            b"Content-Length: 0\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    fetcher = Fetcher(ScanConfig(), None, lambda url: True, base + "/")
    async with server:
        try:
            result = await fetcher.fetch(base + "/", method="HEAD")
        finally:
            await fetcher.aclose()
    assert result.headers["vary"] == "Accept, Cookie"
    assert result.headers["x-a"] == "1" and result.content_type == "text/plain"
