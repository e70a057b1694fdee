"""Render pages in a real Chromium at a phone viewport (Playwright, async API).

:class:`BrowserPool` keeps a bounded number of reusable browser pages, each in
its own context emulating a phone (375×812 CSS px, mobile user agent, touch,
device scale factor 2). :meth:`BrowserPool.render` loads one URL with a time
limit and returns a :class:`~crawler.evidence.RenderedPage`:

* the layout widths: ``client_width`` is ``document.documentElement.clientWidth``
  (the layout viewport: 980 on a page with no viewport meta, 1200 on
  ``width=1200``), ``scroll_width`` its ``scrollWidth``;
* ``overflowing``: up to :data:`MAX_OVERFLOWING` elements whose right edge is past
  the layout viewport, each with a CSS selector path and its right edge. Elements
  clipped by an ancestor with ``overflow`` other than ``visible`` (carousels,
  scroll strips), ``position: fixed`` ones (off-canvas drawers), invisible ones and
  the descendants of an element already listed are left out. An element wholly
  past the right edge is listed only when nothing clips it, since only then can
  the customer scroll to it;
* a PNG screenshot of the first screen, when a screenshot folder is given;
* ``links``: the absolute http(s) hrefs of the rendered DOM's ``a[href]``, so a
  menu built by JavaScript can still be crawled;
* ``share_targets``: what share controls open when clicked. An init script
  replaces ``window.open`` to record the URL (returning ``null``), and while a
  control is clicked the Navigation API's ``navigate`` event records and cancels
  any navigation it starts (``location.href = …``, a real link). As a safety net
  every navigation request during the clicks is answered "204 No Content", so the
  browser stays on the page and the share site is never opened. Only navigations
  are held back: requests the page itself makes on a click (scripts, images,
  analytics beacons) still go out. Controls tried:
  ``a[href="#"]`` / ``javascript:`` links, buttons and anything with a
  ``data-share…`` attribute, share-looking ones first, at most
  :data:`MAX_SHARE_CLICKS`.

Staging credentials (:class:`~shophealth.crawler.chromium.ShopHeaders`) go to the
shop's own origin only: Basic auth through Playwright's ``http_credentials``
restricted to that origin (Chromium sends it, and does not carry it along a
redirect to another site), other ``headers_env`` headers by a route on that
origin's requests (known limit: Playwright carries those along a redirect the
shop itself makes to another site). The browser runs on the scan's throw-away
profile (:mod:`shophealth.crawler.chromium`), trusting its CA bundle.

Network safety: with the address guard on (a public shop, no ``--allow-private``;
:mod:`shophealth.crawler.resolver`), ``url_guard`` is asked about every request
of every page (a context route registered last, so it is asked first; it falls
back to the credentials route, and the share-click route, added later, only lets
GET sub-resources through to it). Playwright's routes see only the first URL of
a redirect, so each page's own DevTools session also pauses every request,
redirect hops included (``Fetch.enable``), for the same decision. A request whose host is, or resolves to, a
private, loopback, link-local, metadata or CGNAT address is aborted
(``blockedbyclient``; the guard records it, see :mod:`shophealth.crawler.rendering`). With the guard off there is no route, so
rendering is not slowed. Chromium then resolves an allowed name once more itself;
the shop's own host is pinned to the crawler's answer by ``--host-resolver-rules``
(:attr:`~shophealth.crawler.chromium.Profile.host_rules`), other hosts are not
(known limit: a third-party name answering a public address to us and a private
one to Chromium a moment later, DNS rebinding, is not caught). A page's
WebSockets are asked of the guard too (``route_web_socket``; a refused one is
closed with code 1008), and no service worker is registered, since its own
requests pass no route. Known limit: a shared worker's requests are not seen.

The browser is found, not assumed (:func:`find_browser`): a configured path or
``$SHOPHEALTH_CHROMIUM``, then Playwright's own Chromium, then the system's. With
none, :class:`BrowserNotFound` says so and the scan marks ``rendered`` missing.
Every render has a deadline (``render_timeout``, twice the navigation time-out:
``page.evaluate`` has none of its own, and a page spinning in a script never
answers); a page that misses it, crashes or fails is replaced, so its slot is
given back working, and a disconnected browser is relaunched. A page that
cannot be rendered gives a ``RenderedPage`` with ``error`` set, never an
exception. What the page's scripts hand back is checked before it is kept (a
page can redefine ``scrollWidth``): widths are read through
``Element.prototype``'s getters and must be numbers.

Which pages to render is chosen by :mod:`shophealth.crawler.sampling`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    HttpCredentials,
    Playwright,
    Request,
    Route,
    WebSocketRoute,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as BrowserPage

from shophealth.crawler.chromium import NotConfigured, Profile, ShopHeaders, chromium_args, launch_args
from shophealth.crawler.evidence import RenderedPage

BROWSER_ENV = "SHOPHEALTH_CHROMIUM"
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PHONE_VIEWPORT = {"width": 375, "height": 812}


MOBILE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1 shophealth"
)
MAX_OVERFLOWING = 10
MAX_SHARE_CLICKS = 10
MAX_LINKS = 2000
MAX_PIXELS = 1_000_000  # a width beyond this is not a layout but a lie
MAX_SELECTOR = 300
MAX_URL = 2000
WEBSOCKET_POLICY_VIOLATION = 1008  # the close code a refused WebSocket gets
CLOSE_TIMEOUT_S = 5.0
UrlGuard = Callable[[str], Awaitable["str | None"]]  # why a URL may not be asked, or None

OPEN_RECORDER = """
window.__shophealthOpened = [];
window.open = function (url) {
  try { window.__shophealthOpened.push(new URL(String(url), location.href).href); }
  catch (e) { window.__shophealthOpened.push(String(url)); }
  return null;
};
window.__shophealthClicking = false;
if (window.navigation) {
  navigation.addEventListener('navigate', (event) => {
    if (!window.__shophealthClicking || event.hashChange) return;
    if (!event.formData) window.__shophealthOpened.push(event.destination.url);  // a form posts, not shares
    if (event.cancelable) event.preventDefault();
  });
}
"""

# A short CSS selector for an element (id, else tag, two classes and position, at
# most five levels), shared by the scripts below.
PATH_JS = """const path = (el) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1 && parts.length < 5; n = n.parentElement) {
      if (n.id) { parts.unshift(n.tagName.toLowerCase() + '#' + CSS.escape(n.id)); break; }
      let part = n.tagName.toLowerCase();
      part += Array.from(n.classList).slice(0, 2).map((c) => '.' + CSS.escape(c)).join('');
      const parent = n.parentElement;
      if (parent) {
        const same = Array.from(parent.children).filter((c) => c.tagName === n.tagName);
        if (same.length > 1) part += ':nth-of-type(' + (same.indexOf(n) + 1) + ')';
      }
      parts.unshift(part);
      if (n === document.body) break;
    }
    return parts.join(' > ');
  };"""

MEASURE_JS = """
(maxItems) => {
  const root = document.documentElement;
  // the prototype's getters: a page may redefine the properties on the element itself
  const width = (name) => Object.getOwnPropertyDescriptor(Element.prototype, name).get.call(root);
  const edge = width('clientWidth');
  __PATH_JS__
  const clippedBy = (el, includeRoot) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (!includeRoot && (a === document.body || a === root)) return false;
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const fixedOrHidden = (el) => {
    for (let a = el; a && a !== root; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.position === 'fixed' || s.visibility === 'hidden' || s.opacity === '0') return true;
    }
    return false;
  };
  const found = [];
  const listed = [];
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (found.length >= maxItems) break;
    const r = el.getBoundingClientRect();
    const right = r.right + window.scrollX;
    const left = r.left + window.scrollX;
    if (right <= edge + 1 || r.width === 0 || r.height === 0) continue;
    if (listed.some((p) => p.contains(el))) continue;
    if (fixedOrHidden(el)) continue;
    const wholly = left >= edge;
    if (clippedBy(el, wholly)) continue;
    listed.push(el);
    found.push({selector: path(el), right: Math.round(right), width: Math.round(r.width)});
  }
  return {scroll_width: width('scrollWidth'), client_width: edge, overflowing: found};
}
""".replace("__PATH_JS__", PATH_JS)

LINKS_JS = """
(limit) => {
  const seen = new Set();
  for (const a of document.querySelectorAll('a[href]')) {
    if (seen.size >= limit) break;
    if (a.protocol !== 'http:' && a.protocol !== 'https:') continue;
    if ((a.getAttribute('href') || '').trim().startsWith('#')) continue;
    seen.add(a.href.split('#')[0]);
  }
  return Array.from(seen);
}
"""

SHARE_CANDIDATES_JS = """
(limit) => {
  const shareWord = /(^|[^a-z])(share|sharer|sharing)/i;
  const socialBox = /(^|[^a-z])(share|sharer|sharing|social)/i;
  const networks = new Set(['facebook', 'fb', 'twitter', 'tweet', 'x', 'whatsapp', 'line', 'weibo',
    'telegram', 'pinterest', 'linkedin', 'messenger', 'wechat', 'threads', 'reddit']);
  __PATH_JS__
  const described = (el) => [typeof el.className === 'string' ? el.className : '', el.id,
    el.getAttribute('aria-label') || '', el.getAttribute('title') || ''].join(' ');
  const dataShare = (el) => Array.from(el.attributes).some((a) => a.name.startsWith('data-share'));
  const namesNetwork = (el) => described(el).toLowerCase().split(/[^a-z0-9]+/).some((t) => networks.has(t));
  const inSocialBox = (el) => {
    for (let a = el.parentElement, n = 0; a && n < 3; a = a.parentElement, n++) {
      if (socialBox.test(described(a))) return true;
    }
    return false;
  };
  const chosen = [];
  for (const el of document.querySelectorAll('a, button, [role=button], [data-share], [onclick]')) {
    if (chosen.length >= limit) break;
    const href = el.tagName === 'A' ? (el.getAttribute('href') || '').trim() : null;
    const deadLink = href !== null && (href === '#' || href === '' || href.startsWith('javascript:'));
    const control = deadLink || el.tagName === 'BUTTON' || el.getAttribute('role') === 'button'
      || (href === null && el.hasAttribute('onclick'));
    if (dataShare(el) || (control && (shareWord.test(described(el)) || (namesNetwork(el) && inSocialBox(el))))) {
      chosen.push(el);
    }
  }
  window.__shophealthShare = chosen;
  return chosen.map(path);
}
""".replace("__PATH_JS__", PATH_JS)

CLICK_JS = """
(i) => {
  window.__shophealthOpened = [];
  const el = window.__shophealthShare[i];
  window.__shophealthClicking = true;
  try { el.click(); } catch (e) { /* a broken handler opens nothing */ }
  window.__shophealthClicking = false;
  return window.__shophealthOpened.slice();
}
"""


class BrowserNotFound(NotConfigured):
    """No Chromium could be found."""


def find_browser(configured: str | None = None) -> str:
    """The Chromium executable to use: configured, then Playwright's, then the system's."""
    for candidate in (configured, os.environ.get(BROWSER_ENV)):
        if candidate:
            if Path(candidate).is_file() and os.access(candidate, os.X_OK):
                return candidate
            raise BrowserNotFound(f"the configured browser {candidate!r} is not an executable file")
    bundled = _playwright_chromium()
    if bundled:
        return bundled
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserNotFound(
        "no Chromium found: set SHOPHEALTH_CHROMIUM, run `playwright install chromium`, "
        "or install the system package (apt-get install chromium)"
    )


@functools.cache
def _playwright_chromium() -> str | None:
    """Playwright's own downloaded Chromium, if it was installed.

    Asked once per process (starting Playwright's driver takes a second), in a worker
    thread: Playwright's sync API refuses to run inside an event loop.
    """
    with ThreadPoolExecutor(max_workers=1) as worker:
        path = worker.submit(_ask_playwright_for_chromium).result()
    return path if path and Path(path).is_file() else None


def _ask_playwright_for_chromium() -> str | None:
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            return p.chromium.executable_path
    except Exception:  # no driver: Playwright is only half installed
        return None


@dataclass
class _Slot:
    """One reusable browser page and what it is doing."""

    context: BrowserContext
    page: BrowserPage
    generation: int
    crashed: bool = False


class BrowserPool:
    """A bounded set of phone-emulating browser pages, reused across a scan.

    Use as ``async with BrowserPool(find_browser(), size=2, screenshot_dir=d) as pool:``
    then ``await pool.render(url)`` from as many tasks as you like; at most ``size``
    pages render at once. Entering raises :class:`BrowserNotFound` when the browser
    does not start.
    """

    def __init__(
        self,
        executable: str,
        *,
        size: int = 2,
        screenshot_dir: str | Path | None = None,
        profile: Profile | None = None,
        shop_headers: ShopHeaders | None = None,
        nav_timeout: float = 20.0,
        settle_s: float = 0.15,
        user_agent: str = MOBILE_USER_AGENT,
        url_guard: UrlGuard | None = None,
    ) -> None:
        self.executable = executable
        self.size = max(1, size)
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir else None
        self.profile = profile
        self.shop_headers = shop_headers
        self.nav_timeout = nav_timeout
        self.render_timeout = 2 * nav_timeout  # navigation, then measuring, screenshot and clicks
        self.settle_s = settle_s
        self.user_agent = user_agent
        self.url_guard = url_guard
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._generation = 0
        self._slots: asyncio.Queue[_Slot] = asyncio.Queue()
        self._relaunch_lock = asyncio.Lock()

    async def __aenter__(self) -> BrowserPool:
        self._playwright = await async_playwright().start()
        try:
            await self._launch()
            for _ in range(self.size):
                self._slots.put_nowait(await self._new_slot())
        except PlaywrightError as exc:
            await self.close()
            first_line = (str(exc).strip().splitlines() or ["no message"])[0]
            raise BrowserNotFound(f"Chromium at {self.executable} did not start: {first_line}") from exc
        except BaseException:
            await self.close()
            raise
        if self.screenshot_dir:
            self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    async def render(self, url: str) -> RenderedPage:
        """Render ``url`` at the phone viewport within ``render_timeout``; failures come
        back in ``error``, and the slot is given back working (or marked for replacement)."""
        slot = await self._slots.get()
        try:
            if self._stale(slot):
                slot = await self._replace(slot)
            if self._stale(slot):
                return _failed(url, "the browser could not be restarted")
            rendered = await self._render_within_deadline(slot, url)
            if rendered.error is not None:  # the page may be stuck, or still navigating
                slot = await self._replace(slot)
            return rendered
        except BaseException:
            slot.crashed = True  # cancelled mid-render: replaced before it is used again
            raise
        finally:
            self._slots.put_nowait(slot)

    async def _render_within_deadline(self, slot: _Slot, url: str) -> RenderedPage:
        try:
            async with asyncio.timeout(self.render_timeout):
                return await self._render_on(slot, url)
        except TimeoutError:
            return _failed(url, f"the page did not finish rendering within {self.render_timeout:g} s")
        except (PlaywrightError, ValueError) as exc:  # ValueError: the page gave unusable values
            return _failed(url, exc)

    def _stale(self, slot: _Slot) -> bool:
        return slot.generation != self._generation or slot.crashed or slot.page.is_closed()

    async def _replace(self, slot: _Slot) -> _Slot:
        """A fresh slot for ``slot``; if none can be had in time, ``slot`` marked as crashed."""
        try:
            async with asyncio.timeout(self.nav_timeout):
                return await self._recover(slot)
        except (PlaywrightError, TimeoutError):
            slot.crashed = True
            return slot

    async def _launch(self) -> None:
        assert self._playwright is not None
        env: dict[str, str | float | bool] | None = {**self.profile.env()} if self.profile else None
        self._browser = await self._playwright.chromium.launch(
            executable_path=self.executable,
            args=launch_args(self.profile) if self.profile else list(chromium_args()),
            env=env,
            headless=True,
        )
        self._generation += 1

    async def _new_slot(self) -> _Slot:
        assert self._browser is not None
        context = await self._browser.new_context(
            viewport=PHONE_VIEWPORT,  # type: ignore[arg-type]
            user_agent=self.user_agent,
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            ignore_https_errors=self.profile is not None and self.profile.ignore_certificate_errors,
            http_credentials=self._http_credentials(),
            # a service worker's own requests pass no route: with the guard on, none is registered
            service_workers="block" if self.url_guard is not None else "allow",
        )
        await context.add_init_script(OPEN_RECORDER)
        shop = self.shop_headers
        if shop is not None and shop.without_authorization():
            # a plain function: Playwright marks the matcher with an attribute
            await context.route(lambda url: shop.applies_to(url), self._add_shop_headers)
        if self.url_guard is not None:  # registered last: asked before the routes above
            await context.route("**/*", self._guard_request)
            await context.route_web_socket(lambda url: True, self._guard_web_socket)
        page = await context.new_page()
        if self.url_guard is not None:
            await self._guard_redirects(context, page)
        page.set_default_timeout(self.nav_timeout * 1000)
        slot = _Slot(context, page, self._generation)
        page.on("crash", lambda _page: setattr(slot, "crashed", True))
        return slot

    def _http_credentials(self) -> HttpCredentials | None:
        """Basic auth answered by Chromium itself, for the shop's origin only: unlike a
        routed header, it is not carried along a redirect to another site."""
        auth = self.shop_headers.basic_auth if self.shop_headers else None
        if self.shop_headers is None or auth is None:
            return None
        user, password = auth
        origin = self.shop_headers.origin_url
        return {"username": user, "password": password, "origin": origin, "send": "always"}

    async def _add_shop_headers(self, route: Route, request: Request) -> None:
        """The other staging headers (``headers_env``), on requests to the shop's origin."""
        assert self.shop_headers is not None
        extra = self.shop_headers.without_authorization()
        await route.fallback(headers={**await request.all_headers(), **extra})

    async def _guard_request(self, route: Route, request: Request) -> None:
        """Abort a request whose host the address guard refuses; let the others on."""
        assert self.url_guard is not None
        refusal = await _refusal(self.url_guard, request.url)
        with contextlib.suppress(PlaywrightError):  # the page went away meanwhile
            if refusal is None:
                await route.fallback()
                return
            await route.abort("blockedbyclient")

    async def _guard_web_socket(self, socket: WebSocketRoute) -> None:
        """Connect a page's WebSocket only to a host the address guard lets through."""
        assert self.url_guard is not None
        refusal = await _refusal(self.url_guard, socket.url)
        with contextlib.suppress(PlaywrightError):  # the page went away meanwhile
            if refusal is None:
                socket.connect_to_server()
                return
            await socket.close(code=WEBSOCKET_POLICY_VIOLATION, reason="refused by the address guard")

    async def _guard_redirects(self, context: BrowserContext, page: BrowserPage) -> None:
        """Playwright's routes see only the first URL of a redirect: the page's own DevTools
        session pauses every request, redirect hops included, for the same decision."""
        session = await context.new_cdp_session(page)
        deciding: set[asyncio.Future[None]] = set()

        def paused(event: dict[str, Any]) -> None:
            decision = asyncio.ensure_future(self._decide_paused(session, event))
            deciding.add(decision)
            decision.add_done_callback(deciding.discard)

        session.on("Fetch.requestPaused", paused)
        await session.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})

    async def _decide_paused(self, session: CDPSession, event: dict[str, Any]) -> None:
        assert self.url_guard is not None
        refusal = await _refusal(self.url_guard, str(event["request"]["url"]))
        request = {"requestId": event["requestId"]}
        with contextlib.suppress(PlaywrightError):  # the page went away meanwhile
            if refusal is None:
                await session.send("Fetch.continueRequest", request)
            else:
                await session.send("Fetch.failRequest", {**request, "errorReason": "BlockedByClient"})

    async def _recover(self, slot: _Slot) -> _Slot:
        """A working slot in place of ``slot``: a new page, or a relaunched browser."""
        async with self._relaunch_lock:
            if self._browser is None or not self._browser.is_connected():
                await self._launch()
            with contextlib.suppress(PlaywrightError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):  # a page stuck in a script
                    await slot.context.close()
            return await self._new_slot()

    async def _render_on(self, slot: _Slot, url: str) -> RenderedPage:
        page = slot.page
        started = time.monotonic()
        await page.goto(url, wait_until="domcontentloaded", timeout=self.nav_timeout * 1000)
        remaining = max(1.0, self.nav_timeout - (time.monotonic() - started))
        with contextlib.suppress(PlaywrightError):  # a slow script: measure what has loaded
            await page.wait_for_load_state("load", timeout=remaining * 1000)
        await asyncio.sleep(self.settle_s)
        measured = await page.evaluate(MEASURE_JS, MAX_OVERFLOWING)
        screenshot = await self._screenshot(page, url)
        links = _strings(await page.evaluate(LINKS_JS, MAX_LINKS), MAX_LINKS)
        shares = await _capture_share_targets(slot)
        return RenderedPage(
            url=url,
            viewport_width=PHONE_VIEWPORT["width"],
            scroll_width=_pixels(measured, "scroll_width"),
            client_width=_pixels(measured, "client_width"),
            overflowing=_overflowing(measured),
            screenshot=screenshot,
            links=links,
            share_targets=tuple(shares),
        )

    async def _screenshot(self, page: BrowserPage, url: str) -> str | None:
        if self.screenshot_dir is None:
            return None
        name = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16] + ".png"
        path = self.screenshot_dir / name
        await page.screenshot(path=str(path), timeout=self.nav_timeout * 1000)
        return str(path)


