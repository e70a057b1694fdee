"""Staging credentials for Lighthouse's page, for the shop's origin only, and the
address guard, both through the DevTools protocol of the Chromium the scan owns.

Lighthouse's ``--extra-headers`` sends its headers with every request, third
parties' included. Instead, while Lighthouse runs, :func:`scoped_headers`
connects a second DevTools client to the browser (over its WebSocket, with
aiohttp, which the crawler already uses). It attaches to every page target as
it is created (``Target.setAutoAttach`` with ``waitForDebuggerOnStart``, so the
page loads nothing before), turns on request interception for the shop's
origin alone (``Fetch.enable`` with that URL pattern), and continues each
paused request with the headers added. Requests to any other origin are never
paused and never see the headers.

Cost and limits: each request to the shop's origin waits for one round trip
to this process (well under a millisecond on loopback), which Lighthouse's
simulated throttling does not count. Lighthouse's own side fetches
(``robots.txt`` for the SEO category) do not pass through the page and go
without the headers. On a redirect to another origin Chromium drops
``Authorization`` itself (Fetch standard); other headers in ``headers_env``
would follow the redirect.

Network safety: with a ``url_guard`` (the address guard is on: a public shop,
no ``--allow-private``; :mod:`shophealth.crawler.resolver`), interception is
turned on for every request (pattern ``*``), and a request whose host is, or
resolves to, a private, loopback, link-local, metadata or CGNAT address is
failed (``Fetch.failRequest``, ``BlockedByClient``; the guard records it); the others are
continued, with the headers when they go to the shop's origin. Every request
then waits for that decision (a cached lookup after the first of a host).
Lighthouse's side fetches outside the page (``robots.txt``) are not seen, and
the known limit of :mod:`shophealth.crawler.browser` (DNS rebinding of
third-party names) applies here too. Known limit: a WebSocket opened by the page
under Lighthouse is not seen (the Fetch domain does not pause WebSocket handshakes;
the rendered browser routes them).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any

import aiohttp

from shophealth.crawler.chromium import ChromiumFailed, ShopHeaders

INTERCEPTED_TARGETS = {"page", "iframe"}
CALL_TIMEOUT_S = 10.0
UrlGuard = Callable[[str], Awaitable["str | None"]]  # why a URL may not be asked, or None


@contextlib.asynccontextmanager
async def scoped_headers(
    port: int, shop: ShopHeaders | None, url_guard: UrlGuard | None = None
) -> AsyncIterator[None]:
    """While inside, every page of the browser on ``port`` sends ``shop``'s headers to its
    origin, and asks nothing ``url_guard`` refuses."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/version") as answer:
            endpoint = (await answer.json())["webSocketDebuggerUrl"]
        async with http.ws_connect(endpoint, max_msg_size=0) as socket:
            client = _HeaderClient(socket, shop, url_guard)
            client.spawn(client.read())
            try:
                await client.call("Target.setAutoAttach", _AUTO_ATTACH)
                yield
            finally:
                await client.close()


_AUTO_ATTACH = {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}


class _HeaderClient:
    """One DevTools connection: attaches to new targets, adds the headers, guards requests."""

    def __init__(
        self, socket: aiohttp.ClientWebSocketResponse, shop: ShopHeaders | None, url_guard: UrlGuard | None
    ) -> None:
        self.socket = socket
        self.shop = shop
        self.url_guard = url_guard
        self.pattern = "*" if url_guard is not None or shop is None else _url_pattern(shop)
        self._ids = itertools.count(1)
        self._answers: dict[int, asyncio.Future[Mapping[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(self, method: str, params: Mapping[str, Any], session: str | None = None) -> None:
        """Send a command and wait for its answer (an error answer is ignored: the target went away)."""
        answer = asyncio.get_running_loop().create_future()
        message_id = next(self._ids)
        self._answers[message_id] = answer
        try:
            await self._send(message_id, method, params, session)
            await asyncio.wait_for(answer, CALL_TIMEOUT_S)
        except TimeoutError:
            raise ChromiumFailed(f"Chromium did not answer {method} within {CALL_TIMEOUT_S:g} s") from None
        finally:
            self._answers.pop(message_id, None)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def read(self) -> None:
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            answer = self._answers.get(data.get("id", 0))
            if answer is not None and not answer.done():
                answer.set_result(data)
            elif data.get("method") == "Target.attachedToTarget":
                self.spawn(self._attached(data["params"]))
            elif data.get("method") == "Fetch.requestPaused":
                self.spawn(self._paused(data["params"], data.get("sessionId")))

    async def _attached(self, params: Mapping[str, Any]) -> None:
        session = params["sessionId"]
        with contextlib.suppress(ChromiumFailed):  # a target that went away answers nothing
            if params.get("targetInfo", {}).get("type") in INTERCEPTED_TARGETS:
                patterns = [{"urlPattern": self.pattern, "requestStage": "Request"}]
                await self.call("Fetch.enable", {"patterns": patterns}, session)
                await self.call("Target.setAutoAttach", _AUTO_ATTACH, session)  # its out-of-process frames
            await self.call("Runtime.runIfWaitingForDebugger", {}, session)

    async def _paused(self, params: Mapping[str, Any], session: str | None) -> None:
        request = params["request"]
        refusal = await self._refusal(request["url"])
        if refusal is not None:
            failed = {"requestId": params["requestId"], "errorReason": "BlockedByClient"}
            await self._send(next(self._ids), "Fetch.failRequest", failed, session)
            return
        continued: dict[str, Any] = {"requestId": params["requestId"]}
        if self.shop is not None and self.shop.applies_to(request["url"]):
            continued["headers"] = _with_headers(request.get("headers") or {}, self.shop.headers)
        await self._send(next(self._ids), "Fetch.continueRequest", continued, session)

    async def _refusal(self, url: str) -> str | None:
        if self.url_guard is None:
            return None
        try:
            return await self.url_guard(url)
        except Exception as exc:  # the guard could not decide: refuse rather than risk it
            return f"refused: the address guard failed ({type(exc).__name__})"

    async def _send(
        self, message_id: int, method: str, params: Mapping[str, Any], session: str | None
    ) -> None:
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        with contextlib.suppress(ConnectionResetError):  # the browser is going away
            await self.socket.send_str(json.dumps(message))


def _url_pattern(shop: ShopHeaders) -> str:
    """The Fetch URL pattern of the shop's origin, as Chromium writes its URLs."""
    return shop.origin_url + "/*"


def _with_headers(current: Mapping[str, str], added: Mapping[str, str]) -> list[dict[str, str]]:
    replaced = {name.lower() for name in added}
    kept = [{"name": n, "value": v} for n, v in current.items() if n.lower() not in replaced]
    return kept + [{"name": n, "value": v} for n, v in added.items()]
