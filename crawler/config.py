"""Typed scan settings, and the sites file (YAML) that lists many shops.

A sites file looks like::

    defaults:            # optional; any ScanConfig field
      max_pages: 500
    sites:
      - url: https://shop.example/
        name: Example Shop
        start_urls: [https://shop.example/zh-hk/]
        include: ['^https://shop\\.example/']
        exclude: ['/account/', '\\?sort=']
        max_pages: 200
        credentials_env: STAGING_AUTH     # "user:password", sent to the shop's own hosts only
        headers_env: {X-Bypass-Token: STAGING_TOKEN}
        checks: {seo.basics: off, links.broken: [error, {ignore: ['^https://www.facebook.com/']}]}

Unknown keys are errors that name the key, so a typo is never ignored.

Check settings are eslint-style (``checks: {id: setting}``): ``off`` (YAML's
``false`` too), ``on`` (``true``: the check's own severities), a severity
(``error``, ``warning`` or ``warn``, ``info``: every finding of that check gets
it), or ``[severity, {option: value}]`` with options from the check's own
``defaults``. They are kept as ``[level, {options}]``; ids and option names are
checked against the registry by :func:`check_check_settings`.

:func:`check_config` refuses, naming the key, what would make a scan fail
late or hang: counts and time limits that must be positive (``max_pages: 0``,
``concurrency: 0``, ``request_timeout: 0``), an invalid ``include``/``exclude``
regular expression, a ``ca_bundle`` that is not a PEM bundle, an
``artifacts_dir`` that cannot be written. The command line and a sites file
are checked by the same function, before any work.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shophealth.crawler.urls import BadURLError, parse_start_url

DEFAULT_USER_AGENT = "shophealth/{version} (+https://pypi.org/project/shophealth/; web shop health check)"


class ConfigError(ValueError):
    """A sites file or option that cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class ScanConfig:
    """How one shop is scanned. Every field can be set per site."""

    max_pages: int = 20_000  # a whole shop: the budget (budget_s) is the main bound
    max_depth: int = 10
    max_bytes: int = 5_000_000  # per response body
    budget_s: float = 600.0  # wall clock per shop, every phase included (crawler.phases)
    concurrency: int = 64  # requests in flight, all hosts
    per_host: int = 8  # requests in flight to one of the shop's hosts, at first
    per_host_max: int = 32  # ...and at most, while the host answers as fast (see fetch.HostLimit)
    per_external_host: int = 4  # requests in flight to one external host
    connect_timeout: float = 10.0
    read_timeout: float = 15.0
    request_timeout: float = 30.0  # a whole request, body included
    retries: int = 2  # more attempts after a 429 or a 503 with Retry-After (not after connect errors)
    max_retry_after: float = 30.0
    max_redirects: int = 10
    dns_timeout: float = 5.0  # seconds per name lookup (see crawler.resolver)
    dns_servers: tuple[str, ...] = ()  # name servers ("ip" or "ip:port"); the system's when empty
    allow_private: bool = False  # fetch private/loopback addresses from a public shop (crawler.resolver)
    user_agent: str = DEFAULT_USER_AGENT
    respect_robots: bool = True
    verify_external: bool = True  # verify links to other hosts
    fetch_social: bool = False  # social and messaging sites block crawlers
    ca_bundle: str | None = None
    credentials_env: str | None = (
        None  # env var holding "user:password": HTTP Basic auth for the shop's hosts
    )
    headers_env: Mapping[str, str] = field(default_factory=dict)  # header name -> env var with its value
    render: str = "sample"  # off | sample | all: pages rendered in the browser at a phone viewport
    render_pages: int = 8  # how many pages the sample renders
    js_links_below: int = 5  # a page with fewer links than this is rendered to find its links
    browser_path: str | None = None  # Chromium to use; found automatically when unset
    lighthouse_pages: int = 3  # page templates Lighthouse runs on (home, category, product); 0 = off
    lighthouse_runs: int = 1  # runs per page; the median is reported
    lighthouse_timeout: float = 120.0
    artifacts_dir: str | None = None  # where screenshots go; none are taken when unset
    workers: int | None = None  # processes that fetch and parse; unset: cores - 1 (2+ cores), 0: none
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    checks: Mapping[str, Any] = field(default_factory=dict)  # eslint-style per-check settings

    def replace(self, **changes: Any) -> ScanConfig:
        return dataclasses.replace(self, **changes)

    def shop_headers(self) -> dict[str, str]:
        """Headers sent to the shop's own hosts only, their values read from the
        environment (so no secret is written in a sites file or a report)."""
        headers = {
            name: _from_env(variable, f"headers_env {name}") for name, variable in self.headers_env.items()
        }
        if self.credentials_env:
            user_password = _from_env(self.credentials_env, "credentials_env")
            if ":" not in user_password:
                raise ConfigError(f"environment variable {self.credentials_env} must hold user:password")
            token = base64.b64encode(user_password.encode("utf-8")).decode("ascii")
            headers["authorization"] = f"Basic {token}"
        return headers

    def public(self) -> dict[str, Any]:
        """The settings as plain data, for the report's ``run.config``."""
        data = dataclasses.asdict(self)
        data["checks"] = dict(self.checks)
        return data


