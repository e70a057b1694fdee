"""Translation and text quality on bilingual shops: the ``i18n.*`` checks.

Hong Kong shops are bilingual (Traditional Chinese and English, often
Simplified Chinese too); these checks find what a customer reading one
language meets of the others, and text that cannot be read at all.

``i18n.untranslated`` (warning): a page whose declared language (``<html
lang>``, else Content-Language; else what 75 % of its text is in) is one,
carrying sizeable blocks in another: English paragraphs on a zh-HK page,
Chinese paragraphs on an /en/ page. A block counts when it is prose long
enough to judge: 8+ Latin words, most of them lower-case (not a row of
brand or product names), that Lingua names as another language; or 12+
Chinese characters unbroken by spaces (not a row of menu links), whose
script (kana, hangul or neither) names the language. Addresses (2+ of Road,
Shop, 3/F…; 3+ of 香港, 道, 號, 樓…), prices, product codes, units, short
mixed phrases and blocks whose own ``lang`` attribute declares them never
count. The finding names the blocks, their languages and their share of the
page's text. When a page's text clearly contradicts its declaration (a
zh-HK page written in English), that is ``i18n.lang-mismatch``, and this
check takes the page to be in the language of its text. Known limit: only
text in another *script* is judged (Chinese/Japanese/Korean against
Latin-script languages), so a German paragraph on an English page is not
reported.

``i18n.script-mix`` (warning): Simplified Chinese on a page declared
Traditional (zh-HK, zh-TW, zh-MO, zh-Hant), or Traditional on one declared
Simplified (zh-CN, zh-SG, zh-Hans); a page declared plain ``zh`` is judged by
the script 90 % of its distinctive characters are in. Characters are judged
in context with OpenCC and ``hanzidentifier`` (see ``checks/i18n_lang.py``):
characters both scripts share decide nothing; language-switcher labels (繁體,
简体中文) and blocks whose ``lang`` names the other script are left out. A
page with no language declared is not judged (lyrics, quotes and names in
either script are normal there).

``i18n.lang-mismatch`` (warning): ``<html lang>`` (else Content-Language)
names another language than the one 60 % or more of the page's text is in,
the text weighed by script (Chinese characters as short words; only
lower-case Latin words, so a zh-HK listing of English product names is still
a Chinese page); or an hreflang alternate on the page names the page itself
for another language, or points at a crawled page whose text is in another
language. Within one script the declaration is trusted (a page declared
English whose text is Latin script is taken to be English). Pages with under
~70 words of text are not judged. Invalid hreflang codes are not reported
(Lighthouse's hreflang audit does that).

``i18n.placeholder`` (error for leaked keys, missing translations and
unrendered templates; warning for lorem ipsum): translation keys shown as
text (``product.add_to_cart``, ``general.cart.title``, or a button reading
just ``cart.checkout``), "translation missing: zh-HK.…", unrendered template
tags (``{{ product.title }}``, ``{% … %}``, ``<%= … %>``, ``${…}``,
``[shortcode attr="…"]``), unfilled ``%s``/``%1$s``, lorem ipsum. Host
names, e-mail addresses, file names, version numbers and prices never match.
Text inside Vue/Angular templates (``v-cloak``, ``ng-app``) is not visible
text (see ``crawler/textblocks.py``).

``i18n.mojibake`` (error when the page's declared charset does not decode
its bytes, so the whole page is garbled; warning for garbled blocks): the
declared charset does not fit the bytes (a page declaring ISO-8859-1 or
GB2312 whose bytes are UTF-8, a Big5 page with no declaration), found at
parse time with charset-normalizer; text mis-decoded as Latin-1/Windows-1252
(``Ã©``, ``å…è²»é€è²¨``), found and repaired with ftfy; U+FFFD replacement
characters. The finding shows the text as shown and, where it can be known,
as intended.

``i18n.switcher-broken`` (error for a broken target, warning otherwise):
language-switcher links (links reading English, 中文, 繁體, 简体, EN, 繁…)
whose target is broken (as ``checks/linkverdict.py`` judges links) or leads
to a page in another language or Chinese script than the link names
(staying on the page counts); hreflang alternates whose target is broken or
does not name the page back (by URL, final URL or canonical; a trailing
slash or the host's letter case make no difference). An hreflang naming a
page in another language is ``i18n.lang-mismatch``'s. One finding per
broken target, with the pages it is on. Alternates the crawl did not fetch
are not judged (the crawler follows links, not ``<link rel=alternate>``).

Every finding quotes the offending text (shortened) with a CSS selector;
one finding per page per check, the first few blocks as evidence.

Cost: each page's whole visible text is looked at once first (``Screen``:
its script weights on a 1,500-character sample, whether it holds a Chinese
character, a placeholder's literals, non-CJK non-ASCII runs ftfy calls bad);
only pages that pass a check's screen are split into blocks
(``crawler/textblocks.py``, cached per page). Lingua (loaded on first use,
~0.3 s) runs only on Latin-script prose blocks of Chinese pages and on
undeclared pages whose language a finding must name, cached by text.
``bench/i18n_cost.py`` measures: on the benchmark's English pages the i18n
checks cost about what ``errors.*`` cost.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shophealth.checks.base import Check, Finding, Options, Severity
from shophealth.checks.dom import PAGE_ANCHORS, derived
from shophealth.checks.i18n_lang import (
    HAN,
    LanguageTag,
    Script,
    ScriptCounts,
    ScriptSlip,
    cjk_weight,
    hanzi,
    identify,
    latin_words,
    other_script,
    parse_tag,
    script_counts,
)
from shophealth.checks.i18n_text import (
    PLACEHOLDER_WORDS,
    REPLACEMENT_CHAR,
    SCREEN_HINTS,
    Garble,
    Placeholder,
    might_be_garbled,
    might_hold_placeholders,
    mojibake,
    placeholders,
)
from shophealth.checks.linkverdict import link_verdict
from shophealth.crawler.evidence import EMPTY, Blob, Page, SiteEvidence, decompress, decompress_fast
from shophealth.crawler.textblocks import TextBlock, text_blocks
from shophealth.crawler.urls import normalize

UNTRANSLATED = "i18n.untranslated"
SCREEN_WORDS = PAGE_ANCHORS.register(SCREEN_HINTS)  # in the pass every page's text gets once
SCRIPT_MIX = "i18n.script-mix"
LANG_MISMATCH = "i18n.lang-mismatch"
PLACEHOLDER = "i18n.placeholder"
MOJIBAKE = "i18n.mojibake"
SWITCHER_BROKEN = "i18n.switcher-broken"

MAX_EXAMPLES = 3
QUOTE_CHARS = 120
MIN_FOREIGN_WORDS = 8
MIN_LOWERCASE_SHARE = 0.4
MIN_FOREIGN_HAN = 12
MIN_JUDGED_WEIGHT = 350  # ~70 English words or ~120 Chinese characters
MIN_DOMINANT_SHARE = 0.6
SAMPLE_CHARS = 1500
LATIN_SAMPLE_WORDS = 20  # Lingua: ~0.1 ms; each page is judged on a new sample
KANA_SHARE = 20  # Japanese: one character in 20 or more is kana
LATIN_SCRIPT = "latin"  # an undeclared page in some Latin-script language, not yet identified
CJK_LANGUAGES = frozenset({"zh", "ja", "ko", "yue"})
MIN_UNDECLARED_SHARE = 0.75  # a page with no declared language is judged only when clearly in one
SCRIPT_SHARE = 0.9
MIN_SCRIPT_CHARS = 20
LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    LATIN_SCRIPT: "a Latin-script language",
}
SCRIPT_NAMES = {"Hant": "Traditional Chinese", "Hans": "Simplified Chinese"}
# Language-switcher labels: what a link reads → the language (and script) it leads to.
SWITCHER_LABELS: dict[str, tuple[str, Script | None]] = {
    **dict.fromkeys(("english", "en", "eng", "英文", "英語", "英语"), ("en", None)),
    **dict.fromkeys(
        ("繁體中文", "繁體", "繁", "繁中", "tc", "中文(繁體)", "中文（繁體）", "香港中文"), ("zh", "Hant")
    ),
    **dict.fromkeys(("简体中文", "简体", "简", "簡體中文", "簡體", "簡", "简中", "sc"), ("zh", "Hans")),
    **dict.fromkeys(("中文", "chinese", "zh"), ("zh", None)),
    **dict.fromkeys(("日本語", "japanese", "jp"), ("ja", None)),
    **dict.fromkeys(("한국어", "korean", "kr"), ("ko", None)),
}
ADDRESS_WORDS = re.compile(
    r"\b(?:road|rd|street|st|avenue|ave|lane|shop|unit|floor|flat|room|block|tower|building|bldg|centre|center|"
    r"plaza|mall|house|kowloon|hong kong|new territories|g/f|\d+/f)\b",
    re.IGNORECASE,
)
CHINESE_ADDRESS_WORDS = re.compile(
    r"香港|九龍|九龙|新界|[道街路]|[號号]|[樓楼]|[舖铺]|室|座|大廈|大厦|中心|商場|商场|廣場|广场"
)

# -- derived evidence, computed once per page ---------------------------------------------


def blocks(page: Page) -> tuple[TextBlock, ...]:
    """A page's text blocks, computed once and shared by the checks (keyed by the stored body)."""
    return _page_blocks(page.body_blob) if page.body_blob else ()


