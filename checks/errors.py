"""Leaked server errors: PHP's own error output and other platforms' traces.

``errors.php`` finds what PHP and PHP shop software print into a page:

* PHP's error messages in both forms PHP prints them, the plain
  ``display_errors`` text (``Warning: Undefined array key "price" in
  /var/www/x.php on line 123``) and the ``html_errors`` form
  (``<br /><b>Warning</b>:  … in <b>/var/www/x.php</b> on line <b>123</b>``),
  with or without the ``PHP`` prefix of the CLI and log formats, and as
  Xdebug's error table shows them: fatal, parse,
  recoverable (catchable) fatal, memory-exhausted and time-out errors,
  warnings, notices, deprecations and strict-standards messages;
* uncaught exceptions (``Fatal error: Uncaught Error: … in /path/x.php:272
  Stack trace: #0 …``) and PHP stack traces printed without a label
  (``exception 'Exception' with message '…' in /path:5 Stack trace: #0 …``);
* database failures: MySQL/PDO messages (``SQLSTATE[HY000] [2002] …``,
  ``You have an error in your SQL syntax``, ``Access denied for user '…'@'…'``,
  or any PHP message about a ``mysqli_*``/``PDO`` call) and WordPress's
  "Error establishing a database connection" page;
* WordPress's fatal-error page ("There has been a critical error on this
  website.", 5.2's "The site is experiencing technical difficulties.").

``errors.server`` finds other platforms' leaked errors: Shopify ``Liquid
error (…)`` / ``Liquid syntax error``, Python tracebacks, Django's DEBUG
pages, Java, .NET (C#) and ASP.NET "Server Error in '/' Application" pages,
Ruby/Rails, Node.js and Go traces, and framework error pages shown to
visitors: Magento's "There has been an error processing your request",
Laravel's "Whoops, looks like something went wrong." and Symfony's "The server
returned a "500 Internal Server Error"", Spring Boot's "Whitelabel Error Page"
and Tomcat's exception report. Magento's page is reported here, as issue 2
asks, although Magento is PHP (the real-world manifest labels it errors.php
and accepts errors.server as its alternative reading).

How text is judged. Patterns are anchored on the structure these programs
really print, never on a lone word: a PHP message needs its label *and*
`` in /path on line N``; a trace needs two frames of its language's shape
(``at com.foo.Bar(Bar.java:12)``, ``File "x.py", line 3, in f``,
``app/x.rb:69:in `f'``, ``at f (/app/x.js:2:14)``); phrases that blog posts
or FAQs might quote (WordPress's and Magento's error sentences, "Error
establishing a database connection", Laravel's "Whoops") count only where
the page *is* that error page: the phrase is the title or a heading, the
page's text is short, or the sentence that follows it on the real page follows
it here too. So a product called "Fatal Error Graphic Tee", a shop selling
warning signs or an FAQ about database connections is not a finding.

Visible text (``PageFacts.text``) is read first. ``errors.php`` also reads
the raw HTML when the text shows nothing, because PHP often prints its
messages inside attributes or scripts (``value="<br /><b>Notice</b>: …"``)
where no visitor sees them but the page still breaks; such findings carry
``evidence.where = "markup"``; option ``scan_markup: false`` turns that
second pass off. Both checks first look for a handful of plain substrings
that every pattern needs (``" on line "``, ``"Stack trace:"``, ``".java:"``…),
all at once with an Aho-Corasick automaton, and only where the passes every
page's text and HTML get once for all checks (:mod:`shophealth.checks.dom`,
made during the crawl) found one of them in any case: a clean page costs the
errors checks nothing more (0.21 ms a benchmark page before, 0.012 after,
machine shared, load 3), a page with a hint one exact search of its text or
HTML.

Findings: one per page per check (SPEC §2), ``target`` null. ``evidence``:
``kind`` (the first error-level kind on the page, else the first one),
``kinds`` (all kinds seen), ``count`` (messages, traces and error pages
recognised; a trace counts once), ``snippet``, ``where`` (``text`` or
``markup``) and, for PHP messages, ``file`` and ``line``.

Severities. ``errors.php``: ``error`` for fatal, parse, recoverable, memory,
timeout, uncaught-exception, database and wordpress-critical; ``warning``
when the page shows only warnings, notices, deprecations or strict-standards
messages (the page rendered, but leaks paths and looks broken).
``errors.server``: always ``error`` (a trace, a debug page or a failed
template means the page, or part of it, did not render).

Known limits: translated WordPress/Magento error pages are not recognised
(only the English sentences are known); a page that quotes a complete
stack trace with its frames (a developer blog) is reported; messages in
attributes or scripts are only looked for in PHP's own two formats; Laravel
Ignition and Symfony debug pages, which render their traces with JavaScript,
are recognised only by their visible text.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ahocorasick_rs

from shophealth.checks.base import Check, Finding, Options, Severity, snippet
from shophealth.checks.dom import PAGE_ANCHORS, PAGE_MARKUP, PerPage
from shophealth.crawler.evidence import Page, PageFacts, SiteEvidence
from shophealth.crawler.parse import block_spans

PHP_CHECK = "errors.php"
SERVER_CHECK = "errors.server"
SHORT_PAGE_CHARS = 1500  # visible text of a bare error page (wp_die, Magento) is shorter
DETAIL_CHARS = 160

PHP_WARNING_KINDS = frozenset({"warning", "notice", "deprecated", "strict"})


@dataclass(frozen=True, slots=True)
class Leak:
    """One error message recognised in a page's text or markup."""

    kind: str
    start: int
    end: int
    detail: str
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Detector:
    """A pattern family: substrings it needs (the prefilter) and its judge."""

    hints: tuple[str, ...]
    find: Callable[[str, PageFacts], Iterator[Leak]]


