"""The decision run of a model run, end to end on the real graph: what is saved and linked,
idempotence (same run, same decision, nothing duplicated, task statuses kept), the graph's rule
versions driving the decision, explanations rebuilt from the stored trace, the CLI.

The tests that write share the module's decided graph and run in file order; the one that
changes the rule base comes last."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from kb_fixture import Decided, graph_counts, issue_all
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.model_adapters import AdapterError
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.authoring.rule_store import set_rule_status
from ecobrain.reasoning.decisions import task_status
from ecobrain.reasoning.decisions.run_decision import decide_run, rule_base_for
from ecobrain.reasoning.decisions.trace import explain_saved

runner = CliRunner()


def one(store: GraphStore, query: str, **params: object) -> dict:
    row = store.read_one(query, params)
    assert row is not None, query
    return row


def test_the_decision_is_saved_with_its_run_grounds_evidence_and_regions(decided: Decided
                                                                          ) -> None:
    s, o = decided.store, decided.outcome
    d = o.decision
    assert o.rule_source.startswith("graph") and not o.existed
    assert d.alerts and d.tasks and d.advice
    run = one(s, "MATCH (d:Decision {id: $id})-[:DECIDED_ON]->(m:ModelRun) RETURN m.id AS id, "
                 "m.model AS model, m.init_time AS init, m.run_dir AS dir, m.days AS days",
              id=d.id)
    assert run["id"] == o.run_id == d.run_id
    assert "synthetic" in run["model"] and run["init"].startswith("2026-11-25T12:00")
    assert Path(run["dir"]) == decided.run_dir and run["days"] == ["2026-11-26", "2026-11-27"]
    counts = one(s, "MATCH (d:Decision {id: $id}) "
                    "OPTIONAL MATCH (d)-[:HAS_ALERT]->(a:Alert) WITH d, count(a) AS alerts "
                    "OPTIONAL MATCH (d)-[:HAS_TASK]->(t:Task) WITH d, alerts, count(t) AS tasks "
                    "OPTIONAL MATCH (d)-[:HAS_ADVICE]->(v:Advice) "
                    "RETURN alerts, tasks, count(v) AS advice", id=d.id)
    assert counts == {"alerts": len(d.alerts), "tasks": len(d.tasks), "advice": len(d.advice)}
    # every task is assigned to its region, grounded in articles, evidenced by findings
    missing = one(s, "MATCH (:Decision {id: $id})-[:HAS_TASK]->(t:Task) "
                     "OPTIONAL MATCH (t)-[:ASSIGNED_TO]->(g:AdminRegion) "
                     "OPTIONAL MATCH (t)-[:GROUNDED_IN]->(a:Article) "
                     "OPTIONAL MATCH (t)-[:EVIDENCED_BY]->(f:Finding) "
                     "WITH t, count(DISTINCT g) AS g, count(DISTINCT a) AS a, "
                     "count(DISTINCT f) AS f RETURN sum(CASE WHEN g = 0 OR a = 0 OR f = 0 "
                     "THEN 1 ELSE 0 END) AS n", id=d.id)
    assert missing["n"] == 0
    red = next(a for a in d.alerts if a.region_code == "330100")
    grounds = s.read("MATCH (a:Alert {id: $id})-[g:GROUNDED_IN]->(x:Article) "
                     "RETURN x.id AS article, g.status AS status", {"id": red.id})
    assert {g["article"] for g in grounds} >= {"cn.air-law.2018.art95"}
    # the evidence chain continues to the run, the cells and the regions
    prov = one(s, "MATCH (:Decision {id: $id})-[:HAS_TASK]->(:Task)-[:EVIDENCED_BY]->(f:Finding) "
                  "OPTIONAL MATCH (f)-[r:FROM_RUN]->(:ModelRun) "
                  "OPTIONAL MATCH (f)-[c:IN_CELL]->(:GridCell) "
                  "OPTIONAL MATCH (f)-[g:FOR_REGION]->(:AdminRegion) "
                  "RETURN count(DISTINCT f) AS findings, count(DISTINCT r) AS runs, "
                  "count(DISTINCT c) AS cells, count(DISTINCT g) AS regions", id=d.id)
    assert prov["runs"] == prov["findings"] and prov["cells"] > 0 and prov["regions"] > 0
    hz = one(s, "MATCH (:ModelRun {id: $run})-[:FORECASTS]->(f:RegionForecast)-[:FOR_REGION]->"
                "(:AdminRegion {code: '330100'}) RETURN f.days_json AS days", run=o.run_id)
    days = json.loads(hz["days"])
    assert [x["date"] for x in days] == ["2026-11-26", "2026-11-27"]
    assert all(x["aqi"] > 0 and x["colour"].startswith("#") for x in days)
    assert one(s, "MATCH (:Decision {id: $id})-[:HAS_TRACE]->(t:DecisionTrace) "
                  "RETURN t.bytes AS b", id=d.id)["b"] > 10_000


def test_explanations_rebuilt_from_the_graph_equal_the_decisions_own(decided: Decided) -> None:
    d = decided.outcome.decision
    for c in [d.tasks[0], d.tasks[-1], d.alerts[0], d.advice[0]]:
        saved = explain_saved(decided.store, c.id)
        assert saved.model_dump() == d.explain(c.id).model_dump()
    assert "规则" in explain_saved(decided.store, d.tasks[0].id).to_text()
    with pytest.raises(KeyError):
        explain_saved(decided.store, "task-unknown")


def test_deciding_the_same_run_again_changes_nothing_and_keeps_statuses(
        module_decided: Decided) -> None:
    s = module_decided.store
    first = module_decided.outcome.decision
    task = first.tasks[0].id
    issue_all(module_decided)
    task_status.update_status(s, task, "received", by="hz-bureau", note="已接收")
    before = graph_counts(s)
    again = decide_run(s, module_decided.run_dir)
    assert again.existed and again.decision_id == first.id
    assert again.written["nodes_created"] == 0 and again.written["relationships_created"] == 0
    assert graph_counts(s) == before
    row = one(s, "MATCH (t:Task {id: $id}) RETURN t.status AS s, t.status_by AS by", id=task)
    assert row == {"s": "received", "by": "hz-bureau"}
    assert [h["to"] for h in task_status.history(s, task)] == ["issued", "received"]


def test_saving_a_decision_again_keeps_what_bureaus_reported(module_decided: Decided) -> None:
    """save_decision on its own (not only through decide_run) leaves statuses, their version
    counters and task actions on the nodes: a re-save while a bureau reports loses nothing."""
    from ecobrain.reasoning.decisions.persist import save_decision

    s = module_decided.store
    d = module_decided.outcome.decision
    task = d.tasks[1].id
    issue_all(module_decided)
    task_status.update_status(s, task, "received", by="nb-bureau", note="收到")
    q = ("MATCH (t:Task {id: $id}) RETURN t.status AS s, t.status_version AS v, "
         "t.actions AS a, t.json AS j")
    before = one(s, q, id=task)
    assert before["s"] == "received" and before["v"] == 2 and before["a"]  # issued, received
    written = save_decision(s, d)
    assert written.nodes_created == 0 and written.relationships_created == 0
    assert one(s, q, id=task) == before


def test_a_directory_that_is_not_a_run_is_refused_before_anything_is_written(
        module_decided: Decided, tmp_path: Path) -> None:
    before = graph_counts(module_decided.store)
    with pytest.raises(AdapterError) as err:
        decide_run(module_decided.store, tmp_path)
    assert "run.json" in str(err.value)
    assert graph_counts(module_decided.store) == before


def test_cli_decide_prints_the_summary_and_refuses_bad_options(module_decided: Decided) -> None:
    run = str(module_decided.run_dir)
    res = runner.invoke(app, ["decide", run, "--no-documents"], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    assert module_decided.outcome.decision_id in res.output
    assert "already in the graph" in res.output
    assert "杭州市" in res.output and "total" in res.output
    bad = runner.invoke(app, ["decide", run, "--date", "25/11/2026"])
    assert bad.exit_code == 1 and "--date" in bad.output
    bad = runner.invoke(app, ["decide", run, "--format", "pdf"])
    assert bad.exit_code == 1 and "html, md, docx" in bad.output
    missing = runner.invoke(app, ["decide", run + "-missing"])
    assert missing.exit_code == 2


def test_cli_decide_names_the_bad_file(module_decided: Decided, tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text('{"id": "x", "outputs": []}', encoding="utf-8")
    res = runner.invoke(app, ["decide", str(tmp_path), "--no-documents"])
    assert res.exit_code == 2
    assert "run.json" in res.output


def test_the_graphs_rule_versions_drive_the_decision(module_decided: Decided) -> None:
    s = module_decided.store
    first = module_decided.outcome.decision
    grade_d = [t for t in first.tasks if "task.emergency.grade-d@1" in t.rule_keys]
    assert grade_d
    set_rule_status(s, "task.emergency.grade-d", 1, False, by="test-expert")
    base, source = rule_base_for(s)
    assert source.startswith("graph")
    assert "task.emergency.grade-d@1" not in {e.key for e in base.in_force(
        dt.date(2026, 11, 25))}
    second = decide_run(s, module_decided.run_dir)
    assert second.decision_id != first.id and not second.existed
    assert "task.emergency.grade-d@1" not in second.decision.rule_versions
    assert not [t for t in second.decision.tasks if "task.emergency.grade-d@1" in t.rule_keys]
    # both decisions stay in the graph, each with its own tasks
    n = one(s, "MATCH (d:Decision)-[:DECIDED_ON]->(:ModelRun {id: $run}) RETURN count(d) AS n",
            run=second.run_id)
    assert n["n"] == 2
