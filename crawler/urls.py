"""URL normalisation and crawl scope.

Normalisation is url-normalize's (RFC 3986: case, default ports, dot
segments, percent-encoding), memoised because the same navigation and footer
hrefs recur on every page. Fragments are dropped: ``/p#reviews`` and ``/p``
are one target. Query order is kept, since shops route on it. ``user:password@``
is dropped too, so a credential written into a link never reaches a report,
a log or the terminal; a start URL carrying one is refused (credentials come
from the environment: ``credentials_env``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from url_normalize import url_normalize

WEB_SCHEMES = ("http", "https")


class BadURLError(ValueError):
    """A URL the user gave that cannot be scanned."""


# A URL already in canonical form: lower-case host, no default port, no dot
# segments, nothing to percent-encode. url-normalize returns such a URL as it
# is, so it is let through without the ~150 µs that url-normalize costs.
CANONICAL_URL = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::(?!80/|443/)[0-9]{1,5})?"
    r"/[A-Za-z0-9_~/+,;:@!$'()*=.-]*(?:\?[A-Za-z0-9_~/+,;:@!$'()*=.&-]*)?"
)
DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$|\?)")


def is_canonical(url: str) -> bool:
    """Whether ``url`` (without fragment) is already in the form :func:`normalize` gives."""
    return bool(CANONICAL_URL.fullmatch(url)) and not DOT_SEGMENT.search(url) and not url.endswith("?")


@lru_cache(maxsize=65536)
def normalize(url: str) -> str:
    """The canonical form of an absolute http(s) URL, without fragment."""
    bare = url.strip().split("#", 1)[0]
    if is_canonical(bare):
        return bare
    normal = url_normalize(url.strip()) or url
    parts = urlsplit(normal)
    if parts.fragment or "@" in parts.netloc:  # user:password@ never reaches a report or a log
        normal = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], fragment=""))
    return normal


@lru_cache(maxsize=65536)
def malformed_reason(base: str, href: str) -> str | None:
    """Why ``href`` is a web link no browser can follow, or None (fine, or not a web link)."""
    href = href.strip()
    head = href.split("/", 1)[0]
    scheme = head.split(":", 1)[0].lower() if ":" in head else ""
    if scheme == "file":
        return "links to a file on the author's computer (file:)"
    if scheme and scheme not in WEB_SCHEMES:
        return None  # mailto:, tel:, javascript:, whatsapp: …
    try:
        rest = href.split(":", 1)[1] if scheme else href
        if rest.startswith("//") and not urlsplit(rest).netloc:
            return "malformed URL (no host)"
        parts = urlsplit(urljoin(base, href))
        _ = parts.port
    except ValueError as exc:
        return f"malformed URL ({exc})"
    host = parts.hostname or ""
    return "malformed URL (bad host)" if not host or host.startswith(".") or ".." in host else None


def resolve(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base`` and normalised; None if not a usable http(s) link.

    Memoised on what the answer depends on: an absolute href on nothing else, a
    root-relative one on the base's origin, so the navigation and footer links
    that recur on every page are worked out once per shop, not once per page.
    """
    href = href.strip()
    if not href or href[0] == "#":
        return None
    if href[0] == "/" and not href.startswith("//"):
        return _resolve(origin_root(base), href)
    if href[:8].lower().startswith(("http://", "https://")):
        return _resolve("", href)
    return _resolve(base, href)