@lru_cache(maxsize=4096)  # keyed by the blob, not its bytes: a spooled page's bytes stay on disk
def _page_blocks(body: Blob) -> tuple[TextBlock, ...]:
    return text_blocks(decompress(body.read()).decode("utf-8", "surrogatepass"))


def declared_tag(page: Page) -> tuple[LanguageTag | None, str]:
    """The page's declared language and where it is declared."""
    facts = page.facts
    tag = parse_tag(facts.lang if facts is not None else None)
    if tag is not None:
        return tag, "lang attribute"
    header = next((v for k, v in page.headers.items() if k.lower() == "content-language"), None)
    tag = parse_tag((header or "").split(",")[0])
    return (tag, "Content-Language header") if tag is not None else (None, "")


@dataclass(frozen=True, slots=True)
class ContentLanguage:
    """What most of a page's text is in. ``script`` (cjk or latin) is known at once; the
    Latin-script language of a page with no declaration only when asked (``language``:
    Lingua, loaded on first use, runs then)."""

    known: str | None  # ISO 639-1 when decided without Lingua; None: too little text, or ask
    share: float  # of the page's text (weighted) in that script
    weight: int
    script: str | None = None  # "cjk" or "latin"
    sample: str = ""  # words for Lingua when the language is still to be identified

    @property
    def language(self) -> str | None:
        return identify(self.sample) if self.sample else self.known


