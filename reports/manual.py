"""Manual indicator scores: what the auditor entered per retailer (``--manual FILE``).

One file holds many shops, keyed by site URL or by shop name. CSV (UTF-8, a
BOM is fine: Excel writes one), one row per shop, a ``site`` column and one
column per indicator id; an empty cell is not assessed::

    site,store_staff,store_presentation,enquiry_response_time
    https://shop.example/,80,75,
    Example Shop 2,60,,90

or YAML, a mapping from site URL or name to indicator scores::

    https://shop.example/: {store_staff: 80, store_presentation: 75}
    Example Shop 2: {store_staff: 60, enquiry_response_time: null}

A score is on the indicator's ``scale`` (100 unless the rubric says
otherwise). Any indicator of the rubric may be entered; an entered score
takes the place of a measured one. An unknown indicator, a value that is not
a number in range, or a shop named twice is refused with a
:class:`ManualError` naming the file, line and key.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shophealth.checks.base import canonical_location
from shophealth.reports.rubric import Rubric, line_of, read_yaml


class ManualError(ValueError):
    """A manual scores file that cannot be used."""


@dataclass(frozen=True)
class ManualScores:
    """Entered indicator scores by shop (canonical URL, or name folded to lower case)."""

    by_shop: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def for_site(self, url: str, name: str | None) -> dict[str, float]:
        for key in (shop_key(url), shop_key(name or "")):
            if key in self.by_shop:
                return dict(self.by_shop[key])
        return {}

    def unmatched(self, shops: Iterable[tuple[str, str | None]]) -> list[str]:
        """The shops scores were entered for that none of ``shops`` (URL, name) is: a typo
        in a name would otherwise leave its scores out without a word."""
        known = {shop_key(text) for url, name in shops for text in (url, name or "")}
        return [key for key in self.by_shop if key not in known]


def shop_key(text: str) -> str:
    text = text.strip()
    return canonical_location(text) if text.lower().startswith(("http://", "https://")) else text.casefold()


def load_manual(path: str | Path, rubric: Rubric) -> ManualScores:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManualError(f"cannot read manual scores {path}: {exc}") from None
    if str(path).lower().endswith(".csv"):
        return _from_csv(text, str(path), rubric)
    return _from_yaml(text, str(path), rubric)


def _from_csv(text: str, source: str, rubric: Rubric) -> ManualScores:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "site" not in columns:
        raise ManualError(f"{source}, line 1: needs a 'site' column (then one column per indicator)")
    for column in columns:
        if column != "site" and column not in rubric.indicators:
            raise ManualError(f"{source}, line 1, {column}: unknown indicator")
    shops: dict[str, dict[str, float]] = {}
    for row in reader:
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        where = f"{source}, line {reader.line_num}"
        entered = {
            name: _value(value, rubric, name, f"{where}, {name}")
            for name, value in cells.items()
            if name != "site" and value
        }
        _add(shops, cells.get("site", ""), entered, where)
    return ManualScores(shops)


def _from_yaml(text: str, source: str, rubric: Rubric) -> ManualScores:
    node, data = read_yaml(text, source, ManualError)
    if not isinstance(data, dict):
        raise ManualError(f"{source}, line 1: needs a mapping from site URL or name to indicator scores")
    shops: dict[str, dict[str, float]] = {}
    for site, scores in data.items():
        where = f"{source}, line {line_of(node, [site])}"
        if not isinstance(scores, dict):
            raise ManualError(f"{where}, {site}: needs a mapping from indicator to score")
        entered = {}
        for name, value in scores.items():
            key_where = f"{source}, line {line_of(node, [site, name])}, {site}.{name}"
            if name not in rubric.indicators:
                raise ManualError(f"{key_where}: unknown indicator")
            if value is not None:
                entered[name] = _value(value, rubric, name, key_where)
        _add(shops, str(site), entered, where)
    return ManualScores(shops)


def _value(raw: Any, rubric: Rubric, name: str, where: str) -> float:
    scale = rubric.indicators[name].scale
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ManualError(f"{where}: {raw!r} is not a number") from None
    if isinstance(raw, bool) or not 0 <= value <= scale:
        raise ManualError(f"{where}: {raw!r} is not a score from 0 to {scale:g}")
    return value


def _add(shops: dict[str, dict[str, float]], site: str, entered: dict[str, float], where: str) -> None:
    key = shop_key(site)
    if not key:
        raise ManualError(f"{where}, site: no site URL or name")
    if key in shops:
        raise ManualError(f"{where}, site: {site!r} is named twice")
    shops[key] = entered
