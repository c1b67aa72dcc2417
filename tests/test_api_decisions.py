"""The command centre's read endpoints over HTTP on a real decided graph: decisions, tasks
(filters, pages), a task explained, alerts, advice, documents; the evidence chain; every role
boundary, unknown ids, bad parameters."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ApiClient, api_client
from docx import Document
from kb_fixture import Decided

from ecobrain.api.auth import KeyStore

COUNTY, CITY, OTHER_CITY = "330102", "330100", "330400"


@pytest.fixture(scope="module")
def api(decided: Decided, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    tmp = tmp_path_factory.mktemp("api")
    with api_client(decided.store, tmp) as client:
        client.client.app.state.documents_dir = tmp / "documents"  # type: ignore[attr-defined]
        keys = KeyStore(tmp / "keys.json")
        client.keys["jx-bureau"] = keys.create("jx-bureau", ["commander"], [OTHER_CITY])
        client.keys["hz-bureau"] = keys.create("hz-bureau", ["commander"], [CITY])
        yield client


def _routes(d: Decided) -> list[str]:
    did = d.decision_id
    task = d.outcome.decision.tasks[0].id
    return [f"/decisions?run_id={d.outcome.run_id}", f"/decisions/{did}",
            f"/decisions/{did}/tasks?region={CITY}", f"/tasks/{task}", f"/alerts?region={CITY}",
            f"/advice?region={CITY}", f"/decisions/{did}/documents",
            f"/decisions/{did}/documents/{COUNTY}?format=md", "/runs",
            f"/runs/{d.outcome.run_id}"]


def test_command_centre_routes_need_a_commander_key(api: ApiClient, decided: Decided) -> None:
    for url in _routes(decided):
        assert api.get(url).status_code == 401, url
        bad = api.client.get(url, headers={"X-API-Key": "eb_nope"})
        assert bad.status_code == 401 and "unknown" in bad.json()["message"], url
        for role in ("expert", "investigator"):
            r = api.get(url, role)
            assert r.status_code == 403 and "needs one of: commander" in r.json()["message"], url
        for role in ("commander", "admin", "hz-bureau"):
            assert api.get(url, role).status_code == 200, (url, role)


def test_decisions_list_and_read(api: ApiClient, decided: Decided) -> None:
    d = decided.outcome.decision
    page = api.get("/decisions", "commander").json()
    assert page["total"] == 1 and page["items"][0]["id"] == d.id
    item = page["items"][0]
    assert (item["tasks"], item["alerts"], item["advice"]) == (len(d.tasks), len(d.alerts),
                                                              len(d.advice))
    assert api.get("/decisions", "commander", params={"date": "2026-11-24"}).json()["total"] == 0
    full = api.get(f"/decisions/{d.id}", "commander").json()
    regions = {r["region_code"]: r for r in full["regions"]}
    assert regions[CITY]["alert"]["level"] == next(a.level for a in d.alerts
                                                  if a.region_code == CITY)
    assert sum(r["tasks"] for r in full["regions"]) == len(d.tasks)
    assert full["tasks_by_status"] == {"draft": len(d.tasks)}  # awaiting review
    r = api.get("/decisions/dec-unknown", "commander")
    assert r.status_code == 404 and "dec-unknown" in r.json()["message"]
    r = api.get("/decisions", "commander", params={"date": "yesterday"})
    assert r.status_code == 422 and "date" in r.json()["message"]


def test_tasks_filter_by_region_priority_status_and_page(api: ApiClient, decided: Decided
                                                        ) -> None:
    d = decided.outcome.decision
    url = f"/decisions/{d.id}/tasks"
    city = api.get(url, "commander", params={"region": CITY, "limit": 500}).json()
    expected = [t for t in d.tasks if t.region_code.startswith("3301")]
    assert city["total"] == len(expected) and len(city["items"]) == min(500, len(expected))
    assert all(t["region_code"].startswith("3301") for t in city["items"])
    assert {t.region_code for t in expected} >= {CITY, COUNTY}  # the city's own and a county's
    county = api.get(url, "commander", params={"region": COUNTY}).json()
    assert county["total"] == sum(1 for t in d.tasks if t.region_code == COUNTY)
    assert [t["priority"] for t in county["items"]] == sorted(
        (t["priority"] for t in county["items"]), reverse=True)
    top = api.get(url, "commander", params={"min_priority": 90}).json()
    assert top["total"] == sum(1 for t in d.tasks if t.priority >= 90)
    exact = api.get(url, "commander", params={"priority": 80, "region": CITY}).json()
    assert all(t["priority"] == 80 for t in exact["items"]) and exact["total"] > 0
    assert api.get(url, "commander", params={"status": "draft"}).json()["total"] == len(d.tasks)
    assert api.get(url, "commander", params={"status": "done"}).json()["total"] == 0
    p1 = api.get(url, "commander", params={"limit": 7}).json()["items"]
    p2 = api.get(url, "commander", params={"limit": 7, "offset": 7}).json()["items"]
    assert len(p1) == len(p2) == 7 and not {t["id"] for t in p1} & {t["id"] for t in p2}
    item = county["items"][0]
    task = next(t for t in d.tasks if t.id == item["id"])
    assert item["subject"] == task.subject.model_dump() and item["actions"] == [
        i.text for i in task.items]
    for params, field in (({"region": "33"}, "region"), ({"priority": 101}, "priority"),
                          ({"status": "finished"}, "status"), ({"limit": 0}, "limit")):
        r = api.get(url, "commander", params=params)
        assert r.status_code == 422 and field in r.json()["message"], (params, r.text)
    assert api.get("/decisions/dec-unknown/tasks", "commander").status_code == 404


def test_a_task_comes_with_its_explanation_and_legal_texts(api: ApiClient, decided: Decided
                                                          ) -> None:
    d = decided.outcome.decision
    task = next(t for t in d.tasks if t.region_code == COUNTY)
    body = api.get(f"/tasks/{task.id}", "commander").json()
    assert body["id"] == task.id and body["status"] == "draft"
    assert body["conclusion"]["items"][0]["text"] == task.items[0].text
    assert body["explanation"]["firings"][0]["rule"]["key"] in task.rule_keys
    assert body["explanation"] == d.explain(task.id).model_dump(mode="json")
    assert task.reasons[0].rule_id in body["explanation_text"]
    texts = {g["article_id"]: g for g in body["legal_texts"]}
    art96 = decided.store.read_one("MATCH (a:Article {id: 'cn.air-law.2018.art96'}) "
                                   "RETURN a.text AS t")["t"]
    assert texts["cn.air-law.2018.art96"]["text"] == art96
    assert texts["cn.air-law.2018.art96"]["in_force"] is False
    lean = api.get(f"/tasks/{task.id}", "commander", params={"explain": False}).json()
    assert lean["explanation"] is None
    r = api.get("/tasks/task-unknown", "commander")
    assert r.status_code == 404 and "task-unknown" in r.json()["message"]


def test_alerts_and_advice_by_region_and_date(api: ApiClient, decided: Decided) -> None:
    d = decided.outcome.decision
    alerts = api.get("/alerts", "commander", params={"region": CITY}).json()
    assert {a["region_code"] for a in alerts} == {a.region_code for a in d.alerts
                                                  if a.region_code.startswith("3301")}
    assert all(a["decision_id"] == d.id and a["kind"] == "alert" for a in alerts)
    level = d.alerts[0].level
    same = api.get("/alerts", "commander", params={"level": level}).json()
    assert len(same) == sum(1 for a in d.alerts if a.level == level)
    assert all(a["level"] == level for a in same)
    advice = api.get("/advice", "commander",
                     params={"region": COUNTY, "date": d.decision_date}).json()
    assert len(advice) == sum(1 for a in d.advice if a.region_code == COUNTY)
    assert all(a["texts"] for a in advice)
    assert api.get("/advice", "commander", params={"region": COUNTY,
                                                    "date": "2020-01-01"}).json() == []
    r = api.get("/advice", "commander")
    assert r.status_code == 422 and "region" in r.json()["message"]


def test_documents_per_region_and_format(api: ApiClient, decided: Decided) -> None:
    did = decided.decision_id
    listing = api.get(f"/decisions/{did}/documents", "commander").json()
    codes = {d["region_code"]: d for d in listing}
    assert {CITY, COUNTY} <= set(codes) and codes[CITY]["level"] == "city"
    assert codes[CITY]["tasks"] == sum(1 for t in decided.outcome.decision.tasks
                                       if t.region_code.startswith("3301"))
    html = api.get(codes[COUNTY]["urls"]["html"], "commander")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "上城区大气污染防治任务清单" in html.text and did in html.text
    md = api.get(codes[COUNTY]["urls"]["md"], "commander")
    assert md.headers["content-type"].startswith("text/markdown") and md.text.startswith("# ")
    docx = api.get(codes[COUNTY]["urls"]["docx"], "commander")
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in docx.headers["content-disposition"]
    word = Document(io.BytesIO(docx.content))
    assert word.paragraphs[0].text == "上城区大气污染防治任务清单"
    r = api.get(f"/decisions/{did}/documents/330902", "commander")
    assert r.status_code == 404 and "no tasks" in r.json()["message"]
    r = api.get(f"/decisions/{did}/documents/{COUNTY}", "commander", params={"format": "pdf"})
    assert r.status_code == 422 and "format" in r.json()["message"]
    assert api.get(f"/decisions/{did}/documents/abc", "commander").status_code == 422
    assert api.get(f"/decisions/dec-x/documents/{COUNTY}", "commander").status_code == 404
    assert api.get("/decisions/dec-x/documents", "commander").status_code == 404


def test_runs_list_and_read(api: ApiClient, decided: Decided) -> None:
    runs = api.get("/runs", "commander").json()
    assert runs["total"] == 1
    run = runs["items"][0]
    assert run["id"] == decided.outcome.run_id and run["decisions"] == [decided.decision_id]
    assert Path(run["run_dir"]) == decided.run_dir and run["days"] == ["2026-11-26",
                                                                       "2026-11-27"]
    assert api.get(f"/runs/{run['id']}", "commander").json() == run
    assert api.get("/runs/zj3km-1999010100", "commander").status_code == 404


def _hotspot_enterprise_task(d: Decided) -> str:
    return next(t.id for t in d.outcome.decision.tasks
                if t.subject.kind == "enterprise" and any(r.rule_id.startswith("task.hotspot")
                                                          for r in t.reasons))


def test_evidence_chain_from_task_to_enterprises(api: ApiClient, decided: Decided) -> None:
    tid = _hotspot_enterprise_task(decided)
    chain = api.get(f"/tasks/{tid}/evidence-chain", "investigator").json()
    labels = {lab for n in chain["nodes"] for lab in n["labels"]}
    assert {"Task", "Decision", "Rule", "Article", "Finding", "ModelRun", "GridCell",
            "Enterprise", "AdminRegion"} <= labels
    types = {e["type"] for e in chain["edges"]}
    assert {"HAS_TASK", "DECIDED_ON", "MADE_BY", "CITES", "GROUNDED_IN", "EVIDENCED_BY",
            "FROM_RUN", "IN_CELL", "ABOUT", "ASSIGNED_TO"} <= types
    ids = {n["id"] for n in chain["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in chain["edges"])
    assert decided.outcome.run_id in ids and chain["nodes"][0]["id"] == tid
    # the chain is what the graph holds: replaying a published query gives the same
    rows = decided.store.read(chain["queries"]["rules"], {"id": tid})
    assert {r["r"] for r in rows} <= ids
    assert not api.get(f"/tasks/{tid}/evidence-chain", "admin").json()["truncated"]


def test_evidence_chain_roles(api: ApiClient, decided: Decided) -> None:
    tid = _hotspot_enterprise_task(decided)
    region = next(t.region_code for t in decided.outcome.decision.tasks if t.id == tid)
    url = f"/tasks/{tid}/evidence-chain"
    assert api.get(url).status_code == 401
    assert api.get(url, "expert").status_code == 403
    for role in ("investigator", "admin", "commander"):
        assert api.get(url, role).status_code == 200, role
    scoped_ok, scoped_no = (("hz-bureau", "jx-bureau") if region.startswith("3301")
                            else ("jx-bureau", "hz-bureau"))
    if region[:4] in ("3301", "3304"):
        assert api.get(url, scoped_ok).status_code == 200
    r = api.get(url, scoped_no)
    assert r.status_code == 403 and region in r.json()["message"]
    assert api.get("/tasks/task-unknown/evidence-chain", "investigator").status_code == 404