def _content_language(text: str, declared: str | None) -> ContentLanguage:
    """What most of ``text`` is in. Within a script the declaration is trusted: a page
    declared in a Latin-script language whose text is mostly Latin script is taken to be
    in it, without Lingua (only Chinese/Japanese/Korean against Latin script is judged)."""
    text = _sample(text)
    counts = script_counts(text)
    cjk, latin = cjk_weight(counts), counts.latin
    weight = cjk + latin
    if weight < MIN_JUDGED_WEIGHT:
        return ContentLanguage(None, 0.0, weight)
    if cjk >= latin:
        return ContentLanguage(_cjk_language(counts), cjk / weight, weight, "cjk")
    if declared is not None and declared not in CJK_LANGUAGES:
        return ContentLanguage(declared, latin / weight, weight, "latin")
    words = list(dict.fromkeys(latin_words(text)))  # each word once: tables repeat "Fl" forty times
    middle = len(words) // 3
    sample = " ".join(words[middle : middle + LATIN_SAMPLE_WORDS])
    return ContentLanguage(None, latin / weight, weight, "latin", sample)


def _cjk_language(counts: ScriptCounts) -> str:
    """Japanese writes kana between its kanji, Korean hangul; Chinese neither. (Lingua
    decides these by the same rule; asking it would load its models for nothing.)"""
    if counts.hangul > counts.han:
        return "ko"
    return "ja" if counts.kana * KANA_SHARE >= counts.han + counts.kana else "zh"


def _sample(text: str) -> str:
    """Up to SAMPLE_CHARS of ``text``, from its start, middle and end: enough to weigh scripts."""
    if len(text) <= SAMPLE_CHARS:
        return text
    third = SAMPLE_CHARS // 3
    middle = (len(text) - third) // 2
    return " ".join((text[:third], text[middle : middle + third], text[-third:]))


@dataclass(frozen=True, slots=True)
class Screen:
    """What a first look at a page's whole visible text says, once per page: its content
    language, and whether any block can hold what each check looks for. Only pages that
    pass a check's screen are split into blocks."""

    content: ContentLanguage
    han: int  # Chinese characters
    latin_words: int  # only counted on pages declared in Chinese, Japanese or Korean
    might_hold_placeholders: bool
    might_be_garbled: bool


@derived  # memoised while the page lives, made ahead of judging
def screen(page: Page) -> Screen:
    tag, _ = declared_tag(page)
    facts = page.facts
    hinted = facts is not None and len(PAGE_ANCHORS.of(facts).of(SCREEN_WORDS)) > 0
    text = facts.text_blob if facts is not None else EMPTY
    return _screen(text, tag.language if tag is not None else None, hinted)


