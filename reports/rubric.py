"""The O2O rubric: areas, indicators, their inputs, weights and scoring curves.

A rubric is YAML (the default is :file:`reports/rubric.yaml`, whose header
says how scores are computed). :meth:`Rubric.load` refuses a rubric that
cannot be used with a :class:`RubricError` naming the file, the line and the
key: bad YAML, a missing or unknown key, an unknown area, an unknown check id
(the ids of SPEC §2 and of the checks registered in this installation, so a
plugin's checks may be scored), an unknown Lighthouse category, or weights
that are not numbers >= 0 or leave nothing to weigh. The structure is checked
against a JSON Schema (:data:`RUBRIC_SCHEMA`, with ``jsonschema``); the
references between its parts here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

ALGORITHM_VERSION = 2
AREAS = ("awareness", "experience", "relationship", "satisfaction")
LIGHTHOUSE_CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
SPEC_CHECK_IDS = frozenset(
    [
        "links.broken",
        "links.soft-404",
        "links.redirect",
        "images.broken",
        "social.share-broken",
        "social.profile-broken",
        "mobile.viewport",
        "mobile.overflow",
        "mobile.lighthouse",
        "tls.expired",
        "tls.expiring",
        "tls.invalid",
        "tls.no-https",
        "tls.mixed-content",
        "privacy.missing",
        "privacy.hidden",
        "privacy.stale",
        "i18n.untranslated",
        "i18n.script-mix",
        "i18n.lang-mismatch",
        "i18n.placeholder",
        "i18n.mojibake",
        "i18n.switcher-broken",
        "errors.php",
        "errors.server",
        "content.about",
        "content.product-info",
        "content.contact",
        "content.policies",
        "content.store-info",
        "content.payment",
        "content.o2o-services",
        "seo.basics",
    ]
)
CRAWL_CHECK_IDS = frozenset(["crawl.trap", "crawl.limit"])  # the crawl's own findings (checks/crawl.py)

# libyaml's loader where PyYAML was built with it: the pure-Python one took 0.1 s per report.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_WEIGHT = {"type": "number", "minimum": 0}
_TITLE = {
    "anyOf": [
        {"type": "string"},
        {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
    ]
}
_CURVE = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"type": {"const": "linear"}},
            "required": ["type"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "type": {"const": "exponential"},
                "half_life": {"type": "number", "exclusiveMinimum": 0},
            },
            "required": ["type", "half_life"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "type": {"const": "steps"},
                "points": {
                    "type": "array",
                    "minItems": 2,
                    "items": {
                        "type": "array",
                        "prefixItems": [
                            {"type": "number", "minimum": 0},
                            {"type": "number", "minimum": 0, "maximum": 100},
                        ],
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
            },
            "required": ["type", "points"],
            "additionalProperties": False,
        },
    ]
}
RUBRIC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "version", "areas", "indicators"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "version": {"type": ["string", "number"]},
        "severity_points": {
            "type": "object",
            "properties": {"error": _WEIGHT, "warning": _WEIGHT, "info": _WEIGHT},
            "additionalProperties": False,
        },
        "check_cap": {"type": "number", "exclusiveMinimum": 0},
        "areas": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["weight"],
                "additionalProperties": False,
                "properties": {"title": _TITLE, "weight": _WEIGHT},
            },
        },
        "indicators": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["area", "kind", "weight"],
                "additionalProperties": False,
                "properties": {
                    "area": {"type": "string"},
                    "kind": {"enum": ["automated", "manual"]},
                    "title": _TITLE,
                    "weight": _WEIGHT,
                    "checks": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                    "lighthouse": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                    "curve": _CURVE,
                    "scale": {"type": "number", "exclusiveMinimum": 0},
                },
            },
        },
    },
}


class RubricError(ValueError):
    """A rubric that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class Indicator:
    id: str
    area: str
    kind: str  # automated | manual
    weight: float
    title: Mapping[str, str]
    checks: tuple[str, ...] = ()
    lighthouse: tuple[str, ...] = ()
    curve: Mapping[str, Any] | None = None
    scale: float = 100.0


@dataclass(frozen=True)
class Area:
    id: str
    weight: float
    title: Mapping[str, str]


@dataclass(frozen=True)
class Rubric:
    name: str
    version: str
    areas: Mapping[str, Area]
    indicators: Mapping[str, Indicator]
    severity_points: Mapping[str, float]
    check_cap: float
    source: str = "default rubric"

    @classmethod
    def default(cls) -> Rubric:
        return _default_rubric()

    @classmethod
    def load(cls, path: str | Path, known_checks: Iterable[str] = ()) -> Rubric:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RubricError(f"cannot read rubric {path}: {exc}") from None
        return cls.parse(text, str(path), known_checks)

    @classmethod
    def parse(cls, text: str, source: str, known_checks: Iterable[str] = ()) -> Rubric:
        node, data = read_yaml(text, source, RubricError)
        problem = _first_problem(data, set(known_checks) | SPEC_CHECK_IDS | CRAWL_CHECK_IDS)
        if problem is not None:
            path, message = problem
            key = ".".join(str(p) for p in path) or "(top level)"
            raise RubricError(f"{source}, line {line_of(node, path)}, {key}: {message}")
        return _build(data, source)

    def title(self, item: Area | Indicator, lang: str) -> str:
        return item.title.get(lang) or item.title.get("en") or item.id


