"""Physical stores, the offline half of O2O: ``content.store-info``.

Read from every page's text (store locator, contact, about, footer …) and
from schema.org ``LocalBusiness``/``Store`` structured data:

* addresses: "Address: …", "地址：…", Hong Kong forms such as "Shop 101, 1/F,
  … Road" and "皇后大道中1號 … 101號舖";
* opening hours: a time range ("10:00–21:00", "11am – 8pm", "上午10時至晚上9時")
  after "Opening hours", "Business hours", "營業時間", "開放時間", "星期…";
* stores: the smallest page element holding an address and opening hours;
  the same store is recognised across pages and languages by its phone number
  (8 digits), else by the numbers of its address ("Shop 101, 1/F, 1 Queen's
  Road" and "1號1樓101號舖" share 1, 1, 101).

Findings (``content.store-info``, warning):

* no store address and no opening hours anywhere;
* addresses but no opening hours (or hours but no address);
* one store shown with different opening hours, or with different address
  numbers, on two pages or in two languages: the finding quotes both.

The stores found are the fact ``stores`` (address, hours, phone, page).

Addresses are looked for on the home, store, contact and about pages and on
pages that show opening hours.

Limits: days are not compared, only the times; hours written with day names
only ("Mon–Sun 10:00–20:00", no "hours" label) are not read; stores shown only on a map
widget or in an image are not read; two stores sharing one hotline are
compared as one, so stores are keyed by phone only when it is on one store.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from shophealth.checks.base import Check, Fact, Finding, Options
from shophealth.checks.dom import NearWords, structured_data, wants_structured_data
from shophealth.crawler.evidence import Page, SiteEvidence
from shophealth.crawler.pagekind import page_kind

CLOCK_EN = r"\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?"
CLOCK_ZH = r"(?:上午|早上|中午|下午|晚上|凌晨)?\s*\d{1,2}\s*(?:[:：]\s*\d{2}|[時点點](?:\s*\d{1,2}\s*分|半)?)"
TIME_RANGE = re.compile(
    rf"(?P<a>{CLOCK_ZH}|{CLOCK_EN})\s*(?:-|–|—|~|－|to|至|till|until)\s*(?P<b>{CLOCK_ZH}|{CLOCK_EN})",
    re.I,
)
ADDRESS = re.compile(
    r"(?:address|addr\.?|地址|門市地址)\s*[:：]\s*(?P<labelled>[^|]{6,120}?)(?=\s*(?:tel|phone|電話|opening|business|"
    r"hours|營業|開放|$|\|))|"
    r"\b(?:shop|unit|room|flat|suite)\s*[A-Z]?\d+[A-Z]?\b[^|]{0,80}?\b(?:road|rd|street|st|avenue|ave|lane|plaza|"
    r"centre|center|building|bldg|mall|square|tower|house|hong kong|kowloon)\b|"
    r"[\u4e00-\u9fff]{1,12}(?:道|街|路|里|坊)(?:中|東|西|南|北)?\s*\d+\s*(?:-\s*\d+\s*)?號[^|]{0,40}?(?:\d+\s*號?\s*(?:舖|鋪|室)|樓)?",
    re.I,
)
ADDRESS_NEAR = NearWords(
    ADDRESS,
    ("address", "addr", "地址", "/f", " road", " street", " rd", "avenue", "plaza", "centre", "center", "號"),
    before=120,
    after=200,
)
HOURS_NEAR = NearWords(
    TIME_RANGE,
    ("hours", "opening", "open daily", "營業", "開放時間", "服務時間", "辦公時間", "星期", "週", "公眾假期"),
    before=0,
    after=80,
)
STORE_KINDS = frozenset({"home", "store-locator", "contact", "about"})
PHONE = re.compile(r"(?<!\d)(?:\+?852[\s-]?)?([2-9]\d{3})[\s-]?(\d{4})(?!\d)")
BLOCK_TAGS = "li, article, section, div, tr, p, address, dl, td, dd, aside, footer"
MAX_STORES_LISTED = 20
STORE_TYPES = ("Store", "LocalBusiness", "ClothingStore", "HomeGoodsStore", "Restaurant", "ShoppingCenter")


@dataclass(frozen=True)
class StoreBlock:
    page: str
    text: str  # the block's words, one line
    address: str | None
    hours: frozenset[tuple[int, int]]  # (opens, closes) in minutes after midnight
    phone: str | None

    @property
    def address_numbers(self) -> tuple[str, ...]:
        return tuple(sorted(re.findall(r"\d+", self.address or "")))


def find_store_info(evidence: SiteEvidence, options: Options) -> Iterator[Finding | Fact]:
    blocks = store_blocks(evidence)
    yield Fact("stores", _store_facts(blocks))
    has_address, has_hours = _anywhere(evidence, blocks)
    if not has_address or not has_hours:
        yield _missing_finding(evidence, has_address, has_hours)
    yield from _disagreements(blocks)


def _missing_finding(evidence: SiteEvidence, has_address: bool, has_hours: bool) -> Finding:
    if has_address:
        message = "Store addresses are shown but no opening hours"
    elif has_hours:
        message = "Opening hours are shown but no store address"
    else:
        message = "No physical store address or opening hours found"
    return Finding(
        "content.store-info",
        "warning",
        evidence.home,
        None,
        message,
        {
            "looked_for": "Address:/地址：, Shop 101 … Road, …道1號…舖; Opening hours/營業時間 with a time range; "
            "schema.org LocalBusiness",
            "pages_read": len(evidence.html_pages()),
        },
    )


def _anywhere(evidence: SiteEvidence, blocks: list[StoreBlock]) -> tuple[bool, bool]:
    """Whether any page shows an address, and opening hours, even outside a store block."""
    has_address = any(b.address for b in blocks)
    has_hours = any(b.hours for b in blocks)
    for page in evidence.html_pages():
        if has_address and has_hours:
            break
        hours = has_hours or _hours_on(page) != frozenset()
        if not has_address and (hours or page_kind(page) in STORE_KINDS):
            has_address = ADDRESS_NEAR.search_page(page) is not None
        has_hours = hours
    return has_address, has_hours


def store_blocks(evidence: SiteEvidence) -> list[StoreBlock]:
    """Stores shown on the shop's pages; a page showing the same addresses and hours as one
    read before (a footer on every page) is not read again."""
    blocks: list[StoreBlock] = []
    seen: set[tuple[tuple[str, ...], frozenset[tuple[int, int]]]] = set()
    for page in evidence.html_pages():
        if page.status != 200 or page.facts is None:
            continue
        blocks += _structured_stores(page)
        hours = _hours_on(page)
        addresses = tuple(m.group(0) for m in ADDRESS_NEAR.finditer_page(page)) if hours else ()
        if addresses and (addresses, hours) not in seen:
            seen.add((addresses, hours))
            blocks += _blocks_on(page)
    return blocks


def _blocks_on(page: Page) -> Iterator[StoreBlock]:
    tree = LexborHTMLParser(page.html_bytes)
    tree.strip_tags(["script", "style", "noscript", "template", "svg"])
    seen: set[str] = set()
    for node in tree.css(BLOCK_TAGS):
        text = _text(node)
        if (
            len(text) > 600
            or not _is_store(text)
            or any(_is_store(_text(child)) for child in _children(node))
        ):
            continue
        if text not in seen:
            seen.add(text)
            yield _block(page.final_url, text)


def _children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        if child.tag not in ("-text", "_text", "br"):
            yield child
        child = child.next


def _text(node: LexborNode) -> str:
    return " | ".join(
        part
        for part in (" ".join(t.split()) for t in node.text(deep=True, separator="\n").split("\n"))
        if part
    )


def _is_store(text: str) -> bool:
    return bool(_hours_in(text)) and ADDRESS_NEAR.search(text) is not None


def _block(page: str, text: str) -> StoreBlock:
    address = ADDRESS_NEAR.search(text)
    phone = PHONE.search(text)
    return StoreBlock(
        page=page,
        text=text[:300],
        address=(address.group("labelled") or address.group(0)).strip() if address else None,
        hours=_hours_in(text),
        phone=phone.group(1) + phone.group(2) if phone else None,
    )


def _hours_in(text: str) -> frozenset[tuple[int, int]]:
    """Time ranges that are opening hours: beside an hours label or day name."""
    return _hours_of(HOURS_NEAR.finditer(text))


def _hours_on(page: Page) -> frozenset[tuple[int, int]]:
    """:func:`_hours_in` the page's visible text."""
    return _hours_of(HOURS_NEAR.finditer_page(page))


