"""The Chromium processes a scan starts: a throw-away profile that trusts the
scan's CA bundle, and a Chromium for Lighthouse that the scan owns and ends.

**Profile.** Every Chromium of a scan (Playwright's and Lighthouse's) runs with
``HOME`` pointing at a temporary folder, since Chromium on Linux reads the
certificates it trusts beyond its own root store from ``$HOME/.pki/nssdb``.
When the scan has a CA bundle (``--ca-bundle``, else ``SSL_CERT_FILE``) that
folder holds an NSS database made with ``certutil`` (Debian's
``libnss3-tools``) in which every certificate of the bundle is a trusted CA,
so Chromium trusts the same shops as the HTTP client. Public roots in the
bundle (the system's and certifi's) are left out, since Chromium's own root
store covers them and each certificate costs a ``certutil`` run: a bundle of
only public roots (Debian's ``SSL_CERT_FILE``) needs no database. Known limit:
a root in Mozilla's store but not in Chromium's is trusted by the HTTP client
only. Without ``certutil``
the bundle cannot be handed over; Chromium then ignores certificate errors
and :attr:`Profile.note` says so. A shop whose certificate failed the HTTP
client's verification is still rendered and audited, with certificate errors
ignored (``--ignore-certificate-errors``) and a note saying why; ``tls.*``
judges the certificate.

**Lighthouse's Chromium.** chrome-launcher, which Lighthouse uses to start
Chromium, starts it detached in a process group of its own, so killing
Lighthouse on a time-out left Chromium running (~1.4 GB) and its ``lighthouse.*``
profile in the temporary folder. :func:`debuggable_chromium` starts Chromium
itself (headless, :func:`chromium_args`, the
throw-away profile as ``--user-data-dir``, ``--remote-debugging-port=0``),
reads the port Chromium chose from its ``DevToolsActivePort`` file, and on
leaving kills Chromium's whole process group and removes the profile, whatever
happened; Lighthouse is given ``--port`` and never starts a browser. Should
the scan's own process be killed outright, Linux kills Chromium and Lighthouse
too (``PR_SET_PDEATHSIG``, :func:`die_with_parent`); only the profile folder
then stays in the temporary folder.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import certifi

if TYPE_CHECKING:
    from cryptography import x509

PROFILE_PREFIX = "shophealth-chromium-"
DEFAULT_PORTS = {"http": 80, "https": 443}
CERTUTIL_TIMEOUT_S = 30.0
START_TIMEOUT_S = 30.0
PORT_POLL_S = 0.05
PR_SET_PDEATHSIG = 1  # linux/prctl.h


# Without the background-networking flags Debian's Chromium stalls on a machine with no internet.
# Chromium's own sandbox stays on, except as root, where Chromium will not start with it
# (see chromium_args); the shop's scripts run only inside this browser.
CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def chromium_args() -> tuple[str, ...]:
    """The flags Chromium is started with, ``--no-sandbox`` only when running as root."""
    return ("--no-sandbox", *CHROMIUM_ARGS) if os.geteuid() == 0 else CHROMIUM_ARGS


class NotConfigured(Exception):
    """A tool the scan needs is not installed; the message says what and how to get it."""


class ChromiumFailed(Exception):
    """Chromium did not start; the message says why."""


@dataclass(frozen=True)
class BrowserTrust:
    """What a scan's Chromium trusts: the HTTP client's CA bundle, and whether
    the shop's own certificate failed verification (then errors are ignored)."""

    ca_bundle: str | None = None
    certificate_error: str | None = None

    @classmethod
    def for_scan(cls, ca_bundle: str | None, certificate_error: str | None = None) -> BrowserTrust:
        return cls(ca_bundle or os.environ.get("SSL_CERT_FILE") or None, certificate_error)


