"""What each check means to a shop owner, and the report's labels, in English and
Traditional Chinese (Hong Kong): :file:`reports/guidance.yaml` and
:file:`reports/labels.yaml`. A check a plugin adds and these files do not know
gets its id as title and no advice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from shophealth.reports.rubric import SAFE_LOADER

LANGUAGES = ("en", "zh-HK")


@dataclass(frozen=True)
class Guide:
    title: str
    why: str = ""
    fix: str = ""


def check_guide(check: str, lang: str = "en") -> Guide:
    texts = _load("guidance.yaml")["checks"].get(check, {})
    text = texts.get(lang) or texts.get("en")
    return Guide(**text) if text else Guide(check)


def labels(lang: str = "en") -> dict[str, str]:
    table: dict[str, dict[str, str]] = _load("labels.yaml")
    return {key: texts.get(lang) or texts["en"] for key, texts in table.items()}


@functools.cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files("shophealth.reports").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.load(text, Loader=SAFE_LOADER)
    return data
