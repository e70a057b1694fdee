"""The check registry: every check comes in through the ``shophealth.checks``
entry-point group, built-in ones included (pytest's plugin model).

An entry point names a :class:`~shophealth.checks.base.Check` or a sequence of them.
``SHOPHEALTH_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the checks shipped with
shophealth, so a CI run is not changed by whatever else is installed.
Running checks never raises: a check whose evidence is missing is
``skipped`` with the reason, one that raises is ``error`` with the reason.
What a check returns is split into its findings and its facts
(:class:`~shophealth.checks.base.Fact`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

from shophealth.checks.base import Check, Fact, Finding, Options, Severity
from shophealth.crawler.evidence import SiteEvidence

GROUP = "shophealth.checks"
OWN_DISTRIBUTION = "shophealth"
AUTOLOAD_ENV = "SHOPHEALTH_DISABLE_PLUGIN_AUTOLOAD"

log = logging.getLogger(__name__)
Status = Literal["pass", "warn", "fail", "skipped", "error"]


class RegistryError(Exception):
    """A plugin could not be loaded, or two checks share an id."""


@dataclass(frozen=True)
class CheckOutcome:
    """One check's status line in the report, with its findings."""

    check: str
    status: Status
    findings: tuple[Finding, ...] = ()
    detail: str | None = None
    facts: tuple[Fact, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "findings": len(self.findings),
            "detail": self.detail,
        }


@dataclass
class Registry:
    checks: dict[str, Check] = field(default_factory=dict)

    def add(self, check: Check) -> None:
        if check.id in self.checks:
            raise RegistryError(f"two checks are registered as {check.id!r}")
        self.checks[check.id] = check

    def select(self, disabled: Iterable[str] = ()) -> list[Check]:
        off = set(disabled)
        return [c for c in self.checks.values() if c.id not in off and c.enabled_by_default]


def load_registry(autoload_plugins: bool | None = None) -> Registry:
    """Load every check registered under the entry-point group."""
    if autoload_plugins is None:
        autoload_plugins = os.environ.get(AUTOLOAD_ENV, "") in ("", "0")
    registry = Registry()
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        dist = ep.dist.name if ep.dist is not None else ""
        if not autoload_plugins and dist != OWN_DISTRIBUTION:
            continue
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin must not end the scan
            raise RegistryError(f"check plugin {ep.name!r} failed to load: {exc}") from exc
        for check in _as_checks(loaded):
            registry.add(check)
    # In id order, so every report lists a family's checks together (content.* come from five modules).
    return Registry(dict(sorted(registry.checks.items())))


def _as_checks(loaded: object) -> Sequence[Check]:
    if isinstance(loaded, Check):
        return [loaded]
    if isinstance(loaded, (list, tuple)) and all(isinstance(c, Check) for c in loaded):
        return list(loaded)
    raise RegistryError(f"entry point gave {type(loaded).__name__}, not a Check or list of Checks")


def run_check(check: Check, evidence: SiteEvidence, options: Options) -> CheckOutcome:
    """Run one check; never raises."""
    missing = [kind for kind in check.requires if kind in evidence.missing]
    if missing:
        reason = "; ".join(f"{kind}: {evidence.missing[kind]}" for kind in missing)
        return CheckOutcome(check.id, "skipped", detail=reason)
    merged: dict[str, Any] = {**check.defaults, **options}
    try:
        results = tuple(check.run(evidence, merged))
    except Exception as exc:
        log.debug("check %s raised on %s", check.id, evidence.site, exc_info=True)
        return CheckOutcome(check.id, "error", detail=f"{type(exc).__name__}: {exc}")
    findings = tuple(r for r in results if isinstance(r, Finding))
    facts = tuple(r for r in results if isinstance(r, Fact))
    return CheckOutcome(check.id, _status_of(findings), findings, facts=facts)


def _status_of(findings: Sequence[Finding]) -> Status:
    if any(f.severity == "error" for f in findings):
        return "fail"
    if any(f.severity == "warning" for f in findings):
        return "warn"
    return "pass"


def run_checks(
    checks: Iterable[Check],
    evidence: SiteEvidence,
    options: Mapping[str, Options] | None = None,
) -> list[CheckOutcome]:
    options = options or {}
    return [run_check(c, evidence, options.get(c.id, {})) for c in checks]


def with_severity(outcome: CheckOutcome, severity: Severity) -> CheckOutcome:
    """``outcome`` with every finding at ``severity`` (a severity set in the check's settings)."""
    findings = tuple(dataclasses.replace(f, severity=severity) for f in outcome.findings)
    return dataclasses.replace(outcome, findings=findings, status=_status_of(findings))
