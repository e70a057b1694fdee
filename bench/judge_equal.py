"""Proof that a change to the checks leaves reports unchanged (a measurement aid, not a test).

``save OUT``: serves the demo shop, every test shop folder (``fixtures/test_shops/*`` and
their sub-shops) and the real-world corpus (``../shared/realworld`` or ``$SHOPHEALTH_REALWORLD``,
a copy with an index page linking each of its HTML files) on loopback, scans each with
``--save-evidence OUT/<name>`` (no browser, no Lighthouse). The benchmark's evidence comes from
``bench/run.py --tools shophealth --shophealth-args "--save-evidence OUT/bench"``. ``judge EVIDENCE… --out DIR``: judges each saved evidence folder with the code
checked out now and writes ``DIR/<name>.json``. ``compare A B``: compares two such folders
report by report: every site's findings (check, severity, page, target, message, evidence,
fingerprint, in order), the checks' statuses and details, facts, scores, unverifiable links
and TLS; only the run's id, times and tool version are left out.

    .venv/bin/python bench/judge_equal.py save /tmp/ev
    .venv/bin/python bench/judge_equal.py judge /tmp/ev/* /tmp/judge-ev --out /tmp/before
    … change the checks …
    .venv/bin/python bench/judge_equal.py judge /tmp/ev/* /tmp/judge-ev --out /tmp/after
    .venv/bin/python bench/judge_equal.py compare /tmp/before /tmp/after

``save OUT --reports DIR --workers 1`` also keeps each scan's own report, made by a crawl whose
worker process made judging's per-page passes (``crawler/artifacts.py``); ``compare DIR J``
against ``judge`` of the same evidence (made in-process) shows they judge alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from shophealth.demo.server import SHOPS_DIR, serve_shop

SHOP_FOLDERS = ["demo_shop", *(f"test_shops/{p.name}" for p in sorted((SHOPS_DIR / "test_shops").iterdir()))]
SCAN_ARGS = ["--render", "off", "--lighthouse-pages", "0", "-q"]
REALWORLD = Path(
    os.environ.get("SHOPHEALTH_REALWORLD") or Path(__file__).resolve().parents[2] / "shared" / "realworld"
)


def shop_roots() -> list[Path]:
    """Every folder served as a shop: those with an index page, else their sub-folders."""
    roots = []
    for folder in SHOP_FOLDERS:
        path = SHOPS_DIR / folder
        if (path / "index.html").exists():
            roots.append(path)
        else:
            roots += [p for p in sorted(path.iterdir()) if (p / "index.html").exists()]
    return roots


def save(out: Path, reports: Path | None = None, workers: str | None = None) -> None:
    """Save every shop's evidence in ``out``; with ``reports``, the scans' own reports there too
    (with ``workers`` worker processes: ``judge`` of the evidence then judges it in-process)."""
    extra = ["--workers", workers] if workers is not None else []
    for root in shop_roots():
        name = str(root.relative_to(SHOPS_DIR)).replace("/", "-")
        _save_shop(root, out / name, [*extra, "--max-pages", "300"], _report(reports, name))
    if not REALWORLD.is_dir():
        print(f"real-world corpus not found at {REALWORLD} (set SHOPHEALTH_REALWORLD): not saved")
        return
    with tempfile.TemporaryDirectory() as folder:
        root = _realworld_shop(Path(folder) / "realworld")
        _save_shop(root, out / "realworld", [*extra, "--max-pages", "500"], _report(reports, "realworld"))


def _report(reports: Path | None, name: str) -> list[str]:
    if reports is None:
        return []
    reports.mkdir(parents=True, exist_ok=True)
    return ["--json", str(reports / f"{name}.json")]


def _save_shop(root: Path, evidence: Path, arguments: list[str], report: list[str]) -> None:
    shophealth = str(Path(sys.executable).parent / "shophealth")
    with serve_shop(root) as shop:
        arguments = [*SCAN_ARGS, *arguments, "--save-evidence", str(evidence), *report]
        subprocess.run([shophealth, "scan", shop.url, *arguments], check=False)
    print(evidence.name, "saved")


def _realworld_shop(root: Path) -> Path:
    """A copy of the real-world corpus with an index page linking each of its HTML files."""
    shutil.copytree(REALWORLD, root)
    pages = sorted(str(p.relative_to(root)) for p in root.rglob("*.html"))
    links = "\n".join(f'<a href="/{page}">{n}</a>' for n, page in enumerate(pages, 1))
    index = f'<!doctype html><html lang="en"><head><title>rw</title></head><body>\n{links}\n</body></html>'
    (root / "index.html").write_text(index, encoding="utf-8")
    return root


def judge(folders: list[Path], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shophealth = str(Path(sys.executable).parent / "shophealth")
    for folder in folders:
        target = out / f"{folder.name}.json"
        subprocess.run([shophealth, "judge", str(folder), "--json", str(target), "-q"], check=False)
        print(folder.name, "judged")


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what changes on every run (its id, times and tool version)."""
    return {"schema": report.get("schema"), "sites": report.get("sites")}


def compare(before: Path, after: Path) -> int:
    differing = 0
    for first in sorted(before.glob("*.json")):
        second = after / first.name
        a, b = (comparable(json.loads(p.read_text())) for p in (first, second))
        same = a == b
        differing += not same
        findings = sum(len(s.get("findings", [])) for s in a["sites"] or [])
        print(f"{first.name:<40} {'equal' if same else 'DIFFERENT'} ({findings} findings)")
    return 1 if differing else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    saving = commands.add_parser("save")
    saving.add_argument("out", type=Path)
    saving.add_argument("--reports", type=Path, help="also keep each scan's own report here")
    saving.add_argument("--workers", help="the scans' --workers (default: automatic)")
    judging = commands.add_parser("judge")
    judging.add_argument("evidence", type=Path, nargs="+")
    judging.add_argument("--out", type=Path, required=True)
    comparing = commands.add_parser("compare")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        save(args.out, args.reports, args.workers)
    elif args.command == "judge":
        judge(args.evidence, args.out)
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
