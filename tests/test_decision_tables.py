"""Decision tables (issue 16): cells, hit policies, verification, and the bundled tables giving
the same decisions as the rules they replaced (tests/data/rules_before_tables/, the rule files
as they were before the move)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from pathlib import Path
from typing import Any

import pytest
from kb_fixture import Decided

from ecobrain.model_adapters import collect_findings
from ecobrain.reasoning.authoring.check import check_rules
from ecobrain.reasoning.authoring.rulebase import RuleBase, bundled_rules_dir, load_rule_base
from ecobrain.reasoning.decisions.conclusions import Decision, build_decision
from ecobrain.reasoning.decisions.pipeline import decide
from ecobrain.reasoning.engine.facts import FactSet
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.decision_table import cell_condition

BEFORE = Path(__file__).parent / "data" / "rules_before_tables"


@pytest.fixture(scope="module")
def concepts() -> ConceptIndex:
    return ConceptIndex.from_ontology()


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def problems(path: Path, concepts: ConceptIndex) -> tuple[list[str], list[str]]:
    report = check_rules(path, concepts=concepts)
    return [str(p) for p in report.errors], [str(p) for p in report.warnings]


# -- cells -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "condition"), [
    (None, None), ("-", None), ("", None),
    (">= 3", "longest_run_over_200 >= 3"),
    ("1..3", "longest_run_over_200 >= 1 and longest_run_over_200 <= 3"),
    (2, "longest_run_over_200 == 2"),
    ("not >= 3", "not (longest_run_over_200 >= 3)"),
    ("null", "longest_run_over_200 == null"),
])
def test_numeric_cells(cell: Any, condition: str | None) -> None:
    assert cell_condition("longest_run_over_200", cell, "alert_assessment") == condition


def test_concept_and_text_cells() -> None:
    assert cell_condition("driver", "PM2_5", "alert_assessment") == "driver == PM2_5"
    assert cell_condition("driver", "PM2_5, O3", "alert_assessment") == "driver in [PM2_5, O3]"
    assert cell_condition("grade", ["GradeA", "GradeLeading"], "enterprise_in_region") == \
        "grade in [GradeA, GradeLeading]"
    # a text field needs no quotes in a spreadsheet cell
    assert cell_condition("region_level", "city", "alert_assessment") == 'region_level == "city"'
    assert cell_condition("region_level", "city, county", "alert_assessment") == \
        'region_level in ["city", "county"]'
    assert cell_condition("key_enterprise", "not true", "enterprise_in_region") == \
        "not (key_enterprise == true)"
    assert cell_condition("level", ">= AlertOrange", "alert") == "level >= AlertOrange"


# -- verification: a seeded gap, overlap and rows that can never match --------------------------

TABLE = """
tables:
  - id: test.grading
    version: 1
    title: 测试分级
    effective_from: 2024-01-01
    legal_basis: [cn.air-law.2018.art96]
    hit_policy: {policy}
    fact: alert_assessment
    as: a
    inputs: [longest_run_over_200, driver]
    outputs: [level]
    then:
      - alert: {{level: "{{out.level}}", region_code: "{{a.region_code}}"}}
    rows:
{rows}
"""


def table(rows: str, policy: str = "unique") -> str:
    return TABLE.format(policy=policy, rows=rows)


def test_a_complete_unique_table_passes(tmp_path: Path, concepts: ConceptIndex) -> None:
    # longest_run_over_200 is a count (0, 1, 2, ...): 0..1 | 2 | >= 3 covers every count once
    rows = """\
      - {id: test.grading.red, longest_run_over_200: ">= 3", level: AlertRed}
      - {id: test.grading.orange, longest_run_over_200: 2, level: AlertOrange}
      - {longest_run_over_200: "0..1"}
"""
    errors, warnings = problems(write(tmp_path, table(rows)), concepts)
    assert errors == [] and warnings == []


def test_a_gap_is_an_error_naming_the_uncovered_inputs(tmp_path: Path,
                                                       concepts: ConceptIndex) -> None:
    # rows cover >= 3 and exactly 2 ... and 0: the count 1 is covered by no row
    rows = """\
      - {id: test.grading.red, longest_run_over_200: ">= 3", level: AlertRed}
      - {id: test.grading.orange, longest_run_over_200: 2, level: AlertOrange}
      - {longest_run_over_200: 0}
