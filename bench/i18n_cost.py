"""What the i18n.* checks cost per page, beside errors.* (a measurement, not a test).

Judges pages built from files on disk, as the crawler builds them, with the
``i18n.*`` checks and, for scale, the ``errors.*`` checks (whose cost the
benchmark already includes). Caches are emptied before each round, so every
page is new to the checks; the best of ``--rounds`` is printed. Lingua's
models are loaded before timing (a scan pays that once: ~0.3 s).

    .venv/bin/python bench/i18n_cost.py                       # 300 pages of the benchmark shop
    .venv/bin/python bench/i18n_cost.py --glob '../shared/realworld/clean/**/*.html'
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from shophealth.checks import i18n
from shophealth.checks.base import Check
from shophealth.checks.errors import CHECKS as ERROR_CHECKS
from shophealth.checks.i18n_lang import _identify, identify
from shophealth.crawler.evidence import Page, SiteEvidence
from shophealth.crawler.parse import page_from_body

SITE = "http://127.0.0.1:18391/"


def benchmark_pages(count: int) -> list[Path]:
    sys.path.insert(0, str(Path(__file__).parent))
    from generate_shop import generate_shop

    out = Path(tempfile.mkdtemp(prefix="i18n-cost-"))
    generate_shop(out, pages=count)
    return sorted((out / "site").rglob("*.html"))[:count]


def per_page_ms(checks: Sequence[Check], pages: tuple[Page, ...], rounds: int) -> float:
    evidence = SiteEvidence(site=SITE, home=SITE, pages=pages)
    best = float("inf")
    for _ in range(rounds):
        for cache in (i18n._page_blocks, i18n._screen, i18n._dominant_script, _identify):
            cache.cache_clear()
        started = time.perf_counter()
        for check in checks:
            list(check.run(evidence, dict(check.defaults)))
        best = min(best, (time.perf_counter() - started) / len(pages) * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glob", help="judge these files instead of the generated shop's pages")
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    files = sorted(Path().glob(args.glob)) if args.glob else benchmark_pages(args.pages)
    pages = tuple(page_from_body(SITE + f"p{n}", path.read_bytes()) for n, path in enumerate(files))
    for sample in ("An English sentence to load the models.", "載入中文模型的一句說話。"):
        identify(sample)
    i18n_ms = per_page_ms(i18n.CHECKS, pages, args.rounds)
    errors_ms = per_page_ms(ERROR_CHECKS, pages, args.rounds)
    print(
        f"{len(pages)} pages: i18n.* {i18n_ms:.3f} ms/page, errors.* {errors_ms:.3f} ms/page (best of {args.rounds})"
    )


if __name__ == "__main__":
    main()
