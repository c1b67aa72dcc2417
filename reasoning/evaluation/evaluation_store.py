"""Evaluations in the graph, linked to what they judge.

``save_evaluation`` writes, in one unit::

    (:Decision)-[:EVALUATED_BY]->(:Evaluation {id, run_id, summary_json, json, ...})
    (:Evaluation)-[:EVALUATED_ON]->(:ModelRun)           the later run whose inversion was read
    (:Task)-[:EVALUATED_BY]->(:TaskEvaluation {verdict, disagreement, json, ...})
    (:Evaluation)-[:HAS_TASK_EVALUATION]->(:TaskEvaluation)
    (:Evaluation)-[:HAS_REGION_EVALUATION]->(:RegionEvaluation)-[:ABOUT]->(:AdminRegion)

Ids derive from the decision and the run, so evaluating the same pair again replaces the
figures (a task's status may have moved since) and adds no second node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecobrain.model_adapters.emission_days import read_emission_days
from ecobrain.ontology.graph.store import GraphStore, Statement
from ecobrain.reasoning.evaluation.outcomes import Evaluation
from ecobrain.reasoning.evaluation.plan import read_plan
from ecobrain.reasoning.evaluation.post_measure import evaluate, load_evaluation_config

# rows per statement: a task's evaluation carries its JSON, and ArcadeDB (the Bolt stand-in)
# buffers a whole MERGE batch in a query heap of ~0.5 GB; 2,000 rows overran it
BATCH = 200

_EVAL = (
    "MATCH (d:Decision {id: $decision}) MERGE (e:Evaluation {id: $id}) SET e += $props "
    "MERGE (m:ModelRun {id: $run}) MERGE (d)-[:EVALUATED_BY]->(e) "
    "MERGE (e)-[:EVALUATED_ON]->(m)"
)
_TASKS = (
    "UNWIND $rows AS r MATCH (e:Evaluation {id: $id}) MATCH (t:Task {id: r.task_id}) "
    "MERGE (x:TaskEvaluation {id: r.id}) SET x += r.props "
    "MERGE (t)-[:EVALUATED_BY]->(x) MERGE (e)-[:HAS_TASK_EVALUATION]->(x)"
)
_REGIONS = (
    "UNWIND $rows AS r MATCH (e:Evaluation {id: $id}) "
    "MERGE (x:RegionEvaluation {id: r.id}) SET x += r.props "
    "MERGE (e)-[:HAS_REGION_EVALUATION]->(x) "
    "WITH x, r MATCH (g:AdminRegion {code: r.code}) MERGE (x)-[:ABOUT]->(g)"
)


def save_evaluation(store: GraphStore, ev: Evaluation) -> None:
    props = {
        "decision_id": ev.decision_id, "run_id": ev.run_id,
        "days": [d.isoformat() for d in ev.run_days], "summary_json": ev.summary.model_dump_json(),
        "disagreements": ev.summary.disagreements, "json": ev.model_dump_json(),
    }
    task_rows = [{"id": t.id, "task_id": t.task_id, "props": {
        "evaluation_id": ev.id, "task_id": t.task_id, "region_code": t.region_code,
        "verdict": t.emissions.verdict if t.emissions else "",
        "hotspots_gone": sum(1 for h in t.hotspots if h.gone),
        "hotspots_persisting": sum(1 for h in t.hotspots if not h.gone),
        "status": t.status, "disagreement": t.disagreement or "", "json": t.model_dump_json()}}
        for t in ev.tasks]
    region_rows = [{"id": c.id, "code": c.county_code, "props": {
        "evaluation_id": ev.id, "region_code": c.county_code, "verdict": c.emissions.verdict,
        "json": c.model_dump_json()}} for c in ev.counties]
    statements: list[Statement] = [
        (_EVAL, {"decision": ev.decision_id, "id": ev.id, "run": ev.run_id, "props": props})]
    statements += [(_TASKS, {"id": ev.id, "rows": task_rows[i:i + BATCH]})
                   for i in range(0, len(task_rows), BATCH)]
    statements += [(_REGIONS, {"id": ev.id, "rows": region_rows[i:i + BATCH]})
                   for i in range(0, len(region_rows), BATCH)]
    store.write_all(statements)


def load_evaluation(store: GraphStore, evaluation_id: str) -> Evaluation | None:
    row = store.read_one("MATCH (e:Evaluation {id: $id}) RETURN e.json AS json",
                         {"id": evaluation_id})
    return Evaluation.model_validate_json(row["json"]) if row else None


def evaluations_of(store: GraphStore, decision_id: str) -> list[dict[str, Any]]:
    """The decision's evaluations, newest run last: id, run and summary."""
    return [
        {"id": r["id"], "run_id": r["run_id"], "days": list(r["days"] or []),
         "disagreements": r["disagreements"], "summary_json": r["summary"]}
        for r in store.read(
            "MATCH (:Decision {id: $id})-[:EVALUATED_BY]->(e:Evaluation) "
            "RETURN e.id AS id, e.run_id AS run_id, e.days AS days, "
            "e.disagreements AS disagreements, e.summary_json AS summary ORDER BY run_id, id",
            {"id": decision_id})]


def evaluate_decision(store: GraphStore, decision_id: str, run_dir: str | Path) -> Evaluation:
    """Read the plan, the later run's inversion, evaluate and save (the CLI's and API's call)."""
    cfg = load_evaluation_config()
    plan = read_plan(store, decision_id, cfg.plan_measure)
    days = read_emission_days(run_dir)
    ev = evaluate(plan, days, cfg)
    save_evaluation(store, ev)
    return ev