@dataclass(frozen=True)
class SiteConfig:
    """One shop to scan."""

    url: str
    name: str | None = None
    start_urls: tuple[str, ...] = ()
    config: ScanConfig = field(default_factory=ScanConfig)

    @property
    def seeds(self) -> tuple[str, ...]:
        return (self.url, *[u for u in self.start_urls if u != self.url])


RENDER_MODES = ("off", "sample", "all")
CHECK_LEVELS = ("off", "on", "error", "warning", "info")
LEVEL_ALIASES: dict[Any, str] = {False: "off", True: "on", "warn": "warning"}
POSITIVE = (
    "max_pages", "max_bytes", "budget_s", "concurrency", "per_host", "per_host_max", "per_external_host",
    "connect_timeout", "read_timeout", "request_timeout", "lighthouse_runs", "lighthouse_timeout",
)  # fmt: skip


def _from_env(variable: str, option: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"environment variable {variable} ({option}) is not set")
    return value


SCAN_FIELDS = {f.name for f in fields(ScanConfig)}
AUTO_COUNTS = {"workers"}  # counts whose unset value ("auto" in a sites file) means "choose for me"
SITE_KEYS = {"url", "name", "start_urls"}


def apply_options(base: ScanConfig, options: Mapping[str, Any], where: str) -> ScanConfig:
    """``base`` with ``options`` applied; unknown keys or wrong types raise ConfigError."""
    unknown = sorted(set(options) - SCAN_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown option {unknown[0]!r}")
    changes: dict[str, Any] = {}
    for key, value in options.items():
        default = getattr(base, key)
        changes[key] = _coerce(key, value, default, where)
    return base.replace(**changes)


def _coerce(key: str, value: Any, default: Any, where: str) -> Any:
    if key in AUTO_COUNTS:
        if value is None or value == "auto":
            return None
        default = 0  # an explicit count: checked as a number below
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, not {value!r}")
        return value
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{where}: {key} must be a non-negative number, not {value!r}")
        return type(default)(value)
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {key} must be a list of strings")
        return tuple(value)
    if isinstance(default, Mapping):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a mapping")
        return check_settings(value, where) if key == "checks" else value
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    if key == "render" and value not in RENDER_MODES:
        raise ConfigError(f"{where}: render must be one of {', '.join(RENDER_MODES)}, not {value!r}")
    return value


def check_settings(checks: Mapping[Any, Any], where: str) -> dict[str, list[Any]]:
    """``checks`` as ``{id: [level, {options}]}``; a setting that is none of the
    documented forms raises ConfigError naming the check."""
    settings: dict[str, list[Any]] = {}
    for cid, setting in checks.items():
        level, options = _split_setting(setting)
        level = LEVEL_ALIASES.get(level, level) if isinstance(level, (bool, str)) else level
        if level not in CHECK_LEVELS:
            raise ConfigError(
                f"{where}: checks: {cid}: {level!r} is not one of off, on, error, warning, info "
                "(or [severity, {options}])"
            )
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: checks: {cid}: options must be a mapping")
        settings[str(cid)] = [level, dict(options)]
    return settings


def _split_setting(setting: Any) -> tuple[Any, Any]:
    """(level, options) of one check's setting, not yet checked."""
    if isinstance(setting, list) and 1 <= len(setting) <= 2:
        return setting[0], setting[1] if len(setting) == 2 else {}
    if isinstance(setting, dict):
        return "on", setting
    return setting, {}


def check_check_settings(
    checks: Mapping[str, list[Any]], defaults: Mapping[str, Mapping[str, Any]], where: str
) -> None:
    """Refuse check ids that are not registered and options a check does not have
    (``defaults``: each registered id's option defaults), naming the key."""
    for cid, (_, options) in checks.items():
        if cid not in defaults:
            raise ConfigError(f"{where}: checks: unknown check id {cid!r} (see 'shophealth checks list')")
        for name, value in options.items():
            if name not in defaults[cid]:
                known = ", ".join(sorted(defaults[cid])) or "none"
                raise ConfigError(f"{where}: checks: {cid}: unknown option {name!r} (options: {known})")
            _check_option_value(cid, name, value, defaults[cid][name], where)


def _check_option_value(cid: str, name: str, value: Any, default: Any, where: str) -> None:
    expected = type(default)
    fits = (
        isinstance(value, (int, float)) and not isinstance(value, bool)
        if expected in (int, float)
        else isinstance(value, expected)
    )
    if not fits:
        raise ConfigError(f"{where}: checks: {cid}: {name} must be a {expected.__name__}, not {value!r}")
    if name == "ignore":
        _compile_all(value, f"{where}: checks: {cid}: ignore")


def check_config(config: ScanConfig, where: str) -> None:
    """Refuse settings that would fail late or hang, naming the key (see the module doc)."""
    for key in POSITIVE:
        if getattr(config, key) <= 0:
            raise ConfigError(f"{where}: {key} must be above 0, not {getattr(config, key)!r}")
    _compile_all(config.include, f"{where}: include")
    _compile_all(config.exclude, f"{where}: exclude")
    if config.ca_bundle is not None:
        _check_ca_bundle(config.ca_bundle, where)
    if config.artifacts_dir is not None:
        _check_writable_folder(config.artifacts_dir, f"{where}: artifacts_dir")


def _compile_all(patterns: Any, where: str) -> None:
    for pattern in patterns:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise ConfigError(f"{where}: {pattern!r} is not a valid regular expression ({exc})") from None


def _check_ca_bundle(path: str, where: str) -> None:
    try:
        if os.path.isdir(path):
            ssl.create_default_context(capath=path)
        else:
            ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise ConfigError(f"{where}: ca_bundle not found: {path}") from None
    except (ssl.SSLError, OSError, ValueError):
        raise ConfigError(f"{where}: ca_bundle {path} is not a PEM bundle of CA certificates") from None


def _check_writable_folder(path: str, where: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(f"{where}: cannot write to {path}: {exc.strerror or exc}") from None


def check_output_file(path: str, option: str) -> None:
    """Refuse an output file that cannot be written, before the work that fills it."""
    existed = os.path.exists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
    if not existed:
        os.remove(path)


def load_sites_file(
    path: str | os.PathLike[str], base: ScanConfig, overrides: Mapping[str, Any] | None = None
) -> list[SiteConfig]:
    """Read a sites file; raise ConfigError with a one-line reason if it is bad.
    ``overrides`` (options given on the command line) win over the file's
    ``defaults``; a site's own options win over both."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read sites file {path}: {exc.strerror or exc}") from None
    import yaml  # here: a worker process imports this module and reads no sites file

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"sites file {path} is not valid YAML{at}") from None
    if isinstance(data, list):
        data = {"sites": data}
    if not isinstance(data, dict) or not isinstance(data.get("sites"), list):
        raise ConfigError(f"sites file {path} must have a 'sites' list")
    unknown = sorted(set(data) - {"sites", "defaults"})
    if unknown:
        raise ConfigError(f"sites file {path}: unknown key {unknown[0]!r}")
    defaults = apply_options(base, data.get("defaults") or {}, f"{path}: defaults").replace(
        **(overrides or {})
    )
    sites = [_site_entry(entry, defaults, f"{path}: sites[{i}]") for i, entry in enumerate(data["sites"])]
    if not sites:
        raise ConfigError(f"sites file {path} lists no sites")
    return sites


def _site_entry(entry: Any, defaults: ScanConfig, where: str) -> SiteConfig:
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict) or "url" not in entry:
        raise ConfigError(f"{where}: each site needs a 'url'")
    try:
        url = parse_start_url(str(entry["url"]))
        starts = tuple(parse_start_url(str(u)) for u in entry.get("start_urls") or ())
    except BadURLError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    options = {k: v for k, v in entry.items() if k not in SITE_KEYS}
    name = entry.get("name")
    config = apply_options(defaults, options, where)
    check_config(config, where)
    return SiteConfig(url=url, name=str(name) if name is not None else None, start_urls=starts, config=config)
