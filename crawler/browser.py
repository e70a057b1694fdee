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

The browser is found, not assumed (:func:`find_browser`): a configured path or
``$SHOPHEALTH_CHROMIUM``, then Playwright's own Chromium, then the system's. With
none, :class:`BrowserNotFound` says so and the scan marks ``rendered`` missing.
A crashed page is replaced and a disconnected browser relaunched; a page that
cannot be rendered gives a ``RenderedPage`` with ``error`` set, never an exception.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Playwright,
    Request,
    Route,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as BrowserPage

from shophealth.crawler.evidence import RenderedPage

BROWSER_ENV = "SHOPHEALTH_CHROMIUM"
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Without the background-networking flags Debian's Chromium stalls on a machine with no internet.
# Chromium's own sandbox stays on, except as root, where Chromium will not start with it
# (see chromium_args); the shop's scripts run only inside this browser.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
PHONE_VIEWPORT = {"width": 375, "height": 812}


def chromium_args() -> tuple[str, ...]:
    """The flags Chromium is started with, ``--no-sandbox`` only when running as root."""
    return ("--no-sandbox", *CHROMIUM_ARGS) if os.geteuid() == 0 else CHROMIUM_ARGS


MOBILE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1 shophealth"
)
MAX_OVERFLOWING = 10
MAX_SHARE_CLICKS = 10
MAX_LINKS = 2000

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
    window.__shophealthOpened.push(event.destination.url);
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
  const edge = root.clientWidth;
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
  return {scroll_width: root.scrollWidth, client_width: edge, overflowing: found};
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
  const hint = /(^|[^a-z])(share|sharer|facebook|fb|twitter|tweet|whatsapp|line|weibo|telegram|pinterest|linkedin|x-share)([^a-z]|$)/i;
  __PATH_JS__
  const described = (el) => [el.className && el.className.baseVal === undefined ? el.className : '',
    el.id, el.getAttribute('aria-label') || '', el.getAttribute('title') || '',
    ...Array.from(el.attributes).filter((a) => a.name.startsWith('data-'))
      .map((a) => a.name + ' ' + a.value)].join(' ');
  const dataShare = (el) => Array.from(el.attributes).some((a) => a.name.startsWith('data-share'));
  const hinted = [], plain = [];
  for (const el of document.querySelectorAll('a, button, [role=button], [data-share], [onclick]')) {
    const href = el.tagName === 'A' ? (el.getAttribute('href') || '').trim() : null;
    const deadLink = href !== null && (href === '#' || href === '' || href.startsWith('javascript:'));
    const control = deadLink || el.tagName === 'BUTTON' || el.getAttribute('role') === 'button';
    if (dataShare(el) || (control && hint.test(described(el)))) hinted.push(el);
    else if (deadLink) plain.push(el);
  }
  const chosen = hinted.concat(plain).slice(0, limit);
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


class NotConfigured(Exception):
    """A tool the scan needs is not installed; the message says what and how to get it."""


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
        nav_timeout: float = 20.0,
        settle_s: float = 0.15,
        user_agent: str = MOBILE_USER_AGENT,
    ) -> None:
        self.executable = executable
        self.size = max(1, size)
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir else None
        self.nav_timeout = nav_timeout
        self.settle_s = settle_s
        self.user_agent = user_agent
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
        """Render ``url`` at the phone viewport; failures come back in ``error``."""
        slot = await self._take_slot()
        try:
            return await self._render_on(slot, url)
        except (PlaywrightError, TimeoutError) as exc:
            slot = await self._recover(slot)  # a failed page may still navigate to an error page
            return _failed(url, exc)
        finally:
            self._slots.put_nowait(slot)

    async def _launch(self) -> None:
        assert self._playwright is not None
        self._browser = await self._playwright.chromium.launch(
            executable_path=self.executable, args=list(chromium_args()), headless=True
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
            ignore_https_errors=True,
        )
        await context.add_init_script(OPEN_RECORDER)
        page = await context.new_page()
        page.set_default_timeout(self.nav_timeout * 1000)
        slot = _Slot(context, page, self._generation)
        page.on("crash", lambda _page: setattr(slot, "crashed", True))
        return slot

    async def _take_slot(self) -> _Slot:
        slot = await self._slots.get()
        if slot.generation != self._generation or slot.crashed or slot.page.is_closed():
            slot = await self._recover(slot)
        return slot

    async def _recover(self, slot: _Slot) -> _Slot:
        """A working slot in place of ``slot``: a new page, or a relaunched browser."""
        async with self._relaunch_lock:
            if self._browser is None or not self._browser.is_connected():
                await self._launch()
            with contextlib.suppress(PlaywrightError):
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
        measured: dict[str, Any] = await page.evaluate(MEASURE_JS, MAX_OVERFLOWING)
        screenshot = await self._screenshot(page, url)
        links: list[str] = await page.evaluate(LINKS_JS, MAX_LINKS)
        shares = await _capture_share_targets(slot)
        return RenderedPage(
            url=url,
            viewport_width=PHONE_VIEWPORT["width"],
            scroll_width=int(measured["scroll_width"]),
            client_width=int(measured["client_width"]),
            overflowing=tuple(measured["overflowing"]),
            screenshot=screenshot,
            links=tuple(links),
            share_targets=tuple(shares),
        )

    async def _screenshot(self, page: BrowserPage, url: str) -> str | None:
        if self.screenshot_dir is None:
            return None
        name = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16] + ".png"
        path = self.screenshot_dir / name
        await page.screenshot(path=str(path), timeout=self.nav_timeout * 1000)
        return str(path)


async def _capture_share_targets(slot: _Slot) -> list[dict[str, str]]:
    """Click each share-looking control and record the URL it tries to open."""
    page = slot.page
    selectors: list[str] = await page.evaluate(SHARE_CANDIDATES_JS, MAX_SHARE_CLICKS)
    if not selectors:
        return []

    async def hold(route: Route, request: Request) -> None:
        if request.is_navigation_request():
            await route.fulfill(status=204)  # "No Content": the browser stays on the page
        else:
            await route.continue_()

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
    opened: list[str] = await slot.page.evaluate(CLICK_JS, index)
    return [{"selector": selector, "url": url} for url in opened]


def _failed(url: str, exc: BaseException) -> RenderedPage:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return RenderedPage(
        url=url, viewport_width=PHONE_VIEWPORT["width"], scroll_width=0, client_width=0, error=message[:300]
    )
