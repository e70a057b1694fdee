"""``--version`` and ``scan --help`` say what a new user needs (issue 9, item 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shophealth import __version__
from shophealth.crawler.cli import _screenshot_folder, app


def test_version_prints_the_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"shophealth {__version__}"


def test_scan_help_shows_defaults_and_exit_codes() -> None:
    result = CliRunner().invoke(app, ["scan", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for shown in ("Pages to crawl per shop. [default: (20000)]", "[default: (600.0)]", "[default: (sample)]"):
        assert shown in text
    assert "Exit codes: 0 scanned" in text and "2 bad input" in text and "130 interrupted" in text
    assert "75 another run holds the --store's lock" in text


def test_screenshots_are_named_by_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report names screenshots by this folder; ``report RUN.json --html`` may run elsewhere."""
    monkeypatch.chdir(tmp_path)
    assert _screenshot_folder(Path("shots"), None) == str(tmp_path / "shots")
    assert _screenshot_folder(None, Path("evidence")) == str(tmp_path / "evidence" / "screenshots")
    assert _screenshot_folder(None, None) is None


def test_artifacts_help_says_no_screenshots_are_taken_without_it() -> None:
    result = CliRunner().invoke(app, ["scan", "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    text = " ".join(result.stdout.split())
    assert "temporary folder" not in text and "none taken" in text


def test_readme_option_table_lists_every_scan_option_and_no_other() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = [line.split("|")[1] for line in readme.splitlines() if line.startswith("| `--")]
    in_readme = {option for cell in table for option in re.findall(r"`(--[a-z-]+)", cell)}
    command = typer.main.get_command(app)
    scan = command.commands["scan"]  # type: ignore[attr-defined]
    in_help = {name for param in scan.params for name in param.opts if name.startswith("--")} - {"--help"}
    global_options = {"--log-level", "--log-file"}  # given before the command
    assert in_readme - global_options == in_help
