"""Proof that a change to the crawler gathers the same evidence (a measurement aid, not a test).

``judge_equal.py compare`` needs the same saved evidence judged twice; a crawler change
needs two crawls, which differ in what no crawl fixes: the fixture servers' ports (and so
the findings' fingerprints) and the order pages arrive in (and so which page a target was
first seen on). This compares two folders of reports written by ``judge_equal.py judge``
from evidence saved before and after the change, with ports masked and in any order: per
site, the findings (check, severity, target and count; for a page-level finding, its page
and message), the checks' statuses, the scores, the pages with their kinds, the stats'
counts and the unverifiable links.

    .venv/bin/python bench/judge_equal.py save /tmp/ev-before      # the code before
    .venv/bin/python bench/judge_equal.py judge /tmp/ev-before/* --out /tmp/before
    … change the crawler, save /tmp/ev-after, judge it into /tmp/after …
    .venv/bin/python bench/crawl_equal.py /tmp/before /tmp/after
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

PORT = re.compile(r"(127\.0\.0\.\d+|localhost|\[::1\]):\d{2,5}")
STATS = ("pages", "links_checked", "requests", "complete", "stopped_reason")


def _findings(site: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    found: Counter[tuple[Any, ...]] = Counter()
    for finding in site.get("findings", []):
        if finding.get("target") is None:
            found[(finding["check"], finding["severity"], finding.get("page"), finding["message"])] += 1
        else:
            count = (finding.get("evidence") or {}).get("count")
            found[(finding["check"], finding["severity"], finding["target"], count)] += 1
    return found


def summary(report: Path) -> dict[str, dict[str, Any]]:
    """What must not change, per site, with ports masked and order left out."""
    data = json.loads(PORT.sub(r"\1:PORT", report.read_text()))
    return {
        site["site"]: {
            "findings": _findings(site),
            "checks": sorted((c["check"], c["status"], c.get("findings")) for c in site.get("checks", [])),
            "scores": site.get("scores"),
            "stats": {key: site["stats"].get(key) for key in STATS},
            "pages": sorted(json.dumps(p, sort_keys=True) for p in site.get("pages") or []),
            "unverifiable": sorted(
                (u["target"], u["reason"], u.get("count")) for u in site.get("unverifiable", [])
            ),
        }
        for site in data["sites"]
    }


def compare(before: Path, after: Path) -> int:
    differing = 0
    for first in sorted(before.glob("*.json")):
        a, b = summary(first), summary(after / first.name)
        fields = sorted({key for site in a for key in a[site] if a[site][key] != b.get(site, {}).get(key)})
        print(f"{first.name:<40} {'equal' if not fields else 'DIFFERENT: ' + ', '.join(fields)}")
        differing += bool(fields)
    return 1 if differing else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
