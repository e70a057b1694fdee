"""Language and script identification for the ``i18n.*`` checks (see ``checks/i18n.py``).

Language: Lingua (``lingua-language-detector``), restricted to the languages
a Hong Kong shop carries (English, Chinese, Japanese, Korean and the main
Western European ones), in its low-accuracy mode (trigram models). Measured
on 244 short blocks (6-200 characters) cut from the real-world corpus's
en/de/zh/ja pages: Lingua low-accuracy 98.4 % right at 32 µs a block (its
misses: German taken for Dutch twice, and two run-together menus);
high-accuracy 99.6 % at 83 µs, but its models cost 184 MB of memory and 6 s to
load on this (busy) machine against 19 MB and 0.3 s; pycld2 97.1 % at 6 µs,
but it takes short Chinese headlines for Japanese (四川一明代古墓出土500年前鸡蛋),
exactly the blocks these checks judge; gcld3 has no wheel for this Python.
Lingua reads at most the first 300 characters of a text (its cost grows with
length; 300 characters decide a language), and results are cached by text.
Only blocks of 8+ words of prose (or 12+ Chinese characters) are identified,
where trigrams are enough.

Script: OpenCC (the C++ library's own dictionaries, phrase by phrase) says
which characters a Simplified-to-Traditional conversion changes in context;
``hanzidentifier`` (CC-CEDICT's character lists) says whether a character
belongs to the other script only. A character counts as Simplified on a
Traditional page only if OpenCC's Hong Kong, Taiwan and plain Traditional
conversions all change it and it is not itself a Traditional character; so
characters both scripts share (峰, 床, 台, 里), and Traditional variants (着
in Hong Kong, 裏/裡, 為/爲) decide nothing. The reverse (Traditional on a
Simplified page) likewise with OpenCC's Traditional-to-Simplified table.
"""

from __future__ import annotations

import importlib
import re
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from lingua import LanguageDetector

Script = Literal["Hant", "Hans"]
# Lingua's names; Lingua, OpenCC and hanzidentifier are imported when first used, so a
# scan (and every worker process) starts without their ~0.2 s of imports.
LANGUAGES = (
    "ENGLISH",
    "CHINESE",
    "JAPANESE",
    "KOREAN",
    "GERMAN",
    "FRENCH",
    "SPANISH",
    "ITALIAN",
    "DUTCH",
    "PORTUGUESE",
)
IDENTIFY_CHARS = 300
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = re.compile(r"[\u3040-\u30ff]")
HANGUL = re.compile(r"[\uac00-\ud7af]")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# A word: letters (and inner apostrophes or hyphens) standing alone, so codes such as
# B90902123 or T14 and the pieces of URLs, e-mail addresses and file names are no words.
LATIN_WORD = re.compile(
    r"(?<![\w/@-])(?<!\w[.:])[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'’-]+(?![\w/@-]|[.:]\w)"
)
LOWER_LATIN_WORD = re.compile(
    r"(?<![\w/@-])(?<!\w[.:])[a-z\u00df-\u00ff][A-Za-z\u00c0-\u024f'’-]+(?![\w/@-]|[.:]\w)"
)
TRADITIONAL_REGIONS = ("hk", "tw", "mo")
SIMPLIFIED_REGIONS = ("cn", "sg", "my")


@cache
def _detector() -> LanguageDetector:
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


@cache
def hanzi() -> ModuleType:
    """hanzidentifier (CC-CEDICT's Simplified and Traditional character lists)."""
    return importlib.import_module("hanzidentifier")


def identify(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language (lower case), or None when unsure."""
    return _identify(text[:IDENTIFY_CHARS])


@lru_cache(maxsize=65_536)
def _identify(text: str) -> str | None:
    language = _detector().detect_language_of(text)
    return language.iso_code_639_1.name.lower() if language is not None else None


class ScriptCounts(NamedTuple):
    han: int
    kana: int
    hangul: int
    latin: int  # letters in lower-case Latin-script words (see latin_letters)


def script_counts(text: str) -> ScriptCounts:
    if len(text.encode("utf-8", "surrogatepass")) - len(text) < 2:  # no CJK character in it
        return ScriptCounts(0, 0, 0, latin_letters(text))
    return ScriptCounts(
        len(HAN.findall(text)),
        len(KANA.findall(text)),
        len(HANGUL.findall(text)),
        latin_letters(text),
    )


def cjk_weight(counts: ScriptCounts) -> int:
    """Han, kana and hangul characters weigh like a short word each (about 3 Latin letters)."""
    return 3 * (counts.han + counts.kana + counts.hangul)


class LanguageTag(NamedTuple):
    """A BCP 47 tag reduced to what these checks compare."""

    tag: str  # as written
    language: str  # primary subtag, lower case ("zh", "en")
    script: Script | None  # for Chinese: the script the tag names or implies


@lru_cache(maxsize=1024)
def parse_tag(tag: str | None) -> LanguageTag | None:
    """``zh-HK`` → zh, Hant; ``zh-Hans-CN`` → zh, Hans; ``en_US`` → en; junk → None."""
    if not tag:
        return None
    parts = [p.lower() for p in re.split(r"[-_]", tag.strip()) if p]
    if not parts or not re.fullmatch(r"[a-z]{2,3}", parts[0]):
        return None
    script: Script | None = None
    if parts[0] == "zh":
        rest = parts[1:]
        if "hant" in rest or any(r in TRADITIONAL_REGIONS for r in rest):
            script = "Hant"
        elif "hans" in rest or any(r in SIMPLIFIED_REGIONS for r in rest):
            script = "Hans"
    return LanguageTag(tag.strip(), parts[0], script)


@cache
def _converter(config: str) -> Any:
    import opencc

    return opencc.OpenCC(config)


class ScriptSlip(NamedTuple):
    """Characters of the other script in a text, and the text as it should read."""

    chars: str  # the offending characters, in order, each once
    total: int  # how many offending characters (with repeats)
    corrected: str  # the whole text converted to the page's script


@lru_cache(maxsize=16_384)
def other_script(text: str, page_script: Script, region: str | None = None) -> ScriptSlip | None:
    """Characters of ``text`` that belong only to the script the page does not use."""
    if page_script == "Hant":
        preferred = {"tw": "s2tw", "hk": "s2hk", "mo": "s2hk"}.get(region or "", "s2hk")
        conversions = [_converter(c).convert(text) for c in ("s2t", "s2hk", "s2tw")]
        corrected = _converter(preferred).convert(text)
        is_own_script = hanzi().is_traditional
    else:
        conversions = [_converter("t2s").convert(text)]
        corrected = conversions[0]
        is_own_script = hanzi().is_simplified
    if any(len(c) != len(text) for c in conversions):
        return None  # a conversion that changes length cannot be compared character by character
    offending = [
        char
        for index, char in enumerate(text)
        if all(c[index] != char for c in conversions) and not is_own_script(char)
    ]
    if not offending:
        return None
    return ScriptSlip("".join(dict.fromkeys(offending)), len(offending), corrected)


def latin_words(text: str) -> list[str]:
    return LATIN_WORD.findall(text)


def latin_letters(text: str) -> int:
    """Letters in the lower-case Latin-script words of ``text``: prose, not the brand and
    product names (Dyson V15 Detect Absolute) that Chinese pages of Hong Kong shops carry."""
    return sum(map(len, LOWER_LATIN_WORD.findall(text)))