def _screen(text_blob: Blob, declared: str | None, hinted: bool) -> Screen:
    data = decompress_fast(text_blob.read())
    text = data.decode("utf-8", "surrogatepass")
    # UTF-8 bytes beyond one a character: none on ASCII text, one for a lone ©. A Chinese
    # character takes two, and mojibake needs two non-ASCII characters: below that, no
    # search for either is needed (the benchmark's English pages stop here).
    extra = len(data) - len(text)
    han = len(HAN.findall(text)) if extra >= 2 else 0
    return Screen(
        content=_content_language(text, declared),
        han=han,
        latin_words=len(latin_words(text)) if declared in CJK_LANGUAGES else 0,
        might_hold_placeholders=might_hold_placeholders(text, data, hinted),
        might_be_garbled=extra >= 2 and might_be_garbled(text),
    )


def content_language(page: Page) -> ContentLanguage:
    return screen(page).content


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _block_evidence(block: TextBlock, **extra: Any) -> dict[str, Any]:
    return {"selector": block.selector, "text": _quote(block.text), **extra}


def _language_name(code: str | None) -> str:
    return LANGUAGE_NAMES.get(code or "", code or "unknown")


# -- i18n.untranslated ---------------------------------------------------------------------


def expected_language(page: Page) -> tuple[str | None, str]:
    """The language a page should be in: declared, unless most of its text is clearly in
    another (then the declaration is what is wrong: ``i18n.lang-mismatch``); else what
    most of its text is in."""
    tag, source = declared_tag(page)
    content = content_language(page)
    if tag is not None and not _contradicts(tag, content):
        return tag.language, f"{tag.tag} ({source})"
    if content.share < MIN_UNDECLARED_SHARE:
        return None, ""
    if content.script == "latin" and content.sample:
        return LATIN_SCRIPT, "Latin script (most of its text)"  # which language: asked only if needed
    if content.language is not None:
        return content.language, f"{_language_name(content.language)} (most of its text)"
    return None, ""


def _contradicts(tag: LanguageTag, content: ContentLanguage) -> bool:
    return (
        content.language is not None
        and content.share >= MIN_DOMINANT_SHARE
        and not _same_language(tag.language, content.language)
    )


def _weight(text: str) -> int:
    """How much text there is, Chinese characters weighing like short words."""
    counts = script_counts(text)
    return cjk_weight(counts) + counts.latin


