""""Why not": every rule version tested on a decision's stored facts, the first failed test with
the value it saw, and the version's standing on the date. Expectations worked out by hand from
the forecasts and enterprises the tests write."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from reasoning_fixtures import (
    NB,
    SC,
    XH,
    forecast_findings,
    two_cities,
)

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.authoring.rulebase import bundled_rules_dir, load_rule_base
from ecobrain.reasoning.decisions.memory import memory_from_payload
from ecobrain.reasoning.decisions.pipeline import decide, decision_memories
from ecobrain.reasoning.decisions.why_not import WhyNot, why_not_in_memory
from ecobrain.reasoning.language.concept_index import ConceptIndex

D0 = dt.date(2026, 1, 10)


@pytest.fixture
def kb(store: GraphStore) -> GraphStore:
    return two_cities(store, xihu_chemicals=False)


def _findings():  # type: ignore[no-untyped-def]
    # Shangcheng: AQI > 150 three days running -> orange (2024 grading). Xihu: 149 twice, never
    # above 150 -> nothing. Ningbo: clean. Hangzhou city not forecast (no city alert), so only
    # Shangcheng's enterprises get tasks.
    return forecast_findings({(SC, "county"): [160, 180, 190, 140, 100],
                              (XH, "county"): [149, 149, 120, 90, 80],
                              (NB, "city"): [60, 70, 80, 90, 75]}, D0)


def _answer(kb: GraphStore, subject: str, base=None, **kw) -> WhyNot:  # type: ignore[no-untyped-def]
    base = base or load_rule_base()[0]
    d = decide(_findings(), kb, rules=base)
    memory = memory_from_payload(decision_memories.pop(d.id))
    return why_not_in_memory(memory, base, ConceptIndex.for_store(kb), subject,
                             firings=d.firings, **kw)


def test_a_county_at_aqi_149_fails_every_grading_with_the_values_it_had(kb: GraphStore) -> None:
    w = _answer(kb, XH, rule_id=None)
    assert w.subject_kind == "region" and w.subject_facts > 0
    v = {x.key: x for x in w.verdicts}
    # 2024 orange: (longest_run_over_200 >= 2 or longest_run_over_150 >= 3) and driver == PM2_5
    orange = v["alert.heavy-pollution.orange@2"]
    assert orange.outcome == "failed" and orange.in_force
    assert orange.failure.alias == "a" and orange.failure.fact_type == "alert_assessment"
    alts = {(a.test, a.saw) for a in orange.failure.failed.alternatives}
    assert alts == {("longest_run_over_200 >= 2", 0), ("longest_run_over_150 >= 3", 0)}
    yellow = v["alert.heavy-pollution.yellow@2"]
    assert {(a.test, a.saw) for a in yellow.failure.failed.alternatives} == {
        ("days_over_200 >= 1", 0), ("longest_run_over_150 >= 2", 0)}
    # the 2017 grading is there, expired on the decision date
    old = v["alert.heavy-pollution.yellow@1"]
    assert not old.in_force and "已失效" in old.on_date and old.effective_to == "2024-01-22"
    # the county's region was never alerted, so no measure rule can start on an alert of it
    reduction = v["measure.emergency.reduction@1"]
    assert reduction.outcome == "no_fact" and reduction.failure.fact_type == "alert"
    text = w.to_text()
    assert "longest_run_over_150 >= 3 不成立（实际 longest_run_over_150 = 0）" in text


def test_the_orange_county_fired_and_says_with_what(kb: GraphStore) -> None:
    w = _answer(kb, SC)
    v = {x.key: x for x in w.verdicts}
    assert v["alert.heavy-pollution.orange@2"].outcome == "fired"
    assert v["alert.heavy-pollution.orange@2"].conclusions
    # the grading is a first-hit decision table: yellow's row holds on its own (>150 for 3 days
    # >= 2) but carries "no higher row matched", which fails here on orange's row, seen as 3
    yellow = v["alert.heavy-pollution.yellow@2"]
    assert yellow.outcome == "failed"
    assert (yellow.failure.failed.test, yellow.failure.failed.saw) == (
        "not (longest_run_over_150 >= 3)", 3)
    red = v["alert.heavy-pollution.red@2"]
    assert red.outcome == "failed"
    assert (red.failure.failed.test, red.failure.failed.saw) == ("longest_run_over_200 >= 3", 0)


def test_a_rule_on_daily_aqi_over_150_failed_with_149(kb: GraphStore, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    for f in bundled_rules_dir().glob("*.yaml"):
        (folder / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "daily.yaml").write_text("""\
