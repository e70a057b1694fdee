"""Settings do what the README says, and bad input is one line and exit 2 before
any work (issue 9, items 7 and 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import TEST_SHOPS, fast_config
from test_cli import assert_one_line_error, run_cli

from shophealth.checks.registry import Registry
from shophealth.crawler.config import ConfigError, ScanConfig, load_sites_file
from shophealth.crawler.scan import SiteRun, scan_site
from shophealth.demo.server import RunningShop, serve_shop

BROKEN_SHOP = {
    "index.html": '<title>Shop</title><a href="/gone">Gone</a><a href="/p">P</a>',
    "p.html": "<title>Shop</title>",  # a duplicate title: seo.basics has something to say
}


@pytest.fixture(scope="module")
def small_shop(tmp_path_factory: pytest.TempPathFactory) -> RunningShop:
    root = tmp_path_factory.mktemp("small")
    for name, text in BROKEN_SHOP.items():
        (root / name).write_text(text)
    with serve_shop(root) as shop:
        yield shop  # type: ignore[misc]


def _sites_file(tmp_path: Path, body: str, defaults: str = "") -> Path:
    path = tmp_path / "sites.yaml"
    path.write_text(f"defaults: {{{defaults}}}\nsites:\n{body}")
    return path


async def _scan_with(tmp_path: Path, url: str, checks: str, registry: Registry) -> SiteRun:
    sites = load_sites_file(_sites_file(tmp_path, f"  - url: {url}\n    checks: {checks}\n"), fast_config())
    return await scan_site(sites[0], registry)


@pytest.mark.parametrize("off", ["off", "false", "no"])
async def test_a_check_turned_off_is_skipped_and_says_so(
    small_shop: RunningShop, registry: Registry, tmp_path: Path, off: str
) -> None:
    run = await _scan_with(tmp_path, small_shop.url, f"{{seo.basics: {off}}}", registry)
    seo = next(o for o in run.outcomes if o.check == "seo.basics")
    assert seo.status == "skipped" and "turned off" in str(seo.detail)
    assert not [f for f in run.findings if f.check == "seo.basics"]
    assert {o.check for o in run.outcomes} == set(registry.checks)


async def test_a_severity_setting_applies_to_every_finding_of_the_check(
    small_shop: RunningShop, registry: Registry, tmp_path: Path
) -> None:
    run = await _scan_with(tmp_path, small_shop.url, "{links.broken: info}", registry)
    broken = [f for f in run.findings if f.check == "links.broken"]
    assert [f.target for f in broken] == [small_shop.url + "gone"]
    assert broken[0].severity == "info"
    assert next(o for o in run.outcomes if o.check == "links.broken").status == "pass"


async def test_a_check_option_is_passed_to_the_check(
    small_shop: RunningShop, registry: Registry, tmp_path: Path
) -> None:
    run = await _scan_with(
        tmp_path, small_shop.url, "{links.broken: [error, {ignore: ['/gone$']}]}", registry
    )
    assert not [f for f in run.findings if f.check == "links.broken"]


@pytest.mark.parametrize(
    ("checks", "words"),
    [
        ("{seo.basic: off}", "unknown check id 'seo.basic'"),
        ("{seo.basics: loud}", "seo.basics: 'loud' is not one of"),
        ("{links.broken: [error, {ignroe: []}]}", "links.broken: unknown option 'ignroe'"),
        ("{links.broken: [error, {ignore: 3}]}", "links.broken: ignore must be a list"),
        ("{links.broken: [error, {ignore: ['(']}]}", "'(' is not a valid regular expression"),
    ],
)
def test_bad_check_settings_are_refused_naming_the_key(tmp_path: Path, checks: str, words: str) -> None:
    sites = _sites_file(tmp_path, f"  - url: http://127.0.0.1:9/\n    checks: {checks}\n")
    assert_one_line_error(run_cli("scan", "--sites", str(sites)), 2, words)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("max_pages: 0", "max_pages must be above 0"),
        ("concurrency: 0", "concurrency must be above 0"),
        ("request_timeout: 0", "request_timeout must be above 0"),
        ("exclude: ['[a-']", "exclude: '[a-' is not a valid regular expression"),
    ],
)
def test_bad_options_in_a_sites_file_are_refused_naming_the_key(
    tmp_path: Path, option: str, words: str
) -> None:
    sites = _sites_file(tmp_path, f"  - url: http://127.0.0.1:9/\n    {option}\n")
    with pytest.raises(ConfigError, match="sites\\[0\\]"):
        load_sites_file(sites, ScanConfig())
    assert_one_line_error(run_cli("scan", "--sites", str(sites)), 2, words)


def test_a_command_line_option_wins_over_the_files_defaults_and_a_site_over_both(tmp_path: Path) -> None:
    sites = _sites_file(
        tmp_path,
        "  - url: http://127.0.0.1:9/\n  - {url: 'http://127.0.0.1:10/', max_pages: 7}\n",
        defaults="max_pages: 50, max_depth: 4",
    )
    first, second = load_sites_file(sites, ScanConfig(), {"max_pages": 3})
    assert (first.config.max_pages, first.config.max_depth) == (3, 4)
    assert second.config.max_pages == 7


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--exclude", "(unclosed"], "exclude: '(unclosed' is not a valid regular expression"),
        (["--ca-bundle", str(TEST_SHOPS / "crawl" / "index.html")], "is not a PEM bundle"),
        (["--ca-bundle", "/nonexistent/ca.pem"], "ca_bundle not found"),
        (
            ["--json", "/nonexistent/folder/report.json"],
            "--json /nonexistent/folder/report.json: cannot write",
        ),
    ],
)
def test_bad_command_line_input_is_one_line_and_exit_2_before_any_work(args: list[str], words: str) -> None:
    # 127.0.0.1:9 refuses connections: had the scan begun, it would exit 1 saying so
    assert_one_line_error(run_cli("scan", "http://127.0.0.1:9/", *args), 2, words)


def test_an_artifacts_folder_that_cannot_be_written_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("scan", "http://127.0.0.1:9/", "--artifacts", str(blocker / "shots"))
    assert_one_line_error(result, 2, "artifacts_dir: cannot write")


def test_demo_with_an_unwritable_report_path_is_bad_input() -> None:
    assert_one_line_error(run_cli("demo", "--json", "/nonexistent/folder/r.json"), 2, "cannot write")


def test_json_dash_writes_the_report_to_standard_output(small_shop: RunningShop) -> None:
    result = run_cli("scan", small_shop.url, "--json", "-", "--render", "off", "--lighthouse-pages", "0")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sites"][0]["site"] == small_shop.url
    assert "O2O online score" in result.stderr  # the summary moves to standard error


def test_an_unreachable_host_is_reported_as_such() -> None:
    result = run_cli("scan", "http://127.0.0.1:9/", "--quiet", "--render", "off")
    assert_one_line_error(result, 1, "connection refused")
    assert "robots.txt" not in result.stderr