def _is_latin_prose(text: str) -> bool:
    words = latin_words(text)
    if len(words) < MIN_FOREIGN_WORDS or (HAN.search(text) and len(HAN.findall(text)) * 3 > len(text) // 2):
        return False
    lower = sum(1 for w in words if w[0].islower())
    return lower / len(words) >= MIN_LOWERCASE_SHARE and len(ADDRESS_WORDS.findall(text)) < 2


def _is_chinese_prose(text: str) -> bool:
    """A sentence, not a row of menu items: 12+ Chinese characters with no space between."""
    han = max((len(HAN.findall(segment)) for segment in text.split()), default=0)
    return han >= MIN_FOREIGN_HAN and len(CHINESE_ADDRESS_WORDS.findall(text)) < 3


def _foreign_language(block: TextBlock, expected: str) -> str | None:
    """The language of ``block`` when it is sizeable prose in another script than ``expected``."""
    if block.lang is not None or block.tag == "title":
        return None  # declared on the element: deliberate
    cjk_page = expected in CJK_LANGUAGES
    prose = _is_latin_prose(block.text) if cjk_page else _is_chinese_prose(block.text)
    if not prose:
        return None
    # Latin-script prose on a Chinese page: Lingua says which language; Chinese prose on
    # a Latin-script page: the script says (kana, hangul), with no model to load.
    language = identify(block.text) if cjk_page else _cjk_language(script_counts(block.text))
    if language is None or language == expected or (language in CJK_LANGUAGES) == cjk_page:
        return None
    return language


def _needs_blocks_for_untranslated(first_look: Screen, expected: str) -> bool:
    if expected in CJK_LANGUAGES:
        return first_look.latin_words >= MIN_FOREIGN_WORDS or first_look.content.language != expected
    return first_look.han >= MIN_FOREIGN_HAN


def _untranslated(page: Page) -> Finding | None:
    expected, declared = expected_language(page)
    if expected is None or page.facts is None or not _needs_blocks_for_untranslated(screen(page), expected):
        return None
    judged = [(b, _foreign_language(b, expected)) for b in blocks(page)]
    foreign = [(b, lang) for b, lang in judged if lang is not None]
    if not foreign:
        return None
    if expected == LATIN_SCRIPT:  # now worth a Lingua call: which language the page is in
        expected = content_language(page).language or LATIN_SCRIPT
        declared = f"{_language_name(expected)} (most of its text)"
    total = sum(_weight(b.text) for b in blocks(page)) or 1
    share = sum(_weight(b.text) for b, _ in foreign) / total
    languages = sorted({lang for _, lang in foreign})
    first = foreign[0][0]
    return Finding(
        check=UNTRANSLATED,
        severity="warning",
        page=page.final_url,
        target=None,
        message=(
            f"This page is in {_language_name(expected)} but {len(foreign)} text block(s) "
            f"({share:.0%} of its text) are in {', '.join(_language_name(x) for x in languages)}, "
            f'e.g. "{_quote(first.text)}" at {first.selector}'
        ),
        evidence={
            "page_language": declared,
            "languages": languages,
            "count": len(foreign),
            "share": round(share, 3),
            "blocks": [_block_evidence(b, language=lang) for b, lang in foreign[:MAX_EXAMPLES]],
            "selector": first.selector,
            "snippet": _quote(first.text),
        },
    )


# -- i18n.script-mix -----------------------------------------------------------------------


def page_script(page: Page) -> tuple[Script | None, str | None, str]:
    """The Chinese script a page is in (declared, or by 90 % of its characters when the
    page is declared plain ``zh``), its region, and where that was read."""
    tag, source = declared_tag(page)
    if tag is None or tag.language != "zh":
        return None, None, ""
    region = next((p.lower() for p in re.split(r"[-_]", tag.tag)[1:] if len(p) == 2), None)
    if tag.script is not None:
        return tag.script, region, f"{tag.tag} ({source})"
    detected = text_script(page)
    return detected, region, f"{tag.tag}, text mostly {SCRIPT_NAMES[detected]}" if detected else ""


def text_script(page: Page) -> Script | None:
    """The script 90 % of a page's distinctive Chinese characters are in, if any."""
    if page.facts is None or screen(page).han < MIN_SCRIPT_CHARS:
        return None
    return _dominant_script(page.facts.text_blob)


@lru_cache(maxsize=1024)  # keyed by the blob, not its bytes: a spooled page's text stays on disk
def _dominant_script(text_blob: Blob) -> Script | None:
    han = Counter(HAN.findall(decompress_fast(text_blob.read()).decode("utf-8", "surrogatepass")))
    is_simplified, is_traditional = hanzi().is_simplified, hanzi().is_traditional
    traditional = sum(n for c, n in han.items() if not is_simplified(c))
    simplified = sum(n for c, n in han.items() if not is_traditional(c))
    distinctive = traditional + simplified
    if distinctive < MIN_SCRIPT_CHARS:
        return None
    if traditional / distinctive >= SCRIPT_SHARE:
        return "Hant"
    if simplified / distinctive >= SCRIPT_SHARE:
        return "Hans"
    return None


def _without_switcher_labels(text: str) -> str:
    """``text`` without language-switcher labels (繁體, 简体中文, English), which name a
    script rather than use it."""
    return " ".join(word for word in text.split() if not _is_switcher_label(word))


def _is_switcher_label(word: str) -> bool:
    word = word.strip("|/·()（）[]").lower()
    return word in SWITCHER_LABELS or (len(word) <= 4 and any(c in word for c in "繁简簡"))


def _block_script(block: TextBlock) -> Script | None:
    tag = parse_tag(block.lang)
    return tag.script if tag is not None else None


def _script_mix(page: Page) -> Finding | None:
    script, region, declared = page_script(page)
    if script is None or screen(page).han == 0:
        return None
    slips: list[tuple[TextBlock, ScriptSlip]] = []
    for block in blocks(page):
        text = _without_switcher_labels(block.text)
        if not HAN.search(text) or _block_script(block) not in (None, script):
            continue
        slip = other_script(text, script, region)
        if slip is not None:
            slips.append((block, slip))
    if not slips:
        return None
    other = "Hans" if script == "Hant" else "Hant"
    block, slip = slips[0]
    chars = sum(s.total for _, s in slips)
    return Finding(
        check=SCRIPT_MIX,
        severity="warning",
        page=page.final_url,
        target=None,
        message=(
            f"This {SCRIPT_NAMES[script]} page carries {SCRIPT_NAMES[other]} in {len(slips)} block(s) "
            f'({chars} characters), e.g. "{_quote(block.text)}" at {block.selector}; '
            f'in {SCRIPT_NAMES[script]}: "{_quote(slip.corrected)}"'
        ),
        evidence={
            "page_script": declared,
            "count": len(slips),
            "characters": chars,
            "blocks": [
                _block_evidence(b, characters=s.chars, corrected=_quote(s.corrected))
                for b, s in slips[:MAX_EXAMPLES]
            ],
            "selector": block.selector,
            "snippet": _quote(block.text),
        },
    )


# -- i18n.lang-mismatch --------------------------------------------------------------------


def _same_language(a: str, b: str) -> bool:
    chinese = {"zh", "yue", "cmn"}
    return a == b or (a in chinese and b in chinese)


def _lang_mismatch(page: Page, pages_by_url: dict[str, Page]) -> Finding | None:
    problems = list(_attribute_mismatch(page)) + list(_hreflang_mismatches(page, pages_by_url))
    if not problems:
        return None
    return Finding(
        check=LANG_MISMATCH,
        severity="warning",
        page=page.final_url,
        target=None,
        message=problems[0]["message"] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""),
        evidence={
            "problems": problems[:MAX_EXAMPLES],
            "count": len(problems),
            "selector": problems[0]["selector"],
            "snippet": problems[0]["snippet"],
        },
    )


