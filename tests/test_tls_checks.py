"""The tls.* checks judged from hand-built evidence, and once end to end from a live server."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from certs import Authority, Leaf, make_intermediate, make_leaf, make_root

from shophealth.checks.base import Finding
from shophealth.checks.registry import load_registry, run_check
from shophealth.checks.tls import CHECKS, expiry_windows
from shophealth.crawler.evidence import Hop, Page, SiteEvidence, TlsFacts
from shophealth.crawler.fetch import trust_context
from shophealth.crawler.parse import page_from_body
from shophealth.crawler.tls import inspect_tls

HOME = "https://shop.example/"
BY_ID = {check.id: check for check in CHECKS}
TLS_IDS = ("tls.expired", "tls.expiring", "tls.invalid")


def healthy(days_left: float = 200.0, lifetime: float = 398.0, **changes: object) -> TlsFacts:
    facts = TlsFacts(
        host="shop.example",
        port=443,
        valid=True,
        issuer="CN=R11,O=Let's Encrypt,C=US",
        subject="CN=shop.example",
        sans=("shop.example",),
        not_before="2026-01-01T00:00:00Z",
        not_after="2027-02-03T00:00:00Z",
        days_left=days_left,
        lifetime_days=lifetime,
        protocol="TLSv1.3",
        chain_length=2,
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def run(check_id: str, evidence: SiteEvidence, **options: object) -> list[Finding]:
    outcome = run_check(BY_ID[check_id], evidence, options)
    assert outcome.status not in {"error", "skipped"}, outcome.detail
    return list(outcome.findings)


def tls_findings(*facts: TlsFacts, **options: object) -> dict[str, list[Finding]]:
    evidence = SiteEvidence(site=HOME, home=HOME, tls=facts)
    return {check_id: run(check_id, evidence, **options) for check_id in TLS_IDS}


def severities(findings: dict[str, list[Finding]]) -> dict[str, list[str]]:
    return {check: [f.severity for f in found] for check, found in findings.items() if found}


def test_family_is_registered_through_the_entry_point() -> None:
    registered = load_registry(autoload_plugins=False).checks
    assert {c.id for c in CHECKS} <= set(registered)


def test_valid_certificate_is_clean() -> None:
    assert severities(tls_findings(healthy())) == {}


def test_expired_certificate_is_expired_only() -> None:
    facts = healthy(days_left=-3, valid=False, error_kind="expired", error="the certificate …")
    found = tls_findings(facts)
    assert severities(found) == {"tls.expired": ["error"]}
    finding = found["tls.expired"][0]
    assert (finding.page, finding.target) == (HOME, "shop.example:443")
    assert "2027-02-03" in finding.message
    assert finding.evidence["days_left"] == -3


def test_not_yet_valid_certificate_is_expired_family() -> None:
    facts = healthy(days_left=400, valid=False, error_kind="not-yet-valid")
    found = tls_findings(facts)
    assert severities(found) == {"tls.expired": ["error"]}
    assert "not valid until 2026-01-01" in found["tls.expired"][0].message


def test_expired_and_self_signed_are_two_problems() -> None:
    facts = healthy(days_left=-1, valid=False, error_kind="self-signed", error="self-signed")
    assert severities(tls_findings(facts)) == {"tls.expired": ["error"], "tls.invalid": ["error"]}


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(40, {}), (29.5, {"tls.expiring": ["warning"]}), (20, {"tls.expiring": ["warning"]}),
     (6.9, {"tls.expiring": ["error"]}), (5, {"tls.expiring": ["error"]}),
     (0.2, {"tls.expiring": ["error"]})],
)  # fmt: skip
def test_expiring_windows_for_a_one_year_certificate(
    days_left: float, expected: dict[str, list[str]]
) -> None:
    assert severities(tls_findings(healthy(days_left=days_left))) == expected


def test_expiring_windows_are_options() -> None:
    found = tls_findings(healthy(days_left=40), warn_days=60, error_days=45)
    assert severities(found) == {"tls.expiring": ["error"]}
    assert severities(tls_findings(healthy(days_left=20), warn_days=10)) == {}


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(60, {}), (30, {}), (29.5, {}), (23, {}), (22, {"tls.expiring": ["warning"]}),
     (10, {"tls.expiring": ["warning"]}), (5, {"tls.expiring": ["error"]})],
)  # fmt: skip
def test_lets_encrypt_certificate_renewed_at_30_days_does_not_warn(
    days_left: float, expected: dict[str, list[str]]
) -> None:
    assert severities(tls_findings(healthy(days_left=days_left, lifetime=90))) == expected


def test_short_lived_windows_scale_with_lifetime() -> None:
    assert expiry_windows(398, {}) == (30, 7)
    assert expiry_windows(90, {}) == pytest.approx((22.5, 5.25))
    assert expiry_windows(6, {}) == pytest.approx((1.5, 0.35))
    assert expiry_windows(90, {"short_lived_days": 0}) == (30, 7)


def test_expiring_message_and_evidence() -> None:
    finding = tls_findings(healthy(days_left=5))["tls.expiring"][0]
    assert "2027-02-03" in finding.message and "in 5 days" in finding.message
    assert (finding.evidence["warn_days"], finding.evidence["error_days"]) == (30, 7)


@pytest.mark.parametrize("kind", ["hostname", "self-signed", "untrusted", "incomplete-chain", "handshake"])
def test_invalid_certificate_gives_the_reason(kind: str) -> None:
    reason = f"plain words about {kind}"
    found = tls_findings(healthy(valid=False, error_kind=kind, error=reason))
    assert severities(found) == {"tls.invalid": ["error"]}
    assert reason in found["tls.invalid"][0].message


def test_unreachable_host_is_not_a_certificate_problem() -> None:
    facts = TlsFacts("shop.example", 443, valid=False, error="refused", error_kind="connect")
    assert severities(tls_findings(facts)) == {}


def test_each_host_is_judged_on_its_own() -> None:
    pay = healthy(days_left=3, host="pay.example")
    cdn = healthy(valid=False, error_kind="hostname", error="wrong name", host="cdn.example")
    found = tls_findings(healthy(), pay, cdn)
    assert [f.target for f in found["tls.expiring"]] == ["pay.example:443"]
    assert [f.target for f in found["tls.invalid"]] == ["cdn.example:443"]


def test_missing_tls_evidence_skips_the_checks() -> None:
    evidence = SiteEvidence(site=HOME, home=HOME, missing={"tls": "not gathered"})
    assert run_check(BY_ID["tls.expired"], evidence, {}).status == "skipped"


# tls.no-https


def answer(status: int | None, final_url: str, error: str | None = None) -> Page:
    hops = (Hop("http://shop.example/", 301, final_url),) if final_url != "http://shop.example/" else ()
    return Page("http://shop.example/", final_url, status, 0, redirects=hops, error=error)


def no_https(plain: Page | None, home: str = HOME) -> list[Finding]:
    return run("tls.no-https", SiteEvidence(site=home, home=home, plain_http=plain))


def test_plain_http_answer_without_redirect_is_found() -> None:
    (finding,) = no_https(answer(200, "http://shop.example/"))
    assert (finding.severity, finding.page, finding.target) == ("warning", HOME, "http://shop.example/")
    assert finding.evidence["status"] == 200


def test_http_only_shop_is_an_error() -> None:
    home = "http://shop.example/"
    assert [f.severity for f in no_https(answer(200, home), home=home)] == ["error"]


def test_redirect_to_another_http_url_is_still_plain_http() -> None:
    assert len(no_https(answer(200, "http://www.shop.example/"))) == 1


@pytest.mark.parametrize(
    "plain",
    [
        answer(200, "https://shop.example/"),
        answer(200, "https://www.shop.example/home"),
        answer(None, "http://shop.example/", error="connection refused"),
        answer(403, "http://shop.example/"),
        None,
    ],
)
def test_https_redirect_refusal_or_error_is_silent(plain: Page | None) -> None:
    assert no_https(plain) == []


def test_missing_plain_http_evidence_skips() -> None:
    evidence = SiteEvidence(site=HOME, home=HOME, missing={"plain_http": "not fetched"})
    assert run_check(BY_ID["tls.no-https"], evidence, {}).status == "skipped"


# tls.mixed-content


def page(url: str, body: str) -> Page:
    return page_from_body(url, f"<!doctype html><html><body>{body}</body></html>".encode())


def mixed(*pages: Page) -> list[Finding]:
    return run("tls.mixed-content", SiteEvidence(site=HOME, home=HOME, pages=pages))


ACTIVE_FILES = {"script": "app.js", "stylesheet": "app.css", "iframe": "app.html", "form action": "app"}


@pytest.mark.parametrize(
    ("active", "kind"),
    [
        ('<script src="http://cdn.example/app.js"></script>', "script"),
        ('<link rel="stylesheet" href="http://cdn.example/app.css">', "stylesheet"),
        ('<iframe src="http://cdn.example/app.html"></iframe>', "iframe"),
        ('<form action="http://cdn.example/app" method="post"></form>', "form action"),
    ],
)
def test_active_mixed_content_is_an_error_naming_url_and_element(active: str, kind: str) -> None:
    findings = mixed(page(HOME, active + '<img src="http://cdn.example/a.png">'))
    by_target = {f.target: f for f in findings}
    assert sorted(by_target, key=str) == [
        "http://cdn.example/a.png",
        f"http://cdn.example/{ACTIVE_FILES[kind]}",
    ]
    finding = by_target[f"http://cdn.example/{ACTIVE_FILES[kind]}"]
    assert (finding.severity, finding.page, finding.evidence["element"]) == ("error", HOME, kind)
    assert str(finding.target) in finding.message and kind in finding.message
    assert by_target["http://cdn.example/a.png"].severity == "warning"


@pytest.mark.parametrize(
    ("passive", "target", "kind"),
    [
        ('<img src="http://cdn.example/a.png">', "http://cdn.example/a.png", "image"),
        (
            '<img src="/a.png" srcset="http://cdn.example/a-2x.png 2x">',
            "http://cdn.example/a-2x.png",
            "image",
        ),
        (
            '<picture><source srcset="http://cdn.example/a.webp"><img src="/a.png"></picture>',
            "http://cdn.example/a.webp",
            "image",
        ),
        ('<video src="http://cdn.example/v.mp4"></video>', "http://cdn.example/v.mp4", "media"),
        (
            '<video src="/v.mp4" poster="http://cdn.example/p.jpg"></video>',
            "http://cdn.example/p.jpg",
            "image",
        ),
        ('<audio src="http://cdn.example/s.mp3"></audio>', "http://cdn.example/s.mp3", "media"),
        (
            '<video><source src="http://cdn.example/v.webm"></video>',
            "http://cdn.example/v.webm",
            "media",
        ),
    ],
)
def test_passive_mixed_content_is_a_warning_naming_url_and_element(
    passive: str, target: str, kind: str
) -> None:
    (finding,) = mixed(page(HOME, passive))
    assert (finding.severity, finding.target, finding.evidence["element"]) == ("warning", target, kind)
    assert target in finding.message and kind in finding.message


def test_footer_form_on_sixty_pages_is_one_finding_with_count_sixty() -> None:
    footer = '<footer><form action="http://news.example/subscribe" method="post"></form></footer>'
    pages = [page(f"https://shop.example/p/{n}", footer + footer) for n in range(60)]
    (finding,) = mixed(*pages)
    assert finding.target == "http://news.example/subscribe"
    assert finding.page == "https://shop.example/p/0"
    assert finding.evidence["count"] == 60
    assert finding.evidence["pages"] == [f"https://shop.example/p/{n}" for n in range(5)]
    assert "60 secure pages" in finding.message and "form" in finding.message


def test_one_finding_per_resource_and_active_use_wins() -> None:
    body = '<img src="http://cdn.example/a.png">' * 3 + '<img src="http://cdn.example/b.png">'
    other = page(
        "https://shop.example/p/1",
        '<img src="http://cdn.example/x.js"><script src="http://cdn.example/x.js"></script>'
        '<img src="http://cdn.example/a.png">',
    )
    findings = mixed(page(HOME, body), other)
    summary = {f.target: (f.severity, f.page, f.evidence["count"]) for f in findings}
    assert summary == {
        "http://cdn.example/a.png": ("warning", HOME, 2),
        "http://cdn.example/b.png": ("warning", HOME, 1),
        "http://cdn.example/x.js": ("error", "https://shop.example/p/1", 1),
    }


def test_links_secure_resources_and_http_pages_are_not_mixed_content() -> None:
    clean = page(
        HOME,
        '<a href="http://partner.example/">partner</a>'
        '<script src="https://cdn.example/app.js"></script>'
        '<img src="//cdn.example/a.png"><img src="/b.png">'
        '<link rel="canonical" href="http://shop.example/">',
    )
    insecure_page = page("http://shop.example/old", '<script src="http://cdn.example/a.js"></script>')
    assert mixed(clean, insecure_page) == []


# end to end: a live server's facts judged by the checks


async def _leaf_facts(leaf: Leaf, tmp_path: Path, trust: ssl.SSLContext) -> TlsFacts:
    cert_path, key_path = leaf.write(tmp_path, "live")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    server = await asyncio.start_server(_close, "127.0.0.1", 0, ssl=context)
    try:
        return await inspect_tls("127.0.0.1", server.sockets[0].getsockname()[1], trust, 5)
    finally:
        server.close()


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest.fixture(scope="module")
def pki() -> Iterator[tuple[Authority, Authority]]:
    root = make_root()
    yield root, make_intermediate(root)


CASES: dict[str, tuple[dict[str, Any], dict[str, list[str]]]] = {
    "valid": ({}, {}),
    "expired": ({"valid_from_days": -400, "valid_until_days": -2}, {"tls.expired": ["error"]}),
    "expiring-5": ({"valid_from_days": -360, "valid_until_days": 5}, {"tls.expiring": ["error"]}),
    "expiring-20": (
        {"valid_from_days": -360, "valid_until_days": 20},
        {"tls.expiring": ["warning"]},
    ),
    "wrong-host": ({"names": ("shop.example",)}, {"tls.invalid": ["error"]}),
    "self-signed": ({"self_signed": True}, {"tls.invalid": ["error"]}),
    "missing-intermediate": ({"send_chain": False}, {"tls.invalid": ["error"]}),
}


@pytest.mark.parametrize("case", CASES)
async def test_live_certificates_give_the_right_findings(
    case: str, pki: tuple[Authority, Authority], tmp_path: Path
) -> None:
    root, intermediate = pki
    options, expected = dict(CASES[case][0]), CASES[case][1]
    issuer = None if options.pop("self_signed", False) else intermediate
    leaf = make_leaf(issuer, **options)
    trust = trust_context(str(root.write(tmp_path / "root.pem")))
    assert severities(tls_findings(await _leaf_facts(leaf, tmp_path, trust))) == expected


def test_a_malformed_http_href_is_not_mixed_content_and_does_not_raise() -> None:
    assert mixed(page(HOME, '<script src="http://[::1"></script><img src="http://[bad/x.png">')) == []
