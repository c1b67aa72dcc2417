"""Bad rule files: each mistake is reported with its file, line and field — and nothing runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from reasoning_fixtures import load_knowledge

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.authoring.check import check_rules
from ecobrain.reasoning.authoring.rule_graph import load_rules_into_graph
from ecobrain.reasoning.authoring.rulebase import load_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.dsl import read_rule_file
from ecobrain.reasoning.language.errors import RuleError

GOOD = """\
family: demo
rules:
  - id: demo.alert.red
    version: 1
    title: 红色预警
    effective_from: 2024-01-23
    legal_basis: [cn.mee.2024-6.grading]
    concerns: [PM2_5]
    when:
      fact: alert_assessment
      as: a
      if: longest_run_over_200 >= 3 and driver is_a ParticulateMatter
    then:
      - alert: {level: AlertRed, region_code: "{a.region_code}"}
tests:
  - name: red
    on: 2024-03-01
    given: [{type: alert_assessment, region_code: "330100", longest_run_over_200: 3,
             driver: PM10}]
    expect: [{alert: {level: AlertRed}}]
"""


@pytest.fixture(scope="module")
def concepts() -> ConceptIndex:
    return ConceptIndex.from_ontology()


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def errors_of(path: Path, concepts: ConceptIndex, store: GraphStore | None = None) -> list[str]:
    report = check_rules(path, store=store, concepts=concepts)
    return [str(e) for e in report.errors]


def test_a_good_file_checks_clean_and_keeps_each_rule_source(tmp_path: Path,
                                                              concepts: ConceptIndex) -> None:
    p = write(tmp_path, GOOD)
    assert errors_of(p, concepts) == []
    loaded = read_rule_file(p)
    assert loaded.rules[0].key == "demo.alert.red@1"
    assert loaded.rule_sources[0].startswith("id: demo.alert.red\n")
    assert "legal_basis: [cn.mee.2024-6.grading]" in loaded.rule_sources[0]


def test_invalid_yaml_gives_the_line(tmp_path: Path, concepts: ConceptIndex) -> None:
    p = write(tmp_path, GOOD.replace("    title: 红色预警", "    title: [红色预警"))
    errs = errors_of(p, concepts)
    assert len(errs) == 1
    assert errs[0].startswith(f"{p}:")
    assert "invalid YAML" in errs[0]
    line = int(errs[0][len(str(p)) + 1:].split(":")[0])
    assert 5 <= line <= 7  # where the unclosed bracket starts or is noticed


def test_unknown_field_names_its_line_and_the_allowed_fields(tmp_path: Path,
                                                             concepts: ConceptIndex) -> None:
    p = write(tmp_path, GOOD.replace("    priority_x", "").replace(
        "    concerns: [PM2_5]", "    concerns: [PM2_5]\n    prioritty: 80"))
    errs = errors_of(p, concepts)
    assert errs == [f"{p}:9 [rules[0].prioritty]: unknown field 'prioritty' (allowed: "
                    "concerns, effective_from, effective_to, id, legal_basis, note, priority, "
                    "source_quality, status, targets, then, title, title_en, version, when)"]


def test_bad_expression_gives_file_line_field_and_column(tmp_path: Path,
                                                         concepts: ConceptIndex) -> None:
    p = write(tmp_path, GOOD.replace("longest_run_over_200 >= 3", "longest_run_over_200 >= 3 +"))
    errs = errors_of(p, concepts)
    assert len(errs) == 1
    assert errs[0].startswith(f"{p}:12 [rules[0].when[0].if]: syntax error")


def test_unknown_concept_is_located_and_a_near_one_suggested(tmp_path: Path,
                                                             concepts: ConceptIndex) -> None:
    p = write(tmp_path, GOOD.replace("driver is_a ParticulateMatter",
                                     "driver is_a ParticulatMatter"))
    errs = errors_of(p, concepts)
    assert len(errs) == 1
    assert errs[0].startswith(f"{p}:12 [rules[0].when[0].if]: unknown concept "
                              "'ParticulatMatter'; did you mean ParticulateMatter?")
    p2 = write(tmp_path, GOOD.replace("concerns: [PM2_5]", "concerns: [PM25]"), "d2.yaml")
    (err2,) = errors_of(p2, concepts)
    assert err2.startswith(
        f"{p2}:8 [rules[0].concerns[0]]: unknown concept 'PM25'; did you mean PM2_5? "
        "(valid Pollutant: ")  # a small enumeration lists every valid option
    assert "NO2, NOx" in err2 and "PM2_5" in err2
    p3 = write(tmp_path, GOOD.replace("level: AlertRed", "level: AlertPurple"), "d3.yaml")
    err = errors_of(p3, concepts)
    assert len(err) == 1 and err[0].startswith(f"{p3}:14 [rules[0].then[0].alert.level]: "
                                               "unknown concept 'AlertPurple'")


def test_article_not_in_the_graph_is_located(tmp_path: Path, store: GraphStore,
                                             concepts: ConceptIndex) -> None:
    load_knowledge(store)
    p = write(tmp_path, GOOD.replace("legal_basis: [cn.mee.2024-6.grading]",
                                     "legal_basis: [cn.mee.2024-6.grading, cn.air-law.2018.art960,"
                                     " cn.air-law.2018.art96.p7]"))
    errs = errors_of(p, concepts, store)
    assert errs == [
        f"{p}:7 [rules[0].legal_basis[1]]: cites cn.air-law.2018.art960: no article "
        "'cn.air-law.2018.art960' in the graph; did you mean cn.air-law.2018.art96, "
        "cn.air-law.2018.art90, cn.air-law.2018.art60?",
        f"{p}:7 [rules[0].legal_basis[2]]: cn.air-law.2018.art96.p7: "
        "cn.air-law.2018.art96 has 2 paragraph(s), not 7",
    ]
    with pytest.raises(RuleError):
        load_rules_into_graph(store, p)
    assert store.read("MATCH (r:Rule) RETURN count(r) AS n")[0]["n"] == 0  # nothing written


def test_versions_dates_and_chaining_are_checked(tmp_path: Path, concepts: ConceptIndex) -> None:
    text = GOOD.split("tests:")[0] + """\
  - id: demo.alert.red
    version: 2
    title: 红色预警 v2
    effective_from: 2024-06-01
    effective_to: 2024-05-01
    legal_basis: [cn.mee.2024-6.grading]
    when: {fact: alert_assessment, as: a}
    then:
      - alert: {level: AlertRed, region_code: "{a.region_code}"}
  - id: demo.task.back
    version: 1
    title: 任务引发预警
    effective_from: 2024-01-01
    legal_basis: [cn.mee.2024-6.grading]
    when: {fact: task, as: t}
    then:
      - alert: {level: AlertRed, region_code: "{t.region_code}"}