def _attribute_mismatch(page: Page) -> Iterator[dict[str, Any]]:
    tag, source = declared_tag(page)
    content = content_language(page)
    if tag is None or not _contradicts(tag, content):
        return
    yield {
        "message": (
            f"The page declares {tag.tag} ({source}) but {content.share:.0%} of its text is in "
            f"{_language_name(content.language)}"
        ),
        "declared": tag.tag,
        "source": source,
        "content_language": content.language,
        "share": round(content.share, 3),
        "selector": "html" if source == "lang attribute" else "(HTTP header Content-Language)",
        "snippet": _quote(_first_prose(page, content)),
    }


def _first_prose(page: Page, content: ContentLanguage) -> str:
    """The page's first sizeable block in the script most of its text is in, to quote."""
    for block in blocks(page):
        counts = script_counts(block.text)
        cjk, latin = cjk_weight(counts), counts.latin
        if block.tag != "title" and cjk + latin >= 60 and (cjk >= latin) == (content.script == "cjk"):
            return block.text
    return page.facts.text[:QUOTE_CHARS] if page.facts is not None else ""


def _hreflang_mismatches(page: Page, pages_by_url: dict[str, Page]) -> Iterator[dict[str, Any]]:
    if page.facts is None:
        return
    for code, url in page.facts.hreflangs:
        tag = parse_tag(code)
        if tag is None:
            continue  # x-default and invalid codes
        target = page if url in (page.url, page.final_url) else pages_by_url.get(url)
        if target is None:
            continue
        language = content_language(target).language
        if language is None or _same_language(tag.language, language):
            continue
        where = "this page itself" if target is page else url
        yield {
            "message": f"hreflang {code} points at {where}, which is in {_language_name(language)}",
            "hreflang": code,
            "target": url,
            "content_language": language,
            "selector": f'link[rel="alternate"][hreflang="{code}"]',
            "snippet": _quote(url),
        }


# -- i18n.placeholder ----------------------------------------------------------------------

PLACEHOLDER_ERRORS = frozenset({"translation-missing", "template", "shortcode", "format", "translation-key"})


def _placeholder(page: Page) -> Finding | None:
    if not screen(page).might_hold_placeholders:
        return None
    found = [(b, p) for b in blocks(page) for p in placeholders(b.text)]
    if not found:
        return None
    block, first = found[0]
    kinds = list(dict.fromkeys(p.kind for _, p in found))
    severity: Severity = "error" if any(k in PLACEHOLDER_ERRORS for k in kinds) else "warning"
    return Finding(
        check=PLACEHOLDER,
        severity=severity,
        page=page.final_url,
        target=None,
        message=(
            f'This page shows {PLACEHOLDER_WORDS[first.kind]}: "{_quote(first.text)}" at {block.selector}'
            + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
        ),
        evidence={
            "kinds": kinds,
            "count": len(found),
            "blocks": [_block_evidence(b, kind=p.kind, found=p.text) for b, p in _first_per_block(found)],
            "selector": block.selector,
            "snippet": _quote(block.text),
        },
    )


def _first_per_block(found: list[tuple[TextBlock, Placeholder]]) -> list[tuple[TextBlock, Placeholder]]:
    seen: dict[str, tuple[TextBlock, Placeholder]] = {}
    for block, placeholder in found:
        seen.setdefault(block.selector + block.text, (block, placeholder))
    return list(seen.values())[:MAX_EXAMPLES]


# -- i18n.mojibake -------------------------------------------------------------------------