"""
    p = write(tmp_path, table(rows))
    errors, _ = problems(p, concepts)
    assert len(errors) == 1
    assert errors[0].startswith(f"{p}:15 [tables[0].rows]: gap in table test.grading@1: no row "
                                "covers longest_run_over_200 = 1; add a row")


def test_an_overlap_under_unique_is_an_error_naming_both_rows(tmp_path: Path,
                                                             concepts: ConceptIndex) -> None:
    # row 1 (>= 3) and row 2 (>= 2) both hold for 3, 4, ...: the first class is "= 3"
    rows = """\
      - {id: test.grading.red, longest_run_over_200: ">= 3", level: AlertRed}
      - {id: test.grading.orange, longest_run_over_200: ">= 2", level: AlertOrange}
      - {longest_run_over_200: "0..1"}
"""
    p = write(tmp_path, table(rows))
    errors, _ = problems(p, concepts)
    assert errors == [
        f"{p}:17 [tables[0].rows[1]]: overlap in table test.grading@1 (hit policy unique): "
        "row 1 (test.grading.red) and row 2 (test.grading.orange) both match "
        "longest_run_over_200 >= 3 and conclude different things; narrow one of them, or "
        "choose hit policy first/priority/collect"]
    # the same rows read from the top: no overlap, and each row wins some input
    errors, _ = problems(write(tmp_path, table(rows, "first"), "f.yaml"), concepts)
    assert errors == []


def test_rows_that_can_never_match(tmp_path: Path, concepts: ConceptIndex) -> None:
    rows = """\
      - {id: test.grading.red, longest_run_over_200: ">= 2", level: AlertRed}
      - {id: test.grading.orange, longest_run_over_200: ">= 3", level: AlertOrange}
      - {id: test.grading.yellow, longest_run_over_200: "5..4", level: AlertYellow}
      - {longest_run_over_200: "-"}
"""
    p = write(tmp_path, table(rows, "first"))
    errors, _ = problems(p, concepts)
    # row 2 (>= 3) lies inside row 1 (>= 2), which comes first; row 3's range is empty
    assert errors == [
        f"{p}:17 [tables[0].rows[1]]: row 2 (test.grading.orange) of table test.grading@1 "
        "can never match: every input it covers is taken first by row(s) 1 (hit policy first)",
        f"{p}:18 [tables[0].rows[2]]: row 3 (test.grading.yellow) of table test.grading@1 "
        "can never match: its cells exclude every input"]


def test_concept_columns_use_the_enumeration_and_ranks(tmp_path: Path,
                                                       concepts: ConceptIndex) -> None:
    text = """
tables:
  - id: test.by-level
    version: 1
    title: 按级别
    effective_from: 2024-01-01
    legal_basis: [cn.air-law.2018.art96]
    hit_policy: unique
    fact: alert
    as: a
    inputs: [level]
    outputs: [text]
    then:
      - advice: {region_code: "{a.region_code}", measure_type: HealthAdvice, text: "{out.text}"}
    rows:
      - {id: test.by-level.high, level: ">= AlertOrange", text: 橙色及以上}
      - {id: test.by-level.yellow, level: AlertYellow, text: 黄色}
"""
    p = write(tmp_path, text)
    errors, _ = problems(p, concepts)
    # orange and red by rank, yellow by name: blue is left (not "AlertBlue" >= "AlertOrange")
    assert len(errors) == 1 and "no row covers level = AlertBlue; add a row" in errors[0]
    bad = write(tmp_path, text.replace('">= AlertOrange"', "AlertOrang"), "b.yaml")
    errors, _ = problems(bad, concepts)
    assert len(errors) == 1  # the cell, not again the rule it makes
    assert any("row 1 (test.by-level.high), column level: unknown concept 'AlertOrang'; did "
               "you mean AlertOrange? (valid EmergencyLevel: AlertBlue, AlertOrange, AlertRed, "
               "AlertYellow)" in e for e in errors), errors


def test_table_mistakes_are_located(tmp_path: Path, concepts: ConceptIndex) -> None:
    rows = """\
      - {id: test.grading.red, longest_run_over_200: ">= 3", levl: AlertRed}
      - {longest_run_over_200: "0..2", level: AlertOrange}