family: advice.test-daily
title: 测试：日AQI超过150的健康提示
rules:
  - id: advice.test.daily-over-150
    version: 1
    title: 日AQI超过150：健康提示
    effective_from: 2025-01-01
    status: draft
    legal_basis: [cn.air-law.2018.art95.p1]
    when: {fact: daily_aqi, as: d, if: aqi > 150}
    then:
      - advice:
          region_code: "{d.region_code}"
          measure_type: HealthAdvice
          pollutant: PM2_5
          text: "{d.region_name}{d.date}日AQI {d.aqi}"
""", encoding="utf-8")
    base = load_rule_base(folder)[0]
    w = _answer(kb, XH, base=base, rule_id="advice.test.daily-over-150")
    [v] = w.verdicts
    assert v.status == "draft" and not v.in_force and "草稿" in v.on_date
    assert v.outcome == "failed"
    # Xihu's days: 149, 149, 120, 90, 80 -> the closest day is the first 149
    assert (v.failure.failed.test, v.failure.failed.field, v.failure.failed.saw) == (
        "aqi > 150", "aqi", 149)
    assert v.failure.candidates == 5
    # on Shangcheng the draft's condition holds (160 > 150) but a draft never fires
    [s] = _answer(kb, SC, base=base, rule_id="advice.test.daily-over-150").verdicts
    assert s.outcome == "matched" and s.matched["d"].startswith("daily")


def test_an_enterprise_without_a_task(kb: GraphStore) -> None:
    # Ningbo has no alert: its enterprise never became an enterprise_in_region fact
    w = _answer(kb, "E-N")
    assert w.subject_kind == "enterprise"
    grade_d = {x.key: x for x in w.verdicts}["task.emergency.grade-d@1"]
    assert grade_d.outcome == "no_fact"
    assert grade_d.failure.alias == "e" and grade_d.failure.fact_type == "enterprise_in_region"
    assert "enterprise_id = E-N" in grade_d.failure.reason
    assert "预警覆盖" in grade_d.failure.reason
    # a grade-B enterprise in the alerted county: the grade-D rule saw GradeB
    b = {x.key: x for x in _answer(kb, "E-B").verdicts}
    failed = b["task.emergency.grade-d@1"].failure.failed
    assert (failed.test, failed.saw) == ("grade == GradeD", "GradeB")
    assert b["task.emergency.grade-b@1"].outcome == "fired"
    assert b["task.emergency.grade-b@1"].matched["e"] == f"eir.{SC}.E-B"


def test_each_versions_standing_on_the_date(kb: GraphStore, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    rule = """\
  - id: advice.test.standing
    version: {v}
    title: 测试版本{v}
    effective_from: {start}
    effective_to: {end}
    legal_basis: [cn.air-law.2018.art95.p1]
    when: {{fact: daily_aqi, as: d, if: aqi > {limit}}}
    then:
      - advice: {{region_code: "{{d.region_code}}", measure_type: HealthAdvice, pollutant: PM2_5,
                  text: "{{d.region_name}}日AQI {{d.aqi}}"}}
"""
    (folder / "standing.yaml").write_text(
        "family: advice.test-standing\ntitle: 测试\nrules:\n"
        + rule.format(v=1, start="2025-01-01", end="2025-05-31", limit=100)
        + rule.format(v=2, start="2025-06-01", end="null", limit=150)
        + rule.format(v=3, start="2027-01-01", end="null", limit=140), encoding="utf-8")
    base = load_rule_base(folder, strict=False)[0]
    v = {x.version: x for x in _answer(kb, XH, base=base, rule_id="advice.test.standing"
                                       ).verdicts}
    assert v[2].in_force and v[2].on_date == "当日生效"
    assert not v[1].in_force and v[1].on_date == "2025-05-31 止，已失效，由 v2 取代"
    assert not v[3].in_force and v[3].on_date == "2027-01-01 起生效，尚未生效"
    # Xihu 149: v1 (aqi > 100) would have matched, v2 (> 150) fails with 149, v3 (> 140)
    # matches but is not in force yet
    assert v[1].outcome == "matched" and v[3].outcome == "matched"
    assert (v[2].outcome, v[2].failure.failed.saw) == ("failed", 149)
