"""The README's CI jobs and examples use commands the CLI accepts, and the CI command runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from conftest import REPO, TEST_SHOPS

from shophealth.crawler.cli import app
from shophealth.demo.server import serve_shop

README = (REPO / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
ENV = {"SHOP_URL": "https://staging.shop.example/"}


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README) if lang == language]


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def ci_jobs() -> dict[str, Any]:
    jobs = {}
    for body in blocks("yaml"):
        if "shophealth gate" in body:
            first = body.splitlines()[0]
            jobs[first] = yaml.safe_load(body)
    return jobs


def ci_commands() -> list[str]:
    return [s for job in ci_jobs().values() for s in strings(job) if s.startswith("shophealth ")]


def shell_commands() -> list[str]:
    commands = []
    for body in blocks("sh"):
        for line in body.replace("\\\n", " ").splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("shophealth "):
                commands.append(command)
    return commands


def argv(command: str) -> list[str]:
    expanded = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: ENV[m.group(1) or m.group(2)], command)
    return shlex.split(expanded)[1:]


def test_readme_has_a_github_actions_and_a_gitlab_job() -> None:
    jobs = ci_jobs()
    assert set(jobs) == {"# .github/workflows/shophealth.yml", "# .gitlab-ci.yml"}
    github = jobs["# .github/workflows/shophealth.yml"]["jobs"]["shophealth"]
    upload = next(s for s in github["steps"] if "upload-sarif" in s.get("uses", ""))
    command = next(s["run"] for s in github["steps"] if "shophealth gate" in s.get("run", ""))
    assert f"--sarif {upload['with']['sarif_file']}" in command
    gitlab = jobs["# .gitlab-ci.yml"]["shophealth"]
    assert f"--junit {gitlab['artifacts']['reports']['junit']}" in " ".join(gitlab["script"])


@pytest.mark.parametrize("command", [c for c in ci_commands() + shell_commands() if "…" not in c])
def test_readme_command_is_accepted_by_the_cli(command: str) -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    args = argv(command)
    ctx = group.make_context("shophealth", args)  # the options before the command (--log-level …)
    name, sub, rest = group.resolve_command(ctx, args[len(args) - len(ctx.args) - 1 :])
    assert name is not None and sub is not None
    sub.make_context(name, rest, parent=ctx)  # raises on an unknown option or a bad value


def test_the_ci_command_passes_against_a_baseline_on_a_loopback_shop(tmp_path: Path) -> None:
    command = next(c for c in ci_commands() if "--baseline" in c)
    refresh = next(c for c in shell_commands() if c.startswith("shophealth scan") and "baseline.json" in c)
    (tmp_path / ".shophealth").mkdir()
    with serve_shop(TEST_SHOPS / "gate") as shop:
        ENV["SHOP_URL"] = shop.url
        try:
            for line, code in ((refresh, 0), (command, 0)):
                args = [*argv(line), "--render", "off", "--lighthouse-pages", "0"]
                done = subprocess.run(
                    [sys.executable, "-m", "shophealth", *args],
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                    timeout=180,
                    env={**os.environ, "COLUMNS": "200"},
                )
                assert done.returncode == code, done.stdout + done.stderr
        finally:
            ENV["SHOP_URL"] = "https://staging.shop.example/"
    assert (tmp_path / "shophealth-junit.xml").exists() and (tmp_path / "shophealth.json").exists()
