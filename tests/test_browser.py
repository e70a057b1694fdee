"""The browser pool against a real Chromium and small pages served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as BrowserPage

from shophealth.crawler.browser import (
    BROWSER_ENV,
    BrowserNotFound,
    BrowserPool,
    find_browser,
)
from shophealth.crawler.chromium import ShopHeaders
from shophealth.crawler.evidence import Page
from shophealth.crawler.pagekind import page_kind
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.sampling import choose_lighthouse_sample, choose_render_sample
from shophealth.demo.server import serve_app

PHONE = '<meta name="viewport" content="width=device-width, initial-scale=1">'

PAGES: dict[str, str] = {
    "/no-viewport.html": "<html><body><h1>Harbour Home Goods</h1><p>Tea towels</p></body></html>",
    "/fixed.html": f"""<html><head>{PHONE}</head><body style="margin:0">
        <div id="wrapper" style="width:1200px"><div class="grid"><p>Fixed desktop layout</p>
        </div></div></body></html>""",
    "/responsive.html": f"""<html><head>{PHONE}<style>
        .carousel {{ overflow: hidden; width: 100%; }}
        .strip {{ width: 2000px; display: flex; }}
        .drawer {{ position: fixed; top: 0; left: 100%; width: 300px; height: 100%; }}
        img {{ max-width: 100%; }}
        </style></head><body style="margin:0">
        <div class="carousel"><div class="strip"><span>slide 1</span><span>slide 2</span></div></div>
        <nav class="drawer"><a href="/cart">Cart</a></nav>
        <p>A page that fits a phone.</p></body></html>""",
    "/js-menu.html": f"""<html><head>{PHONE}</head><body><nav id="menu"></nav>
        <script>
        fetch('/menu.json').then((r) => r.json()).then((items) => {{
          const nav = document.getElementById('menu');
          for (const item of items) {{
            const a = document.createElement('a');
            a.href = item.href; a.textContent = item.name; nav.appendChild(a);
          }}
        }});
        </script></body></html>""",
    "/share.html": f"""<html><head>{PHONE}</head><body>
        <a href="#" class="social-share facebook" id="fb"
           onclick="window.open('https://www.facebook.com/sharer/sharer.php?u='
             + encodeURIComponent(location.href), 'share', 'width=600'); return false;">Share</a>
        <button type="button" data-share-url="https://wa.me/?text=Tea%20towels" id="wa"
           onclick="location.href = this.dataset.shareUrl">WhatsApp</button>
        <a href="#" id="top">Back to top</a>
        </body></html>""",
    "/busy.html": f"""<html><head>{PHONE}</head><body><p>Spins</p>
        <script>setTimeout(() => {{ for (;;) {{}} }}, 50)</script></body></html>""",
    "/lying.html": f"""<html><head>{PHONE}</head><body style="margin:0"><p>Lies about its width</p>
        <script>
        Object.defineProperty(document.documentElement, 'scrollWidth', {{get() {{ return 'wide'; }}}});
        Object.defineProperty(document.documentElement, 'clientWidth', {{get() {{ return {{}}; }}}});
        </script></body></html>""",
    "/product.html": f"""<html><head>{PHONE}</head><body><div class="product-card">
        <button type="button" class="line-clamp-1" id="add"
           onclick="fetch('/api/cart/add', {{method: 'POST', body: 'sku=1'}})">Add to cart</button>
        </div>
        <div class="social-links"><a href="#" class="icon line" id="line"
           onclick="navigator.sendBeacon('/api/track', 'share'); window.open('https://line.me/R/msg/text/?'
             + encodeURIComponent(location.href)); return false;">LINE</a></div>
        <form method="post" action="/api/newsletter"><button class="share-by-mail" id="mail">Share</button></form>
        </body></html>""",
}
MENU_JSON = '[{"href": "/products/teapot", "name": "Teapot"}, {"href": "/products/mug", "name": "Mug"}]'


ASKED: list[tuple[str, str]] = []  # (method, path) of every request the test site answered


async def serve_page(request: web.Request) -> web.Response:
    ASKED.append((request.method, request.path))
    if request.method != "GET":
        return web.Response(text="changed", status=201)
    if request.path == "/menu.json":
        await asyncio.sleep(0.05)  # the menu arrives after the page's load event
        return web.Response(text=MENU_JSON, content_type="application/json")
    html = PAGES.get(request.path)
    if html is None:
        raise web.HTTPNotFound()
    return web.Response(text=html, content_type="text/html")


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", serve_page)
    async with serve_app(app) as url:
        yield url.rstrip("/")


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_browser()
    except BrowserNotFound as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
async def pool(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BrowserPool]:
    shots = tmp_path_factory.mktemp("screenshots")
    async with BrowserPool(chromium, size=2, screenshot_dir=shots, nav_timeout=10) as pool:
        yield pool


def test_configured_browser_that_does_not_exist_is_refused() -> None:
    with pytest.raises(BrowserNotFound, match="not an executable"):
        find_browser("/nowhere/chromium")


def test_browser_from_environment_comes_first(chromium: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BROWSER_ENV, chromium)
    assert find_browser() == chromium
    monkeypatch.setenv(BROWSER_ENV, "/nowhere/chrome")
    with pytest.raises(BrowserNotFound):
        find_browser()


def test_no_browser_anywhere_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BROWSER_ENV, raising=False)
    monkeypatch.setattr("shophealth.crawler.browser._playwright_chromium", lambda: None)
    monkeypatch.setattr("shophealth.crawler.browser.shutil.which", lambda name: None)
    with pytest.raises(BrowserNotFound, match="apt-get install chromium"):
        find_browser()


async def test_browser_that_does_not_start_is_not_configured(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(BrowserNotFound, match="did not start"):
        async with BrowserPool(str(fake)):
            pass


async def test_page_without_viewport_is_laid_out_wider_than_the_phone(pool: BrowserPool, site: str) -> None:
    rendered = await pool.render(f"{site}/no-viewport.html")
    assert rendered.error is None
    assert rendered.viewport_width == 375
    assert rendered.client_width == 980


async def test_fixed_layout_scrolls_sideways_and_names_the_element(pool: BrowserPool, site: str) -> None:
    rendered = await pool.render(f"{site}/fixed.html")
    assert rendered.client_width == 375
    assert rendered.scroll_width >= 1200
    assert [e["selector"] for e in rendered.overflowing] == ["div#wrapper"]
    assert rendered.overflowing[0]["right"] == 1200


async def test_responsive_page_with_carousel_and_drawer_stays_clean(pool: BrowserPool, site: str) -> None:
    rendered = await pool.render(f"{site}/responsive.html")
    assert (rendered.scroll_width, rendered.client_width) == (375, 375)
    assert rendered.overflowing == ()


async def test_screenshot_is_a_png_in_the_folder(pool: BrowserPool, site: str) -> None:
    rendered = await pool.render(f"{site}/responsive.html")
    assert rendered.screenshot is not None
    assert Path(rendered.screenshot).read_bytes().startswith(b"\x89PNG")
    assert Path(rendered.screenshot).parent == pool.screenshot_dir


async def test_links_built_by_javascript_are_found_only_when_rendered(pool: BrowserPool, site: str) -> None:
    url = f"{site}/js-menu.html"
    static = page_from_body(url, PAGES["/js-menu.html"].encode())
    assert not [r for r in static.refs if r.tag == "a"]
    rendered = await pool.render(url)
    assert set(rendered.links) == {f"{site}/products/teapot", f"{site}/products/mug"}


async def test_share_targets_opened_by_javascript_are_captured(pool: BrowserPool, site: str) -> None:
    url = f"{site}/share.html"
    rendered = await pool.render(url)
    assert rendered.error is None
    targets = {t["selector"]: t["url"] for t in rendered.share_targets}
    assert targets == {
        "a#fb": "https://www.facebook.com/sharer/sharer.php?u=" + url.replace(":", "%3A").replace("/", "%2F"),
        "button#wa": "https://wa.me/?text=Tea%20towels",
    }
    again = await pool.render(f"{site}/responsive.html")  # the page was not navigated away
    assert again.error is None and again.share_targets == ()


async def test_only_share_controls_are_clicked_and_nothing_is_sent_but_gets(
    pool: BrowserPool, site: str
) -> None:
    url = f"{site}/product.html"
    rendered = await pool.render(url)
    assert rendered.error is None
    assert [(t["selector"], t["url"]) for t in rendered.share_targets] == [
        ("a#line", "https://line.me/R/msg/text/?" + url.replace(":", "%3A").replace("/", "%2F"))
    ]
    assert [(m, p) for m, p in ASKED if m != "GET"] == []
    assert not any(p.startswith("/api/") for _, p in ASKED)


async def test_unreachable_page_gives_an_error_not_an_exception(pool: BrowserPool) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    rendered = await pool.render(f"http://127.0.0.1:{port}/nothing-listens-here")
    assert rendered.error is not None
    assert "ERR_CONNECTION_REFUSED" in rendered.error


async def test_a_page_stuck_in_a_script_is_cut_off_and_gives_its_slot_back(chromium: str, site: str) -> None:
    async with BrowserPool(chromium, size=1, nav_timeout=2) as small, asyncio.timeout(60):
        stuck = await small.render(f"{site}/busy.html")
        assert stuck.error == "the page did not finish rendering within 4 s"
        after = await small.render(f"{site}/fixed.html")  # the only slot, given back working
    assert after.error is None and after.scroll_width >= 1200


async def test_a_page_that_redefines_its_widths_is_measured_or_fails_alone(
    pool: BrowserPool, site: str
) -> None:
    rendered = await pool.render(f"{site}/lying.html")
    assert (rendered.error, rendered.client_width, rendered.scroll_width) == (None, 375, 375)


async def _crash(context: BrowserContext, page: BrowserPage) -> None:
    cdp = await context.new_cdp_session(page)
    async with page.expect_event("crash", timeout=5000):
        with contextlib.suppress(PlaywrightError, TimeoutError):  # a crashed page never answers
            await asyncio.wait_for(cdp.send("Page.crash"), 0.3)


async def test_crashed_pages_and_closed_browser_are_replaced(pool: BrowserPool, site: str) -> None:
    slots = list(pool._slots._queue)  # type: ignore[attr-defined]
    await asyncio.gather(*(_crash(slot.context, slot.page) for slot in slots))
    assert all(slot.crashed for slot in slots)
    assert (await pool.render(f"{site}/responsive.html")).error is None
    assert pool._browser is not None
    await pool._browser.close()  # as if Chromium died
    rendered = await asyncio.gather(*(pool.render(f"{site}/fixed.html") for _ in range(3)))
    assert all(r.error is None and r.scroll_width >= 1200 for r in rendered)


async def test_warm_pool_renders_a_page_well_under_a_second(pool: BrowserPool, site: str) -> None:
    urls = [f"{site}{path}" for path in PAGES if path != "/busy.html"] * 2
    started = time.perf_counter()
    rendered = await asyncio.gather(*(pool.render(u) for u in urls))
    per_page_ms = (time.perf_counter() - started) * 1000 / len(urls)
    print(f"\nwarm pool (size {pool.size}): {per_page_ms:.0f} ms per rendered page")
    assert [(r.url, r.error) for r in rendered if r.error] == []
    assert per_page_ms < 1000


def _page(url: str, lang: str = "en", og_type: str | None = None, types: tuple[str, ...] = ()) -> Page:
    html = f'<html lang="{lang}"><head><title>t</title>'
    if og_type:
        html += f'<meta property="og:type" content="{og_type}">'
    for t in types:
        html += f'<script type="application/ld+json">{{"@type": "{t}"}}</script>'
    return page_from_body(url, (html + "</head><body></body></html>").encode())


SHOP = [
    _page("https://shop.example/"),
    _page("https://shop.example/collections/kitchen"),
    *[_page(f"https://shop.example/item-{i}", types=("Product",)) for i in range(5)],
    _page("https://shop.example/cart"),
    _page("https://shop.example/pages/privacy-policy"),
    _page("https://shop.example/pages/contact"),
    _page("https://shop.example/blog/news"),
    _page("https://shop.example/zh-hk/blog/news", lang="zh-HK"),
]


def test_page_kinds_come_from_facts_and_urls() -> None:
    kinds = [page_kind(p) for p in SHOP]
    assert kinds == ["home", "category", *["product"] * 5, "cart", "policy", "contact", "blog", "blog"]


def test_render_sample_covers_each_kind_and_language() -> None:
    sample = choose_render_sample(SHOP, limit=10)
    assert sample == [
        "https://shop.example/",
        "https://shop.example/collections/kitchen",
        "https://shop.example/item-0",
        "https://shop.example/item-1",
        "https://shop.example/item-2",
        "https://shop.example/cart",
        "https://shop.example/pages/privacy-policy",
        "https://shop.example/pages/contact",
        "https://shop.example/zh-hk/blog/news",
        "https://shop.example/item-3",
    ]
    assert choose_render_sample(SHOP, limit=3) == sample[:3]
    assert len(choose_render_sample(SHOP, limit=len(SHOP))) == len(SHOP)  # --render all


def test_lighthouse_sample_is_one_page_per_template() -> None:
    assert choose_lighthouse_sample(SHOP) == [
        "https://shop.example/",
        "https://shop.example/collections/kitchen",
        "https://shop.example/item-0",
    ]


def test_shop_headers_apply_to_the_shop_origin_only() -> None:
    token = "Basic " + base64.b64encode(b"user:pa:ss").decode()
    shop = ShopHeaders.for_site("https://Shop.example/zh/", {"Authorization": token, "X-Bypass": "1"})
    assert shop is not None
    assert shop.applies_to("https://shop.example:443/cart") and shop.applies_to("https://SHOP.example/")
    for elsewhere in ("http://shop.example/", "https://shop.example:8443/", "https://cdn.shop.example/"):
        assert not shop.applies_to(elsewhere)
    assert shop.origin_url == "https://shop.example"
    assert shop.basic_auth == ("user", "pa:ss")
    assert shop.without_authorization() == {"X-Bypass": "1"}
    assert ShopHeaders.for_site("http://127.0.0.1:8080/", {"X": "1"}).origin_url == "http://127.0.0.1:8080"  # type: ignore[union-attr]
    assert ShopHeaders.for_site("https://shop.example/", {}) is None
