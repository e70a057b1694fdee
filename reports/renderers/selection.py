"""Which findings make a CI run fail: shared by the JUnit and SARIF renderers and the gate.

A finding *fails* when its severity is at or above the threshold (``error``, or
``warning`` to fail on warnings too) and, when a baseline was given, it is new
since the baseline (its ``site`` and ``fingerprint`` are in ``only``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from shophealth.reports.diff import finding_fingerprint

SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
FAIL_ON = ("error", "warning")

Failing = Callable[[str, Mapping[str, Any]], bool]  # (site URL, finding) -> fails the run


def failing(fail_on: str = "error", only: Collection[tuple[str, str]] | None = None) -> Failing:
    """The predicate: at or above ``fail_on``, and in ``only`` ((site, fingerprint) pairs) if given."""
    threshold = SEVERITY_RANK[fail_on]

    def fails(site: str, finding: Mapping[str, Any]) -> bool:
        if SEVERITY_RANK.get(str(finding.get("severity")), 9) > threshold:
            return False
        return only is None or (site, finding_fingerprint(finding)) in only

    return fails
