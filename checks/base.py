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

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from shophealth.crawler.evidence import SiteEvidence
from shophealth.crawler.urls import normalize

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
    # What tells this problem apart when the check reports several on one page or
    # target (seo.basics: ``"description"``); stable across runs, never message text.
    key: str | None = None

    @property
    def fingerprint(self) -> str:
        """The problem's identity across runs (see :func:`fingerprint`)."""
        return fingerprint(self.check, self.page, self.target, self.key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "page": self.page,
            "target": self.target,
            "message": self.message,
            "evidence": json.loads(json.dumps(dict(self.evidence), default=str)),
            "fingerprint": self.fingerprint,
            **({"key": self.key} if self.key is not None else {}),
        }


# Query parameters that change between visits without changing what a URL names:
# trackers, session ids and cache busters (``app.css?ver=6.4.2``).
VOLATILE_PARAMETER = re.compile(
    r"(utm_.*|fbclid|gclid|msclkid|_ga|_gl|sid|sessionid|phpsessid|jsessionid|ver|v|_)$", re.IGNORECASE
)
PATH_SESSION_ID = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)
# The crawler's own not-found probe (``gather.probe_path``) has a random part each run.
PROBE_PATH = re.compile(r"/shophealth-probe-[0-9a-f]+-does-not-exist")


def fingerprint(check: str, page: str, target: str | None, key: str | None = None) -> str:
    """A finding's identity for baselines and history: its check, the URL it is
    about (the target, else the page) in canonical form and its ``key``.

    Not the message, severity, counts or evidence, so the identity survives
    reworded messages, changed counts, pages crawled in another order (a
    broken link is identified by its target, not the first page it was seen
    on), reordered query parameters, fragments, session ids and cache busters.
    """
    where = canonical_location(target or page)
    text = "\x00".join((check, where, key or ""))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@functools.lru_cache(maxsize=65536)
def canonical_location(url: str) -> str:
    """``url`` normalised for identity: case, default port, query order, no fragment,
    no tracking, session or cache-busting parameters, the not-found probe's random part
    dropped. Text that is no URL stays as it is."""
    try:
        parts = urlsplit(PROBE_PATH.sub("/shophealth-probe", PATH_SESSION_ID.sub("", normalize(url))))
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not VOLATILE_PARAMETER.match(k)
        ]
        return canonicalize_url(urlunsplit(parts._replace(query=urlencode(query))))
    except ValueError:
        return url


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
