"""Text detectors for ``i18n.placeholder`` and ``i18n.mojibake`` (see ``checks/i18n.py``).

Pure functions of one block of visible text; the checks decide per page.
"""

from __future__ import annotations

import re
from functools import cache
from types import ModuleType
from typing import NamedTuple

import ahocorasick_rs

REPLACEMENT_CHAR = "\ufffd"
TRANSLATION_MISSING = re.compile(
    r"translation[ _]missing:?\s*(?:[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?\.[\w.-]+)?|\[missing \"[^\"]{1,100}\" translation\]",
    re.IGNORECASE,
)
TEMPLATE_TAG = re.compile(
    r"\{\{-?\s*[\w$@'\"|:.()\[\] -]{1,80}?\s*-?\}\}"  # Liquid, Handlebars, Jinja, Vue, Angular
    r"|\{%-?\s*[a-z]\w*[^%{}\n]{0,80}?-?%\}"  # Liquid, Jinja, Twig, Django tags
    r"|<%[=-]?\s*[^%\n]{1,80}?%>"  # ERB, EJS, ASP
    r"|\$\{\s*[A-Za-z_][\w.]{0,60}\s*\}"  # JavaScript template literals, JSP EL
)
SHORTCODE = re.compile(
    r"\[(?P<name>[a-z][a-z0-9_-]{1,30})(?:\s+[a-z_][\w-]*=(?:\"[^\"\]\n]{0,120}\"|'[^'\]\n]{0,120}'|[^\s\]\"']+))+\s*/?\]"
    r"|\[/[a-z][a-z0-9_-]{1,30}\]"
)
PRINTF = re.compile(r"(?<![\w%])%(?:\d\$)?[sd](?![\w%])")
LOREM = re.compile(r"\blorem ipsum\b|\bdolor sit amet\b|\bconsectetur adipiscing elit\b", re.IGNORECASE)
_SEGMENT = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
TRANSLATION_KEY = re.compile(
    rf"(?<![A-Za-z0-9_@./:-])(?P<key>{_SEGMENT}(?:\.{_SEGMENT}){{1,6}})(?![A-Za-z0-9_@/-]|\.\w)"
)
# Last parts that make a dotted name a host, a file or an abbreviation, not a key.
NOT_KEY_ENDINGS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "hk",
        "cn",
        "tw",
        "mo",
        "jp",
        "kr",
        "sg",
        "my",
        "uk",
        "us",
        "eu",
        "au",
        "ca",
        "nz",
        "de",
        "fr",
        "it",
        "es",
        "nl",
        "ch",
        "io",
        "co",
        "ai",
        "app",
        "dev",
        "shop",
        "store",
        "online",
        "site",
        "web",
        "info",
        "biz",
        "asia",
        "me",
        "tv",
        "cc",
        "xyz",
        "top",
        "html",
        "htm",
        "php",
        "asp",
        "aspx",
        "jsp",
        "js",
        "mjs",
        "css",
        "json",
        "xml",
        "txt",
        "csv",
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "zip",
        "rar",
        "gz",
        "tar",
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "svg",
        "ico",
        "mp3",
        "mp4",
        "mov",
        "avi",
        "exe",
        "dmg",
        "apk",
        "ipa",
        "md",
        "py",
        "rb",
        "go",
        "java",
        "ts",
        "yml",
        "yaml",
        "ini",
        "cfg",
        "log",
        "bak",
        "tmp",
    ]
)
PLACEHOLDER_WORDS = {
    "translation-missing": "a missing translation",
    "template": "an unrendered template tag",
    "shortcode": "an unrendered shortcode",
    "format": "an unfilled format placeholder",
    "lorem-ipsum": "lorem ipsum filler text",
    "translation-key": "a translation key instead of text",
}


# What every placeholder pattern needs: templates a brace, format strings a %, shortcodes
# a bracket; then the words of "translation missing" and lorem ipsum.
# Literals every placeholder pattern but a translation key needs: the page's text is
# searched for them in one pass (Aho-Corasick, as errors.* do), and only when one is there
# are the patterns themselves tried on it.
SCREEN_LITERALS = ("{{", "{%", "<%", "${", "%s", "%d", "$s", "$d", "=", "[/", "ranslation", "RANSLATION")
SCREEN_AUTOMATON = ahocorasick_rs.BytesAhoCorasick(
    [literal.encode() for literal in (*SCREEN_LITERALS, "psum", "PSUM", "dolor sit")]
)
DOT_LETTER = re.compile(r"\.[a-z]")
KEY_AROUND = 80  # characters looked at on each side of a dot for a translation key
# Runs of characters mojibake is made of: non-ASCII, but not Chinese, Japanese or Korean
# characters or full-width punctuation (text mis-decoded as Latin-1, Windows-1252, -1251,
# MacRoman or code page 437 never yields those; GBK or Big5 read wrongly is the charset
# check's). So a Chinese page's text needs no ftfy at all. ({2,} would search 4 times slower.)
NON_ASCII_RUN = re.compile(r"[^\x00-\x7f\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]+")
ISLAND_PAD = 3


