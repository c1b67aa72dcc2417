"""Change impact before activation, on the decided sample run: a stricter yellow row of the
grading decision table saved as a draft table version, the yellow row's impact report (alerts,
measures, tasks removed by region), and activation that needs the latest report — through the
API and the CLI. The expected alerts are worked out here from the run's daily AQI forecast
table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from api_helpers import ApiClient, api_client
from kb_fixture import Decided
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.reasoning.authoring.impact import diff, rerun
from ecobrain.reasoning.decisions.memory import load_memory
from ecobrain.reasoning.decisions.run_decision import rule_base_for
from ecobrain.reasoning.decisions.store import region_forecast
from ecobrain.reasoning.language.concept_index import ConceptIndex

RULE = "alert.heavy-pollution.yellow"  # a row of the grading table
TABLE = "alert.heavy-pollution.grading"
STRICT = "days_over_200 >= 1 and peak_aqi > 210 and driver == PM2_5"  # a stricter yellow


@pytest.fixture(scope="module")
def api(module_decided: Decided, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[ApiClient]:
    with api_client(module_decided.store, tmp_path_factory.mktemp("impact")) as client:
        yield client


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _draft_yaml(api: ApiClient) -> str:
    """Version 3 of the grading table, edited the way an expert edits the sheet: a peak_aqi
    column, the yellow row reads STRICT (PM2_5, > 200 on a day, peak above 210), and the second
    yellow row (AQI > 150 for 48 hours) is gone. Red and orange rows are as in version 2."""
    v2 = api.get(f"/rules/{RULE}/versions/2", "expert").json()
    assert v2["table"] == f"{TABLE}@2"
    text = _edit(v2["yaml"], "\nversion: 2\n", "\nversion: 3\n")
    text = _edit(text, "  - {field: days_over_200, label: AQI>200天数}\n",
                 "  - {field: days_over_200, label: AQI>200天数}\n"
                 "  - {field: peak_aqi, label: 预测日AQI峰值}\n")
    text = _edit(text, '    days_over_200: ">= 1"\n    level: AlertYellow\n',
                 '    days_over_200: ">= 1"\n    peak_aqi: "> 210"\n    level: AlertYellow\n')
    start = text.index('  - id: alert.heavy-pollution.yellow\n    priority: 70\n'
                       '    driver: PM2_5\n    longest_run_over_150: ">= 2"\n')
    end = text.index("  - note: 其余情形不发布颜色预警")
    return text[:start] + text[end:]


def _expected_removed(d: Decided) -> set[str]:
    """Yellow regions the strict grading leaves out: no day above 200, or a peak of 210 or
    less (their PM2.5 driver is unchanged, so only the AQI part matters)."""
    out = set()
    for a in d.outcome.decision.alerts:
        if a.level != "AlertYellow":
            continue
        aqis = [x["aqi"] for x in region_forecast(d.store, d.outcome.run_id, a.region_code)]
        if not (any(v > 200 for v in aqis) and max(aqis) > 210):
            out.add(a.region_code)
    return out


def _days(schedule: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    """Each day of a task's schedule -> (alert level, measure type)."""
    out = {}
    for s in schedule:
        day = dt.date.fromisoformat(s["date_from"])
        while day <= dt.date.fromisoformat(s["date_to"]):
            out[day.isoformat()] = (s["level"], s["measure_type"])
            day += dt.timedelta(days=1)
    return out


def test_the_rerun_reproduces_the_stored_decision(module_decided: Decided) -> None:
    """Same rule base, same stored inputs: not one conclusion differs from what was saved
    (so every difference in a report comes from the version assessed)."""
    store = module_decided.store
    d = module_decided.outcome.decision
    again = rerun(store, load_memory(store, d.id), rule_base_for(store)[0],
                  ConceptIndex.for_store(store), d.run_id)
    assert len(again.tasks) == len(d.tasks) and diff(d, again) == []
    assert again.id == d.id  # same inputs, same rule versions, same knowledge: the same id


def test_a_draft_is_saved_inactive_and_activation_needs_its_impact(
        api: ApiClient, module_decided: Decided) -> None:
    text = _draft_yaml(api)
    r = api.post("/rules/tables", "expert", json={"yaml": text, "activate": True})
    assert r.status_code == 428 and "impact" in r.json()["message"]
    r = api.post("/rules", "expert", json={"yaml": text})
    assert r.status_code == 422 and "POST /rules/tables" in r.text  # a table, not one rule
    r = api.post("/rules/tables", "expert", json={"yaml": text})
    assert r.status_code == 201, r.text
    saved = {v["key"]: v for v in r.json()}
    assert set(saved) == {f"alert.heavy-pollution.{lv}@3" for lv in ("red", "orange", "yellow")}
    assert {v["table"] for v in saved.values()} == {f"{TABLE}@3"}
    assert all(v["status"] == "draft" and "impact" in v["warnings"][-1]
               for v in saved.values())
    assert 'peak_aqi: "> 210"' in api.get(f"/rules/{RULE}/versions/3", "expert").json()["yaml"]
    r = api.post(f"/rules/{RULE}/versions/3/activate", "expert")
    assert r.status_code == 428
    assert f"POST /rules/{RULE}/versions/3/impact" in r.json()["message"]
    assert api.get(f"/rules/{RULE}/versions/3/impact", "expert").status_code == 404