def _mojibake(page: Page) -> Finding | None:
    if page.facts is None:
        return None
    mismatch = page.facts.charset_mismatch
    if mismatch is not None:
        likely = f"its bytes are {mismatch.likely}" if mismatch.likely else "its bytes are in another charset"
        return Finding(
            check=MOJIBAKE,
            severity="error",
            page=page.final_url,
            target=None,
            message=(
                f'The page is read as {mismatch.used} but {likely}: visitors see "{_quote(mismatch.shown)}"'
                + (f' instead of "{_quote(mismatch.intended)}"' if mismatch.intended else "")
            ),
            evidence={
                "kind": "charset",
                "charset_used": mismatch.used,
                "charset_likely": mismatch.likely,
                "meta_charset": page.facts.meta_charset,
                "selector": "meta[charset]" if page.facts.meta_charset else "html",
                "snippet": _quote(mismatch.shown),
                "intended": _quote(mismatch.intended),
            },
        )
    return _garbled_blocks(page)


def _garbled_blocks(page: Page) -> Finding | None:
    if not screen(page).might_be_garbled:
        return None
    garbled = [(b, g) for b in blocks(page) if (g := mojibake(b.text)) is not None]
    if not garbled:
        return None
    block, first = garbled[0]
    return Finding(
        check=MOJIBAKE,
        severity="warning",
        page=page.final_url,
        target=None,
        message=f'{len(garbled)} text block(s) on this page are garbled, e.g. "{_excerpt(first)}" at {block.selector}'
        + (f' (meant: "{_quote(first.intended)}")' if first.intended else ""),
        evidence={
            "kind": "replacement-character" if not first.intended else "mis-decoded",
            "count": len(garbled),
            "blocks": [_block_evidence(b, intended=_quote(g.intended)) for b, g in garbled[:MAX_EXAMPLES]],
            "selector": block.selector,
            "snippet": _excerpt(first),
            "intended": _quote(first.intended),
        },
    )


def _excerpt(garble: Garble) -> str:
    """The garbled text around its first U+FFFD, or its start."""
    at = garble.shown.find(REPLACEMENT_CHAR)
    start = max(0, at - 40) if at >= 0 else 0
    return _quote(garble.shown[start:])


# -- i18n.switcher-broken ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SwitcherTarget:
    url: str
    language: str
    script: Script | None
    via: str  # "switcher link" or "hreflang"
    label: str
    source: str


def _switcher_targets(page: Page) -> Iterator[SwitcherTarget]:
    for ref in page.refs:
        if ref.tag != "a" or ref.invalid is not None:
            continue
        label = SWITCHER_LABELS.get(ref.text.strip().lower())
        if label is not None:
            yield SwitcherTarget(
                ref.url, label[0], label[1], "switcher link", ref.text.strip(), page.final_url
            )
    if page.facts is not None:
        for code, url in page.facts.hreflangs:
            tag = parse_tag(code)
            if tag is not None:
                yield SwitcherTarget(url, tag.language, tag.script, "hreflang", code, page.final_url)


def _target_problem(
    target: SwitcherTarget, evidence: SiteEvidence, pages_by_url: dict[str, Page]
) -> str | None:
    result = evidence.links.get(target.url)
    if result is not None and link_verdict(result).outcome == "broken":
        status = f"answers {result.status}" if result.status else f"fails ({result.error or 'no answer'})"
        return f"broken: it {status}"
    landed = pages_by_url.get(result.final_url or target.url) if result is not None else None
    landed = landed or pages_by_url.get(target.url)
    if landed is None:
        return None
    if landed.final_url == target.source:
        # an hreflang naming the page itself for another language is i18n.lang-mismatch's
        return _wrong_language(target, landed, self_link=True) if target.via == "switcher link" else None
    wrong = _wrong_language(target, landed)
    if wrong is not None:
        return wrong
    if target.via == "hreflang" and not _links_back(landed, pages_by_url.get(target.source)):
        return f"not reciprocal: {landed.final_url} has no hreflang back to {target.source}"
    return None


def _wrong_language(target: SwitcherTarget, landed: Page, self_link: bool = False) -> str | None:
    language = content_language(landed).language
    if language is None:
        return None
    if not _same_language(language, target.language):
        where = "stays on this page, which is" if self_link else "leads to a page"
        return f"wrong language: labelled {target.label} but {where} in {_language_name(language)}"
    if target.script is not None and language == "zh":
        script = text_script(landed)
        if script is not None and script != target.script:
            return f"wrong script: labelled {target.label} but the page is in {SCRIPT_NAMES[script]}"
    return None