"""
    p = write(tmp_path, text)
    errs = errors_of(p, concepts)
    assert any(":19 [rules[1].effective_to]: effective_to 2024-05-01 is before effective_from "
               "2024-06-01" in e for e in errs)
    assert any(":18 [rules[1].effective_from]: demo.alert.red versions 1 and 2 are both in "
               "force on 2024-06-01: end version 1 the day before (effective_to: 2024-05-31)"
               in e for e in errs)
    assert any(":31 [rules[2].then[0]]: a rule that reads task cannot conclude an alert" in e
               for e in errs)


def test_templates_deadlines_and_test_facts_are_checked(tmp_path: Path,
                                                        concepts: ConceptIndex) -> None:
    text = GOOD.replace('region_code: "{a.region_code}"', 'region_code: "{a.region}"').replace(
        "driver: PM10}]", "driver: PM10, dayz: 3}]")
    p = write(tmp_path, text)
    errs = errors_of(p, concepts)
    assert errs == [
        f"{p}:14 [rules[0].then[0].alert.region_code]: unknown field 'region' of "
        "alert_assessment (block 'a') in {a.region}; did you mean region_name, region_code, "
        "region_level?",
        f"{p}:19 [tests[0].given[0].dayz]: unknown field 'dayz' of alert_assessment",
    ]


def test_missing_required_field_and_wrong_type(tmp_path: Path, concepts: ConceptIndex) -> None:
    p = write(tmp_path, GOOD.replace("    version: 1\n", "").replace("effective_from: 2024-01-23",
                                                                  "effective_from: 2024-02-30"))
    errs = errors_of(p, concepts)
    assert f"{p}:3 [rules[0].version]: missing required field 'version'" in errs
    assert any(e.startswith(f"{p}:5 [rules[0].effective_from]:") for e in errs)


def test_a_bad_file_does_not_hide_the_good_ones(tmp_path: Path, concepts: ConceptIndex) -> None:
    write(tmp_path, GOOD, "a_good.yaml")
    write(tmp_path, "rules: [1, 2", "b_bad.yaml")
    base, problems = load_rule_base(tmp_path, strict=False)
    assert [f.display for f in base.files] == [f"{tmp_path.name}/a_good.yaml"]
    assert len(problems) == 1 and problems[0].file == f"{tmp_path.name}/b_bad.yaml"
    with pytest.raises(RuleError, match=r"b_bad\.yaml:1"):
        load_rule_base(tmp_path)