class DetectorSet:
    """Detectors, and which of them a text needs, found in one pass.

    Every hint of every detector goes into one Aho-Corasick automaton
    (``ahocorasick-rs``, the Rust ``aho-corasick`` crate) run over the UTF-8
    bytes: 0.09 ms for the 38 KB of text of a benchmark product page, against
    0.47 ms for 29 separate ``in`` tests.
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        hints = sorted({hint for detector in self.detectors for hint in detector.hints})
        self._automaton = ahocorasick_rs.BytesAhoCorasick([hint.encode() for hint in hints])
        self._users = tuple(
            frozenset(i for i, detector in enumerate(self.detectors) if hint in detector.hints)
            for hint in hints
        )

    def caseless_hints(self) -> tuple[str, ...]:
        """Every hint, lower case, each once: what a search in any case looks for."""
        return tuple(dict.fromkeys(hint.lower() for detector in self.detectors for hint in detector.hints))

    def needed(self, data: bytes) -> list[Detector]:
        """The detectors with at least one hint in ``data``, in their order."""
        used: set[int] = set()
        for hint, _start, _end in self._automaton.find_matches_as_indexes(data, overlapping=True):
            used |= self._users[hint]
        return [detector for i, detector in enumerate(self.detectors) if i in used]


# --- PHP -------------------------------------------------------------------------------

# A file path as PHP prints it after " in ": Unix, Windows, phar, or "Unknown".
_PATH = r"(?:[A-Za-z]:[\\/][^<>\n]{0,300}?|(?:/|phar://)[^\s<>]{1,300}?|Unknown)"
_LABEL = (
    r"Recoverable fatal error|Catchable fatal error|Fatal error|Parse error"
    r"|Warning|Notice|Deprecated|Strict Standards"
)
# "Warning: …", "Warning : …" (text nodes joined by a space) or "<b>Warning</b>:  …".
_LABEL_COLON = rf"(?<![\w-])(?:PHP )?(?P<label>{_LABEL})(?:</b>)? ?:\s+"
_NOT_NEXT_LABEL = rf"(?:(?!(?:{_LABEL})(?:</b>)? ?: ).)"

PHP_MESSAGE = re.compile(
    _LABEL_COLON + rf"(?P<msg>{_NOT_NEXT_LABEL}{{1,1500}}?)\s+in (?:<b>)?(?P<path>{_PATH})(?:</b>)?"
    r" on line (?:<b>)?(?P<line>\d+)",
    re.S,
)
PHP_UNCAUGHT = re.compile(
    r"(?<![\w-])(?:PHP )?(?P<label>Fatal error)(?:</b>)? ?:\s+"
    rf"(?P<msg>Uncaught .{{1,800}}?)\s+in (?P<path>{_PATH}):(?P<line>\d+)\s+Stack trace:",
    re.S,
)
# An exception's text followed by PHP's trace, without a label (logs, __toString()).
PHP_TRACE = re.compile(
    r"(?<![\w\\])(?P<msg>(?:exception '[^']{1,200}'|[A-Z][\w\\]{0,200}(?:Exception|Error)):?"
    rf" .{{0,600}}?) in (?P<path>{_PATH}):(?P<line>\d+)\s+Stack trace:\s+#\d+ ",
    re.S,
)
PHP_DATABASE_MESSAGE = re.compile(
    r"SQLSTATE\[|mysqli?(?:_\w+|::\w+)\(\)|\bPDO\w*(?:::\w+\(\)|Exception)|Access denied for user '"
    r"|error in your SQL syntax|MySQL server|Too many connections|Unknown database '"
)
DATABASE_ERROR = re.compile(
    r"SQLSTATE\[[0-9A-Z]{5}\](?: \[\d+\])?:? [^\n]{0,60}"
    r"|You have an error in your SQL syntax(?:[^\n]{0,200}? at line \d+)?"
    r"|Access denied for user '[^']{0,100}'@'[^']{0,100}' \(using password: (?:YES|NO)\)"
)
WP_DATABASE = "Error establishing a database connection"
WP_CRITICAL = re.compile(
    r"There has been a critical error on (?:this|your) website\.|"
    r"The site is experiencing technical difficulties\."
)
WP_CRITICAL_TRAILER = re.compile(
    r"Learn more about (?:troubleshooting|debugging in) WordPress|check your site admin email"
)


def _php_kind(label: str, msg: str) -> str:
    if PHP_DATABASE_MESSAGE.search(msg):
        return "database"
    if label == "Parse error":
        return "parse"
    if label in ("Recoverable fatal error", "Catchable fatal error"):
        return "recoverable"
    if label == "Fatal error":
        return _fatal_kind(msg)
    return {"Strict Standards": "strict"}.get(label, label.lower())


def _fatal_kind(msg: str) -> str:
    if msg.startswith("Uncaught "):
        return "uncaught-exception"
    if msg.startswith(("Allowed memory size", "Out of memory")):
        return "memory"
    if msg.startswith("Maximum execution time"):
        return "timeout"
    return "fatal"


def _clean(raw: str) -> str:
    """Message text for a report: tags dropped, entities decoded, one short line."""
    text = html_lib.unescape(re.sub(r"<[^>]*>", "", raw))
    text = " ".join(text.split())
    text = text.split(" Stack trace:")[0]
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def _php_message_leak(match: re.Match[str], kind: str | None = None) -> Leak:
    groups = match.groupdict()
    label = groups.get("label") or "Fatal error"
    msg = _clean(groups["msg"])
    return Leak(
        kind=kind or _php_kind(label, msg),
        start=match.start(),
        end=match.end(),
        detail=msg,
        file=_clean(groups["path"]),
        line=int(groups["line"]),
    )


def _php_messages(text: str, facts: PageFacts) -> Iterator[Leak]:
    for match in PHP_UNCAUGHT.finditer(text):
        yield _php_message_leak(match)
    for match in PHP_MESSAGE.finditer(text):
        yield _php_message_leak(match)


def _php_traces(text: str, facts: PageFacts) -> Iterator[Leak]:
    for match in PHP_TRACE.finditer(text):
        about_database = PHP_DATABASE_MESSAGE.search(match["msg"]) is not None
        yield _php_message_leak(match, "database" if about_database else "uncaught-exception")


def _database_errors(text: str, facts: PageFacts) -> Iterator[Leak]:
    for match in DATABASE_ERROR.finditer(text):
        yield Leak("database", match.start(), match.end(), _clean(match.group()))
    start = text.find(WP_DATABASE)
    if start >= 0 and _is_error_page(facts, WP_DATABASE, "Database Error"):
        yield Leak("database", start, start + len(WP_DATABASE), WP_DATABASE)


def _wordpress_critical(text: str, facts: PageFacts) -> Iterator[Leak]:
    for match in WP_CRITICAL.finditer(text):
        trailer = WP_CRITICAL_TRAILER.search(text, match.end(), match.end() + 200)
        if trailer is not None or _is_error_page(facts, match.group(), "WordPress"):
            yield Leak("wordpress-critical", match.start(), match.end(), match.group())


def _is_error_page(facts: PageFacts, phrase: str, title_word: str) -> bool:
    """The page *is* the error page: short, or the phrase is its title or a heading."""
    title = facts.title or ""
    return (
        len(facts.text) <= SHORT_PAGE_CHARS
        or phrase in title
        or title_word in title
        or any(phrase in h1 for h1 in facts.h1)
    )


PHP_DETECTORS: tuple[Detector, ...] = (
    Detector((" on line ", "Stack trace:"), _php_messages),
    Detector(("Stack trace:",), _php_traces),
    Detector(("SQLSTATE[", "SQL syntax", "Access denied for user", WP_DATABASE), _database_errors),
    Detector(("critical error on", "technical difficulties"), _wordpress_critical),
)
# Messages PHP writes into markup (attributes, scripts) in either of its formats.
PHP_MARKUP_DETECTORS = DetectorSet(PHP_DETECTORS[:2])


# --- other platforms -------------------------------------------------------------------

LIQUID_ERROR = re.compile(
    r"Liquid (?P<syntax>syntax )?error(?: \((?:[^()]{0,200}? )?line \d+\))?: ?(?:(?!Liquid )[^\n]){0,60}"
)
PY_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
PY_FRAME = re.compile(r'File "[^"\n]{1,300}" ?, line \d+ ?, in ')
DJANGO_DEBUG = re.compile(
    r"You're seeing this error because you have DEBUG = True"
    r"|Exception Type: \S+ Exception Value:"
)
JAVA_FRAME = re.compile(
    r"(?<![\w$.])(?:at )?(?:[\w$.@-]*/+)?(?:[\w$-]+\.)+[\w$<>-]+"
    r"\((?:[\w$-]+\.(?:java|kt|scala|groovy|clj):\d+|Native Method|Unknown Source)\)"
)
DOTNET_FRAME = re.compile(
    r"\bat [\w`+<>\[\],$]+(?:\.[\w`+<>\[\],$]+)+ ?\([^()]{0,300}\)"
    r"(?: \[0x[0-9a-fA-F]+\])? in [^\n]{1,300}?:(?:line )?\d+"
)
ASPNET_ERROR = re.compile(r"Server Error in '[^'\n]{1,200}' Application\.?")
NODE_FRAME = re.compile(
    r"\bat (?:[\w$.<>\[\] ]{1,200}? \()?"
    r"(?:node:[\w/]+|(?:file:///?|/|[A-Za-z]:\\)[^\s()]{1,300}?\.(?:[cm]?js|tsx?|jsx)):\d+:\d+"
)
RUBY_FRAME = re.compile(r"[\w./-]+\.(?:rb|erb|haml|slim|rake|builder|jbuilder):\d+:in [`'‘]")
GO_GOROUTINE = re.compile(r"goroutine \d+ \[[^\]\n]{1,60}\]:")
GO_FRAME = re.compile(r"\.go:\d+ \+0x[0-9a-f]+")
# The exception's name that opens a trace: "java.lang.RuntimeException:", "NoMethodError (", "panic:".
EXCEPTION_HEAD = re.compile(r"(?<![\w.$:])(?:[\w$]+(?:\.|::))*[\w$]*(?:Exception|Error)\b(?: \(|:)|\bpanic: ")


@dataclass(frozen=True, slots=True)
class ErrorPage:
    """A framework's error page, known by a sentence it prints.

    The sentence counts where the page *is* that error page (see
    :func:`_is_error_page`), or where ``trailer`` follows it as on the real
    page; ``anywhere`` marks sentences no page would print otherwise.
    """

    kind: str
    phrase: str
    trailer: re.Pattern[str] | None = None
    anywhere: bool = False


FRAMEWORK_PAGES: tuple[ErrorPage, ...] = (
    ErrorPage(
        "magento-error",
        "There has been an error processing your request",
        re.compile(r"Error log record number|Exception printing is disabled"),
    ),
    ErrorPage("laravel-error", "Whoops, looks like something went wrong."),
    ErrorPage("symfony-error", 'The server returned a "500 Internal Server Error".', anywhere=True),
    ErrorPage(
        "spring-whitelabel",
        "Whitelabel Error Page",
        re.compile(r"so you are seeing this as a fallback|There was an unexpected error \(type="),
    ),
    ErrorPage("tomcat-error", "Type Exception Report", anywhere=True),
)


def _liquid_errors(text: str, facts: PageFacts) -> Iterator[Leak]:
    for match in LIQUID_ERROR.finditer(text):
        kind = "liquid-syntax" if match.group("syntax") else "liquid"
        yield Leak(kind, match.start(), match.end(), _clean(match.group()))


def _python_tracebacks(text: str, facts: PageFacts) -> Iterator[Leak]:
    django = DJANGO_DEBUG.search(text)
    if django is not None:
        detail = _clean(facts.title or django.group())
        yield Leak("django-debug", django.start(), django.end(), detail)
        return
    header = PY_TRACEBACK.search(text)
    frame = PY_FRAME.search(text, header.end()) if header is not None else None
    if header is not None and frame is not None:
        yield Leak(
            "python-traceback", header.start(), frame.end(), _clean(text[header.start() : frame.end()])
        )


def _trace_detail(text: str, frame: re.Match[str]) -> str:
    """The exception line that opens a trace (found just before its first frame)."""
    heads = list(EXCEPTION_HEAD.finditer(text, max(0, frame.start() - 300), frame.start()))
    return _clean(text[heads[-1].start() : frame.start()] if heads else frame.group())


def _frames(kind: str, frame: re.Pattern[str]) -> Callable[[str, PageFacts], Iterator[Leak]]:
    """A judge that reports a trace where at least two frames of ``frame``'s shape appear."""

    def find(text: str, facts: PageFacts) -> Iterator[Leak]:
        frames = frame.finditer(text)
        first = next(frames, None)
        if first is not None and next(frames, None) is not None:
            yield Leak(kind, first.start(), first.end(), _trace_detail(text, first))

    return find


