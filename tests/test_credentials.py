"""Credentials for a staging shop come from the environment and go to the shop's hosts only."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import scan_url
from test_cli import assert_one_line_error, run_cli

from shophealth.checks.registry import Registry
from shophealth.demo.server import serve_shop


def _staging_shop(root: Path, elsewhere: str) -> Path:
    root.mkdir()
    (root / "routes.yaml").write_text('"*": {auth: "user:secret"}\n')
    (root / "index.html").write_text(
        f'<title>Staging</title><a href="/p">P</a><a href="{elsewhere}partner">Partner</a>'
    )
    (root / "p.html").write_text("<title>P</title>")
    return root


@pytest.mark.parametrize("workers", [0, 2])
async def test_credentials_reach_the_shop_and_no_other_site(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setenv("STAGING_AUTH", "user:secret")
    other = tmp_path / "other"
    other.mkdir()
    (other / "partner.html").write_text("<title>Partner</title>")
    with serve_shop(other) as partner:
        with serve_shop(_staging_shop(tmp_path / "shop", partner.url)) as shop:
            run = await scan_url(shop.url, registry, credentials_env="STAGING_AUTH", workers=workers)
        assert partner.requested("/partner")
        assert set(partner.server.authorizations) == {None}
    assert {p.url: p.status for p in run.evidence.pages} == {shop.url: 200, shop.url + "p": 200}
    assert shop.server.authorizations and None not in shop.server.authorizations
    assert run.stats["workers"] == workers


def test_missing_credentials_variable_is_one_line_of_bad_input() -> None:
    result = run_cli("scan", "http://127.0.0.1:9/", "--credentials-env", "SHOPHEALTH_TEST_UNSET_VARIABLE")
    assert_one_line_error(result, 2, "environment variable SHOPHEALTH_TEST_UNSET_VARIABLE")
