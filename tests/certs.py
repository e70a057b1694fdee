"""Certificates made at test time with ``cryptography``: a test CA and leaves.

trustme cannot make expired or not-yet-valid certificates, so this small
factory builds the test PKI itself: a root CA, an intermediate signed by it,
and leaves signed by the intermediate (or by themselves) with any validity
window and any names. Keys are EC P-256, which are made in microseconds.

:meth:`Leaf.write` writes the PEM files a TLS server loads: the leaf, then the
chain it serves (the intermediate, unless left out on purpose).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Authority:
    """A CA certificate and its key."""

    cert: x509.Certificate
    key: PrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write(self, path: Path) -> Path:
        path.write_bytes(self.pem())
        return path


@dataclass(frozen=True)
class Leaf:
    """A server certificate, its key and the chain a server sends with it."""

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write ``name.pem`` (leaf + chain) and ``name.key``; return both paths."""
        cert_path = directory / f"{name}.pem"
        key_path = directory / f"{name}.key"
        served = (self.cert, *self.chain)
        cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in served))
        key_path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_path, key_path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shophealth tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _builder(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, start: datetime, end: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def make_root(common_name: str = "shophealth test root CA") -> Authority:
    """A self-signed root CA valid from a year ago for ten years."""
    key = _new_key()
    now = datetime.now(UTC)
    name = _name(common_name)
    cert = (
        _builder(name, name, key, now - timedelta(days=365), now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert, key)


def make_intermediate(root: Authority, common_name: str = "shophealth test intermediate CA") -> Authority:
    """An intermediate CA signed by ``root``."""
    key = _new_key()
    now = datetime.now(UTC)
    cert = (
        _builder(
            _name(common_name),
            root.cert.subject,
            key,
            now - timedelta(days=365),
            now + timedelta(days=1825),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(_authority_key_id(root), critical=False)
        .sign(root.key, hashes.SHA256())
    )
    return Authority(cert, key)


def make_leaf(
    issuer: Authority | None,
    names: tuple[str, ...] = ("localhost", "127.0.0.1"),
    valid_from_days: float = -1,
    valid_until_days: float = 60,
    send_chain: bool = True,
) -> Leaf:
    """A server certificate for ``names`` (DNS names or IP addresses).

    Validity is given in days relative to now (negative: in the past). With
    ``issuer=None`` the leaf is self-signed. ``send_chain=False`` leaves the
    issuing intermediate out of what the server sends (an incomplete chain).
    """
    key = _new_key()
    now = datetime.now(UTC)
    subject = _name(names[0])
    signer_key = issuer.key if issuer else key
    builder = (
        _builder(
            subject,
            issuer.cert.subject if issuer else subject,
            key,
            now + timedelta(days=valid_from_days),
            now + timedelta(days=valid_until_days),
        )
        .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if issuer:
        builder = builder.add_extension(_authority_key_id(issuer), critical=False)
    cert = builder.sign(signer_key, hashes.SHA256())
    chain = (issuer.cert,) if issuer and send_chain else ()
    return Leaf(cert, key, chain)


def _general_names(names: tuple[str, ...]) -> list[x509.GeneralName]:
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return general


def _authority_key_id(issuer: Authority) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
