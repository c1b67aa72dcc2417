"""The API for decision tables as sheets and vocabulary as data (issue 16), on a real graph."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from api_helpers import ApiClient, api_client

from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.authoring.rulebase import bundled_rules_dir
from ecobrain.reasoning.language.concept_index import ConceptIndex

MEASURES = (bundled_rules_dir() / "emergency_measures.yaml").read_text(encoding="utf-8")


@pytest.fixture
def api(module_rules_kb: GraphStore, tmp_path: Path) -> Iterator[ApiClient]:
    with api_client(module_rules_kb, tmp_path) as client:
        yield client


def test_export_and_import_a_table(api: ApiClient) -> None:
    body = {"yaml": MEASURES, "table": "measure.public.schedule", "format": "csv"}
    assert api.post("/rules/tables/export", "investigator", json=body).status_code == 403
    r = api.post("/rules/tables/export", "expert", json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="measure.public.schedule@1.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [x["预警级别 (level)"] for x in rows] == [
        "AlertYellow", "AlertOrange", "AlertRed", "AlertBlue"]
    assert rows[0]["vehicles"] == "" and "国四及以下" in rows[1]["vehicles"]
    x = api.post("/rules/tables/export", "expert", json={**body, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(x.content)).active
    assert sheet["A2"].value == "measure.public.yellow"
    # the sheet without its blue row: a gap, reported with the checked text, nothing saved
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows[:3])
    imp = {"yaml": MEASURES, "table": "measure.public.schedule", "sheet_name": "s.csv",
           "sheet_base64": base64.b64encode(out.getvalue().encode()).decode()}
    r = api.post("/rules/tables/import", "expert", json=imp)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["ok"] is False and res["rows"] == 3
    assert any("gap in table measure.public.schedule@1: no row covers level = AlertBlue"
               in e["message"] for e in res["errors"])
    # the untouched sheet (xlsx) comes back clean: cited articles checked against the graph
    imp.update(sheet_name="s.xlsx", sheet_base64=base64.b64encode(x.content).decode())
    res = api.post("/rules/tables/import", "expert", json=imp).json()
    assert res["ok"] is True and res["errors"] == [] and res["rows"] == 4
    assert "- {id: measure.public.yellow," in res["yaml"]
    bad = api.post("/rules/tables/import", "expert", json={**imp, "table": "no.such"})
    assert bad.status_code == 422 and "no table no.such" in bad.text


def test_validate_reports_a_table_overlap(api: ApiClient) -> None:
    text = """
tables:
  - id: test.schedule
    version: 1
    title: 测试
    effective_from: 2026-01-01
    legal_basis: [cn.air-law.2018.art96]
    hit_policy: unique
    fact: alert
    as: a
    inputs: [level]
    outputs: [text]
    then:
      - advice: {region_code: "{a.region_code}", measure_type: HealthAdvice, text: "{out.text}"}
    rows:
      - {id: test.schedule.high, level: ">= AlertOrange", text: 橙色及以上}
      - {id: test.schedule.red, level: AlertRed, text: 红色}
      - {level: "AlertBlue, AlertYellow"}
"""
    r = api.post("/rules/validate", "expert", json={"yaml": text})
    assert r.status_code == 200
    errors = r.json()["errors"]
    assert [e["message"] for e in errors] == [
        "overlap in table test.schedule@1 (hit policy unique): row 1 (test.schedule.high) and "
        "row 2 (test.schedule.red) both match level = AlertRed and conclude different things; "
        "narrow one of them, or choose hit policy first/priority/collect"]
    assert errors[0]["line"] == 17 and errors[0]["field"] == "tables[0].rows[1]"


RULE = """id: measure.ship.berth-power
version: 1
title: 预警期间靠港船舶使用岸电
effective_from: 2026-01-01
legal_basis: [cn.air-law.2018.art96]
when: {fact: alert, as: a, if: level >= AlertOrange}
then:
  - advice: {region_code: "{a.region_code}", measure_type: ShoreSidePower, text: 靠港船舶使用岸电}
