"""Generate the benchmark shop: a deterministic, static, Shopify-like web shop.

``generate_shop(out_dir, pages=2000, seed=7, port=18391)`` writes:

- ``site/``: the shop served at ``http://127.0.0.1:PORT/`` with clean URLs (nginx maps
  ``/products/x`` to ``products/x.html``): a home page, paginated collections, product
  pages of 40-80 KB (head with meta, Open Graph and a JSON-LD ``Product``, a nav of about
  30 links, a gallery, a related-products grid, reviews, a footer; about 60 links each),
  info pages, a journal, ``/cart`` and ``/account/login`` (robots-disallowed),
  ``robots.txt``, ``sitemap.xml``, product images and theme assets.
- ``ext/127.0.0.K/``: the "external" sites, on other loopback addresses of the same port,
  so that no request ever leaves 127.0.0.0/8. About 300 distinct external links.
- ``manifest.json``: the parameters, every HTML page path and every seeded broken target
  (about 1 % of the internal link targets plus 1 % of the external ones), so that a run can
  score what each tool found.

The same arguments always give byte-identical output. Run it as
``python bench/generate_shop.py OUT_DIR [--pages N] [--seed S] [--port P]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PER_PAGE = 48
RELATED = 12
GALLERY = 3
EXTERNAL_HOSTS = 30
LINKS_PER_HOST = 10
EXTERNAL_PER_PRODUCT = 4
INFO_PAGES = ("about-us", "contact", "shipping", "returns", "faq", "privacy-policy")
DISALLOWED_PAGES = ("cart", "account/login")
MANIFEST = "manifest.json"
# A 1x1 JPEG, so that images are real, tiny and served by nginx.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0"
    "000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc4"
    "00b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1"
    "c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a"
    "636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5"
    "b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda00"
    "08010100003f00fbd3ffd9"
)
VOCABULARY = (
    "soft organic cotton linen wool merino cashmere denim leather canvas recycled classic "
    "relaxed fit tailored cropped oversized lightweight breathable durable stitched woven "
    "knitted dyed washed brushed tapered straight wide hem collar sleeve pocket seam zip button "
    "waistband lining fabric texture colour shade tone navy olive sand stone charcoal ivory "
    "rust sage everyday weekend travel layering season summer winter autumn spring comfort "
    "quality craft detail finish design studio workshop small batch made responsibly sourced "
    "mill family care wash cold hang dry iron low gentle cycle size guide true to measure "
    "model wears height chest waist hip length inseam shoulder order ship delivery return "
    "exchange free within days gift wrap packaging plastic free paper box customer loved"
)
WORDS = tuple(VOCABULARY.split())
ADJECTIVES = ("Classic", "Relaxed", "Everyday", "Heritage", "Studio", "Coastal", "Urban", "Field")
MATERIALS = ("Linen", "Cotton", "Merino", "Denim", "Canvas", "Leather", "Cashmere", "Corduroy")
NOUNS = ("Shirt", "Tee", "Jacket", "Trousers", "Sweater", "Tote", "Scarf", "Cap", "Dress")
CATEGORY_NAMES = (
    "new-in", "best-sellers", "shirts", "t-shirts", "knitwear", "jackets", "coats", "trousers",
    "jeans", "shorts", "dresses", "skirts", "bags", "hats", "scarves", "socks", "shoes",
    "belts", "jewellery", "home", "gifts", "kids", "sale", "archive",
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    """One product: its index, URL slug, title, price and collection."""

    index: int
    slug: str
    title: str
    price: str
    category: str

    @property
    def path(self) -> str:
        return f"/products/{self.slug}"

    def image(self, k: int) -> str:
        return f"/cdn/images/p-{self.index}-{k}.jpg"


@dataclass(frozen=True)
class BrokenTarget:
    """A seeded broken target: absolute URL, kind (link or image) and where it is linked."""

    url: str
    kind: str
    pages: tuple[str, ...]


@dataclass
class Shop:
    """The planned shop, before any file is written."""

    pages: int
    seed: int
    port: int
    categories: list[str]
    products: list[Product]
    journal_posts: list[str]
    external_links: list[str]
    broken_external: list[str]
    broken_internal: dict[str, str]  # path -> kind
    journal: bool = False
    external_port: int = 0  # the external sites' port; the shop's own when 0
    # product index -> broken internal targets shown on that product page
    broken_on_product: dict[int, list[str]] = field(default_factory=dict)
    external_on_product: dict[int, list[str]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def collection_pages(self, category: str) -> int:
        size = sum(1 for p in self.products if p.category == category)
        return max(1, math.ceil(size / PER_PAGE))

    def page_paths(self) -> list[str]:
        """Every HTML page path reachable by links, in a stable order."""
        paths = ["/"]
        for cat in self.categories:
            paths.append(f"/collections/{cat}")
            paths += [f"/collections/{cat}/page/{k}" for k in range(2, self.collection_pages(cat) + 1)]
        paths += [p.path for p in self.products]
        paths += [f"/pages/{name}" for name in INFO_PAGES]
        if self.journal:
            paths.append("/blogs/journal")
            paths += [f"/blogs/journal/{slug}" for slug in self.journal_posts]
        paths += [f"/{name}" for name in DISALLOWED_PAGES]
        return paths


def _fixed_page_count(categories: int) -> int:
    return 1 + len(INFO_PAGES) + len(DISALLOWED_PAGES) + categories


def _plan_products(total: int, categories: int) -> int:
    """The largest product count whose shop (with its collection pages) fits in ``total``."""
    products = total - _fixed_page_count(categories)
    while products > 0:
        per_cat = math.ceil(products / categories)
        extra_pages = categories * (math.ceil(per_cat / PER_PAGE) - 1)
        if products + extra_pages + _fixed_page_count(categories) <= total:
            return products
        products -= 1
    raise ValueError(f"{total} pages are too few for a shop")


def _title(rng: random.Random) -> str:
    return f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(NOUNS)}"


def plan_shop(pages: int, seed: int, port: int, external_port: int = 0) -> Shop:
    """Decide every page, link and broken target of the shop, deterministically."""
    rng = random.Random(seed)
    fixed = _fixed_page_count(0)
    n_categories = min(len(CATEGORY_NAMES), max(2, (pages - fixed) // 3))
    categories = list(CATEGORY_NAMES[:n_categories])
    n_products = _plan_products(pages, n_categories)
    products = [
        Product(
            index=i,
            slug=f"{_title(rng).lower().replace(' ', '-')}-{i}",
            title=_title(rng),
            price=f"{rng.randint(15, 240)}.{rng.choice(('00', '50', '95'))}",
            category=categories[i % n_categories],
        )
        for i in range(n_products)
    ]
    shop = Shop(pages, seed, port, categories, products, [], [], [], {}, external_port=external_port or port)
    left = pages - len(shop.page_paths())
    shop.journal = left > 0
    shop.journal_posts = [f"journal-post-{k}" for k in range(left - 1)]
    _plan_external(shop, rng)
    _plan_broken(shop, rng)
    return shop


def _plan_external(shop: Shop, rng: random.Random) -> None:
    hosts = [f"127.0.0.{k}" for k in range(2, 2 + EXTERNAL_HOSTS)]
    links = [
        f"http://{host}:{shop.external_port}/{kind}/{n}"
        for h, host in enumerate(hosts)
        for n, kind in (
            (n, ("brand", "guide", "review", "press")[(h + n) % 4]) for n in range(LINKS_PER_HOST)
        )
    ]
    n_broken = max(1, round(len(links) / 100))
    broken = rng.sample(links, n_broken)
    shop.external_links = links
    shop.broken_external = [url + "-gone" for url in broken]
    pool = [*links, *shop.broken_external]
    for product in shop.products:
        start = (product.index * EXTERNAL_PER_PRODUCT) % len(pool)
        shop.external_on_product[product.index] = [
            pool[(start + k) % len(pool)] for k in range(EXTERNAL_PER_PRODUCT)
        ]


def _plan_broken(shop: Shop, rng: random.Random) -> None:
    """Seed about 1 % of the internal link targets as 404s: removed products, images, typos."""
    n_broken = max(3, round(shop.pages / 100))
    kinds = ["image" if k % 5 == 0 else "link" for k in range(n_broken)]
    chosen = rng.sample(shop.products, n_broken)
    for k, (kind, product) in enumerate(zip(kinds, chosen, strict=True)):
        path = (
            f"/cdn/images/missing-{k}.jpg"
            if kind == "image"
            else (f"/products/discontinued-{k}" if k % 2 else f"/pages/shiping-{k}")
        )
        shop.broken_internal[path] = kind
        shop.broken_on_product.setdefault(product.index, []).append(path)


# --- HTML -------------------------------------------------------------------------------


def _sentences(rng: random.Random, count: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(8, 20))).capitalize() + "." for _ in range(count)]


class Writer:
    """Renders the pages of one planned shop."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.rng = random.Random(shop.seed + 1)
        self.sentences = _sentences(self.rng, 3000)
        self.css = "\n".join(
            f".c{n}{{margin:{n % 7}px;padding:{n % 5}px;color:#{n * 7919 % 0xFFFFFF:06x}}}"
            for n in range(260)
        )

    def paragraph(self, sentences: int) -> str:
        return "<p>" + " ".join(self.rng.choices(self.sentences, k=sentences)) + "</p>"

    def head(self, title: str, path: str, description: str, image: str, extra: str = "") -> str:
        url = self.shop.base + path
        return f"""<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} | Field &amp; Loom</title>
<meta name="description" content="{description}">
<link rel="canonical" href="{url}">
<link rel="icon" href="/favicon.ico">
<meta property="og:site_name" content="Field &amp; Loom">
<meta property="og:url" content="{url}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="website">
<meta property="og:description" content="{description}">
<meta property="og:image" content="{self.shop.base}{image}">
<meta name="twitter:card" content="summary_large_image">
<link rel="stylesheet" href="/assets/theme.css">
<script src="/assets/theme.js" defer></script>
<style>{self.css}</style>
{extra}</head>
<body>"""

    def nav(self) -> str:
        items = [
            f'<li><a href="/collections/{c}">{c.replace("-", " ").title()}</a></li>'
            for c in self.shop.categories
        ]
        items += [f'<li><a href="/pages/{n}">{n.replace("-", " ").title()}</a></li>' for n in INFO_PAGES[:4]]
        return (
            '<header class="site-header"><a class="logo" href="/">Field &amp; Loom</a>'
            '<form action="/search" method="get" role="search"><input name="q" type="search"></form>'
            f'<nav aria-label="Main"><ul>{"".join(items)}</ul></nav>'
            '<a href="/account/login">Account</a> <a href="/cart">Cart (0)</a></header><main>'
        )

    def footer(self) -> str:
        links = [f'<a href="/pages/{n}">{n.replace("-", " ").title()}</a>' for n in INFO_PAGES]
        if self.shop.journal:
            links.append('<a href="/blogs/journal">Journal</a>')
        payment = self.shop.external_links[: 3 * LINKS_PER_HOST : LINKS_PER_HOST]
        links += [f'<a href="{u}" rel="noopener">Partner {n}</a>' for n, u in enumerate(payment)]
        return (
            '</main><footer class="site-footer">'
            f'<nav aria-label="Footer">{" | ".join(links)}</nav>'
            "<p>&copy; 2024 Field &amp; Loom. All prices include VAT.</p></footer></body></html>\n"
        )

    def card(self, product: Product) -> str:
        return (
            f'<li class="card"><a href="{product.path}"><img src="{product.image(0)}" '
            f'alt="{product.title}" width="400" height="500" loading="lazy">'
            f'<span>{product.title}</span></a><span class="price">EUR {product.price}</span></li>'
        )

    def product_page(self, product: Product) -> str:
        shop = self.shop
        description = " ".join(self.rng.choices(self.sentences, k=2))[:150]
        images = [product.image(k) for k in range(GALLERY)]
        ld = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": product.title,
            "sku": f"FL-{product.index:05d}",
            "image": [shop.base + i for i in images],
            "description": description,
            "brand": {"@type": "Brand", "name": "Field & Loom"},
            "offers": {
                "@type": "Offer",
                "url": shop.base + product.path,
                "priceCurrency": "EUR",
                "price": product.price,
                "availability": "https://schema.org/InStock",
            },
            "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.6", "reviewCount": "37"},
        }
        variants = [
            {"id": product.index * 100 + v, "title": f"Size {v}", "price": product.price, "available": True}
            for v in range(self.rng.randint(8, 30))
        ]
        extra = f'<script type="application/ld+json">{json.dumps(ld)}</script>\n'
        target = self.rng.randint(40_000, 80_000)
        related = [shop.products[(product.index + 1 + k * 7) % len(shop.products)] for k in range(RELATED)]
        broken = shop.broken_on_product.get(product.index, [])
        gallery = "".join(
            f'<img src="{i}" alt="{product.title} view {k}" width="800" height="1000">'
            for k, i in enumerate(images)
        )
        gallery += "".join(
            f'<img src="{p}" alt="{product.title} detail">' for p in broken if p.endswith(".jpg")
        )
        more = "".join(f'<li><a href="{p}">See also</a></li>' for p in broken if not p.endswith(".jpg"))
        external = "".join(
            f'<li><a href="{u}">{u.rsplit("/", 2)[-2].title()}</a></li>'
            for u in shop.external_on_product[product.index]
        )
        parts = [
            self.head(product.title, product.path, description, images[0], extra),
            self.nav(),
            f'<nav class="breadcrumb"><a href="/">Home</a> / <a href="/collections/{product.category}">'
            f"{product.category.title()}</a> / <span>{product.title}</span></nav>",
            f'<section class="product"><div class="gallery">{gallery}</div>',
            f'<h1>{product.title}</h1><p class="price">EUR {product.price}</p>',
            f'<script type="application/json" id="ProductJson">{json.dumps({"variants": variants})}</script>',
            '<form action="/cart/add" method="post"><button>Add to cart</button></form>',
            f'<div class="description">{self.paragraph(12)}{self.paragraph(10)}</div>',
            f'<ul class="more">{external}{more}</ul></section>',
            '<section class="related"><h2>You may also like</h2>',
            f'<ul class="grid">{"".join(self.card(p) for p in related)}</ul></section>',
            '<section class="reviews"><h2>Reviews</h2>',
        ]
        size = sum(len(p) for p in parts) + 400
        while size < target:
            heading = self.rng.choice(self.sentences)[:40]
            review = f'<article class="review"><h3>{heading}</h3>{self.paragraph(6)}</article>'
            parts.append(review)
            size += len(review)
        parts += ["</section>", self.footer()]
        return "".join(parts)

    def listing_page(self, title: str, path: str, products: list[Product], pager: str) -> str:
        image = products[0].image(0) if products else "/cdn/images/logo.jpg"
        intro = self.paragraph(4)
        grid = "".join(self.card(p) for p in products)
        return (
            self.head(title, path, title, image) + self.nav()
            + f'<h1>{title}</h1>{intro}<ul class="grid">{grid}</ul>{pager}' + self.footer()
        )  # fmt: skip

    def text_page(self, title: str, path: str, body: str = "") -> str:
        content = body or "".join(self.paragraph(8) for _ in range(6))
        return (
            self.head(title, path, title, "/cdn/images/logo.jpg")
            + self.nav()
            + f"<h1>{title}</h1>{content}"
            + self.footer()
        )

    def pages(self) -> Iterator[tuple[str, str]]:
        """Every HTML page as (URL path, HTML)."""
        shop = self.shop
        featured = shop.products[:24]
        yield "/", self.listing_page("Field & Loom", "/", featured, "")
        for cat in shop.categories:
            members = [p for p in shop.products if p.category == cat]
            count = shop.collection_pages(cat)
            for k in range(1, count + 1):
                path = f"/collections/{cat}" + (f"/page/{k}" if k > 1 else "")
                pager = " ".join(
                    f'<a href="/collections/{cat}{f"/page/{n}" if n > 1 else ""}">{n}</a>'
                    for n in range(1, count + 1)
                )
                chunk = members[(k - 1) * PER_PAGE : k * PER_PAGE]
                yield (
                    path,
                    self.listing_page(
                        cat.replace("-", " ").title(), path, chunk, f'<nav class="pager">{pager}</nav>'
                    ),
                )
        for product in shop.products:
            yield product.path, self.product_page(product)
        for name in INFO_PAGES:
            yield f"/pages/{name}", self.text_page(name.replace("-", " ").title(), f"/pages/{name}")
        if shop.journal:
            posts = "".join(f'<li><a href="/blogs/journal/{s}">{s}</a></li>' for s in shop.journal_posts)
            yield "/blogs/journal", self.text_page("Journal", "/blogs/journal", f"<ul>{posts}</ul>")
            for slug in shop.journal_posts:
                yield (
                    f"/blogs/journal/{slug}",
                    self.text_page(slug.replace("-", " ").title(), f"/blogs/journal/{slug}"),
                )
        for name in DISALLOWED_PAGES:
            yield f"/{name}", self.text_page(name.title(), f"/{name}", "<p>Your cart is empty.</p>")


