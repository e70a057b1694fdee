"""The example check package in fixtures/plugin_example: pip-installed (into a folder of its
own, so the suite's environment is not changed) and loaded through the entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

from shophealth.checks.registry import Registry

EXAMPLE = REPO / "fixtures" / "plugin_example"
RUN_IT = """
import json
from shophealth.checks.registry import load_registry, run_checks
from shophealth.crawler.evidence import SiteEvidence
from shophealth.crawler.parse import page_from_body

registry = load_registry()
shop = "https://shop.example"
pages = (
    page_from_body(shop + "/products/linen-shirt", '<h1>Linen shirt</h1><a href="/pages/size-guide">Size guide</a>'.encode()),
    page_from_body(shop + "/products/silk-scarf", "<h1>Silk scarf</h1><p>HK$300</p>".encode()),
    page_from_body(shop + "/pages/about", "<h1>About us</h1>".encode()),
)
outcome = run_checks([registry.checks["example.size-chart"]], SiteEvidence(shop + "/", shop + "/", pages))[0]
print(json.dumps({"status": outcome.status, "pages": [f.page for f in outcome.findings]}))
"""


def test_example_package_installs_and_its_check_runs(tmp_path: Path) -> None:
    target = tmp_path / "site"
    source = tmp_path / "plugin_example"  # a copy: setuptools leaves build/ and *.egg-info beside the source
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SHOPHEALTH_DISABLE_PLUGIN_AUTOLOAD", None)
    done = subprocess.run(
        [sys.executable, "-c", RUN_IT], env=env, check=True, capture_output=True, text=True, timeout=120
    )
    assert json.loads(done.stdout) == {
        "status": "pass",
        "pages": ["https://shop.example/products/silk-scarf"],
    }


def test_example_is_not_loaded_when_not_installed(registry: Registry) -> None:
    assert "example.size-chart" not in registry.checks