"""


def test_a_measure_type_added_as_data_is_usable_by_rules(api: ApiClient,
                                                        module_rules_kb: GraphStore) -> None:
    before = api.post("/rules/validate", "expert", json={"yaml": RULE}).json()
    assert before["ok"] is False
    assert "unknown concept 'ShoreSidePower'" in before["errors"][0]["message"]
    term = {"id": "ShoreSidePower", "parent": "EmergencyMeasure", "label_zh": "靠港船舶使用岸电",
            "label_en": "shore-side power for berthed ships"}
    assert api.post("/vocabulary/MeasureType", "investigator", json=term).status_code == 403
    r = api.post("/vocabulary/MeasureType", "expert", json=term)
    assert r.status_code == 201, r.text
    assert r.json()["labels"] == ["Concept", "MeasureType"] and r.json()["origin"] == "expert"
    after = api.post("/rules/validate", "expert", json={"yaml": RULE}).json()
    assert after["ok"] is True, after["errors"]
    listed = {t["id"]: t for t in api.get("/vocabulary/MeasureType", "investigator").json()}
    assert listed["ShoreSidePower"]["parents"] == ["EmergencyMeasure"]
    assert listed["ShoreSidePower"]["added_by"] and listed["BanFireworks"]["origin"] == "ontology"
    # mistakes, each naming the field
    again = api.post("/vocabulary/MeasureType", "expert", json=term)
    assert again.status_code == 409 and "ShoreSidePower exists already" in again.text
    wrong = api.post("/vocabulary/MeasureType", "expert",
                     json={**term, "id": "ShoreSidePower2", "parent": "PM2_5"})
    assert wrong.status_code == 422
    assert "PM2_5 is a Pollutant, not a MeasureType" in wrong.text and '"parent"' in wrong.text
    no_han = api.post("/vocabulary/MeasureType", "expert",
                      json={**term, "id": "ShoreSidePower3", "label_zh": "shore power"})
    assert no_han.status_code == 422 and "label_zh" in no_han.text
    assert api.get("/vocabulary/Measure", "expert").status_code == 404
    # reloading the ontology file keeps the expert's term and its place in the hierarchy
    load_ontology(module_rules_kb)
    index = ConceptIndex.from_store(module_rules_kb)
    assert index.is_a("ShoreSidePower", "EmergencyMeasure")
    assert index.concepts["ShoreSidePower"].label_zh == "靠港船舶使用岸电"


def test_save_a_new_table_version(api: ApiClient) -> None:
    """Version 2 of the measure schedule from 2027, saved inactive: its three rules together."""
    start = MEASURES.index("tables:")
    end = MEASURES.index("\n  # ---------------------------------------------------------- per")
    table = MEASURES[start:end].replace("    version: 1\n    title: 预警期间",
                                        "    version: 2\n    title: 预警期间", 1)
    table = table.replace("    effective_from: 2024-04-24\n", "    effective_from: 2027-01-01\n",
                          1)
    body = {"yaml": table, "activate": False}
    assert api.post("/rules/tables", "investigator", json=body).status_code == 403
    r = api.post("/rules/tables", "expert", json=body)
    assert r.status_code == 201, r.text
    saved = r.json()
    assert [v["key"] for v in saved] == ["measure.public.yellow@2", "measure.public.orange@2",
                                         "measure.public.red@2"]
    assert {v["status"] for v in saved} == {"draft"} and {v["origin"] for v in saved} == {"api"}
    assert {v["table"] for v in saved} == {"measure.public.schedule@2"}
    audit = api.get("/rules/measure.public.red/audit", "expert").json()
    assert audit[0]["action"] == "table.create" and audit[0]["by"]
    again = api.post("/rules/tables", "expert", json=body)
    assert again.status_code == 409 and "measure.public.yellow@2 exists" in again.text
    one = api.post("/rules", "expert", json=body)  # a table is not one rule
    assert one.status_code == 422 and "POST /rules/tables" in one.text


LOCAL_STOP = """id: task.local.stop-c-d
version: 1
title: 本地：C、D级企业停产
effective_from: 2026-01-01
legal_basis: [cn.air-law.2018.art96]
when:
  - {fact: measure, as: m, if: measure_type == EmergencyEmissionReduction}
  - fact: enterprise_in_region
    as: e
    if: region_code == m.region_code and grade in [GradeC, GradeD]
then:
  - task:
      subject: {kind: enterprise, id: "{e.enterprise_id}", name: "{e.enterprise_name}"}
      region_code: "{e.county_code}"
      measure_type: StopProduction
      action: "{e.enterprise_name}：停产"
"""


def test_validate_finds_a_contradiction_with_the_graphs_rules(api: ApiClient) -> None:
    """A submitted rule is checked against the active versions in the graph: grade C gets
    StopPartialLines from the bundled grade table."""
    r = api.post("/rules/validate", "expert", json={"yaml": LOCAL_STOP}).json()
    assert r["ok"] is False
    (err,) = r["errors"]
    assert err["message"].startswith(
        "contradiction: task.emergency.grade-c@1 orders StopPartialLines and "
        "task.local.stop-c-d@1 orders StopProduction for the same enterprise")
    assert err["field"] == "then[0]" and err["line"] == 12  # in the text sent
    fine = LOCAL_STOP.replace("grade in [GradeC, GradeD]", "grade == GradeD")
    assert api.post("/rules/validate", "expert", json={"yaml": fine}).json()["ok"] is True