def _aspnet_errors(text: str, facts: PageFacts) -> Iterator[Leak]:
    for match in ASPNET_ERROR.finditer(text):
        yield Leak("aspnet-error", match.start(), match.end(), match.group())


def _go_panics(text: str, facts: PageFacts) -> Iterator[Leak]:
    header = GO_GOROUTINE.search(text)
    if header is not None and GO_FRAME.search(text) is not None:
        yield Leak("go-panic", header.start(), header.end(), _trace_detail(text, header))


def _framework_pages(text: str, facts: PageFacts) -> Iterator[Leak]:
    for error_page in FRAMEWORK_PAGES:
        start = text.find(error_page.phrase)
        if start >= 0 and _is_framework_page(text, facts, error_page, start):
            end = start + len(error_page.phrase)
            yield Leak(error_page.kind, start, end, error_page.phrase)


def _is_framework_page(text: str, facts: PageFacts, error_page: ErrorPage, start: int) -> bool:
    trailer = error_page.trailer
    return (
        error_page.anywhere
        or (trailer is not None and trailer.search(text, start, start + 600) is not None)
        or _is_error_page(facts, error_page.phrase, error_page.phrase)
    )


SERVER_DETECTORS: tuple[Detector, ...] = (
    Detector(("DEBUG = True", "Exception Type:", "Traceback (most recent"), _python_tracebacks),
    Detector(("Server Error in '",), _aspnet_errors),
    Detector(tuple(page.phrase for page in FRAMEWORK_PAGES), _framework_pages),
    Detector((".java:", "Native Method", "Unknown Source"), _frames("java-exception", JAVA_FRAME)),
    Detector((":line ", "] in "), _frames("dotnet-exception", DOTNET_FRAME)),
    Detector((".js:", ".ts:", "node:"), _frames("node-exception", NODE_FRAME)),
    Detector((":in ",), _frames("ruby-exception", RUBY_FRAME)),
    Detector(("goroutine ",), _go_panics),
    Detector(("Liquid ",), _liquid_errors),
)
# Both checks' hints in one automaton: the visible text is searched once for both.
TEXT_DETECTORS = DetectorSet(PHP_DETECTORS + SERVER_DETECTORS)
_TEXT_NEEDS: PerPage[frozenset[Detector]] = PerPage()
# The hints in any case, found by the passes every page's text and HTML get once for all
# checks (checks.dom, made during the crawl): a page without one in any case holds none in
# its own case either, so its text and HTML are not decompressed nor searched again here.
TEXT_HINTS = PAGE_ANCHORS.register(TEXT_DETECTORS.caseless_hints())
MARKUP_HINTS = PAGE_MARKUP.register(PHP_MARKUP_DETECTORS.caseless_hints(), lambda html, hits: bool(hits))


