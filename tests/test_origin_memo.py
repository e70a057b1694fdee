"""What depends on a URL's origin alone is looked up by the URL's text up to its path
(urls.authority): the memo must give what parsing the URL gives."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from shophealth.crawler.config import ScanConfig
from shophealth.crawler.fetch import Fetcher
from shophealth.crawler.urls import authority, host_key, origin


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("https://shop.example/p?q=1", "https://shop.example"),
        ("http://shop.example:8080", "http://shop.example:8080"),
        ("http://user@shop.example/x", "http://user@shop.example"),
        ("http://shop.example?next=/a", None),  # the query would be taken for the host's
        ("http://shop.example#top", None),
        ("shop.example/p", None),
    ],
)
def test_authority_is_the_text_before_the_path(url: str, prefix: str | None) -> None:
    assert authority(url) == prefix


def test_spellings_of_one_host_share_its_limits_and_urls_are_judged_as_parsed() -> None:
    fetcher = Fetcher(ScanConfig(), None, lambda url: "shop" in url, "http://shop.example/")
    urls = [
        "http://shop.example/a",
        "http://shop.example:80/b",
        "http://shop.example?x=/y",
        "https://shop.example/c",
        "https://shop.example:443/d",
        "http://cdn.example/e",
    ]
    for url in urls * 2:  # asked twice: the second time from the memo
        known = fetcher._origin(url)
        assert (known.key, known.origin) == (host_key(url), origin(url))
        assert known.policy is fetcher._hosts[host_key(url)]
        assert known.https == url.startswith("https:")
    assert fetcher.host_policy(urls[0]) is fetcher.host_policy(urls[1]) is fetcher.host_policy(urls[2])
    assert fetcher.host_policy(urls[3]) is fetcher.host_policy(urls[4])
    assert fetcher.host_policy(urls[0]).limit.limit == ScanConfig().per_host
    assert fetcher.host_policy(urls[5]).limit.limit == ScanConfig().per_external_host


@pytest.mark.parametrize(
    "url",
    [
        "http://a.example/b?c#d",
        "HTTPS://User@Shop.Example:8443/x",
        "http://a.example?x=1",
        "http://a.example#frag/x",
        "/a://b/c",
        "mailto:x://y",
        "http://[::1]:80/p",
        "http:///path",
        "http://h:99999/x",
    ],
)
def test_origin_by_authority_is_the_split_urls_origin(url: str) -> None:
    parts = urlsplit(url)
    assert origin(url) == f"{parts.scheme}://{parts.netloc}"