"""
    p = write(tmp_path, table(rows, "first"))
    errors, _ = problems(p, concepts)
    assert errors == [
        f"{p}:16 [tables[0].rows[0].levl]: row 1: unknown column 'levl' (inputs: "
        "longest_run_over_200, driver; outputs: level)"]
    p = write(tmp_path, table(rows.replace("levl", "level"), "first"), "b.yaml")
    errors, _ = problems(p, concepts)
    assert errors == [f"{p}:17 [tables[0].rows[1]]: row 2 concludes something: give it an id "
                      "(the rule id of its conclusion, e.g. alert.heavy-pollution.red)"]


# -- the bundled tables ------------------------------------------------------------------------

def test_bundled_tables_pass_verification(concepts: ConceptIndex) -> None:
    report = check_rules(None, concepts=concepts)
    assert report.errors == [] and report.warnings == []
    base = report.rule_base
    tables = {t.key: t.hit_policy for f in base.files for t in (f.model.tables if f.model else [])}
    assert tables == {"alert.heavy-pollution.grading@1": "first",
                      "alert.heavy-pollution.grading@2": "first",
                      "measure.public.schedule@1": "unique",
                      "task.emergency.by-grade@1": "unique"}
    from_tables = sorted(e.key for e in base.entries if e.from_table)
    assert "alert.heavy-pollution.red@2" in from_tables and "task.emergency.grade-d@1" in \
        from_tables and "measure.public.red@1" in from_tables


def _canon(d: Decision) -> list[tuple[Any, ...]]:
    """What a decision concludes, without ids and trace: kind, region, contents, applied rules."""
    out = []
    for c in d.conclusions():
        data = c.model_dump(mode="json")
        for k in ("id", "reasons", "evidence"):
            data.pop(k, None)
        applied = sorted(r.rule_key for r in c.reasons if r.outcome == "applied")
        out.append((c.kind, c.region_code, repr(sorted(data.items())), tuple(applied)))
    return sorted(out)


def _run(base: RuleBase, facts: list[dict[str, Any]], on: dt.date,
         concepts: ConceptIndex) -> Decision:
    compiled = compile_rule_base(base, on, concepts, entries=base.in_force(on))
    facts = [dict(f, id=f.get("id") or f"given.{i}") for i, f in enumerate(facts)]
    result = Engine(compiled).run(facts, decision_date=on)
    return build_decision(result=result, compiled=compiled, factset=FactSet(facts=facts),
                          grounds={}, run_id="before-after", on=on)


def test_every_rule_test_case_decides_the_same_before_and_after(concepts: ConceptIndex) -> None:
    before, _ = load_rule_base(BEFORE)
    after, _ = load_rule_base(bundled_rules_dir())
    cases = [c for f in after.files for c in (f.model.tests if f.model else [])]
    assert len(cases) >= 25
    for case in cases:
        b = _run(before, case.given, case.on, concepts)
        a = _run(after, case.given, case.on, concepts)
        assert _canon(a) == _canon(b), case.name


def _assessment(rnd: random.Random, i: int) -> dict[str, Any]:
    r300 = rnd.choice([0, 0, 1, 2, 3])
    r200 = max(r300, rnd.choice([0, 1, 2, 3, 4, 5]))
    r150 = max(r200, rnd.choice([0, 1, 2, 3, 4]))
    d300 = r300 + rnd.choice([0, 0, 1])
    d200 = max(r200, d300) + rnd.choice([0, 1])
    return {"type": "alert_assessment", "id": f"aa{i}", "region_code": f"33{i:04d}",
            "region_level": "county", "days_over_150": max(r150, d200),
            "days_over_200": d200, "days_over_300": d300, "longest_run_over_150": r150,
            "longest_run_over_200": r200, "longest_run_over_300": r300,
            "peak_aqi": rnd.choice([120, 180, 230, 320, 420, 500, 520]),
            "driver": rnd.choice(["PM2_5", "PM2_5", "O3", "PM10", "mixed"]),
            "alert_start": "2026-01-11", "alert_end": "2026-01-13", "peak_date": "2026-01-12"}


def test_random_assessments_and_enterprises_decide_the_same_before_and_after(
        concepts: ConceptIndex) -> None:
    """Every combination of the grading inputs that occurs, with enterprises of every grade,
    through the chain alert → measure → task, on a 2017-grading day and a 2024 one."""
    before, _ = load_rule_base(BEFORE)
    after, _ = load_rule_base(bundled_rules_dir())
    rnd = random.Random(16)
    facts = [_assessment(rnd, i) for i in range(300)]
    grades = [None, "GradeA", "GradeB", "GradeC", "GradeD", "GradeLeading"]
    pairs = itertools.cycle(itertools.product(grades, [True, False, None]))
    for n, (aa, (grade, key)) in enumerate(zip(facts[:60], pairs, strict=False)):
        e = {"type": "enterprise_in_region", "id": f"e{n}", "region_code": aa["region_code"],
             "enterprise_id": f"E{n}", "enterprise_name": f"企业{n}",
             "county_code": aa["region_code"], "sector": "Coating"}
        if grade:
            e["grade"] = grade
        if key is not None:
            e["key_enterprise"] = key
        facts.append(e)
    for on in (dt.date(2023, 12, 1), dt.date(2026, 1, 10)):
        b = _canon(_run(before, facts, on, concepts))
        a = _canon(_run(after, facts, on, concepts))
        kinds = {k for k, *_ in a}
        assert kinds == {"alert", "measure", "task", "advice"}
        assert a == b, on


def test_the_sample_run_decides_the_same_before_and_after(decided: Decided) -> None:
    """The 2-day sample run of the test bundle on the real graph, with the rules as they were
    and as decision tables."""
    findings = collect_findings(decided.run_dir, stations=[], include_hourly=False)
    before, _ = load_rule_base(BEFORE)
    after, _ = load_rule_base(bundled_rules_dir())
    b = decide(findings, decided.store, rules=before)
    a = decide(findings, decided.store, rules=after)
    assert _canon(a) == _canon(b)
    assert len(a.conclusions()) == len(b.conclusions()) > 0


def test_a_condition_the_engine_refuses_is_a_check_error(tmp_path: Path,
                                                         concepts: ConceptIndex) -> None:
    """Rows negated one by one (each repeating driver == PM2_5) made a condition durable_rules
    refuses when the ruleset is created (error 113); the check reports it, not the engine."""
    neg = " and ".join(f"not (driver == PM2_5 and longest_run_over_{n} >= {k})"
                       for n, k in (("200", 3), ("200", 2), ("150", 3), ("300", 1)))
    text = f"""
