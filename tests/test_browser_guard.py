"""The address guard in the browsers (issue 15): from a public shop, neither a rendered
page nor Lighthouse's page reaches a private address, by IP literal or by a name
that resolves to one, or through a redirect; with ``--allow-private`` they do.

Nothing leaves 127.0.0.1: the guard's blocked networks are narrowed to 127.0.0.2 and
127.0.0.3 (standing in for the office network), so a shop on 127.0.0.1 is a public
shop, and ``shop.test``/``inside.test`` are answered by the suite's DNS server.
Chromium finds ``shop.test`` through the ``--host-resolver-rules`` the guard gives
it; ``inside.test`` is refused before Chromium looks it up. Each page's script
tags its requests with who made them (``rendered``: the render's user agent names
shophealth; else ``lighthouse``), so the servers' logs tell the two browsers
apart; the HTTP crawl never runs the script.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import fast_config
from dns_server import serve_dns

from shophealth.checks.registry import Registry
from shophealth.crawler import resolver as resolver_module
from shophealth.crawler.browser import BrowserNotFound, find_browser
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.lighthouse import LighthouseNotFound, find_lighthouse
from shophealth.crawler.scan import SiteRun, scan_site
from shophealth.demo.server import RunningShop, serve_shop

TAG_JS = "const who = navigator.userAgent.includes('shophealth') ? 'rendered' : 'lighthouse';"


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        resolver_module,
        "BLOCKED_NETWORKS",
        tuple(ipaddress.ip_network(n) for n in ("127.0.0.2/32", "127.0.0.3/32", "169.254.0.0/16")),
    )


@pytest.fixture(scope="module")
def browsers() -> None:
    try:
        find_browser()
        find_lighthouse()
    except (BrowserNotFound, LighthouseNotFound) as exc:  # CI installs both through ./dev.sh
        pytest.skip(f"no Chromium or Lighthouse on this machine: {exc}")


@pytest.fixture
def inside(tmp_path: Path) -> Iterator[tuple[RunningShop, RunningShop]]:
    """Two servers in "the office network": on 127.0.0.2 and 127.0.0.3."""
    folder = tmp_path / "inside"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"not really a png")
    with ExitStack() as stack:
        yield (
            stack.enter_context(serve_shop(folder, "127.0.0.2")),
            stack.enter_context(serve_shop(folder, "127.0.0.3")),
        )


def _shop(root: Path, loads: list[str], hop_to: str | None = None) -> Path:
    """A one-page shop whose script loads ``loads`` (and its own ok.png), tagged by browser;
    its ``/hop.png`` redirects to ``hop_to``."""
    root.mkdir()
    images = "".join(f"new Image().src = '{url}?' + who;" for url in [*loads, "/ok.png"])
    (root / "index.html").write_text(
        '<html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Shop</title></head><body><h1>Shop</h1><script>{TAG_JS}{images}</script></body></html>"
    )
    (root / "ok.png").write_bytes(b"not really a png")
    if hop_to:
        (root / "routes.yaml").write_text(f"/hop.png: {{redirect: '{hop_to}', status: 302}}\n")
    return root


def _asked(server: RunningShop) -> set[str]:
    return {path for _, path in server.server.log}


async def _scan(url: str, registry: Registry, **changes: object) -> SiteRun:
    settings = {"render": "sample", "render_pages": 1, "lighthouse_pages": 1, "max_pages": 1, **changes}
    config = fast_config(**settings)
    return await scan_site(SiteConfig(url=url, config=config), registry)


async def test_browsers_of_a_public_shop_do_not_reach_private_addresses(
    browsers: None,
    loopback_is_public: None,
    inside: tuple[RunningShop, RunningShop],
    tmp_path: Path,
    registry: Registry,
) -> None:
    literal, named = inside
    port3 = named.url.rsplit(":", 1)[1].strip("/")
    loads = [literal.url + "x.png", f"http://inside.test:{port3}/x.png", "/hop.png"]
    root = _shop(tmp_path / "shop", loads, hop_to=literal.url + "hop-target.png")
    with serve_shop(root) as shop:
        port = shop.url.rsplit(":", 1)[1].strip("/")
        zone = {"shop.test": ("127.0.0.1",), "inside.test": ("127.0.0.3",)}
        with serve_dns(zone) as (nameserver, _):
            run = await _scan(
                f"http://shop.test:{port}/", registry, dns_servers=(nameserver,), dns_timeout=1.0
            )
    assert [r.error for r in run.evidence.rendered] == [None]
    asked = _asked(shop)
    assert {"/ok.png?rendered", "/ok.png?lighthouse", "/hop.png?rendered", "/hop.png?lighthouse"} <= asked
    assert _asked(literal) == set()
    assert _asked(named) == set()
    assert run.stats["browser_requests_refused"] >= 6  # three each, rendered and under Lighthouse


async def test_with_allow_private_the_browsers_reach_private_addresses(
    browsers: None,
    loopback_is_public: None,
    inside: tuple[RunningShop, RunningShop],
    tmp_path: Path,
    registry: Registry,
) -> None:
    literal, _ = inside
    root = _shop(tmp_path / "shop", [literal.url + "x.png"])
    with serve_shop(root) as shop:
        run = await _scan(shop.url, registry, allow_private=True)
    assert {"/x.png?rendered", "/x.png?lighthouse"} <= _asked(literal)
    assert run.stats["browser_requests_refused"] == 0


def _socket_shop(root: Path, socket_url: str) -> Path:
    """A one-page shop whose script opens a WebSocket to ``socket_url`` and registers a service worker."""
    root.mkdir()
    script = f"new WebSocket('{socket_url}'); navigator.serviceWorker.register('/sw.js');"
    (root / "index.html").write_text(
        '<html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Shop</title></head><body><h1>Shop</h1><script>{script}</script></body></html>"
    )
    (root / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    return root


@pytest.mark.parametrize("allow_private", [False, True])
async def test_rendered_pages_open_websockets_to_private_addresses_only_when_allowed(
    browsers: None,
    loopback_is_public: None,
    inside: tuple[RunningShop, RunningShop],
    tmp_path: Path,
    registry: Registry,
    allow_private: bool,
) -> None:
    literal, _ = inside
    socket_url = literal.url.replace("http://", "ws://") + "socket"
    with serve_shop(_socket_shop(tmp_path / "shop", socket_url)) as shop:
        run = await _scan(shop.url, registry, allow_private=allow_private, lighthouse_pages=0)
    assert [r.error for r in run.evidence.rendered] == [None]
    assert literal.requested("/socket") is allow_private
    assert shop.requested("/sw.js") is allow_private  # no service worker where requests are guarded
    assert (run.stats["browser_requests_refused"] >= 1) is not allow_private