# --- judging ---------------------------------------------------------------------------


def find_leaks(data: bytes, facts: PageFacts, detectors: DetectorSet) -> list[Leak]:
    """Every error message the detectors recognise in the UTF-8 text ``data``,
    overlaps removed."""
    return _leaks_found_by(detectors.needed(data), data, facts)


def _leaks_found_by(needed: Sequence[Detector], data: bytes, facts: PageFacts) -> list[Leak]:
    """What the ``needed`` detectors find in ``data``, decoded only if one is needed."""
    if not needed:
        return []
    text = data.decode("utf-8", "surrogatepass")
    leaks = [leak for detector in needed for leak in detector.find(text, facts)]
    return _without_overlaps(leaks)


def _text_leaks(facts: PageFacts, detectors: Sequence[Detector]) -> list[Leak]:
    """What ``detectors`` find in the page's visible text.

    Both checks read the same text: the hints of both are looked for in one
    pass, and which detectors it needs is remembered while the page's facts
    live, so the second check neither decompresses nor searches it again."""
    needs = _TEXT_NEEDS.get(facts)
    if needs is None:
        hinted = len(PAGE_ANCHORS.of(facts).of(TEXT_HINTS)) > 0
        needs = frozenset(TEXT_DETECTORS.needed(facts.text_bytes)) if hinted else frozenset()
        _TEXT_NEEDS.put(facts, needs)
    needed = [detector for detector in detectors if detector in needs]
    return _leaks_found_by(needed, facts.text_bytes, facts) if needed else []


