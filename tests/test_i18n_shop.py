"""The i18n.* checks end to end: a bilingual Hong Kong test shop served on loopback and crawled.

``fixtures/test_shops/i18n/`` is a zh-HK / en / zh-CN shop with one seeded
problem per page and clean controls that look like problems: a zh-HK home
with English brand names, product codes, prices and an English address; an
/en/ home with a Chinese store address, a product called "Fatal Error Graphic
Tee", an e-mail address, a version number, a file name and "100% cotton"; a
zh-CN home whose switcher reads 繁體; a Big5 page that really is Big5; an /en/
store list with Chinese addresses.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import TEST_SHOPS, scan_url

from shophealth.checks.base import Finding
from shophealth.checks.registry import Registry
from shophealth.crawler.evidence_store import judge_saved, load_evidence, save_evidence
from shophealth.crawler.scan import Run, SiteRun
from shophealth.demo.server import RunningShop, serve_shop

SEEDED = {
    ("i18n.untranslated", "/zh-hk/products/leather-wallet", None),
    ("i18n.script-mix", "/zh-hk/products/kettle", None),
    ("i18n.lang-mismatch", "/en/about", None),
    ("i18n.lang-mismatch", "/zh-hk/products/mug", None),
    ("i18n.lang-mismatch", "/zh-hk/faq", None),
    ("i18n.placeholder", "/en/products/mug", None),
    ("i18n.mojibake", "/en/gift-cards", None),
    ("i18n.mojibake", "/zh-hk/products/sale", None),
    ("i18n.switcher-broken", "/zh-hk/products/leather-wallet", "/en/products/leather-wallet"),
    ("i18n.switcher-broken", "/en/products/mug", "/zh-hk/products/mug"),
    ("i18n.switcher-broken", "/zh-hk/stores", "/en/stores"),
}
CLEAN_PAGES = ("/", "/en/", "/zh-hk/", "/zh-cn/", "/zh-hk/big5", "/en/stores")


@pytest.fixture(scope="module")
def i18n_shop() -> RunningShop:
    with serve_shop(TEST_SHOPS / "i18n") as shop:
        yield shop  # type: ignore[misc]


@pytest.fixture(scope="module")
async def i18n_run(i18n_shop: RunningShop, registry: Registry) -> SiteRun:
    return await scan_url(i18n_shop.url, registry)


def i18n_findings(run: SiteRun) -> list[Finding]:
    return [f for f in run.findings if f.check.startswith("i18n.")]


def path(url: str | None) -> str | None:
    return urlsplit(url).path if url else None


def one(run: SiteRun, check: str, page: str) -> Finding:
    [finding] = [f for f in i18n_findings(run) if f.check == check and path(f.page) == page]
    return finding


async def test_every_seeded_problem_and_nothing_else(i18n_run: SiteRun) -> None:
    found = {(f.check, path(f.page), path(f.target)) for f in i18n_findings(i18n_run)}
    assert found == SEEDED


async def test_clean_pages_were_crawled_and_judged(i18n_run: SiteRun) -> None:
    crawled = {path(p.final_url) for p in i18n_run.evidence.html_pages()}
    assert set(CLEAN_PAGES) <= crawled
    assert all(o.status in ("pass", "warn", "fail") for o in i18n_run.outcomes if o.check.startswith("i18n."))


async def test_big5_page_really_in_big5_is_read_cleanly(i18n_run: SiteRun) -> None:
    page = next(p for p in i18n_run.evidence.html_pages() if path(p.final_url) == "/zh-hk/big5")
    assert page.charset in ("big5", "big5hkscs", "cp950")
    assert page.facts is not None and page.facts.charset_mismatch is None
    assert "舊版產品目錄" in page.facts.text


async def test_untranslated_names_the_blocks_and_share(i18n_run: SiteRun) -> None:
    finding = one(i18n_run, "i18n.untranslated", "/zh-hk/products/leather-wallet")
    assert finding.evidence["languages"] == ["en"]
    assert finding.evidence["count"] == 2
    assert 0.2 < finding.evidence["share"] < 0.6
    first = finding.evidence["blocks"][0]
    assert first["selector"] == "main > div.description > p:nth-of-type(1)"
    assert first["text"].startswith("Crafted from full-grain")


async def test_script_mix_quotes_the_traditional_form(i18n_run: SiteRun) -> None:
    finding = one(i18n_run, "i18n.script-mix", "/zh-hk/products/kettle")
    block = finding.evidence["blocks"][0]
    assert block["text"].startswith("这款电热水壶")
    assert block["corrected"].startswith("這款電熱水壺")
    assert "这" in block["characters"]
    assert "p.spec" in block["selector"]


async def test_placeholder_lists_each_leak(i18n_run: SiteRun) -> None:
    finding = one(i18n_run, "i18n.placeholder", "/en/products/mug")
    assert finding.severity == "error"
    found = {b["found"] for b in finding.evidence["blocks"]}
    assert found == {
        "{{ product.vendor }}",
        "translation missing: en.products.mug.care_instructions",
        "product.add_to_cart",
    }


async def test_mojibake_shows_the_intended_text(i18n_run: SiteRun) -> None:
    garbled = one(i18n_run, "i18n.mojibake", "/zh-hk/products/sale")
    assert garbled.severity == "warning"
    assert garbled.evidence["intended"] == "全店免費送貨，滿HK$500即享"
    charset = one(i18n_run, "i18n.mojibake", "/en/gift-cards")
    assert charset.severity == "error"
    assert charset.evidence["charset_likely"] == "utf-8"
    assert "Â£20" in charset.evidence["snippet"] and "£20 – £100" in charset.evidence["intended"]


async def test_broken_switcher_is_an_error_with_its_pages(i18n_run: SiteRun) -> None:
    [broken] = [
        f for f in i18n_findings(i18n_run) if f.severity == "error" and f.check == "i18n.switcher-broken"
    ]
    assert path(broken.target) == "/en/products/leather-wallet"
    assert broken.evidence["problem"].startswith("broken")
    assert [path(p) for p in broken.evidence["pages"]] == ["/zh-hk/products/leather-wallet"]


async def test_saved_evidence_is_judged_the_same(
    i18n_run: SiteRun, registry: Registry, tmp_path: Path
) -> None:
    """The charset fact (a named tuple on PageFacts) survives ``--save-evidence`` and ``judge``."""
    save_evidence(Run(id="i18n", started_at="", sites=[i18n_run]), tmp_path)
    [judged] = judge_saved(load_evidence(tmp_path), registry).sites
    before = {(f.check, f.page, f.target, f.message) for f in i18n_findings(i18n_run)}
    assert {(f.check, f.page, f.target, f.message) for f in i18n_findings(judged)} == before


async def test_every_finding_says_where_and_quotes_what(i18n_run: SiteRun) -> None:
    for finding in i18n_findings(i18n_run):
        assert finding.evidence["selector"], finding
        assert finding.evidence["snippet"], finding
    mismatch = one(i18n_run, "i18n.lang-mismatch", "/zh-hk/products/mug")
    assert mismatch.evidence["selector"] == "html"
    assert mismatch.evidence["snippet"].startswith("Hand-glazed stoneware mug")
    charset = one(i18n_run, "i18n.mojibake", "/en/gift-cards")
    assert charset.evidence["selector"] == "meta[charset]"
