"""What a check is, what it returns, and how findings are grouped.

A check is a :class:`Check`: an id from SPEC §2, a title, the evidence kinds
it needs (``requires``) and a pure function ``run(evidence, options)`` that
returns :class:`Finding` records. It does no network I/O and keeps no state
between calls, so it can be tested with evidence literals.

A check may also return :class:`Fact` records: what it learnt about the shop
that is not a problem (the payment methods shown, the social profiles linked).
They go in the report's per-site ``facts`` object, by name, never in
``findings``, and never change a score.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shophealth.crawler.evidence import SiteEvidence

Severity = Literal["error", "warning", "info"]
Options = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: SPEC §3's finding record."""

    check: str
    severity: Severity
    page: str
    target: str | None
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A stable key for baselines: check, page and target, not the wording."""
        key = f"{self.check}\x00{self.target or self.page}"
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "page": self.page,
            "target": self.target,
            "message": self.message,
            "evidence": json.loads(json.dumps(dict(self.evidence), default=str)),
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class Fact:
    """Something a check learnt about the shop that is not a problem: ``facts[name] = value``
    in the report. ``value`` is JSON: a list of strings or of small objects."""

    name: str
    value: Any


CheckFunction = Callable[[SiteEvidence, Options], Iterable[Finding | Fact]]


@dataclass(frozen=True)
class Check:
    """A registered check: metadata plus its pure judging function."""

    id: str
    title: str
    requires: tuple[str, ...]
    run: CheckFunction
    severities: str = ""  # the severity rules, in words
    defaults: Mapping[str, Any] = field(default_factory=dict)
    family_doc: str = ""  # the check family's module docstring
    enabled_by_default: bool = True


def snippet(text: str, start: int, end: int, around: int = 80) -> str:
    """A one-line excerpt of ``text`` around ``[start, end)``, at most ~300 chars."""
    lo = max(0, start - around)
    hi = min(len(text), end + around)
    piece = " ".join(text[lo:hi].split())
    return piece[:300]