def _without_overlaps(leaks: list[Leak]) -> list[Leak]:
    """Leaks in page order; one that starts inside an earlier one is the same message.

    Of leaks that start at the same place the first found wins, so detectors and
    patterns are listed most specific first.
    """
    kept: list[Leak] = []
    for leak in sorted(leaks, key=lambda leak: leak.start):
        if not kept or leak.start >= kept[-1].end:
            kept.append(leak)
    return kept


def php_leaks(page: Page, scan_markup: bool = True) -> tuple[list[Leak], str]:
    """PHP errors on ``page`` and where they were found ("text" or "markup")."""
    facts = page.facts
    if facts is None:
        return [], "text"
    leaks = _text_leaks(facts, PHP_DETECTORS)
    if leaks or not scan_markup or not PAGE_MARKUP.of(page)[MARKUP_HINTS]:
        return leaks, "text"
    markup_leaks = find_leaks(page.html_bytes, facts, PHP_MARKUP_DETECTORS)
    return (markup_leaks, "markup") if markup_leaks else ([], "text")


def server_leaks(page: Page) -> list[Leak]:
    """Non-PHP server errors and traces in ``page``'s visible text."""
    if page.facts is None:
        return []
    return _text_leaks(page.facts, SERVER_DETECTORS)


def _headline(leaks: list[Leak], error_kinds: Callable[[str], bool]) -> Leak:
    """The leak a finding is about: the first error-level one, else the first."""
    return next((leak for leak in leaks if error_kinds(leak.kind)), leaks[0])


