"""Name lookups (crawler.resolver) against a DNS server the suite runs on 127.0.0.1.

Slow answers time out per lookup and are reported as unverifiable; answers and
failures are cached; lookups run concurrently; and from a public shop, names
or redirect hops that lead into private or local addresses are refused. Hosts
are made to look public by the test DNS server's answers and by the guard's
list of blocked networks; no test sends a packet off 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fast_config
from dns_server import FakeZone, serve_dns

from shophealth.checks.linkverdict import link_verdict
from shophealth.checks.registry import Registry
from shophealth.crawler import resolver as resolver_module
from shophealth.crawler.config import SiteConfig
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.crawler.resolver import AddressGuard, GuardedResolver, LookupFailed
from shophealth.crawler.scan import scan_site
from shophealth.demo.server import serve_shop

PUBLIC = "198.51.100.7"  # documentation addresses: public as far as the guard knows, never connected to
ZONE = {
    "shop.test": ("203.0.113.10",),
    "public.test": (PUBLIC,),
    "ten.test": ("10.0.0.5",),
    "metadata.test": ("169.254.169.254",),
    "cgnat.test": ("100.64.1.1",),
    "loop6.test": ("::1",),
    "mapped.test": ("::ffff:a00:1",),  # ::ffff:10.0.0.1
    "mixed.test": (PUBLIC, "192.168.1.20"),
    "intranet.test": ("192.168.1.10",),
    "slow.test": (PUBLIC,),
    **{f"host{n}.test": (PUBLIC,) for n in range(40)},
}
DELAYS = {"slow.test": 3.0, **{f"host{n}.test": 0.3 for n in range(40)}}


@pytest.fixture(scope="module")
def dns() -> Iterator[tuple[str, FakeZone]]:
    with serve_dns(ZONE, DELAYS) as served:
        yield served


def resolver_for(nameserver: str, start_url: str | None, allow_private: bool = False) -> GuardedResolver:
    return GuardedResolver(AddressGuard(start_url, allow_private), timeout=1.0, nameservers=[nameserver])


async def addresses(resolver: GuardedResolver, host: str) -> list[str]:
    return [r["host"] for r in await resolver.resolve(host, 80, socket.AF_UNSPEC)]


async def test_a_slow_lookup_times_out_and_its_failure_is_cached(dns: tuple[str, FakeZone]) -> None:
    nameserver, zone = dns
    resolver = resolver_for(nameserver, None)
    for _ in range(3):
        with pytest.raises(LookupFailed, match=r"^DNS lookup timed out after 1 s$"):
            await resolver.resolve("slow.test", 80, socket.AF_UNSPEC)
    asked = zone.queries["slow.test"]
    with pytest.raises(LookupFailed, match="timed out"):
        await resolver.resolve("slow.test", 443, socket.AF_UNSPEC)
    assert zone.queries["slow.test"] == asked  # the failure was remembered, not asked again
    await resolver.close()


async def test_answers_and_unknown_names_are_looked_up_once(dns: tuple[str, FakeZone]) -> None:
    nameserver, zone = dns
    resolver = resolver_for(nameserver, None)
    both = await asyncio.gather(*(addresses(resolver, "public.test") for _ in range(5)))
    assert both == [[PUBLIC]] * 5
    for _ in range(2):
        with pytest.raises(LookupFailed, match=r"^DNS lookup failed: host not found$"):
            await resolver.resolve("unknown.test", 80, socket.AF_UNSPEC)
    queries = dict(zone.queries)
    await addresses(resolver, "public.test")
    with pytest.raises(LookupFailed):
        await resolver.resolve("unknown.test", 80, socket.AF_UNSPEC)
    assert dict(zone.queries) == queries
    await resolver.close()


async def test_lookups_of_many_hosts_run_at_once(dns: tuple[str, FakeZone]) -> None:
    nameserver, zone = dns
    resolver = resolver_for(nameserver, None)
    found = await asyncio.gather(*(addresses(resolver, f"host{n}.test") for n in range(40)))
    assert found == [[PUBLIC]] * 40
    assert zone.max_in_flight >= 20  # a thread pool of getaddrinfo would have asked a handful at a time
    await resolver.close()


@pytest.mark.parametrize(
    "host", ["ten.test", "metadata.test", "cgnat.test", "loop6.test", "mapped.test", "mixed.test"]
)
async def test_a_public_shop_may_not_lead_to_private_addresses(dns: tuple[str, FakeZone], host: str) -> None:
    resolver = resolver_for(dns[0], "https://shop.test/")
    with pytest.raises(LookupFailed, match=rf"^refused: {host} resolves to .*private or local address"):
        await resolver.resolve(host, 80, socket.AF_UNSPEC)
    assert await addresses(resolver, "public.test") == [PUBLIC]
    await resolver.close()


@pytest.mark.parametrize(
    ("start_url", "allow_private"),
    [("https://shop.test/", True), ("http://intranet.test/", False), ("http://127.0.0.1:8080/", False)],
)
async def test_private_addresses_allowed_when_asked_or_when_the_shop_is_private(
    dns: tuple[str, FakeZone], start_url: str, allow_private: bool
) -> None:
    resolver = resolver_for(dns[0], start_url, allow_private)
    assert await addresses(resolver, "ten.test") == ["10.0.0.5"]
    assert await addresses(resolver, "metadata.test") == ["169.254.169.254"]
    await resolver.close()


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://169.254.169.254/latest/meta-data/", True),
        ("http://[::1]:8080/", True),
        ("http://10.1.2.3/admin", True),
        (f"http://{PUBLIC}/", False),
        ("http://public.test/", False),  # a name: judged by the resolver
    ],
)
def test_ip_literals_are_judged_by_the_guard(url: str, refused: bool) -> None:
    guard = AddressGuard("https://203.0.113.10/", allow_private=False)
    assert (guard.literal_refusal(url) is not None) is refused


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard blocks 127.0.0.2 (standing in for the office network) but not 127.0.0.1,
    so a fixture shop on 127.0.0.1 is a public shop."""
    monkeypatch.setattr(
        resolver_module,
        "BLOCKED_NETWORKS",
        tuple(ipaddress.ip_network(n) for n in ("127.0.0.2/32", "10.0.0.0/8", "169.254.0.0/16")),
    )


