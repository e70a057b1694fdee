"""Staging credentials for Lighthouse's page, for the shop's origin only, added
through the DevTools protocol of the Chromium the scan owns.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Coroutine, Mapping
from typing import Any

import aiohttp

from shophealth.crawler.chromium import ChromiumFailed, ShopHeaders

INTERCEPTED_TARGETS = {"page", "iframe"}
CALL_TIMEOUT_S = 10.0


@contextlib.asynccontextmanager
async def scoped_headers(port: int, shop: ShopHeaders) -> AsyncIterator[None]:
    """While inside, every page of the browser on ``port`` sends ``shop``'s headers to its origin."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/version") as answer:
            endpoint = (await answer.json())["webSocketDebuggerUrl"]
        async with http.ws_connect(endpoint, max_msg_size=0) as socket:
            client = _HeaderClient(socket, shop)
            client.spawn(client.read())
            try:
                await client.call("Target.setAutoAttach", _AUTO_ATTACH)
                yield
            finally:
                await client.close()


_AUTO_ATTACH = {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}


class _HeaderClient:
    """One DevTools connection: attaches to new targets and adds the headers."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, shop: ShopHeaders) -> None:
        self.socket = socket
        self.shop = shop
        self.pattern = _url_pattern(shop)
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
        continued: dict[str, Any] = {"requestId": params["requestId"]}
        if self.shop.applies_to(request["url"]):
            continued["headers"] = _with_headers(request.get("headers") or {}, self.shop.headers)
        await self._send(next(self._ids), "Fetch.continueRequest", continued, session)

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