async def _refusal(url_guard: UrlGuard, url: str) -> str | None:
    """``url_guard``'s answer; a guard that cannot decide refuses rather than risk it."""
    try:
        return await url_guard(url)
    except Exception as exc:
        return f"refused: the address guard failed ({type(exc).__name__})"


async def _capture_share_targets(slot: _Slot) -> list[dict[str, str]]:
    """Click each share-looking control and record the URL it tries to open."""
    page = slot.page
    selectors = _strings(await page.evaluate(SHARE_CANDIDATES_JS, MAX_SHARE_CLICKS), MAX_SHARE_CLICKS)
    if not selectors:
        return []

    async def hold(route: Route, request: Request) -> None:
        if request.method != "GET" or request.is_navigation_request():
            await route.abort("blockedbyclient")  # nothing is sent, and the browser stays on the page
        else:
            await route.fallback()

    popups: list[BrowserPage] = []

    def keep_popup(popup: BrowserPage) -> None:
        popups.append(popup)

    await slot.context.route("**/*", hold)
    slot.context.on("page", keep_popup)
    try:
        return [t for i, sel in enumerate(selectors) for t in await _click(slot, i, sel)]
    finally:
        slot.context.remove_listener("page", keep_popup)
        await slot.context.unroute("**/*", hold)
        for popup in popups:
            await popup.close()