@lru_cache(maxsize=4096)
def origin_root(url: str) -> str:
    """``url``'s scheme and host with a ``/``: what a root-relative href resolves against."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


@lru_cache(maxsize=65536)
def _resolve(base: str, href: str) -> str | None:
    if href[:1] == "/" and "//" not in href and ";" not in href and _is_canonical_root(base):
        joined = base[:-1] + href  # what joining gives when both are canonical (see below)
        if is_canonical(joined):
            return joined
    return _resolve_joined(base, href)


@lru_cache(maxsize=4096)
def _is_canonical_root(base: str) -> bool:
    """Whether ``base`` is an origin's root (``https://shop.example/``) in canonical form
    with a usable host and port. Then a root-relative href with no ``//``, no ``;``
    (urljoin drops an empty one), no dot segments and nothing to encode resolves, as
    :func:`_resolve_joined` works it out (urljoin, malformed_reason, normalize), to the
    two written one after the other: on a shop's first pages most of the 10,000-odd
    distinct hrefs are such paths, at 18 µs each the long way."""
    return base.count("/") == 3 and base.endswith("/") and _resolve_joined(base, "/") == base


def _resolve_joined(base: str, href: str) -> str | None:
    if malformed_reason(base, href) is not None:
        return None
    try:
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in WEB_SCHEMES or not parts.hostname:
        return None
    try:
        return normalize(absolute)
    except (ValueError, UnicodeError):
        return None


def parse_start_url(raw: str) -> str:
    """A user's start URL, checked and normalised; raises BadURLError."""
    text = raw.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        if "@" in parts.netloc:
            raise BadURLError(
                f"a start URL must not carry user:password@ (…@{parts.netloc.rpartition('@')[2]}): it "
                "would be written in reports and logs; put it in an environment variable and pass "
                "--credentials-env"
            )
        _ = parts.port  # raises for a port that is not a number or out of range
    except BadURLError:
        raise
    except ValueError as exc:
        raise BadURLError(f"not a valid URL: {raw!r} ({exc})") from None
    if parts.scheme not in WEB_SCHEMES:
        raise BadURLError(f"not an http(s) URL: {raw!r}")
    if not parts.hostname or " " in parts.netloc:
        raise BadURLError(f"URL has no host: {raw!r}")
    try:
        return normalize(text)
    except ValueError as exc:  # UnicodeError too: a host IDNA cannot encode
        raise BadURLError(f"not a valid URL: {raw!r} ({exc})") from None


@lru_cache(maxsize=65536)
def host_key(url: str) -> str:
    """``host:port`` of a URL, with the scheme's default port filled in (memoised: a
    request asks it of its URL three times, for its host's limits and trust)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


@lru_cache(maxsize=65536)
def site_key(url: str) -> str:
    """The host a URL belongs to for scope: the host name, plus the port when it
    is not 80 or 443 (so http:// and https:// of one shop are one site, while
    two servers on one machine are two)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return host
    return f"{host}:{port}" if port not in (None, 80, 443) else host


def origin(url: str) -> str:
    """``scheme://netloc`` of ``url``. Asked for every link (robots, credentials), it is
    memoised by the URL's :func:`authority`, whose split gives the same scheme and netloc."""
    prefix = authority(url)
    return _origin(prefix) if prefix is not None else _split_origin(url)


@lru_cache(maxsize=4096)
def _origin(prefix: str) -> str:
    return _split_origin(prefix)


def _split_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def authority(url: str) -> str | None:
    """``url`` up to its path (``https://shop.example:8443``): a key to memoise what depends
    on the origin alone by, without parsing the URL; None when that text is not only an
    origin (a query, a fragment)."""
    start = url.find("://")
    if start < 0:
        return None
    end = url.find("/", start + 3)
    prefix = url if end < 0 else url[:end]
    return None if "?" in prefix or "#" in prefix else prefix


@dataclass(frozen=True)
class Scope:
    """Which URLs belong to the shop: its hosts, minus excluded patterns.

    ``hosts`` are :func:`site_key` values (``www.`` variants of each are included);
    ``include``/``exclude`` are regular expressions searched in the URL.
    """

    hosts: frozenset[str]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _include_re: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _exclude_re: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include_re", tuple(re.compile(p) for p in self.include))
        object.__setattr__(self, "_exclude_re", tuple(re.compile(p) for p in self.exclude))

    @classmethod
    def for_start_urls(
        cls, urls: list[str], include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
    ) -> Scope:
        hosts: set[str] = set()
        for url in urls:
            key = site_key(url)
            bare = key.removeprefix("www.")
            hosts.update({bare, "www." + bare} if "." in bare.split(":")[0] else {key})
        return cls(frozenset(hosts), include, exclude)

    def is_internal(self, url: str) -> bool:
        return site_key(url) in self.hosts

    def allows(self, url: str) -> bool:
        """Whether ``url`` is a page of the shop that the crawl may visit."""
        if not self.is_internal(url):
            return False
        if self._include_re and not any(p.search(url) for p in self._include_re):
            return False
        return not any(p.search(url) for p in self._exclude_re)