@dataclass(frozen=True)
class ShopHeaders:
    """Headers (staging credentials) for the shop's own origin only: the scheme, host
    and port of the URL the user gave; no other site and no other port sees them.
    ``basic_auth`` is the user and password of an ``Authorization: Basic`` header,
    for browsers that answer the challenge themselves."""

    origin: tuple[str, str, int]
    headers: Mapping[str, str]

    @classmethod
    def for_site(cls, url: str, headers: Mapping[str, str]) -> ShopHeaders | None:
        key = _origin_key(url)
        return cls(key, dict(headers)) if headers and key is not None else None

    def applies_to(self, url: str) -> bool:
        return _origin_key(url) == self.origin

    @property
    def origin_url(self) -> str:
        """The origin as browsers write it: ``https://shop.example``, a port only when not the default."""
        scheme, host, port = self.origin
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}{'' if port == DEFAULT_PORTS[scheme] else f':{port}'}"

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        value = next((v for k, v in self.headers.items() if k.lower() == "authorization"), "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except ValueError:
            return None
        return user, password

    def without_authorization(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower() != "authorization"}


def _origin_key(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname.lower(), port


@dataclass(frozen=True)
class Profile:
    """A temporary folder: ``home`` (``HOME``, with the NSS database), ``data``
    (``--user-data-dir``) and ``tmp`` (``TMPDIR``: Chromium's singleton socket, which
    a killed Chromium leaves behind); ``ignore_certificate_errors`` and a ``note``
    for the report; ``host_rules``, Chromium's ``--host-resolver-rules`` (the address
    guard pins the shop's host to the address the crawler resolved, see
    :mod:`shophealth.crawler.resolver`)."""

    root: Path
    ignore_certificate_errors: bool = False
    note: str | None = None
    host_rules: str | None = None

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def env(self) -> dict[str, str]:
        """Chromium's environment: its HOME and its temporary files inside the profile."""
        return {**os.environ, "HOME": str(self.home), "TMPDIR": str(self.root / "tmp")}

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def make_profile(trust: BrowserTrust) -> Profile:
    """A fresh profile folder that trusts ``trust.ca_bundle``; the caller removes it."""
    root = Path(tempfile.mkdtemp(prefix=PROFILE_PREFIX))
    try:
        for part in ("home", "data", "tmp"):
            (root / part).mkdir()
        if trust.certificate_error is not None:
            note = f"certificate errors ignored: the shop's certificate failed ({trust.certificate_error})"
            return Profile(root, ignore_certificate_errors=True, note=note)
        if trust.ca_bundle is None:
            return Profile(root)
        try:
            trusted = _install_bundle(root / "home" / ".pki" / "nssdb", trust.ca_bundle)
        except NotConfigured as exc:
            return Profile(root, ignore_certificate_errors=True, note=f"certificate errors ignored: {exc}")
        if not trusted:
            return Profile(root)  # only public roots, which Chromium trusts itself
        return Profile(root, note=f"trusting {trusted} certificate(s) of the CA bundle {trust.ca_bundle}")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


async def new_profile(trust: BrowserTrust) -> Profile:
    """:func:`make_profile` in a thread (``certutil`` runs take a while); a profile
    finished after the caller was cancelled is removed all the same."""
    making = asyncio.ensure_future(asyncio.to_thread(make_profile, trust))
    try:
        return await asyncio.shield(making)
    except asyncio.CancelledError:
        making.add_done_callback(_remove_made_profile)
        raise


def _remove_made_profile(making: asyncio.Future[Profile]) -> None:
    if not making.cancelled() and making.exception() is None:
        making.result().remove()


def _install_bundle(database: Path, bundle: str) -> int:
    """An NSS database in ``database`` trusting each certificate of ``bundle`` as a CA,
    but the public roots (the system's and certifi's, which Chromium's own root store
    covers): a corporate bundle is often the system's with one CA added, and each
    certificate costs a ``certutil`` run (the system's 144 took 8 s). The count added."""
    from cryptography.hazmat.primitives import hashes, serialization  # 31 ms, 13 MB: only here

    certificates = _bundle_certificates(Path(bundle))
    if not certificates:
        raise NotConfigured(f"the CA bundle {bundle} holds no certificate")
    public = _public_roots()
    certificates = [c for c in certificates if c.fingerprint(hashes.SHA256()) not in public]
    if not certificates:
        return 0
    certutil = shutil.which("certutil")
    if certutil is None:
        raise NotConfigured("certutil is not installed (apt-get install libnss3-tools)")
    database.mkdir(parents=True)
    location = f"sql:{database}"
    _certutil(certutil, "-N", "-d", location, "--empty-password")
    for index, certificate in enumerate(certificates):
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        _certutil(certutil, "-A", "-d", location, "-n", f"ca-{index}", "-t", "C,,", stdin=pem)
    return len(certificates)


@functools.cache
def _public_roots() -> frozenset[bytes]:
    """SHA-256 fingerprints of the system's default roots and certifi's."""
    from cryptography.hazmat.primitives import hashes

    sources = {ssl.get_default_verify_paths().cafile, certifi.where()}
    return frozenset(
        c.fingerprint(hashes.SHA256()) for s in sources if s for c in _bundle_certificates(Path(s))
    )


def _bundle_certificates(bundle: Path) -> list[x509.Certificate]:
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning

    files = sorted(p for p in bundle.iterdir() if p.is_file()) if bundle.is_dir() else [bundle]
    certificates: list[x509.Certificate] = []
    for file in files:
        with contextlib.suppress(OSError, ValueError), warnings.catch_warnings():
            # a root with a non-positive serial number is still a root; a file that is
            # not PEM is skipped, as the HTTP client skips it
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            certificates += x509.load_pem_x509_certificates(file.read_bytes())
    return certificates


def _certutil(certutil: str, *args: str, stdin: bytes | None = None) -> None:
    try:
        done = subprocess.run(
            [certutil, *args], input=stdin, capture_output=True, timeout=CERTUTIL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NotConfigured(f"certutil failed: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise NotConfigured(f"certutil failed: {message[-1][:200]}")


def launch_args(profile: Profile) -> list[str]:
    """Chromium flags for ``profile``: certificate errors ignored only when it says so."""
    ignore = ["--ignore-certificate-errors"] if profile.ignore_certificate_errors else []
    rules = [f"--host-resolver-rules={profile.host_rules}"] if profile.host_rules else []
    return [*chromium_args(), *ignore, *rules]


@contextlib.asynccontextmanager
async def debuggable_chromium(executable: str, profile: Profile) -> AsyncIterator[int]:
    """Start headless Chromium on ``profile`` with a debugging port; yield the port.

    On leaving, however it is left (a time-out cancelling the caller included),
    Chromium's whole process group is killed and waited for.
    """
    process = await asyncio.create_subprocess_exec(
        executable,
        "--headless=new",
        *launch_args(profile),
        f"--user-data-dir={profile.data}",
        "--remote-debugging-port=0",
        "about:blank",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=profile.env(),
        start_new_session=True,  # its own process group: renderers and helpers die with it
        preexec_fn=die_with_parent,
    )
    try:
        yield await _debugging_port(process, profile.data / "DevToolsActivePort")
    finally:
        kill_group(process.pid)
        await process.wait()


async def _debugging_port(process: asyncio.subprocess.Process, announced: Path) -> int:
    """The port Chromium writes to ``DevToolsActivePort`` once it listens."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise ChromiumFailed(f"Chromium exited with {process.returncode} before listening")
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(announced.read_text().split()[0])
        await asyncio.sleep(PORT_POLL_S)  # polling a file with a deadline: Chromium sends no event
    raise ChromiumFailed(f"Chromium did not listen within {START_TIMEOUT_S:.0f} s")


def die_with_parent() -> None:
    """Run in a child before it starts: Linux kills it when the scan's process dies,
    even when that process is killed outright and no ``finally`` runs."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid``, if any of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