async def _click(slot: _Slot, index: int, selector: str) -> list[dict[str, str]]:
    opened = _strings(await slot.page.evaluate(CLICK_JS, index), MAX_SHARE_CLICKS)
    return [{"selector": selector, "url": url} for url in opened]


# What a page's scripts hand back is hostile: a page can redefine the properties and
# functions the in-page scripts read. Each value is checked before it is kept.


def _pixels(measured: Any, key: str) -> int:
    value = measured.get(key) if isinstance(measured, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < MAX_PIXELS:
        raise ValueError(f"the page reported an unusable {key}: {str(value)[:40]!r}")
    return int(value)


def _overflowing(measured: Any) -> tuple[dict[str, Any], ...]:
    items = measured.get("overflowing") if isinstance(measured, dict) else None
    kept = []
    for item in (items if isinstance(items, list) else [])[:MAX_OVERFLOWING]:
        if isinstance(item, dict) and isinstance(item.get("selector"), str):
            with contextlib.suppress(ValueError):
                right, width = _pixels(item, "right"), _pixels(item, "width")
                kept.append({"selector": item["selector"][:MAX_SELECTOR], "right": right, "width": width})
    return tuple(kept)


def _strings(values: Any, limit: int) -> tuple[str, ...]:
    listed = values if isinstance(values, list) else []
    return tuple(v[:MAX_URL] for v in listed[:limit] if isinstance(v, str))


def _failed(url: str, exc: BaseException | str) -> RenderedPage:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RenderedPage(
        url=url, viewport_width=PHONE_VIEWPORT["width"], scroll_width=0, client_width=0, error=message[:300]
    )
