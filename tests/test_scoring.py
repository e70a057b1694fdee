"""The O2O score: a known rubric on hand-made findings, rubric validation, manual scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shophealth.checks.registry import load_registry
from shophealth.reports.manual import ManualError, load_manual
from shophealth.reports.rubric import SPEC_CHECK_IDS, Rubric, RubricError, default_rubric_text
from shophealth.reports.scoring import score, score_site

RUBRIC = """\
name: test rubric
version: "7"
severity_points: {error: 10, warning: 4, info: 1}
check_cap: 30
areas:
  awareness: {weight: 1}
  experience: {weight: 3}
indicators:
  links:
    area: experience
    kind: automated
    weight: 2
    checks: [links.broken, errors.php]
  speed:
    area: experience
    kind: automated
    weight: 1
    lighthouse: [performance]
    checks: [mobile.viewport]
    curve: {type: exponential, half_life: 4}
  seo:
    area: awareness
    kind: automated
    weight: 1
    checks: [seo.basics]
    curve: {type: steps, points: [[0, 100], [10, 50], [20, 0]]}
  staff:
    area: experience
    kind: manual
    weight: 1
    scale: 5
"""


def rubric(text: str = RUBRIC) -> Rubric:
    return Rubric.parse(text, "test.yaml")


def finding(check: str, severity: str) -> dict[str, Any]:
    return {"check": check, "severity": severity, "page": "https://s.example/", "target": None}


FINDINGS = [
    *[finding("links.broken", "error")] * 4,  # 40 points, capped at 30
    finding("errors.php", "warning"),  # 4
    finding("mobile.viewport", "warning"),  # 4 points: half of the Lighthouse base
    finding("seo.basics", "warning"),
    finding("seo.basics", "info"),  # 5 points: 75 on the steps curve
]
STATUSES = {"links.broken": "fail", "errors.php": "warn", "mobile.viewport": "warn", "seo.basics": "warn"}
LIGHTHOUSE = [
    {"url": "a", "scores": {"performance": 80.0}},
    {"url": "b", "scores": {"performance": 60.0}},
    {"url": "c", "scores": {"performance": 10.0}, "error": "timed out"},  # not an input
]


def test_known_rubric_gives_known_scores() -> None:
    scores = score(FINDINGS, STATUSES, rubric(), LIGHTHOUSE)
    assert scores["indicators"] == {"links": 66.0, "speed": 35.0, "seo": 75.0, "staff": None}
    # experience: (66*2 + 35*1) / 3 (staff not assessed: no weight, not 0)
    assert scores["areas"] == {"awareness": 75.0, "experience": 55.7}
    assert scores["overall"] == round((75.0 * 1 + 55.7 * 3) / 4, 1)
    assert scores["rubric"] == {"name": "test rubric", "version": "7"}
    assert scores["details"]["staff"]["source"] == "not_assessed"
    assert scores["details"]["links"]["source"] == "measured"


def test_entered_scores_merge_on_their_scale() -> None:
    scores = score(FINDINGS, STATUSES, rubric(), LIGHTHOUSE, entered={"staff": 4, "seo": 90})
    assert scores["indicators"]["staff"] == 80.0
    assert scores["indicators"]["seo"] == 90.0  # entered takes the place of measured
    assert scores["details"]["staff"]["source"] == scores["details"]["seo"]["source"] == "entered"
    assert scores["areas"]["experience"] == round((66 * 2 + 35 + 80) / 4, 1)


def test_skipped_and_errored_checks_carry_no_weight() -> None:
    statuses = {**STATUSES, "seo.basics": "skipped", "links.broken": "error", "errors.php": "error"}
    scores = score(FINDINGS, statuses, rubric())
    assert scores["indicators"]["seo"] is None and scores["indicators"]["links"] is None
    assert scores["areas"]["awareness"] is None
    assert scores["indicators"]["speed"] == 50.0  # no Lighthouse: base 100, halved by 4 points
    assert scores["overall"] == 50.0


def test_nothing_assessed_is_no_score_not_zero() -> None:
    scores = score([], {}, rubric())
    assert scores["overall"] is None and set(scores["indicators"].values()) == {None}


def test_a_shop_that_could_not_be_scanned_has_no_score() -> None:
    scores = score_site({"site": "x", "error": "refused", "findings": []})
    assert scores["overall"] is None and scores["reason"] == "not scored: refused"
    assert scores["rubric"]["name"] == "shophealth O2O default"


def test_default_rubric_covers_every_built_in_check_and_the_four_areas() -> None:
    default = Rubric.default()
    fed = {c for i in default.indicators.values() for c in i.checks}
    built_in = set(load_registry(autoload_plugins=False).checks)
    assert fed == built_in >= SPEC_CHECK_IDS  # the crawl's own (crawl.*) included
    assert set(default.areas) == {"awareness", "experience", "relationship", "satisfaction"}
    assert 28 <= len(default.indicators) <= 35
    manual = {i.id for i in default.indicators.values() if i.kind == "manual"}
    assert {"store_staff", "store_presentation", "enquiry_response_time", "order_fulfilment"} <= manual
    assert all(i.title.get("zh-HK") for i in default.indicators.values())


def test_the_bundled_rubric_passes_the_validation_it_skips_at_run_time() -> None:
    validated = Rubric.parse(
        default_rubric_text(), "default rubric", load_registry(autoload_plugins=False).checks
    )
    assert validated == Rubric.default()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            ("checks: [links.broken, errors.php]", "checks: [links.broken, errors.phpp]"),
            "line 13, indicators.links.checks.1: unknown check id 'errors.phpp'",
        ),
        (
            ("area: awareness\n    kind: automated", "area: marketing\n    kind: automated"),
            "line 22, indicators.seo.area: unknown area 'marketing'",
        ),
        (("awareness: {weight: 1}", "branding: {weight: 1}"), "line 6, areas.branding: unknown area"),
        (
            ("weight: 2\n", "weight: -2\n"),
            "line 12, indicators.links.weight: -2 is less than the minimum of 0",
        ),
        (
            ("weight: 2\n", "weight: heavy\n"),
            "line 12, indicators.links.weight: 'heavy' is not of type 'number'",
        ),
        (("lighthouse: [performance]", "lighthouse: [speed]"), "line 18, indicators.speed.lighthouse.0"),
        (("scale: 5", "scale: 5\n    checks: [seo.basics]"), "indicators.staff: a manual indicator takes no"),
        (("check_cap: 30", "check_cap: 30\nextra: 1"), "line 5, extra: unknown key"),
        (
            (
                "  awareness: {weight: 1}\n  experience: {weight: 3}",
                "  awareness: {weight: 0}\n  experience: {weight: 0}",
            ),
            "areas: every area weight is 0",
        ),
        (("  seo:\n", "  seo\n"), "test.yaml, line 22: not valid YAML"),
    ],
)
def test_malformed_rubric_is_refused_naming_file_line_and_key(change: tuple[str, str], where: str) -> None:
    old, new = change
    assert old in RUBRIC
    with pytest.raises(RubricError) as refused:
        rubric(RUBRIC.replace(old, new, 1))
    assert str(refused.value).startswith("test.yaml")
    assert where in str(refused.value)


def test_a_plugins_check_id_is_allowed_when_registered() -> None:
    text = RUBRIC.replace("checks: [seo.basics]", "checks: [acme.stock]")
    with pytest.raises(RubricError):
        rubric(text)
    assert Rubric.parse(text, "t.yaml", known_checks={"acme.stock"}).indicators["seo"].checks == (
        "acme.stock",
    )


def test_missing_rubric_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="cannot read rubric"):
        Rubric.load(tmp_path / "nope.yaml")


def test_manual_csv_with_bom_and_chinese_names(tmp_path: Path) -> None:
    path = tmp_path / "manual.csv"
    path.write_text("site,staff,seo\nhttps://Shop.Example/,4,\n莎莎網店,2.5,70\n", encoding="utf-8-sig")
    manual = load_manual(path, rubric())
    assert manual.for_site("https://shop.example/", None) == {"staff": 4.0}
    assert manual.for_site("https://other.example/", "莎莎網店") == {"staff": 2.5, "seo": 70.0}
    assert manual.for_site("https://unknown.example/", "Nobody") == {}


def test_manual_yaml_by_url_or_name(tmp_path: Path) -> None:
    path = tmp_path / "manual.yaml"
    path.write_text("https://shop.example/: {staff: 5}\nSecond Shop: {staff: null, seo: 10}\n")
    manual = load_manual(path, rubric())
    assert manual.for_site("https://shop.example", "x") == {"staff": 5.0}
    assert manual.for_site("https://b.example/", "second shop") == {"seo": 10.0}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.csv", "site,staf\nx,1\n", "m.csv, line 1, staf: unknown indicator"),
        ("m.csv", "site,staff\nx,1\ny,6\n", "m.csv, line 3, staff: '6' is not a score from 0 to 5"),
        ("m.csv", "site,staff\nx,good\n", "m.csv, line 2, staff: 'good' is not a number"),
        ("m.csv", "site,staff\nx,1\nX,2\n", "m.csv, line 3, site: 'X' is named twice"),
        (
            "m.yaml",
            "a: {staff: 1}\nb:\n  seo: 1\n  stafff: 2\n",
            "m.yaml, line 4, b.stafff: unknown indicator",
        ),
        ("m.yaml", "a: [1, 2", "m.yaml, line 2: not valid YAML"),
    ],
)
def test_bad_manual_scores_are_refused_naming_file_line_and_key(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ManualError) as refused:
        load_manual(path, rubric())
    assert str(refused.value).startswith(f"{path}{message.removeprefix(name)}")
