"""The Cookie header a request carries is the one http.cookiejar gives, whether the fetcher
kept it per origin (every cookie for the path /, none expired) or asked the jar again."""

from __future__ import annotations

import time
from http.cookiejar import CookieJar

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from shophealth.crawler.fetch import CookieHeaders, _cookie_header, _keep_cookies
from shophealth.crawler.urls import origin

URLS = [
    "https://shop.example/",
    "https://shop.example/account/orders?page=2",
    "http://shop.example/p/1",
    "https://www.shop.example/p/2",
    "https://shop.example:8443/p/3",
    "https://cdn.example/img.jpg",
    "http://localhost:8080/x",
]


def _answer(*set_cookies: str) -> CIMultiDictProxy[str]:
    headers: CIMultiDict[str] = CIMultiDict()
    for value in set_cookies:
        headers.add("Set-Cookie", value)
    return CIMultiDictProxy(headers)


def _both(answers: list[tuple[str, CIMultiDictProxy[str]]]) -> tuple[CookieHeaders, CookieJar]:
    kept, reference = CookieHeaders(), CookieJar()
    for url, answer in answers:
        kept.keep(url, answer)
        _keep_cookies(reference, url, answer)
    return kept, reference


def _agree(kept: CookieHeaders, reference: CookieJar) -> None:
    for _ in range(2):  # the second time from what was kept, where it was
        for url in URLS:
            assert kept.header(url, origin(url)) == _cookie_header(reference, url), url


ROOT_COOKIES = [
    ("https://shop.example/", _answer("session=abc; Path=/; HttpOnly", "cart=1; Path=/; Max-Age=3600")),
    (
        "https://shop.example/login",
        _answer("token=t; Path=/; Secure", "wide=w; Path=/; Domain=.shop.example"),
    ),
    ("http://localhost:8080/", _answer("local=l; Path=/")),
]


def test_cookies_for_the_root_path_are_sent_as_the_jar_sends_them() -> None:
    kept, reference = _both(ROOT_COOKIES)
    assert kept.count == len(reference) == 5
    assert kept._root_only
    _agree(kept, reference)


def test_a_cookie_for_one_path_makes_the_jar_decide_each_request() -> None:
    answers = [*ROOT_COOKIES, ("https://shop.example/account/", _answer("acct=a; Path=/account"))]
    kept, reference = _both(answers)
    assert not kept._root_only
    _agree(kept, reference)
    assert "acct=a" in kept.header(URLS[1], origin(URLS[1]))["cookie"]
    assert "acct=a" not in kept.header(URLS[0], origin(URLS[0]))["cookie"]


def test_a_new_cookie_is_sent_from_the_next_request_on() -> None:
    kept, reference = _both(ROOT_COOKIES)
    _agree(kept, reference)
    for jar_keep in (kept.keep, lambda url, answer: _keep_cookies(reference, url, answer)):
        jar_keep("https://shop.example/", _answer("session=new; Path=/", "more=m; Path=/"))
    assert kept.count == 6
    _agree(kept, reference)
    assert "session=new" in kept.header(URLS[0], origin(URLS[0]))["cookie"]


def test_an_expired_cookie_is_no_longer_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    kept, reference = _both(ROOT_COOKIES)
    _agree(kept, reference)
    later = time.time() + 7200  # cart (Max-Age=3600) has expired
    monkeypatch.setattr(time, "time", lambda: later)
    _agree(kept, reference)
    assert "cart=" not in kept.header(URLS[0], origin(URLS[0]))["cookie"]
    assert kept.count == 4


def test_no_cookies_no_header() -> None:
    kept = CookieHeaders()
    assert kept.header(URLS[0], origin(URLS[0])) == {}
    kept.keep(URLS[0], _answer())
    assert kept.count == 0 and kept.header(URLS[0], origin(URLS[0])) == {}
