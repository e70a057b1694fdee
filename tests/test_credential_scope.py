"""Credentials go only where they belong (issue 9, item 6): the origin the user
gave, over https only to a host whose certificate verified, never across a
redirect that leaves the origin; ``user:password@`` never reaches a report.

Every server here is a fixture shop on loopback that records each request's
Authorization header. The Fetcher tests take every host as the shop's own
(``is_internal`` always true), as a plain-HTTP server on the shop's host name
would be, so only the origin and the certificate decide.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import make_leaf, make_root
from conftest import fast_config, scan_url
from test_cli import assert_one_line_error, run_cli

from shophealth.checks.registry import Registry
from shophealth.crawler.fetch import Fetcher, trust_context
from shophealth.crawler.scan import Run
from shophealth.crawler.urls import host_key, origin
from shophealth.demo.server import RunningShop, serve_shop
from shophealth.reports.report import build_report

SECRET = "user:secret"
TOKEN = "Basic dXNlcjpzZWNyZXQ="


def _folder(root: Path, routes: str = "") -> Path:
    root.mkdir()
    (root / "index.html").write_text("<title>Shop</title>")
    (root / "routes.yaml").write_text(routes)
    return root


def _tls_context(tmp_path: Path, trusted: bool) -> tuple[ssl.SSLContext, Path]:
    """A server context (leaf signed by a test root, or self-signed) and the root to trust."""
    root = make_root()
    leaf = make_leaf(root if trusted else None)
    cert, key = leaf.write(tmp_path, "trusted" if trusted else "self-signed")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, root.write(tmp_path / f"root-{trusted}.pem")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHOPHEALTH_TEST_AUTH", SECRET)
    return "SHOPHEALTH_TEST_AUTH"


@pytest.fixture
def plain_servers(tmp_path: Path) -> Iterator[tuple[RunningShop, RunningShop]]:
    """The given shop (its /out redirects to the other) and another origin on the same host."""
    with serve_shop(_folder(tmp_path / "other")) as other:
        routes = f"/out: {{redirect: '{other.url}landing'}}\n"
        with serve_shop(_folder(tmp_path / "shop", routes)) as shop:
            yield shop, other


async def test_credentials_go_to_the_origin_given_and_not_across_a_redirect(
    plain_servers: tuple[RunningShop, RunningShop], credentials: str
) -> None:
    shop, other = plain_servers
    fetcher = Fetcher(fast_config(credentials_env=credentials), trust_context(), lambda url: True)
    fetcher.credential_origins.add(origin(shop.url))
    try:
        await fetcher.fetch(shop.url)
        result = await fetcher.fetch(shop.url + "out")
        await fetcher.fetch(other.url)
    finally:
        await fetcher.aclose()
    assert result.final_url == other.url + "landing"
    assert shop.server.authorizations == [TOKEN, TOKEN]
    assert other.server.authorizations == [None, None]


@pytest.mark.parametrize("trusted", [True, False])
async def test_https_gets_credentials_only_once_the_certificate_verified(
    tmp_path: Path, credentials: str, trusted: bool
) -> None:
    context, root = _tls_context(tmp_path, trusted)
    with serve_shop(_folder(tmp_path / "shop"), ssl_context=context) as shop:
        config = fast_config(credentials_env=credentials, ca_bundle=str(root))
        fetcher = Fetcher(config, trust_context(str(root)), lambda url: True)
        fetcher.credential_origins.add(origin(shop.url))
        if not trusted:  # as the scan does for a shop whose certificate fails: crawled unverified
            fetcher.insecure_hosts.add(host_key(shop.url))
        try:
            result = await fetcher.fetch(shop.url)
        finally:
            await fetcher.aclose()
    assert result.status == 200
    assert shop.server.authorizations == [TOKEN if trusted else None]


async def test_a_staging_shop_with_a_bad_certificate_gets_no_credentials(
    tmp_path: Path, credentials: str, registry: Registry
) -> None:
    context, _ = _tls_context(tmp_path, trusted=False)
    routes = f'"*": {{auth: "{SECRET}"}}\n'
    with serve_shop(_folder(tmp_path / "shop", routes), ssl_context=context) as shop:
        run = await scan_url(shop.url, registry, credentials_env=credentials)
    assert set(shop.server.authorizations) == {None}
    assert run.error is not None and "HTTP 401" in run.error and credentials in run.error


def test_a_start_url_with_user_and_password_is_refused_without_echoing_them() -> None:
    result = run_cli("scan", "https://user:hunter2@shop.example/")
    assert_one_line_error(result, 2, "must not carry user:password@")
    assert "hunter2" not in result.stderr + result.stdout


async def test_user_and_password_in_a_crawled_link_never_reach_the_report(
    tmp_path: Path, registry: Registry
) -> None:
    root = _folder(tmp_path / "shop")
    with serve_shop(root) as shop:
        netloc = shop.url.split("//")[1].rstrip("/")
        (root / "index.html").write_text(
            f'<title>Shop</title><a href="http://admin:hunter2@{netloc}/gone">x</a>'
        )
        run = await scan_url(shop.url, registry)
    report = json.dumps(build_report(Run(id="t", started_at="", sites=[run])))
    assert shop.url + "gone" in report
    assert "hunter2" not in report
