"""The crawler end to end against fixture shops on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import fast_config, scan_url

from shophealth.checks.linkverdict import link_verdict
from shophealth.checks.registry import Registry
from shophealth.crawler.scan import SiteRun
from shophealth.demo.run import DEMO_SHOP, SEEDED, demo_config
from shophealth.demo.server import RunningShop, serve_shop


def findings_of(run: SiteRun, check: str) -> list[dict[str, object]]:
    return [f.to_dict() for f in run.findings if f.check == check]


@pytest.fixture(scope="module")
async def crawl_run(crawl_shop: RunningShop, registry: Registry) -> SiteRun:
    started = time.monotonic()
    run = await scan_url(crawl_shop.url, registry, request_timeout=2, read_timeout=2, max_bytes=200_000)
    run.stats["test_elapsed"] = time.monotonic() - started
    return run


async def test_footer_link_on_100_pages_is_one_finding(crawl_run: SiteRun) -> None:
    broken = [
        f for f in findings_of(crawl_run, "links.broken") if str(f["target"]).endswith("/missing-footer-link")
    ]
    assert len(broken) == 1
    evidence = broken[0]["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["count"] == 100
    assert evidence["status"] == 404
    assert len(evidence["pages"]) == 5


async def test_hanging_link_is_a_timeout_within_the_limit(crawl_run: SiteRun) -> None:
    hang = [f for f in findings_of(crawl_run, "links.broken") if str(f["target"]).endswith("/hang")]
    assert len(hang) == 1
    assert "timed out" in str(hang[0]["evidence"]["error"])  # type: ignore[index]
    assert crawl_run.stats["test_elapsed"] < 15  # the server waits 20 s


async def test_robots_disallowed_path_is_never_requested(crawl_run: SiteRun, crawl_shop: RunningShop) -> None:
    assert not crawl_shop.requested("/private/secret")
    unverifiable = dict((r.url, reason) for r, reason in crawl_run.unverifiable)
    assert unverifiable[crawl_shop.url + "private/secret"] == "robots.txt disallows it"


async def test_bot_wall_is_unverifiable_not_broken(crawl_run: SiteRun, crawl_shop: RunningShop) -> None:
    walled = crawl_shop.url + "walled"
    assert walled not in {f.target for f in crawl_run.findings}
    reasons = dict((r.url, reason) for r, reason in crawl_run.unverifiable)
    assert "cf-mitigated" in str(reasons[walled])


async def test_wrong_head_answer_is_checked_again_with_get(
    crawl_run: SiteRun, crawl_shop: RunningShop
) -> None:
    assert link_verdict(crawl_run.evidence.links[crawl_shop.url + "no-head"]).outcome == "ok"


async def test_sitemap_seeds_pages_nobody_links(crawl_run: SiteRun, crawl_shop: RunningShop) -> None:
    crawled = {p.url for p in crawl_run.evidence.pages}
    assert crawl_shop.url + "orphan" in crawled
    dead = [f for f in findings_of(crawl_run, "links.broken") if str(f["target"]).endswith("/orphan-dead")]
    assert len(dead) == 1


async def test_charset_from_meta_is_used(crawl_run: SiteRun, crawl_shop: RunningShop) -> None:
    page = next(p for p in crawl_run.evidence.pages if p.url == crawl_shop.url + "big5")
    assert page.facts is not None
    assert page.facts.title == "繁體中文商店"
    assert page.charset in ("big5", "cp950", "big5hkscs")


async def test_bodies_are_capped(crawl_run: SiteRun, crawl_shop: RunningShop) -> None:
    page = next(p for p in crawl_run.evidence.pages if p.url == crawl_shop.url + "huge")
    assert page.truncated
    assert len(page.html) <= 200_000


async def test_stats_count_pages_and_requests(crawl_run: SiteRun) -> None:
    stats = crawl_run.stats
    assert stats["pages"] >= 104
    assert stats["requests"] >= stats["pages"]
    assert stats["complete"] is True


async def test_page_limit_ends_scan_with_reason(crawl_shop: RunningShop, registry: Registry) -> None:
    run = await scan_url(crawl_shop.url, registry, max_pages=10)
    assert run.stats["pages"] == 10
    assert run.stats["complete"] is False
    assert run.stats["stopped_reason"] == "page-limit"
    assert run.stats["stopped_detail"] == "page limit of 10 reached"


async def test_budget_ends_scan_with_partial_result(crawl_shop: RunningShop, registry: Registry) -> None:
    started = time.monotonic()
    run = await scan_url(
        crawl_shop.url, registry, budget_s=1.0, request_timeout=10, read_timeout=10, concurrency=2
    )
    assert time.monotonic() - started < 8
    assert run.stats["complete"] is False
    assert run.stats["stopped_reason"] == "budget"
    assert "time budget of 1 s ran out" in run.stats["stopped_detail"]
    assert run.stats["pages"] > 0


async def test_unreachable_shop_is_an_error_not_a_crash(registry: Registry) -> None:
    run = await scan_url("http://127.0.0.1:9/", registry)
    assert run.error is not None
    assert "refused" in run.error


# -- the demo shop: every seeded problem found, clean controls silent ----------


@pytest.fixture(scope="module")
def demo_shop() -> object:
    with serve_shop(DEMO_SHOP) as shop:
        yield shop


@pytest.fixture(scope="module")
async def demo_run(demo_shop: RunningShop, registry: Registry) -> SiteRun:
    from shophealth.crawler.config import SiteConfig
    from shophealth.crawler.scan import scan_site

    return await scan_site(SiteConfig(url=demo_shop.url, config=demo_config()), registry)


def _where(finding: object, base: str) -> set[str]:
    assert hasattr(finding, "page") and hasattr(finding, "target")
    places = {finding.page, finding.target or ""}
    return {p.replace(base.rstrip("/"), "") if p.startswith(base) else p for p in places}


@pytest.mark.parametrize(("check", "where"), SEEDED)
async def test_demo_seeded_problem_is_found(
    demo_run: SiteRun, demo_shop: RunningShop, check: str, where: str
) -> None:
    found = [f for f in demo_run.findings if f.check == check and where in _where(f, demo_shop.url)]
    assert found, f"{check} not reported for {where}"


async def test_demo_clean_pages_stay_clean(demo_run: SiteRun, demo_shop: RunningShop) -> None:
    clean = ("/products/fatal-error-tee", "/blog/why-404", "/products/enamel-pot", "/products/stock-check")
    noisy = [f for f in demo_run.findings if _where(f, demo_shop.url) & set(clean)]
    assert noisy == []


async def test_demo_reports_nothing_unseeded(demo_run: SiteRun, demo_shop: RunningShop) -> None:
    seeded = set(SEEDED)
    unseeded = [
        (f.check, f.page, f.target)
        for f in demo_run.findings
        if not any((f.check, w) in seeded for w in _where(f, demo_shop.url))
    ]
    assert unseeded == []


async def test_demo_retries_after_429(demo_run: SiteRun, demo_shop: RunningShop) -> None:
    assert demo_shop.server.hits["/products/stock-check"] >= 2
    assert link_verdict(demo_run.evidence.links[demo_shop.url + "products/stock-check"]).outcome == "ok"


async def test_demo_robots_disallowed_sign_in_never_requested(
    demo_run: SiteRun, demo_shop: RunningShop
) -> None:
    assert not demo_shop.requested("/account/login")


def test_shop_folder_paths_cannot_escape(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<title>x</title>")
    with serve_shop(tmp_path) as shop:
        assert shop.server._resolve("/../../etc/passwd") is None


async def test_another_sites_403_page_is_unverifiable_but_a_403_image_is_broken(
    registry: Registry, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "routes.yaml").write_text("/members: {status: 403}\n/cdn/missing.jpg: {status: 403}\n")
    with serve_shop(other) as elsewhere:
        shop = tmp_path / "shop"
        shop.mkdir()
        (shop / "index.html").write_text(
            f'<title>Shop</title><a href="{elsewhere.url}members">Members</a>'
            f'<img src="{elsewhere.url}cdn/missing.jpg" alt="Lamp">'
        )
        with serve_shop(shop) as served:
            run = await scan_url(served.url, registry)
    reasons = dict((r.url, reason) for r, reason in run.unverifiable)
    assert "may refuse crawlers" in str(reasons[elsewhere.url + "members"])
    assert [(f.check, f.target) for f in run.findings if f.target and f.target.startswith(elsewhere.url)] == [
        ("images.broken", elsewhere.url + "cdn/missing.jpg")
    ]


async def test_one_shop_failing_inside_never_loses_the_others(
    crawl_shop: RunningShop, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shophealth.crawler.scan as scan_module
    from shophealth.crawler.config import SiteConfig

    real_scan_site = scan_module.scan_site

    async def scan_site_or_fail(site: SiteConfig, *args: object) -> SiteRun:
        if "broken-shop" in site.url:
            raise RuntimeError("a bug met on this shop")
        return await real_scan_site(site, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module, "scan_site", scan_site_or_fail)
    sites = [
        SiteConfig(url="http://broken-shop.invalid/", config=fast_config()),
        SiteConfig(url=crawl_shop.url, config=fast_config(max_pages=5)),
    ]
    run = await scan_module.scan(sites, registry=registry, parallel=2)
    assert [s.site.url for s in run.sites] == [site.url for site in sites]
    assert run.sites[0].error == "internal error: RuntimeError: a bug met on this shop"
    assert run.sites[1].error is None and run.sites[1].stats["pages"] == 5
