"""TLS and transport: certificates, plain HTTP and mixed content.

Reads the TLS facts gathered once per host (``tls``), the shop's home asked
over http:// (``plain_http``) and the crawled pages (``pages``).

``tls.expired`` (error)
    a host's certificate is past its not-after date, or before its not-before
    date. Browsers show a full-page warning instead of the shop. A host that
    fails verification for this reason is reported here only, not also as
    ``tls.invalid``; one that also fails for another reason (an expired
    self-signed certificate) gets both findings.
``tls.expiring`` (warning inside ``warn_days``, default 30; error inside
``error_days``, default 7)
    the certificate is still valid but ends soon. Short-lived certificates
    (lifetime of ``short_lived_days``, default 90, or less, as Let's Encrypt
    and other ACME CAs issue) are renewed automatically when a third of their
    lifetime is left (30 of 90 days), so for them both windows are scaled by
    lifetime/120: a 90-day certificate warns at 22.5 days left and errors at
    5.25, a week after its renewal should have happened. A healthy
    auto-renewing shop never reaches the window; one whose renewal is failing
    does, in time to fix it.
``tls.invalid`` (error)
    verification fails for another reason: hostname mismatch, self-signed,
    untrusted root, incomplete chain (intermediate not served), failed
    handshake. The message gives the reason in plain words. Hosts that could
    not be reached at all (``error_kind`` ``connect``) are not reported here:
    that is an unreachable site or link, not a certificate problem.
``tls.no-https`` (warning; error when the shop has no https:// home at all)
    the home asked over http:// answers (2xx or 3xx as its final answer)
    without ending on https://: customers who type the bare name get a page
    marked "Not secure", and their data travels in clear. Silent when the
    plain-HTTP port refuses connections or answers 4xx/5xx: the shop is then
    not served over HTTP.
``tls.mixed-content`` (error for active, warning for passive content)
    an https page loads resources over http://. Active content (scripts,
    stylesheets, iframes, embeds, form actions) is blocked by browsers and
    breaks the page, or sends the customer's form data in clear: error.
    Passive content (images, picture sources, video, audio, posters, icons) is
    upgraded or blocked and shows a "not secure" sign: warning. One finding
    per insecure resource (SPEC §2, as ``links.broken``): ``target`` is the
    http:// URL, the message names it and the kind of element (script,
    stylesheet, iframe, embed, form action, image, media); ``page`` is the
    first secure page that loads it, ``evidence.pages`` the first few and
    ``evidence.count`` how many secure pages load it. A URL loaded both as
    active and as passive content is judged as active. Plain links
    (``a href``) to http:// pages are not mixed content. Known limit:
    resources added by scripts or CSS (``url()``) are not seen;
    ``<link rel=preload>`` is not judged because the ``as`` type is not
    recorded.

Findings about a host have ``page`` the shop's home and ``target`` ``host:port``;
``tls.no-https`` has ``page`` the home and ``target`` the http:// URL asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shophealth.checks.base import Check, Finding, Options, Severity
from shophealth.crawler.evidence import Ref, SiteEvidence, TlsFacts, day_of

EXPIRY_KINDS = {"expired", "not-yet-valid"}
UNREACHABLE_KINDS = {"connect"}
SHORT_LIVED_SCALE_DAYS = 120.0
EXPIRING_DEFAULTS = {"warn_days": 30.0, "error_days": 7.0, "short_lived_days": 90.0}

# The kind of element a resource is loaded by, named as a shop owner would.
ACTIVE_KINDS = {"script": "script", "iframe": "iframe", "embed": "embed", "form": "form action"}
PASSIVE_KINDS = {"img": "image", "video": "media", "audio": "media"}
PASSIVE_LINK_RELS = {"icon", "shortcut", "apple-touch-icon"}
MAX_LISTED_PAGES = 5


def _target(facts: TlsFacts) -> str:
    return f"{facts.host}:{facts.port}"


def _host_evidence(facts: TlsFacts) -> dict[str, Any]:
    return {
        "host": _target(facts),
        "issuer": facts.issuer,
        "subject": facts.subject,
        "sans": list(facts.sans),
        "not_before": facts.not_before,
        "not_after": facts.not_after,
        "days_left": facts.days_left,
        "error_kind": facts.error_kind,
        "error": facts.error,
    }


def _host_finding(
    evidence: SiteEvidence,
    check: str,
    severity: Severity,
    facts: TlsFacts,
    message: str,
    **extra: Any,
) -> Finding:
    details = {**_host_evidence(facts), **extra}
    return Finding(check, severity, evidence.home, _target(facts), message, details)


def _is_out_of_date(facts: TlsFacts) -> bool:
    not_yet = facts.error_kind == "not-yet-valid"
    return facts.error_kind == "expired" or not_yet or (facts.days_left or 0.0) < 0


def run_expired(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for facts in evidence.tls:
        if not _is_out_of_date(facts):
            continue
        if facts.error_kind == "not-yet-valid":
            when = f"is not valid until {day_of(facts.not_before)}"
        else:
            when = f"expired on {day_of(facts.not_after)}"
        message = (
            f"The security certificate of {_target(facts)} {when}: "
            "browsers show a full-page warning instead of the shop."
        )
        yield _host_finding(evidence, "tls.expired", "error", facts, message)


def expiry_windows(lifetime_days: float | None, options: Options) -> tuple[float, float]:
    """The (warning, error) windows in days for a certificate of this lifetime."""
    warn_days = float(options.get("warn_days", EXPIRING_DEFAULTS["warn_days"]))
    error_days = float(options.get("error_days", EXPIRING_DEFAULTS["error_days"]))
    short_lived = float(options.get("short_lived_days", EXPIRING_DEFAULTS["short_lived_days"]))
    if lifetime_days is not None and 0 < lifetime_days <= short_lived:
        scale = lifetime_days / SHORT_LIVED_SCALE_DAYS
        return warn_days * scale, error_days * scale
    return warn_days, error_days


def run_expiring(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for facts in evidence.tls:
        if facts.days_left is None or _is_out_of_date(facts):
            continue
        warn_window, error_window = expiry_windows(facts.lifetime_days, options)
        if facts.days_left >= warn_window:
            continue
        severity: Severity = "error" if facts.days_left < error_window else "warning"
        message = (
            f"The security certificate of {_target(facts)} expires on {day_of(facts.not_after)}, "
            f"in {facts.days_left:.0f} days: renew it before customers see a browser warning."
        )
        yield _host_finding(
            evidence,
            "tls.expiring",
            severity,
            facts,
            message,
            warn_days=round(warn_window, 2),
            error_days=round(error_window, 2),
        )


def run_invalid(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for facts in evidence.tls:
        if facts.valid or facts.error_kind in EXPIRY_KINDS | UNREACHABLE_KINDS:
            continue
        reason = facts.error or "the certificate could not be verified"
        message = f"Browsers refuse the secure connection to {_target(facts)}: {reason}."
        yield _host_finding(evidence, "tls.invalid", "error", facts, message)


def _scheme(url: str) -> str:
    """The URL's scheme, lower case; read off the text, so a malformed URL cannot raise."""
    scheme, colon, _ = url.partition(":")
    return scheme.strip().lower() if colon else ""