# The screen's literals in any case, for the pass every page's text gets once for all checks
# (checks.dom.PAGE_ANCHORS, made during the crawl): a text without one in any case holds
# none in its own case either, and is not searched for them again.
SCREEN_HINTS = tuple(dict.fromkeys(literal.lower() for literal in (*SCREEN_LITERALS, "psum", "dolor sit")))


def might_hold_placeholders(text: str, data: bytes, hinted: bool = True) -> bool:
    """A cheap first look at a whole page's text (``data``: the same as UTF-8): False when no
    block can hold a placeholder, so the page need not be split into blocks. ``hinted``:
    whether a :data:`SCREEN_HINTS` word is in the text in any case (if False, none is)."""
    if hinted and SCREEN_AUTOMATON.find_matches_as_indexes(data) and placeholders(text):
        return True
    return _has_key_like_name(text)


def _has_key_like_name(text: str) -> bool:
    """Whether a dotted lower-case name that could be a translation key stands in ``text``
    (as a whole block it would be one). A search for ``.x``, a literal the regular-expression
    engine finds fast, then the key pattern only around it."""
    match = DOT_LETTER.search(text, 1)
    while match is not None:
        before = text[match.start() - 1]
        if before.isascii() and before.islower():
            around = text[max(0, match.start() - KEY_AROUND) : match.end() + KEY_AROUND]
            if any(_could_be_key(m.group("key")) for m in TRANSLATION_KEY.finditer(around)):
                return True
        match = DOT_LETTER.search(text, match.end())
    return False


def _could_be_key(key: str) -> bool:
    parts = key.split(".")
    return parts[-1] not in NOT_KEY_ENDINGS and parts[0] != "www" and all(len(p) >= 2 for p in parts)


def might_be_garbled(text: str) -> bool:
    """A cheap first look at a whole page's text: False when no block can be mojibake.

    ftfy's badness test runs only on the stretches of two or more non-ASCII
    characters (with a few characters around each): UTF-8 mis-decoded turns every
    non-ASCII character into two to four, so an English page whose only non-ASCII
    characters are a lone © or – costs one search."""
    if text.isascii():
        return False
    if REPLACEMENT_CHAR in text:
        return True
    islands = _non_ascii_islands(text)
    return bool(islands) and bool(_ftfy().badness.is_bad(islands))


def _non_ascii_islands(text: str) -> str:
    spans: list[list[int]] = []
    match = NON_ASCII_RUN.search(text)  # search, not finditer: only search skips ASCII fast
    while match is not None:
        found, match = match, NON_ASCII_RUN.search(text, match.end())
        if found.end() - found.start() < 2:
            continue  # mis-decoding turns each non-ASCII character into two to four
        start, end = max(0, found.start() - ISLAND_PAD), found.end() + ISLAND_PAD
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return " ".join(text[start:end] for start, end in spans)


class Placeholder(NamedTuple):
    kind: str  # a key of PLACEHOLDER_WORDS
    text: str  # what was found


def placeholders(text: str) -> list[Placeholder]:
    """Leaked keys, unrendered templates and filler text in one block of visible text."""
    found = [Placeholder("translation-missing", m.group(0)) for m in TRANSLATION_MISSING.finditer(text)]
    found += [Placeholder("template", m.group(0)) for m in TEMPLATE_TAG.finditer(text)]
    found += [Placeholder("shortcode", m.group(0)) for m in SHORTCODE.finditer(text)]
    found += [Placeholder("format", m.group(0)) for m in PRINTF.finditer(text)]
    found += [Placeholder("lorem-ipsum", m.group(0)) for m in LOREM.finditer(text)]
    if not found:
        found = [Placeholder("translation-key", key) for key in translation_keys(text)]
    return found


def translation_keys(text: str) -> list[str]:
    """Dotted i18n keys (``product.add_to_cart``, ``general.cart.title``) shown as text.

    Two parts count only with an underscore in them or as the whole block (a
    button reading ``cart.checkout``); host names, file names, e-mail
    addresses, version numbers and abbreviations (``e.g.``) never count."""
    keys = []
    whole = text.strip()
    for match in TRANSLATION_KEY.finditer(text):
        key = match.group("key")
        if _could_be_key(key) and (key.count(".") >= 2 or "_" in key or key == whole):
            keys.append(key)
    return keys


@cache
def _ftfy() -> ModuleType:
    """ftfy, imported when first needed: its import compiles large regular expressions."""
    import ftfy
    import ftfy.badness
    import ftfy.fixes

    return ftfy


class Garble(NamedTuple):
    shown: str
    intended: str  # "" when it cannot be known (U+FFFD: the bytes are gone)


def mojibake(text: str) -> Garble | None:
    """Mis-decoded text (``Ã©``, ``å…è²»é€è²¨``) or U+FFFD in one block, with ftfy's repair."""
    if text.isascii():
        return None
    if REPLACEMENT_CHAR in text:
        return Garble(text, "")
    ftfy = _ftfy()
    if not ftfy.badness.is_bad(text):
        return None
    fixed = ftfy.fix_encoding(text)
    if fixed == text or fixed == ftfy.fixes.fix_c1_controls(text):
        return None  # stray C1 controls (\x85 for "…") are a typing slip, not mis-decoded text
    return Garble(text, fixed)