def test_the_impact_report_removes_the_alerts_worked_out_by_hand(
        api: ApiClient, module_decided: Decided) -> None:
    removed = _expected_removed(module_decided)
    yellow = {a.region_code for a in module_decided.outcome.decision.alerts
              if a.level == "AlertYellow"}
    assert removed and removed < yellow  # the sample run has both kinds
    r = api.post(f"/rules/{RULE}/versions/3/impact", "expert", params={"last": 3})
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["retires"] == [f"{RULE}@2"] and rep["status_before"] == "draft"
    [dec] = rep["decisions"]  # one decision in the graph
    assert dec["decision_id"] == module_decided.decision_id
    alerts = [c for c in rep["changes"] if c["kind"] == "alert"]
    assert {c["region_code"] for c in alerts if c["change"] == "removed"} == removed
    assert not [c for c in rep["changes"] if c["change"] == "added"]
    # yellow regions with a day above 200 keep their alert; orange ones are not touched
    assert not [c for c in alerts if c["change"] == "changed"]
    measures = [c for c in rep["changes"] if c["kind"] == "measure"]
    assert measures and {c["region_code"] for c in measures} <= removed
    # every task removed lies in a region that lost its alert (the county itself, or a county
    # of a city that lost it). A task elsewhere may change only in which of two alerts of the
    # same level its order cites on a day (ties go by conclusion id, which depends on the rule
    # versions): its level and measure on each day stay the same.
    tasks = [c for c in rep["changes"] if c["kind"] == "task"]
    assert [c for c in tasks if c["change"] == "removed"]
    for c in tasks:
        inside = c["region_code"] in removed or c["region_code"][:4] + "00" in removed
        if c["change"] == "removed" or not inside:
            assert inside or (c["change"] == "changed" and _days(c["before"]["schedule"])
                              == _days(c["after"]["schedule"])), c
    assert rep["counts"]["alert"] == {"added": 0, "removed": len(removed), "changed": 0}
    before, after = dec["before"]["alert"], dec["after"]["alert"]
    assert before == len(module_decided.outcome.decision.alerts)
    assert after == before - len(removed)
    by_region = {r["region_code"]: r for r in rep["by_region"]}
    assert all(by_region[c]["alert"]["removed"] == 1 for c in removed)
    latest = api.get(f"/rules/{RULE}/versions/3/impact", "expert").json()
    assert latest["id"] == rep["id"]


def test_activation_takes_only_the_latest_current_report(api: ApiClient,
                                                        module_decided: Decided) -> None:
    first = api.get(f"/rules/{RULE}/versions/3/impact", "expert").json()["id"]
    runner = CliRunner()
    r = runner.invoke(app, ["rules", "impact", RULE, "3", "--last", "3"])
    assert r.exit_code == 0, r.output
    assert "影响评估" in r.output and "取消 " in r.output
    second = api.get(f"/rules/{RULE}/versions/3/impact", "expert").json()["id"]
    r = runner.invoke(app, ["rules", "impact", "no.such.rule", "1"])
    assert r.exit_code == 1 and "no version 1 of rule 'no.such.rule'" in r.output
    assert second != first
    url = f"/rules/{RULE}/versions/3/activate"
    r = api.post(url, "expert", json={"impact_report": first})
    assert r.status_code == 409 and "stale" in r.json()["message"] and second in \
        r.json()["message"]
    r = api.post(url, "investigator", json={"impact_report": second})
    assert r.status_code == 403
    r = api.post(url, "expert", json={"impact_report": "not-a-report"})
    assert r.status_code == 422
    # the world moves: another rule deactivated after the report -> stale, run it again
    assert api.post("/rules/task.hotspot.patrol/versions/1/deactivate",
                    "expert").status_code == 200
    r = api.post(url, "expert", json={"impact_report": second})
    assert r.status_code == 409 and "run it again" in r.json()["message"]
    third = api.post(f"/rules/{RULE}/versions/3/impact", "expert",
                     params={"last": 3}).json()["id"]
    r = api.post(url, "expert", json={"impact_report": third})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    v2 = api.get(f"/rules/{RULE}/versions/2", "expert").json()
    assert v2["status"] == "retired"  # superseded in the same step, as the report said
    audit = api.get(f"/rules/{RULE}/audit", "expert").json()
    acts = {(a["action"], a["target"]): a["detail"] for a in audit}
    assert acts[("rule.activate", f"{RULE}@3")]["impact_report"] == third
    assert acts[("rule.deactivate", f"{RULE}@2")]["superseded_by"] == f"{RULE}@3"