def _first_problem(data: Any, known_checks: set[str]) -> tuple[list[Any], str] | None:
    import jsonschema  # here, not at the top: 0.1-0.2 s that `shophealth --help` need not pay

    validator = jsonschema.Draft202012Validator(RUBRIC_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None and error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return [*error.absolute_path, unknown[0]], "unknown key"
    if error is not None:
        return list(error.absolute_path), error.message
    return _reference_problem(data, known_checks)


def _reference_problem(data: Mapping[str, Any], known_checks: set[str]) -> tuple[list[Any], str] | None:
    for area in data["areas"]:
        if area not in AREAS:
            return ["areas", area], f"unknown area {area!r} (the areas are {', '.join(AREAS)})"
    for name, spec in data["indicators"].items():
        where = ["indicators", name]
        if spec["area"] not in data["areas"]:
            return [*where, "area"], f"unknown area {spec['area']!r}"
        for i, check in enumerate(spec.get("checks", [])):
            if check not in known_checks:
                return [*where, "checks", i], f"unknown check id {check!r}"
        for i, category in enumerate(spec.get("lighthouse", [])):
            if category not in LIGHTHOUSE_CATEGORIES:
                return [*where, "lighthouse", i], f"unknown Lighthouse category {category!r}"
        fed = spec.get("checks") or spec.get("lighthouse")
        if spec["kind"] == "automated" and not fed:
            return where, "an automated indicator needs checks or lighthouse categories"
        if spec["kind"] == "manual" and fed:
            return where, "a manual indicator takes no checks or lighthouse categories"
    return _weight_problem(data)


def _weight_problem(data: Mapping[str, Any]) -> tuple[list[Any], str] | None:
    if not any(area["weight"] > 0 for area in data["areas"].values()):
        return ["areas"], "every area weight is 0: nothing would be scored"
    for area, spec in data["areas"].items():
        members = [i for i in data["indicators"].values() if i["area"] == area]
        if spec["weight"] > 0 and not any(i["weight"] > 0 for i in members):
            return ["areas", area], "the area has weight but no indicator with weight > 0"
    return None


def read_yaml(text: str, source: str, error: type[Exception]) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for :func:`line_of`) and its data; a syntax error is
    raised as ``error("SOURCE, line N: not valid YAML: …")``."""
    try:
        return yaml.compose(text, Loader=SAFE_LOADER), yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise error(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def line_of(node: yaml.Node | None, path: list[Any]) -> int:
    """The 1-based line of the key at ``path`` in a composed YAML document (or of the
    nearest parent that exists)."""
    line = 1 if node is None else node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(step)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _titles(title: Any, fallback: str) -> Mapping[str, str]:
    if isinstance(title, str):
        return {"en": title}
    return dict(title) if title else {"en": fallback}


def _build(data: Mapping[str, Any], source: str) -> Rubric:
    areas = {
        name: Area(name, float(spec["weight"]), _titles(spec.get("title"), name))
        for name, spec in data["areas"].items()
    }
    indicators = {
        name: Indicator(
            id=name,
            area=spec["area"],
            kind=spec["kind"],
            weight=float(spec["weight"]),
            title=_titles(spec.get("title"), name),
            checks=tuple(spec.get("checks", ())),
            lighthouse=tuple(spec.get("lighthouse", ())),
            curve=spec.get("curve"),
            scale=float(spec.get("scale", 100)),
        )
        for name, spec in data["indicators"].items()
    }
    points = {"error": 15.0, "warning": 5.0, "info": 1.0, **data.get("severity_points", {})}
    return Rubric(
        name=data["name"],
        version=str(data["version"]),
        areas=areas,
        indicators=indicators,
        severity_points={k: float(v) for k, v in points.items()},
        check_cap=float(data.get("check_cap", 45)),
        source=source,
    )


def default_rubric_text() -> str:
    return resources.files("shophealth.reports").joinpath("rubric.yaml").read_text(encoding="utf-8")


@functools.cache
def _default_rubric() -> Rubric:
    """The bundled rubric, built without being validated again: the tests validate it
    (``tests/test_scoring.py``), and importing jsonschema to validate it was 50 ms of
    every scan's serial end."""
    return _build(yaml.load(default_rubric_text(), Loader=SAFE_LOADER), "default rubric")