def _hours_of(matches: Iterator[re.Match[str]]) -> frozenset[tuple[int, int]]:
    ranges = set()
    for match in matches:
        opens, closes = _minutes(match.group("a")), _minutes(match.group("b"), afternoon_hint=True)
        if opens is not None and closes is not None and opens != closes:
            ranges.add((opens, closes))
    return frozenset(ranges)


def _minutes(clock: str, afternoon_hint: bool = False) -> int | None:
    """Minutes after midnight of "10:30", "8pm", "晚上9時", "下午2時半"; a closing hour
    written without am/pm and before 12 (``10-9``) is taken as afternoon."""
    clock = clock.strip().lower()
    numbers = [int(n) for n in re.findall(r"\d+", clock)]
    if not numbers or numbers[0] > 24:
        return None
    hour, minute = numbers[0], numbers[1] if len(numbers) > 1 else (30 if "半" in clock else 0)
    pm = any(word in clock for word in ("pm", "p.m.", "下午", "晚上"))
    am = any(word in clock for word in ("am", "a.m.", "上午", "早上", "凌晨"))
    written_as_evening = afternoon_hint and not am and not re.search(r"\d[:：]\d", clock)
    if hour < 12 and (pm or written_as_evening):
        hour += 12
    if minute >= 60:
        return None
    return hour * 60 + minute


