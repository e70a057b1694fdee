"""TLS inspection: what a host's certificate says and whether it is trusted.

:func:`inspect_tls` connects once verifying against the trust store in use.
When verification fails it says why, in plain words and as an ``error_kind``:

``expired`` / ``not-yet-valid``
    the certificate's validity window does not hold today;
``hostname``
    the certificate does not name the host;
``self-signed``
    the leaf signs itself and no authority vouches for it;
``incomplete-chain``
    the server sends only its own certificate (not self-signed) and the
    issuer is not in the trust store: the intermediate is missing. This is a
    heuristic: a leaf signed straight by an untrusted root looks the same;
``untrusted``
    the chain leads to an authority the trust store does not hold (a private
    or corporate CA: pass ``--ca-bundle``), or fails for another X.509 reason;
``handshake``
    no TLS session could be agreed (protocol, cipher, not TLS at all);
``connect``
    no connection, or no answer within the timeout.

:data:`CERTIFICATE_PROBLEMS` are the kinds for which a crawl can still go
on with verification off for that host (:func:`needs_unverified_crawl`).

After a verification failure it connects again without verification to read
the certificate anyway, so expiry dates are known even for bad certificates.

The served chain comes from ``get_unverified_chain()`` (private in CPython
3.11/3.12 on the ``_sslobj``, public from 3.13), falling back to the leaf alone
from ``getpeercert(binary_form=True)``. Certificates are parsed with
``cryptography``; nothing shells out to openssl.

:func:`shophealth.crawler.fetch.trust_context` builds the trust store every fetch and check uses:
``--ca-bundle PATH`` if given, else ``SSL_CERT_FILE``, else certifi's bundle
(the one httpx uses). A bundle replaces the public roots, as curl's
``--cacert`` does.

:func:`hosts_to_inspect` picks the https hosts a scan looks at (the shop's
own, then the hosts of its checkout/payment links and of the resources and
forms its pages load) and :func:`inspect_hosts` inspects them concurrently.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shophealth.crawler.evidence import Page, TlsFacts, day_of
from shophealth.crawler.fetch import trust_context

if TYPE_CHECKING:
    from cryptography import x509

# OpenSSL X509_V_ERR_* codes that get their own error_kind.
_KIND_BY_VERIFY_CODE = {
    9: "not-yet-valid",  # CERT_NOT_YET_VALID
    10: "expired",  # CERT_HAS_EXPIRED
    18: "self-signed",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "untrusted",  # SELF_SIGNED_CERT_IN_CHAIN: a root the store does not hold
    62: "hostname",  # HOSTNAME_MISMATCH
    64: "hostname",  # IP_ADDRESS_MISMATCH
}
# UNABLE_TO_GET_ISSUER_CERT_LOCALLY, UNABLE_TO_VERIFY_LEAF_SIGNATURE
_ISSUER_NOT_FOUND_CODES = {20, 21}
CERTIFICATE_PROBLEMS = frozenset(
    {"expired", "not-yet-valid", "hostname", "self-signed", "untrusted", "incomplete-chain"}
)
# Words in a link's URL that mark it as a checkout or payment page worth a TLS look.
PAYMENT_HINTS = ("checkout", "cart", "basket", "pay", "billing", "order")
LINK_TAGS = {"a", "area"}
_DER = 2  # _ssl.ENCODING_DER
_CLOSE_WAIT_S = 1.0


@dataclass(frozen=True)
class _Served:
    """What one handshake showed: the served chain (DER, leaf first) and protocol."""

    chain: tuple[bytes, ...]
    protocol: str | None


def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def inspect_tls(host: str, port: int, trust: ssl.SSLContext | None, timeout: float) -> TlsFacts:
    """The TLS facts of ``host:port``, within ``timeout`` seconds in all."""
    context = trust or trust_context()
    try:
        async with asyncio.timeout(timeout):
            return await _inspect(host, port, context)
    except TimeoutError:
        return TlsFacts(
            host, port, valid=False, error=f"no answer within {timeout:g} s", error_kind="connect"
        )


async def _inspect(host: str, port: int, trust: ssl.SSLContext) -> TlsFacts:
    try:
        served = await _handshake(host, port, trust)
    except ssl.SSLCertVerificationError as exc:
        return await _inspect_unverified(host, port, exc)
    except ssl.SSLError as exc:
        return _failed(host, port, "handshake", f"the TLS handshake failed: {_ssl_reason(exc)}")
    except (OSError, ValueError) as exc:  # ValueError: a host name IDNA cannot encode
        return _failed(host, port, "connect", f"could not connect: {getattr(exc, 'strerror', None) or exc}")
    return _facts(host, port, served)


async def _inspect_unverified(host: str, port: int, failure: ssl.SSLCertVerificationError) -> TlsFacts:
    try:
        served = await _handshake(host, port, _unverified_context())
    except OSError as exc:  # ssl.SSLError included
        reason = (
            f"the certificate could not be verified ({failure.verify_message}) "
            f"and a second handshake without verification failed: {exc}"
        )
        return _failed(host, port, "handshake", reason)
    facts = _facts(host, port, served)
    kind = _error_kind(failure, served.chain)
    return replace(facts, valid=False, error_kind=kind, error=_explain(kind, facts, failure))


def _failed(host: str, port: int, kind: str, reason: str) -> TlsFacts:
    return TlsFacts(host, port, valid=False, error=reason, error_kind=kind)


def _ssl_reason(exc: ssl.SSLError) -> str:
    return (exc.reason or str(exc)).replace("_", " ").lower()


async def _handshake(host: str, port: int, context: ssl.SSLContext) -> _Served:
    _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return _Served(_served_chain(ssl_object), ssl_object.version())
    finally:
        writer.close()
        with suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), _CLOSE_WAIT_S)


def _served_chain(ssl_object: Any) -> tuple[bytes, ...]:
    """The chain as served, leaf first, as DER."""
    get_chain = getattr(ssl_object, "get_unverified_chain", None) or getattr(
        getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None
    )
    if get_chain is not None:
        certs = get_chain() or []
        return tuple(c if isinstance(c, bytes) else c.public_bytes(_DER) for c in certs)
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def _facts(host: str, port: int, served: _Served) -> TlsFacts:
    from cryptography import x509  # only for https hosts: 31 ms and 13 MB of imports

    facts = TlsFacts(host, port, valid=True, protocol=served.protocol, chain_length=len(served.chain))
    try:
        leaf = x509.load_der_x509_certificate(served.chain[0]) if served.chain else None
    except ValueError:  # a certificate cryptography refuses to parse
        leaf = None
    if leaf is None:
        return facts
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    now = datetime.now(UTC)
    return replace(
        facts,
        issuer=leaf.issuer.rfc4514_string(),
        subject=leaf.subject.rfc4514_string(),
        sans=_sans(leaf),
        not_before=_iso(not_before),
        not_after=_iso(not_after),
        days_left=round((not_after - now).total_seconds() / 86400, 3),
        lifetime_days=round((not_after - not_before).total_seconds() / 86400, 3),
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509

    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names = extension.value
    return (
        *names.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in names.get_values_for_type(x509.IPAddress)),
    )


def _error_kind(failure: ssl.SSLCertVerificationError, chain: tuple[bytes, ...]) -> str:
    code = failure.verify_code
    if code in _KIND_BY_VERIFY_CODE:
        return _KIND_BY_VERIFY_CODE[code]
    if code in _ISSUER_NOT_FOUND_CODES and len(chain) == 1 and not _self_signed(chain[0]):
        return "incomplete-chain"
    return "untrusted"


def _self_signed(der: bytes) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        cert = x509.load_der_x509_certificate(der)
        if cert.issuer != cert.subject:
            return False
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _explain(kind: str, facts: TlsFacts, failure: ssl.SSLCertVerificationError) -> str:
    """The verification failure in words a shop owner understands."""
    issuer = facts.issuer or "an unknown issuer"
    names = ", ".join(facts.sans[:5]) or facts.subject or "another name"
    reasons = {
        "expired": f"the certificate expired on {day_of(facts.not_after)}",
        "not-yet-valid": f"the certificate is not valid until {day_of(facts.not_before)}",
        "hostname": f"the certificate is for {names}, not for {facts.host}",
        "self-signed": "the certificate is self-signed: no certificate authority vouches for it",
        "incomplete-chain": (
            "the server sends its certificate without the intermediate certificate "
            f"that links it to a trusted authority (issuer: {issuer})"
        ),
    }
    untrusted = (
        f"the certificate (issuer: {issuer}) does not lead to an authority the trust store "
        f"holds ({failure.verify_message}); if it is your own company CA, pass --ca-bundle"
    )
    return reasons.get(kind, untrusted)


def needs_unverified_crawl(facts: TlsFacts) -> bool:
    """The host serves a certificate that fails verification, but TLS itself works."""
    return not facts.valid and facts.error_kind in CERTIFICATE_PROBLEMS


def _https_host(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    try:
        return parts.hostname, parts.port or 443
    except ValueError:  # a port that is not a number
        return None


def _worth_inspecting(url: str, tag: str) -> bool:
    return tag not in LINK_TAGS or any(hint in url.lower() for hint in PAYMENT_HINTS)


def hosts_to_inspect(home: str, pages: Iterable[Page], limit: int = 20) -> list[tuple[str, int]]:
    """The https hosts a scan inspects, at most ``limit``: the shop's first, then the most used."""
    pages = list(pages)
    own = (_https_host(url) for url in (home, *(u for p in pages for u in (p.url, p.final_url))))
    places = Counter((ref.url, ref.tag) for p in pages for ref in p.refs if ref.url.startswith("https:"))
    used: Counter[tuple[str, int] | None] = Counter()
    for (url, tag), count in places.items():  # each distinct target judged once
        if _worth_inspecting(url, tag):
            used[_https_host(url)] += count
    ordered = [*own, *(host for host, _ in used.most_common())]
    return list(dict.fromkeys(h for h in ordered if h is not None))[:limit]


async def inspect_hosts(
    hosts: Iterable[tuple[str, int]],
    trust: ssl.SSLContext | None,
    timeout: float,
    concurrency: int = 8,
) -> tuple[TlsFacts, ...]:
    """:func:`inspect_tls` for each host, ``concurrency`` at a time, in the order given."""
    slots = asyncio.Semaphore(concurrency)

    async def inspect_one(host: str, port: int) -> TlsFacts:
        async with slots:
            return await inspect_tls(host, port, trust, timeout)

    return tuple(await asyncio.gather(*(inspect_one(host, port) for host, port in hosts)))
