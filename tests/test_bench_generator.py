"""The benchmark's shop generator makes a shop of the stated shape, and nginx serves it so.

bench/ is not a package, so its modules are loaded from their files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
PAGES = 60


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


generator = _load("generate_shop")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "shop"
    manifest: dict[str, Any] = generator.generate_shop(out, pages=PAGES, seed=3, port=_free_port())
    return out, manifest


def _html_file(site: Path, path: str) -> Path:
    return site / "index.html" if path == "/" else site / (path.lstrip("/") + ".html")


def test_shop_has_the_asked_number_of_pages(shop: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = shop
    paths = manifest["page_paths"]
    assert len(paths) == len(set(paths)) == PAGES
    assert all(_html_file(out / "site", p).is_file() for p in paths)


def test_product_pages_are_realistic(shop: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = shop
    products = [p for p in manifest["page_paths"] if p.startswith("/products/")]
    assert len(products) > PAGES / 2
    for path in products:
        html = _html_file(out / "site", path).read_text()
        assert 40_000 <= len(html) <= 81_000
        assert 45 <= html.count("<a href=") <= 70
        assert '"@type": "Product"' in html and 'property="og:image"' in html


def test_external_links_stay_on_loopback(shop: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = shop
    html = "".join(f.read_text() for f in (out / "site" / "products").glob("*.html"))
    hosts = set(re.findall(r'href="http://([0-9.]+):\d+/', html)) - {"127.0.0.1"}
    assert len(hosts) > 10 and all(h.startswith("127.") for h in hosts)
    assert manifest["external_links"] > 100


def test_broken_targets_are_missing_and_linked(shop: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = shop
    broken = manifest["broken"]
    assert broken and {b["kind"] for b in broken} == {"link", "image"}
    for target in broken:
        path = target["url"].removeprefix(manifest["base"].rstrip("/"))
        assert not (out / "site" / path.lstrip("/")).exists()
        page = _html_file(out / "site", target["pages"][0]).read_text()
        assert f'"{path}"' in page


def test_robots_and_sitemap(shop: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = shop
    robots = (out / "site" / "robots.txt").read_text()
    assert "Disallow: /cart" in robots and "Sitemap: " in robots
    assert all(f"Disallow: {path}" in robots for path in manifest["robots_disallowed"])
    sitemap = (out / "site" / "sitemap.xml").read_text()
    assert sitemap.count("<loc>") == PAGES - 2  # all but /cart and /account/login
    assert "/cart<" not in sitemap


def test_same_seed_gives_the_same_shop(shop: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    out, manifest = shop
    again = generator.generate_shop(tmp_path / "again", pages=PAGES, seed=3, port=manifest["port"])
    assert again == manifest
    digest = hashlib.sha256
    for path in manifest["page_paths"][:10]:
        first = _html_file(out / "site", path).read_bytes()
        second = _html_file(tmp_path / "again" / "site", path).read_bytes()
        assert digest(first).digest() == digest(second).digest()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.skipif(
    shutil.which("nginx", path="/usr/sbin:/usr/bin") is None,
    reason="nginx is not installed (./dev.sh test installs it)",
)
def test_nginx_serves_pages_and_404s_the_seeded_targets(
    shop: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, manifest = shop
    runner = _load("run")
    base = manifest["base"].rstrip("/")
    with runner.serve(out, manifest["port"], None, tmp_path):
        assert all(_status(base + p) == 200 for p in manifest["page_paths"][:20])
        assert all(_status(b["url"]) == 404 for b in manifest["broken"])
        product = next((out / "site" / "products").glob("*.html")).read_text()
        external = re.search(r'href="(http://127\.0\.0\.\d+:\d+/[a-z]+/\d+)"', product)
        assert external is not None and _status(external.group(1)) == 200