def _evidence(leaks: list[Leak], headline: Leak, excerpt: str, where: str) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "kind": headline.kind,
        "kinds": sorted({leak.kind for leak in leaks}),
        "count": len(leaks),
        "snippet": excerpt,
        "where": where,
    }
    if headline.file is not None:
        evidence.update(file=headline.file, line=headline.line)
    return evidence


PHP_WORDS: Mapping[str, str] = {
    "parse": "a PHP parse error",
    "fatal": "a PHP fatal error",
    "uncaught-exception": "a PHP fatal error (uncaught exception)",
    "recoverable": "a PHP fatal error",
    "memory": "a PHP out-of-memory error",
    "timeout": "a PHP time-out error",
    "database": "a database error",
    "wordpress-critical": 'WordPress\'s "critical error" message',
    "warning": "a PHP warning",
    "notice": "a PHP notice",
    "deprecated": "a PHP deprecation message",
    "strict": "a PHP strict-standards message",
}


def _in_code(leak: Leak) -> str:
    """Where in the shop's code a PHP message comes from: " (price.php line 123)"."""
    if leak.file is None:
        return ""
    name = re.split(r"[\\/]", leak.file)[-1]
    return f" ({name} line {leak.line})"


def _php_finding(page: Page, options: Options) -> Finding | None:
    leaks, where = php_leaks(page, bool(options.get("scan_markup", True)))
    if not leaks:
        return None
    headline = _headline(leaks, lambda kind: kind not in PHP_WARNING_KINDS)
    severity: Severity = "warning" if headline.kind in PHP_WARNING_KINDS else "error"
    shown = "shows visitors" if where == "text" else "has in its HTML"
    more = f" (+{len(leaks) - 1} more)" if len(leaks) > 1 else ""
    source = page.facts.text if where == "text" and page.facts is not None else page.html
    return Finding(
        check=PHP_CHECK,
        severity=severity,
        page=page.final_url,
        target=None,
        message=f"This page {shown} {PHP_WORDS[headline.kind]}: {headline.detail}{_in_code(headline)}{more}",
        evidence=_evidence(leaks, headline, snippet(source, headline.start, headline.end), where),
    )