rules:
  - id: test.huge
    version: 1
    title: 过大的条件
    effective_from: 2024-01-01
    legal_basis: [cn.air-law.2018.art96]
    when:
      fact: alert_assessment
      as: a
      if: ((driver == PM2_5 and days_over_200 >= 1) and {neg}) or
          ((driver == PM2_5 and longest_run_over_150 >= 2) and {neg})
    then:
      - alert: {{level: AlertYellow, region_code: "{{a.region_code}}"}}
"""
    p = write(tmp_path, text)
    errors, _ = problems(p, concepts)
    assert errors == [f"{p}:8 [rules[0].when]: the condition is too large for the engine "
                      "(durable_rules allows 32 expressions per condition block, counting each "
                      "and/or): split the rule, or (a decision table) give rows with the same "
                      "conclusion one id and put the rows that conclude nothing last"]


# -- across rules: contradicting conclusions for the same subject and day ------------------------

CONTRA = """
rules:
  - id: task.local.stop-c-d
    version: 1
    title: 本地：C、D级企业停产
    effective_from: 2025-01-01
    legal_basis: [cn.air-law.2018.art96]
    when:
      - {fact: measure, as: m, if: measure_type == EmergencyEmissionReduction}
      - {fact: enterprise_in_region, as: e, if: "region_code == m.region_code and GRADES"}
    then:
      - task:
          subject: {kind: enterprise, id: "{e.enterprise_id}", name: "{e.enterprise_name}"}
          region_code: "{e.county_code}"
          measure_type: StopProduction
          action: "{e.enterprise_name}：停产"
