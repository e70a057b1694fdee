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
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

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
    budget_s: float = 600.0  # seconds the crawl of a shop may take (not the TLS, browser, Lighthouse phases)
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
    artifacts_dir: str | None = None  # where screenshots go; a temporary folder when unset
    workers: int | None = None  # processes that fetch and parse; unset: one per core (2+ cores), 0: none
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
        return value
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    if key == "render" and value not in RENDER_MODES:
        raise ConfigError(f"{where}: render must be one of {', '.join(RENDER_MODES)}, not {value!r}")
    return value


def load_sites_file(path: str | os.PathLike[str], base: ScanConfig) -> list[SiteConfig]:
    """Read a sites file; raise ConfigError with a one-line reason if it is bad."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read sites file {path}: {exc.strerror or exc}") from None
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
    defaults = apply_options(base, data.get("defaults") or {}, f"{path}: defaults")
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
    return SiteConfig(
        url=url,
        name=str(name) if name is not None else None,
        start_urls=starts,
        config=apply_options(defaults, options, where),
    )
