"""``--version`` and ``scan --help`` say what a new user needs (issue 9, item 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
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