# --- files ------------------------------------------------------------------------------


def _write(root: Path, path: str, data: bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _html_file(path: str) -> str:
    return "/index.html" if path == "/" else path + ".html"


def _robots(shop: Shop) -> str:
    disallow = "".join(f"Disallow: /{name.split('/')[0]}\n" for name in DISALLOWED_PAGES)
    return f"User-agent: *\n{disallow}Disallow: /search\n\nSitemap: {shop.base}/sitemap.xml\n"


def _sitemap(shop: Shop, paths: list[str]) -> str:
    allowed = [p for p in paths if p.strip("/") not in DISALLOWED_PAGES]
    urls = "".join(f"<url><loc>{shop.base}{p}</loc></url>\n" for p in allowed)
    namespace = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{namespace}">\n{urls}</urlset>\n'


def _external_page(url: str) -> str:
    return f"<!doctype html><html><head><title>Partner</title></head><body><p>{url}</p></body></html>\n"


def write_shop(shop: Shop, out_dir: Path) -> dict[str, Any]:
    """Write the site, the external sites and the manifest; return the manifest."""
    site, ext = out_dir / "site", out_dir / "ext"
    writer = Writer(shop)
    html_bytes = 0
    for path, html in writer.pages():
        data = html.encode()
        html_bytes += len(data)
        _write(site, _html_file(path), data)
    _write(site, "/search.html", writer.text_page("Search", "/search").encode())
    for product in shop.products:
        for k in range(GALLERY):
            _write(site, product.image(k), JPEG)
    _write(site, "/cdn/images/logo.jpg", JPEG)
    _write(site, "/favicon.ico", JPEG)
    _write(site, "/assets/theme.css", writer.css.encode())
    _write(site, "/assets/theme.js", b"document.documentElement.classList.add('js');\n")
    paths = shop.page_paths()
    _write(site, "/robots.txt", _robots(shop).encode())
    _write(site, "/sitemap.xml", _sitemap(shop, paths).encode())
    for url in shop.external_links:
        host_path = url.removeprefix("http://").replace(f":{shop.external_port}", "", 1)
        _write(ext, f"/{host_path}.html", _external_page(url).encode())
    manifest = _manifest(shop, paths, html_bytes)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _broken_targets(shop: Shop) -> list[BrokenTarget]:
    on_pages: dict[str, list[str]] = {}
    for product in shop.products:
        targets = shop.broken_on_product.get(product.index, []) + [
            u for u in shop.external_on_product[product.index] if u in shop.broken_external
        ]
        for target in targets:
            on_pages.setdefault(target, []).append(product.path)
    return [
        BrokenTarget(
            url=target if target.startswith("http") else shop.base + target,
            kind=shop.broken_internal.get(target, "link"),
            pages=tuple(pages),
        )
        for target, pages in sorted(on_pages.items())
    ]


def _manifest(shop: Shop, paths: list[str], html_bytes: int) -> dict[str, Any]:
    broken = _broken_targets(shop)
    return {
        "pages": shop.pages,
        "seed": shop.seed,
        "port": shop.port,
        "base": shop.base + "/",
        "products": len(shop.products),
        "html_bytes": html_bytes,
        "external_links": len({u for urls in shop.external_on_product.values() for u in urls}),
        "external_hosts": EXTERNAL_HOSTS,
        "robots_disallowed": [
            line.split(": ")[1] for line in _robots(shop).splitlines() if line.startswith("Disallow")
        ],
        "broken": [{"url": b.url, "kind": b.kind, "pages": list(b.pages)} for b in broken],
        "page_paths": paths,
    }


def generate_shop(
    out_dir: Path, pages: int = 2000, seed: int = 7, port: int = 18391, external_port: int = 0
) -> dict[str, Any]:
    """Generate the shop into ``out_dir`` (replacing what is there) and return its manifest.
    ``external_port``: where its external sites are (the shop's port when 0), so that
    several shops on different ports can link to the same external hosts (bench/nightly.py)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    return write_shop(plan_shop(pages, seed, port, external_port), out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=18391)
    args = parser.parse_args()
    manifest = generate_shop(args.out_dir, args.pages, args.seed, args.port)
    pages, size = len(manifest["page_paths"]), manifest["html_bytes"]
    print(f"{pages} pages, {size} bytes of HTML in {args.out_dir}")


if __name__ == "__main__":
    main()
