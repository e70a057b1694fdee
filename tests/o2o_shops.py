"""Fixture shops for the privacy, social and content checks (``fixtures/test_shops/o2o/``).

Each shop is a folder of pages written like its platform's output (Shopify in
Chinese, WooCommerce in English, Magento in English and Chinese, a custom
OpenCart-style shop in Chinese with ``index.php?route=…`` addresses). A page is
its ``<main>`` part with a YAML header (``title``, ``path``, ``body_class``,
``head`` and any words the layout uses); ``_layout.html`` wraps it, as the
platform's theme does. Tests change a page with :func:`changed` to seed one
problem, then judge the pages as evidence literals (:func:`evidence_of`, fast)
or serve them (:func:`write_shop`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from conftest import TEST_SHOPS

from shophealth.crawler.evidence import LinkResult, RenderedPage, SiteEvidence
from shophealth.crawler.parse import page_from_body

O2O_SHOPS = TEST_SHOPS / "o2o"
HOSTS = {
    "shopify_zh": "https://harbourhome.com.hk",
    "woo_en": "https://kowloonkitchen.hk",
    "magento_bi": "https://www.lantaulinen.com",
    "custom_tc": "https://www.peakteahouse.hk",
}
Pages = dict[str, str]  # path -> HTML


def render_shop(name: str) -> Pages:
    """Every page of the shop, wrapped in its layout, by path."""
    folder = O2O_SHOPS / name
    layout = (folder / "_layout.html").read_text("utf-8")
    pages = {}
    for file in sorted(folder.rglob("*.html")):
        if file.name == "_layout.html":
            continue
        _, header, main = file.read_text("utf-8").split("---\n", 2)
        fields: dict[str, str] = defaultdict(str, {k: str(v) for k, v in yaml.safe_load(header).items()})
        path = fields["path"]
        fields.update(main=main, **_language_paths(path))
        pages[path] = layout.format_map(fields)
    return pages


def _language_paths(path: str) -> dict[str, str]:
    lang = path.split("/")[1] if path.startswith(("/en/", "/zh-hk/")) else ""
    return {
        "home": f"/{lang}/" if lang else "/",
        "path_en": path.replace("/zh-hk/", "/en/"),
        "path_zh": path.replace("/en/", "/zh-hk/"),
    }


def changed(pages: Pages, path: str, old: str | None = None, new: str = "") -> Pages:
    """A copy of ``pages`` with ``old`` replaced by ``new`` on one page (on every page that has it
    for ``"*"``), or the page left out when ``old`` is None."""
    result = dict(pages)
    if old is None:
        del result[path]
        return result
    keys = [key for key in result if old in result[key]] if path == "*" else [path]
    for key in keys:
        assert old in result[key], f"{old!r} not on {key}"
        result[key] = result[key].replace(old, new)
    assert keys, f"{old!r} is on no page"
    return result


def evidence_of(
    pages: Pages,
    host: str,
    statuses: dict[str, int] | None = None,
    links: dict[str, LinkResult] | None = None,
    rendered: tuple[RenderedPage, ...] = (),
) -> SiteEvidence:
    """The pages as a crawl would have gathered them from ``host`` (home first), with the
    given answers (``statuses`` by path), link verdicts and rendered pages."""
    ordered = sorted(pages, key=lambda p: (p.count("/"), p))
    statuses = statuses or {}
    crawled = tuple(
        page_from_body(host + path, pages[path].encode(), status=statuses.get(path, 200)) for path in ordered
    )
    home = host + ordered[0]
    return SiteEvidence(site=home, home=home, pages=crawled, links=links or {}, rendered=rendered)


def write_shop(pages: Pages, folder: Path, host: str) -> None:
    """The pages as static files, served by :func:`shophealth.demo.server.serve_shop`: links
    and images on ``host`` made relative, so the crawl stays on the loopback server; the
    canonical link still names ``host``, as a staging copy of a shop does."""
    for path, html in pages.items():
        target = folder / urlsplit(path).path.lstrip("/")
        if path.endswith("/"):
            target = target / "index.html"
        elif not target.suffix:
            target = target.with_suffix(".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        local = html.replace(f'href="{host}', 'href="').replace(f'src="//{urlsplit(host).netloc}', 'src="')
        local = local.replace('<link rel="canonical" href="', f'<link rel="canonical" href="{host}')
        target.write_text(local, "utf-8")