def _links_back(page: Page, source: Page | None) -> bool:
    """Whether ``page`` has an hreflang naming ``source`` (by the URL asked, the URL it ended
    on or its canonical; a trailing slash or letter case in the host makes no difference)."""
    if page.facts is None or source is None:
        return True  # nothing to compare: not judged
    names = {source.url, source.final_url}
    if source.facts is not None and source.facts.canonical:
        names.add(source.facts.canonical)
    wanted = {_comparable(url) for url in names}
    return any(_comparable(url) in wanted for _, url in page.facts.hreflangs)


def _comparable(url: str) -> str:
    parts = urlsplit(normalize(url))
    return urlunsplit(parts._replace(netloc=parts.netloc.lower(), path=parts.path.rstrip("/") or "/"))


def find_broken_switchers(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    pages_by_url = _pages_by_url(evidence)
    problems: dict[tuple[str, str], tuple[SwitcherTarget, str, list[str]]] = {}
    for page in evidence.html_pages():
        for target in _switcher_targets(page):
            problem = _target_problem(target, evidence, pages_by_url)
            if problem is None:
                continue
            key = (target.url, problem.split(":")[0])
            entry = problems.setdefault(key, (target, problem, []))
            entry[2].append(page.final_url)
    for (url, _), (target, problem, pages) in problems.items():
        severity: Severity = "error" if problem.startswith("broken") else "warning"
        yield Finding(
            check=SWITCHER_BROKEN,
            severity=severity,
            page=pages[0],
            target=url,
            message=f"Language {target.via} {target.label!r} → {url} is {problem}",
            evidence={
                "via": target.via,
                "label": target.label,
                "selector": _switcher_selector(target),
                "snippet": target.label,
                "problem": problem,
                "pages": list(dict.fromkeys(pages))[:MAX_EXAMPLES],
                "count": len(pages),
            },
        )


def _switcher_selector(target: SwitcherTarget) -> str:
    if target.via == "hreflang":
        return f'link[rel="alternate"][hreflang="{target.label}"]'
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return 'a[href*="{}"]'.format(path.replace('"', '\\"'))


def _pages_by_url(evidence: SiteEvidence) -> dict[str, Page]:
    by_url: dict[str, Page] = {}
    for page in evidence.html_pages():
        by_url.setdefault(page.url, page)
        by_url.setdefault(page.final_url, page)
    return by_url


# -- registration --------------------------------------------------------------------------


def _per_page(
    judge: Callable[[Page], Finding | None],
) -> Callable[[SiteEvidence, Options], Iterable[Finding]]:
    def run(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
        for page in evidence.html_pages():
            if page.status is not None and page.status >= 400:
                continue
            finding = judge(page)
            if finding is not None:
                yield finding

    return run


def find_lang_mismatches(evidence: SiteEvidence, options: Options) -> Iterable[Finding]:
    pages_by_url = _pages_by_url(evidence)
    return _per_page(lambda page: _lang_mismatch(page, pages_by_url))(evidence, options)


_DOC = __doc__ or ""
CHECKS: list[Check] = [
    Check(
        id=UNTRANSLATED,
        title="Text left untranslated",
        requires=("pages",),
        run=_per_page(_untranslated),
        severities="warning: sizeable text blocks in another language than the page's",
        family_doc=_DOC,
    ),
    Check(
        id=SCRIPT_MIX,
        title="Simplified and Traditional Chinese mixed",
        requires=("pages",),
        run=_per_page(_script_mix),
        severities="warning: characters of the other Chinese script on a page",
        family_doc=_DOC,
    ),
    Check(
        id=LANG_MISMATCH,
        title="Declared language does not match the text",
        requires=("pages",),
        run=find_lang_mismatches,
        severities="warning: lang attribute, Content-Language or hreflang naming another language",
        family_doc=_DOC,
    ),
    Check(
        id=PLACEHOLDER,
        title="Translation keys, templates and filler text shown",
        requires=("pages",),
        run=_per_page(_placeholder),
        severities="error: leaked keys, missing translations, unrendered templates; warning: lorem ipsum only",
        family_doc=_DOC,
    ),
    Check(
        id=MOJIBAKE,
        title="Garbled text (mojibake)",
        requires=("pages",),
        run=_per_page(_mojibake),
        severities="error: the declared charset does not decode the page; warning: garbled blocks, U+FFFD",
        family_doc=_DOC,
    ),
    Check(
        id=SWITCHER_BROKEN,
        title="Broken language switchers and hreflang alternates",
        requires=("pages", "links"),
        run=find_broken_switchers,
        severities="error: the target is broken; warning: wrong language or not reciprocal",
        family_doc=_DOC,
    ),
]