SERVER_WORDS: Mapping[str, str] = {
    "liquid": "a Shopify Liquid error",
    "liquid-syntax": "a Shopify Liquid syntax error",
    "python-traceback": "a Python traceback",
    "django-debug": "Django's debug page (DEBUG = True)",
    "java-exception": "a Java stack trace",
    "dotnet-exception": "a .NET stack trace",
    "aspnet-error": "an ASP.NET error page",
    "node-exception": "a Node.js stack trace",
    "ruby-exception": "a Ruby stack trace",
    "go-panic": "a Go panic trace",
    "magento-error": "Magento's error page",
    "laravel-error": "Laravel's error page",
    "symfony-error": "Symfony's error page",
    "spring-whitelabel": "Spring Boot's error page",
    "tomcat-error": "Tomcat's error report",
}


def _server_finding(page: Page) -> Finding | None:
    leaks = server_leaks(page)
    if not leaks or page.facts is None:
        return None
    text = page.facts.text
    headline, block = _within_its_block(leaks[0], text, page.html)
    more = f" (+{len(leaks) - 1} more)" if len(leaks) > 1 else ""
    excerpt = snippet(text[block[0] : block[1]], headline.start - block[0], headline.end - block[0])
    return Finding(
        check=SERVER_CHECK,
        severity="error",
        page=page.final_url,
        target=None,
        message=f"This page shows visitors {SERVER_WORDS[headline.kind]}: {headline.detail}{more}",
        evidence=_evidence(leaks, headline, excerpt, "text"),
    )


def _within_its_block(leak: Leak, text: str, html: str) -> tuple[Leak, tuple[int, int]]:
    """``leak`` cut at the end of the block (paragraph, cell, ``<pre>``…) it starts in, and that block.

    The visible text runs blocks together, so a one-line error ("Liquid
    error (…): comparison failed") would otherwise run on into the footer
    that follows it. Without blocks (the text could not be rebuilt) the
    whole text is the block."""
    spans = block_spans(html, text) or [(0, len(text))]
    block = next((span for span in spans if span[0] <= leak.start < span[1]), (0, len(text)))
    if leak.end <= block[1]:
        return leak, block
    runs_on = leak.detail == _clean(text[leak.start : leak.end])
    detail = _clean(text[leak.start : block[1]]) if runs_on else leak.detail
    return replace(leak, end=block[1], detail=detail), block


def run_php(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for page in evidence.html_pages():
        finding = _php_finding(page, options)
        if finding is not None:
            yield finding


def run_server(evidence: SiteEvidence, options: Options) -> Iterator[Finding]:
    for page in evidence.html_pages():
        finding = _server_finding(page)
        if finding is not None:
            yield finding


PHP_SEVERITIES = (
    "error: fatal, parse, recoverable, out-of-memory, time-out, uncaught-exception, database "
    "and WordPress critical errors; warning: only warnings, notices, deprecations or "
    "strict-standards messages on the page"
)
SERVER_SEVERITIES = "error: every leaked trace, debug page, template or framework error"

CHECKS: list[Check] = [
    Check(
        id=PHP_CHECK,
        title="PHP errors shown in pages",
        requires=("pages",),
        run=run_php,
        severities=PHP_SEVERITIES,
        defaults={"scan_markup": True},
        family_doc=__doc__ or "",
    ),
    Check(
        id=SERVER_CHECK,
        title="Server errors and stack traces shown in pages",
        requires=("pages",),
        run=run_server,
        severities=SERVER_SEVERITIES,
        family_doc=__doc__ or "",
    ),
]