def _hostile_links_shop(root: Path) -> None:
    (root / "index.html").write_text(
        "<html><head><title>Shop</title></head><body><h1>Shop</h1>"
        '<a href="/go-inside">Deals</a> <a href="/go-literal">More deals</a>'
        '<a href="http://inside.test:9/admin">Admin</a> <a href="http://slow.test/page">Slow partner</a>'
        "</body></html>"
    )
    (root / "routes.yaml").write_text(
        "/go-inside: {redirect: 'http://inside.test:9/secret', status: 302}\n"
        "/go-literal: {redirect: 'http://127.0.0.2:9/secret', status: 302}\n"
    )


async def test_redirect_hops_into_private_addresses_are_refused(
    loopback_is_public: None, tmp_path: Path
) -> None:
    _hostile_links_shop(tmp_path)
    zone = {"shop.test": ("127.0.0.1",), "inside.test": ("127.0.0.2",)}
    with serve_dns(zone) as (nameserver, _), serve_shop(tmp_path) as shop:
        port = shop.url.rsplit(":", 1)[1].strip("/")
        config = fast_config(dns_servers=(nameserver,), dns_timeout=1.0)
        fetcher = Fetcher(
            config, trust_context(), lambda url: "shop.test" in url, f"http://shop.test:{port}/"
        )
        try:
            inside = await fetcher.fetch(f"http://shop.test:{port}/go-inside")
            literal = await fetcher.fetch(f"http://shop.test:{port}/go-literal")
            home = await fetcher.fetch(f"http://shop.test:{port}/")
        finally:
            await fetcher.aclose()
    assert home.status == 200
    assert [hop.status for hop in inside.hops] == [302]
    assert inside.error is not None and inside.error.startswith("refused: inside.test resolves to 127.0.0.2")
    assert literal.error is not None and literal.error.startswith("refused: 127.0.0.2 is a private")


async def test_scan_reports_refused_and_timed_out_links_as_unverifiable(
    loopback_is_public: None, tmp_path: Path, registry: Registry
) -> None:
    _hostile_links_shop(tmp_path)
    zone = {"shop.test": ("127.0.0.1",), "inside.test": ("127.0.0.2",), "slow.test": (PUBLIC,)}
    with serve_dns(zone, {"slow.test": 3.0}) as (nameserver, _), serve_shop(tmp_path) as shop:
        port = shop.url.rsplit(":", 1)[1].strip("/")
        config = fast_config(dns_servers=(nameserver,), dns_timeout=0.5, workers=0)
        run = await scan_site(SiteConfig(url=f"http://shop.test:{port}/", config=config), registry)
    links = run.evidence.links
    reasons = {url.replace(f":{port}", ""): tuple(link_verdict(r)) for url, r in links.items()}
    assert reasons["http://slow.test/page"] == ("unverifiable", "DNS lookup timed out after 0.5 s")
    for url in ("http://inside.test:9/admin", "http://shop.test/go-inside", "http://shop.test/go-literal"):
        outcome, reason = reasons[url]
        assert outcome == "unverifiable" and reason is not None and reason.startswith("refused: "), url
    assert not [f for f in run.findings if f.check == "links.broken"]


async def test_tls_inspection_skips_hosts_the_guard_refuses(dns: tuple[str, FakeZone]) -> None:
    config = fast_config(dns_servers=(dns[0],), dns_timeout=1.0)
    fetcher = Fetcher(config, trust_context(), lambda url: False, "https://shop.test/")
    hosts = [("shop.test", 443), ("metadata.test", 443), ("public.test", 443), ("unknown.test", 443)]
    assert await fetcher.guarded(hosts) == [("shop.test", 443), ("public.test", 443), ("unknown.test", 443)]