def run_no_https(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    answer = evidence.plain_http
    if answer is None or answer.status is None or answer.status >= 400:
        return
    if _scheme(answer.final_url) != "http":
        return
    https_works = _scheme(evidence.home) == "https"
    yield Finding(
        "tls.no-https",
        "warning" if https_works else "error",
        evidence.home,
        answer.url,
        "The shop answers over plain http:// without redirecting to https://: "
        "customers' data travels unencrypted and browsers mark the page 'Not secure'.",
        {"status": answer.status, "final_url": answer.final_url, "hops": len(answer.redirects)},
    )


def _element_kind(ref: Ref) -> tuple[str, bool] | None:
    """The kind of element that loads ``ref`` and whether it is active content, or None for links."""
    if ref.tag in ACTIVE_KINDS:
        return ACTIVE_KINDS[ref.tag], True
    if ref.tag == "link":
        rels = set(ref.rel.lower().split())
        if "stylesheet" in rels:
            return "stylesheet", True
        return ("image", False) if rels & PASSIVE_LINK_RELS else None
    if ref.tag == "video" and ref.attr == "poster":
        return "image", False
    if ref.tag == "source":  # srcset: a <picture>'s image; src: a <video>'s or <audio>'s media
        return ("image" if "srcset" in ref.attr else "media"), False
    return (PASSIVE_KINDS[ref.tag], False) if ref.tag in PASSIVE_KINDS else None


@dataclass
class _InsecureResource:
    """An http:// resource of secure pages: what loads it and on which pages."""

    kind: str
    active: bool
    pages: list[str] = field(default_factory=list)
    count: int = 0

    def seen_on(self, page: str, kind: str, active: bool) -> None:
        if active and not self.active:
            self.kind, self.active = kind, True
        if len(self.pages) < MAX_LISTED_PAGES:
            self.pages.append(page)
        self.count += 1


def _insecure_resources(evidence: SiteEvidence) -> dict[str, _InsecureResource]:
    resources: dict[str, _InsecureResource] = {}
    for page in evidence.pages:
        if _scheme(page.final_url) != "https":
            continue
        on_page: dict[str, tuple[str, bool]] = {}
        for ref in page.refs:
            insecure = ref.invalid is None and _scheme(ref.url) == "http"
            kind = _element_kind(ref) if insecure else None
            if kind is not None and not on_page.get(ref.url, ("", False))[1]:
                on_page[ref.url] = kind
        for url, (name, active) in on_page.items():
            resources.setdefault(url, _InsecureResource(name, active)).seen_on(page.final_url, name, active)
    return resources


def run_mixed_content(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for url, resource in _insecure_resources(evidence).items():
        yield Finding(
            "tls.mixed-content",
            "error" if resource.active else "warning",
            resource.pages[0],
            url,
            _mixed_content_message(url, resource),
            {"element": resource.kind, "pages": resource.pages, "count": resource.count},
        )


def _mixed_content_message(url: str, resource: _InsecureResource) -> str:
    where = "this secure page" if resource.count == 1 else f"{resource.count} secure pages"
    if resource.kind == "form action":
        return (
            f"The form action {url} on {where} sends customers' data over plain http://: "
            "browsers warn before sending it, and it travels unencrypted."
        )
    if resource.active:
        return (
            f"The {resource.kind} {url} is loaded over plain http:// on {where}: "
            "browsers block it and the page breaks."
        )
    return (
        f"The {resource.kind} {url} is loaded over plain http:// on {where}: "
        "browsers mark the page 'Not secure' or leave it out."
    )


CHECKS: list[Check] = [
    Check(
        id="tls.expired",
        title="Certificate expired or not yet valid",
        requires=("tls",),
        run=run_expired,
        severities="error",
        family_doc=__doc__ or "",
    ),
    Check(
        id="tls.expiring",
        title="Certificate expires soon",
        requires=("tls",),
        run=run_expiring,
        severities=(
            "warning inside warn_days (30), error inside error_days (7); "
            "scaled by lifetime/120 for certificates of 90 days or less"
        ),
        defaults=EXPIRING_DEFAULTS,
        family_doc=__doc__ or "",
    ),
    Check(
        id="tls.invalid",
        title="Certificate not trusted",
        requires=("tls",),
        run=run_invalid,
        severities="error",
        family_doc=__doc__ or "",
    ),
    Check(
        id="tls.no-https",
        title="Shop served over plain HTTP",
        requires=("plain_http",),
        run=run_no_https,
        severities="warning; error when the shop's home itself is http://",
        family_doc=__doc__ or "",
    ),
    Check(
        id="tls.mixed-content",
        title="Secure page loads insecure content",
        requires=("pages",),
        run=run_mixed_content,
        severities="error for scripts, stylesheets, iframes, embeds, form actions; warning for images and media",
        family_doc=__doc__ or "",
    ),
]
