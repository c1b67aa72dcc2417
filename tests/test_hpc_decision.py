"""The whole loop with the real decision pipeline: a decision's advice is tested as a scenario.

baseline run -> decision run (``decide_run``) -> advice on local sources -> scenario request ->
job (stand-in model through the local executor) -> outputs registered -> the scenario run
decided in its turn (``decide: true``) -> comparison saved as the decision's expected effect,
per region -> shown in the region's task-list document.
"""

from __future__ import annotations

from pathlib import Path

from hpc_helpers import baseline_run, settings

from ecobrain.api.documents.task_list import render_documents
from ecobrain.api.jobs_decide import decide_callback
from ecobrain.hpc_jobs.compare import expected_effect_rows, expected_effects
from ecobrain.hpc_jobs.scenario import advice_from_decision, scenario_request
from ecobrain.hpc_jobs.tracker import JobTracker
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.run_decision import decide_run


def test_decision_advice_tested_as_a_scenario(store: GraphStore, tmp_path: Path) -> None:
    decision = decide_run(store, baseline_run()).decision

    items, notes = advice_from_decision(decision, regions={"330100"})
    assert items, "the baseline's Hangzhou industry tag should draw facility advice"
    assert {i.sector for i in items} >= {"IndustrialSource"}
    assert all(i.region == "330100" and i.reduction_pct for i in items)
    # Hangzhou is on alert in the sample: the emergency measure's ratio is the reduction.
    ratio = next(m.reduction_ratio for m in decision.measures if m.region_code == "330100")
    assert {i.reduction_pct for i in items} == {round(ratio * 100, 3)}
    assert any("RegionalJointControl advice without local sources" in n for n in notes)

    req = scenario_request(items, baseline_run(), decision_id=decision.id, decide=True,
                           resources={"time_limit": "00:10:00"})
    tracker = JobTracker(store, settings(tmp_path), on_registered=decide_callback(store))
    rec = tracker.submit(req).record
    tracker.watch(interval=0.3, timeout=180)
    rec = tracker.get(rec.id)
    assert rec.state == "REGISTERED", (rec.reason, rec.error_tail, rec.followup)
    assert "decide_error" not in rec.followup, rec.followup
    assert rec.followup["decide"]["run_id"] == rec.id

    # The scenario run was decided on in its turn, on the job's own ModelRun node.
    row = store.read_one("MATCH (d:Decision)-[:DECIDED_ON]->(r:ModelRun {id: $id}) "
                         "RETURN d.id AS d, r.state AS state", {"id": rec.id})
    assert row == {"d": rec.followup["decide"]["id"], "state": "REGISTERED"}
    # The baseline decision knows the measure's expected effect.
    effects = expected_effects(store, decision.id)
    assert [e.scenario_run_id for e in effects] == [rec.id]
    hz = expected_effect_rows(store, decision.id, "330100")[0]
    assert hz["peak_change"] < 0 and all(d["change"] <= 0 for d in hz["days"])
    row = store.read_one(
        "MATCH (d:Decision {id: $did})-[:TESTED_BY]->(r:ModelRun {id: $id}) "
        "MATCH (d)-[:EXPECTED_EFFECT]->(c:ScenarioComparison)<-[:HAS_COMPARISON]-(r) "
        "RETURN c.regions_improved AS n", {"did": decision.id, "id": rec.id})
    assert row["n"] > 0

    # The task-list document of Hangzhou shows the measure's expected effect.
    docs = render_documents(store, decision.id, tmp_path / "docs", formats=["md"],
                            regions=["330100"], workers=1)
    (doc,) = docs.documents
    md = (docs.folder / doc.files["md"]).read_text(encoding="utf-8")
    assert doc.code == "330100" and rec.id in md and f"峰值AQI {hz['peak_baseline']}→" in md