@wants_structured_data
def _names_a_store(page: Page) -> bool:
    """The page's JSON-LD names a store (whose address and hours this check reads)."""
    return page.facts is not None and any(t in STORE_TYPES for t in page.facts.json_ld_types)


def _structured_stores(page: Page) -> list[StoreBlock]:
    if not _names_a_store(page):
        return []
    blocks = []
    for item in structured_data(page).get("json-ld", []):
        for store in item.get("@graph", [item]) if isinstance(item, dict) else []:
            if isinstance(store, dict) and store.get("@type") in STORE_TYPES:
                blocks.append(_structured_block(page.final_url, store))
    return blocks


def _structured_block(page: str, store: dict[str, object]) -> StoreBlock:
    address = store.get("address")
    if isinstance(address, dict):
        address = ", ".join(str(v) for k, v in address.items() if not k.startswith("@"))
    hours = store.get("openingHours") or ""
    hours_text = " ".join(hours) if isinstance(hours, list) else str(hours)
    specs = store.get("openingHoursSpecification")
    for spec in specs if isinstance(specs, list) else [specs]:
        if isinstance(spec, dict):
            hours_text += f" Hours {spec.get('opens', '')}-{spec.get('closes', '')}"
    phone = PHONE.search(str(store.get("telephone") or ""))
    return StoreBlock(
        page=page,
        text=f"structured data: {store.get('name', '')} {address or ''} {hours_text}".strip()[:300],
        address=str(address) if address else None,
        hours=_hours_in("Hours " + hours_text.replace("Mo-Su", "Mon-Sun")),
        phone=phone.group(1) + phone.group(2) if phone else None,
    )


def _disagreements(blocks: list[StoreBlock]) -> Iterator[Finding]:
    by_store: dict[str, list[StoreBlock]] = defaultdict(list)
    for block in blocks:
        key = _store_key(block, blocks)
        if key is not None:
            by_store[key].append(block)
    for key, same in by_store.items():
        yield from _compare(key, same)


def _store_key(block: StoreBlock, blocks: list[StoreBlock]) -> str | None:
    """The phone number, when no other address shares it; else the address's numbers."""
    if block.phone and len({b.address_numbers for b in blocks if b.phone == block.phone}) <= 2:
        return "tel:" + block.phone
    numbers = block.address_numbers
    return "address:" + ",".join(numbers) if len(numbers) >= 2 else None


def _compare(key: str, blocks: list[StoreBlock]) -> Iterator[Finding]:
    with_hours = [b for b in blocks if b.hours]
    first = with_hours[0] if with_hours else None
    other = next((b for b in with_hours if b.hours != first.hours), None) if first else None
    if first is not None and other is not None:
        yield _disagreement(key, "opening hours", first, other)
    if key.startswith("tel:"):
        with_numbers = [b for b in blocks if len(b.address_numbers) >= 2]
        if with_numbers:
            base = with_numbers[0]
            differs = next((b for b in with_numbers if b.address_numbers != base.address_numbers), None)
            if differs is not None:
                yield _disagreement(key, "address", base, differs)


def _disagreement(key: str, what: str, first: StoreBlock, other: StoreBlock) -> Finding:
    return Finding(
        "content.store-info",
        "warning",
        other.page,
        None,
        f"The same store is shown with different {what} on two pages",
        {
            "store": key,
            "first": {
                "page": first.page,
                "text": first.text,
                "hours": _hours_words(first.hours),
                "address": first.address,
            },
            "second": {
                "page": other.page,
                "text": other.text,
                "hours": _hours_words(other.hours),
                "address": other.address,
            },
        },
    )


def _hours_words(hours: frozenset[tuple[int, int]]) -> list[str]:
    return [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in sorted(hours)]


def _store_facts(blocks: list[StoreBlock]) -> list[dict[str, object]]:
    facts: dict[tuple[object, ...], dict[str, object]] = {}
    for block in blocks:
        key = (block.phone, block.address_numbers, block.hours)
        facts.setdefault(
            key,
            {
                "address": block.address,
                "hours": _hours_words(block.hours),
                "phone": block.phone,
                "page": block.page,
            },
        )
    return list(facts.values())[:MAX_STORES_LISTED]


CHECKS = [
    Check(
        id="content.store-info",
        title="Store addresses and opening hours missing or disagreeing",
        requires=("pages",),
        run=find_store_info,
        severities="warning when no address or hours are shown, and per store whose hours or address differ",
        family_doc=__doc__ or "",
    )
]