"""


def test_a_contradiction_across_rules_is_an_error(tmp_path: Path, concepts: ConceptIndex
                                                  ) -> None:
    """The bundled grade table orders StopPartialLines for grade C (task.emergency.grade-c);
    a local rule ordering StopProduction for C and D contradicts it for a grade-C enterprise
    (the ontology declares StopProduction, LimitProduction, StopPartialLines disjoint)."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "emergency_measures.yaml").write_text(
        (bundled_rules_dir() / "emergency_measures.yaml").read_text(encoding="utf-8"),
        encoding="utf-8")
    local = folder / "local.yaml"
    local.write_text(CONTRA.replace("GRADES", "grade in [GradeC, GradeD]"), encoding="utf-8")
    errors, _ = problems(folder, concepts)
    assert len(errors) == 1, errors
    assert errors[0].startswith("rules/local.yaml:") and "[rules[0].then[0]]" in errors[0]
    assert ("contradiction: task.emergency.grade-c@1 orders StopPartialLines and "
            "task.local.stop-c-d@1 orders StopProduction for the same enterprise (enterprise_id "
            "of the enterprise_in_region fact) on the same day (both in force on 2025-01-01), e.g. "
            "when grade = GradeC") in errors[0]
    # D only: grade D's table row orders StopProduction too, the same measure: no contradiction
    local.write_text(CONTRA.replace("GRADES", "grade == GradeD"), encoding="utf-8")
    assert problems(folder, concepts) == ([], [])
    # ungraded enterprises (grade missing) never meet a graded row: no contradiction
    local.write_text(CONTRA.replace("GRADES", "grade == null"), encoding="utf-8")
    errors, _ = problems(folder, concepts)
    assert errors == []


# -- hit policies through the engine -----------------------------------------------------------

POLICY = """
tables:
  - id: test.policy
    version: 1
    title: 测试命中策略
    effective_from: 2024-01-01
    legal_basis: [cn.air-law.2018.art96]
    hit_policy: {policy}
    complete: false
    fact: alert_assessment
    as: a
    inputs: [longest_run_over_200]
    outputs: [level]
    then:
      - alert: {{level: "{{out.level}}", region_code: "{{a.region_code}}"}}
    rows:
      - {{id: test.policy.yellow, priority: 70, longest_run_over_200: ">= 1", level: AlertYellow}}
      - {{id: test.policy.red, priority: 90, longest_run_over_200: ">= 3", level: AlertRed}}
"""


@pytest.mark.parametrize(("policy", "fired"), [
    # priority: the matching row of highest priority (red before yellow, whatever the order)
    ("priority", {0: set(), 1: {"test.policy.yellow"}, 2: {"test.policy.yellow"},
                  3: {"test.policy.red"}, 5: {"test.policy.red"}}),
    # first: from the top; yellow (>= 1) takes every input red (>= 3) covers
    ("first", {0: set(), 1: {"test.policy.yellow"}, 3: {"test.policy.yellow"}}),
    # collect: every matching row
    ("collect", {1: {"test.policy.yellow"}, 3: {"test.policy.yellow", "test.policy.red"}}),
])
def test_hit_policies_in_the_engine(tmp_path: Path, concepts: ConceptIndex, policy: str,
                                    fired: dict[int, set[str]]) -> None:
    path = write(tmp_path, POLICY.format(policy=policy))
    base, _ = load_rule_base(path)
    on = dt.date(2025, 1, 1)
    compiled = compile_rule_base(base, on, concepts)
    facts = [{"type": "alert_assessment", "id": f"a{n}", "region_code": f"3301{n:02d}",
              "longest_run_over_200": n} for n in fired]
    result = Engine(compiled).run(facts, decision_date=on)
    got: dict[int, set[str]] = {n: set() for n in fired}
    for f in result.firings:
        got[int(f.facts["a"][1:])].add(f.rule_key.split("@")[0])
    assert got == fired
    errors, _ = problems(path, concepts)
    if policy == "first":  # and the check says so
        assert errors == [f"{path}:18 [tables[0].rows[1]]: row 2 (test.policy.red) of table "
                          "test.policy@1 can never match: every input it covers is taken "
                          "first by row(s) 1 (hit policy first)"]
    else:
        assert errors == []


def test_equal_priorities_that_overlap_are_a_warning(tmp_path: Path,
                                                     concepts: ConceptIndex) -> None:
    text = POLICY.format(policy="priority").replace("priority: 90", "priority: 70")
    path = write(tmp_path, text)
    errors, warnings = problems(path, concepts)
    # yellow (>= 1) is the upper row: with red's priority lowered to 70 red never wins
    assert errors == [f"{path}:18 [tables[0].rows[1]]: row 2 (test.policy.red) of table "
                      "test.policy@1 can never match: every input it covers is taken first by "
                      "row(s) 1 (hit policy priority)"]
    assert warnings == [
        f"{path}:18 [tables[0].rows[1]]: row 1 (test.policy.yellow) and row 2 "
        "(test.policy.red) of table test.policy@1 have the same priority 70 and both match "
        "longest_run_over_200 >= 3: the upper row wins; give them different priorities to "
        "say which"]
