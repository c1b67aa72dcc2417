"""One model run, decided end to end: what ``ecobrain decide``, ``POST /runs``, the demo and the
HPC jobs' follow-up all call.

``decide_run(store, run_dir)``:

1. **findings** — the model adapters on the run directory (:func:`collect_findings`, without
   hourly series and station findings: the rules read region days, episodes, hotspots,
   attribution and regimes, never stations);
2. **the run** — ``(:ModelRun {id, model, init_time, run_dir, days, kinds, grid})`` MERGEd on the
   run id (a job's own node if the HPC tracker made it: its job properties are left alone),
   with its daily AQI forecast per province, city and county as ``(:RegionForecast)`` nodes
   (``-[:FORECASTS]->``, ``-[:FOR_REGION]->(:AdminRegion)``), which the task-list documents
   chart;
3. **reasoning** — :func:`ecobrain.reasoning.decisions.pipeline.decide` with the rule base the graph
   holds (the versions experts activated, :mod:`.rule_store`), or the bundled ``rules/``
   folder when the graph has no rules;
4. **saving** — :func:`ecobrain.reasoning.decisions.persist.save_decision`, the decision's trace
   (:mod:`.decision_trace`) and the provenance of the evidence: ``(:Finding)-[:FROM_RUN]->
   (:ModelRun)``, ``-[:IN_CELL]->(:GridCell)`` for hotspots, ``-[:FOR_REGION]->(:AdminRegion)``
   for region findings — the evidence chain task → findings → run → cells → enterprises.

Idempotent: the same run with the same rule versions and knowledge gives the same decision id
and the same nodes; saving it again creates nothing, and the bureaus' task statuses survive
(:mod:`.task_status`). Decisions are made one at a time within a process: 100,000 facts take
~1.7 GB (deciding process and engine worker, docs/benchmarks.md), and two at once on a
command-centre server would only compete for the same cores (the engine itself is safe from
several threads: :mod:`.engine`).

Nothing here imports the API layer; progress is a plain callback.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ecobrain.model_adapters.findings import RunFindings
from ecobrain.ontology.graph.store import GraphStore, Statement
from ecobrain.reasoning.authoring.rulebase import RuleBase
from ecobrain.reasoning.decisions.conclusions import Decision

Progress = Callable[[str, int, int], None]  # (step, number of the step from 1, steps)

STEPS = ("reading the model outputs", "reasoning", "saving the run and the decision")

_DECIDE_LOCK = threading.Lock()


@dataclass
class RunOutcome:
    """What a decision run did: the decision, where its rules came from, how long each step took."""

    decision: Decision
    run_id: str
    run_dir: str
    model: str | None
    rule_source: str
    existed: bool = False  # the same decision was already in the graph
    timings: dict[str, float] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    review_status: str = "draft"  # a decision already approved stays approved (review.py)

    @property
    def decision_id(self) -> str:
        return self.decision.id

    @property
    def repaired(self) -> int:
        """Nodes and relationships this run had to add to a decision already in the graph (a
        trace or links lost since): 0 when it was there whole. Saving is idempotent, so
        anything created on a re-run was missing."""
        if not self.existed:
            return 0
        return self.written.get("nodes_created", 0) + self.written.get(
            "relationships_created", 0)

    def summary(self) -> dict[str, Any]:
        """The decision's summary (``id``, ``run_id`` and counts) with the run's facts."""
        return {**self.decision.summary(), "run_dir": self.run_dir, "model": self.model,
                "rule_source": self.rule_source, "existed": self.existed,
                "repaired": self.repaired, "review_status": self.review_status,
                "timings": dict(self.timings), "findings": dict(self.findings)}


# -- the run ---------------------------------------------------------------------------------------

_RUN = (
    "MERGE (m:ModelRun {id: $r.id}) SET m.model = $r.model, m.init_time = $r.init_time, "
    "m.run_dir = $r.run_dir, m.days = $r.days, m.kinds = $r.kinds, m.grid = $r.grid, "
    "m.standards = $r.standards, m.adapter_notes = $r.notes"
)
_FORECASTS = (
    "UNWIND $rows AS r MATCH (m:ModelRun {id: r.run_id}) "
    "MERGE (f:RegionForecast {id: r.id}) SET f.run_id = r.run_id, "
    "f.region_code = r.region_code, f.region_level = r.region_level, "
    "f.region_name = r.region_name, f.days_json = r.days_json, f.first_day = r.first_day, "
    "f.last_day = r.last_day, f.peak_aqi = r.peak_aqi "
    "MERGE (m)-[:FORECASTS]->(f) WITH f, r "
    "MATCH (g:AdminRegion {code: r.region_code}) MERGE (f)-[:FOR_REGION]->(g)"
)


def _forecast_rows(findings: RunFindings) -> list[dict[str, Any]]:
    by_region: dict[str, list[Any]] = {}
    for d in findings.daily_aqi:
        if d.region_level != "station":
            by_region.setdefault(d.region_code, []).append(d)
    rows = []
    for code, days in sorted(by_region.items()):
        days.sort(key=lambda d: d.date)
        first = days[0]
        series = [{"date": d.date.isoformat(), "aqi": d.aqi, "level": d.level,
                   "category_zh": d.category_zh, "colour": d.colour,
                   "primary": list(d.primary_pollutants), "standard": d.standard}
                  for d in days]
        rows.append({"id": f"{findings.run_id}:{code}", "run_id": findings.run_id,
                     "region_code": code, "region_level": first.region_level,
                     "region_name": first.region_name or "",
                     "days_json": json.dumps(series, ensure_ascii=False),
                     "first_day": series[0]["date"], "last_day": series[-1]["date"],
                     "peak_aqi": max(d.aqi for d in days)})
    return rows


def register_run(store: GraphStore, findings: RunFindings) -> None:
    """The ModelRun node and its region forecasts (idempotent)."""
    grid = findings.grid.model_dump() if findings.grid else None
    rows = _forecast_rows(findings)
    with store.atomic():  # the run with all its forecasts, or nothing
        store.write_all([(_RUN, {"r": {
            "id": findings.run_id, "model": findings.model,
            "init_time": findings.init_time.isoformat() if findings.init_time else None,
            "run_dir": findings.run_dir, "days": [d.isoformat() for d in findings.days],
            "kinds": list(findings.kinds), "grid": json.dumps(grid) if grid else None,
            "standards": sorted(set(findings.standards.values())),
            "notes": list(findings.notes),
        }})])
        if rows:
            store.write_rows(_FORECASTS, rows, batch_size=500)


# -- provenance of the evidence --------------------------------------------------------------------

_FROM_RUN = ("UNWIND $rows AS r MATCH (f:Finding {id: r.id}) MATCH (m:ModelRun {id: r.run}) "
             "MERGE (f)-[:FROM_RUN]->(m)")
_IN_CELL = ("UNWIND $rows AS r MATCH (f:Finding {id: r.id}) MATCH (c:GridCell {id: r.cell}) "
            "MERGE (f)-[:IN_CELL]->(c)")
_FOR_REGION = ("UNWIND $rows AS r MATCH (f:Finding {id: r.id}) "
               "MATCH (g:AdminRegion {code: r.code}) MERGE (f)-[:FOR_REGION]->(g)")


def provenance_statements(decision: Decision) -> list[Statement]:
    runs, cells, regions = [], [], []
    for fid, rec in sorted(decision.findings.items()):
        runs.append({"id": fid, "run": rec.run_id})
        try:
            payload = json.loads(rec.payload)
        except ValueError:
            continue
        if payload.get("cell_id"):
            cells.append({"id": fid, "cell": payload["cell_id"]})
        code = payload.get("region_code") or payload.get("receptor_code")
        if code and payload.get("region_level", payload.get("receptor_level")) != "station":
            regions.append({"id": fid, "code": code})
    out: list[Statement] = []
    for query, rows in ((_FROM_RUN, runs), (_IN_CELL, cells), (_FOR_REGION, regions)):
        for i in range(0, len(rows), 2000):
            out.append((query, {"rows": rows[i:i + 2000]}))
    return out


def action_statements(decision: Decision) -> list[Statement]:
    """Each task's action texts as a list property: task listings read them without parsing
    the task's whole JSON (written after every save, which replaces the node's properties)."""
    rows = [{"id": t.id, "actions": [i.text for i in t.items]} for t in decision.tasks]
    return [("UNWIND $rows AS r MATCH (t:Task {id: r.id}) SET t.actions = r.actions",
             {"rows": rows[i:i + 2000]}) for i in range(0, len(rows), 2000)]


# -- the rule base ---------------------------------------------------------------------------------

def rule_base_for(store: GraphStore | None) -> tuple[RuleBase, str]:
    """The graph's rule versions if it holds any, else the bundled folder (and which it was)."""
    from ecobrain.reasoning.authoring.rule_store import graph_rule_base
    from ecobrain.reasoning.authoring.rulebase import bundled_rules_dir, load_rule_base

    if store is not None:
        base = graph_rule_base(store)
        if base is not None:
            active = sum(1 for e in base.entries if e.rule.status == "active")
            return base, f"graph ({active} active rule versions)"
    return load_rule_base()[0], f"bundled {bundled_rules_dir()}"


# -- the whole run ---------------------------------------------------------------------------------

def decide_run(store: GraphStore, run_dir: str | Path, *, on: date | None = None,
               progress: Progress | None = None, rules: RuleBase | None = None
               ) -> RunOutcome:
    """Findings → run → decision → graph for one run directory (see the module docstring).

    Raises the adapters' errors (:class:`ecobrain.model_adapters.AdapterError`) for a bad run
    directory, :class:`ecobrain.reasoning.language.errors.RuleError` for a rule base that does not
    compile; nothing is written to the graph before the findings are read.
    """
    from ecobrain.model_adapters import collect_findings
    from ecobrain.reasoning.decisions.persist import revision_statement, save_decision
    from ecobrain.reasoning.decisions.pipeline import decide, decision_timings
    from ecobrain.reasoning.decisions.trace import trace_statement

    def step(i: int) -> None:
        if progress is not None:
            progress(STEPS[i], i + 1, len(STEPS))

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step(0)
    findings = collect_findings(run_dir, stations=[], include_hourly=False)
    t1 = time.perf_counter()
    timings["findings_s"] = round(t1 - t0, 3)
    step(1)
    t2 = t1
    if rules is not None:
        base, source = rules, rules.origin
    else:
        base, source = rule_base_for(store)
    with _DECIDE_LOCK:
        decision = decide(findings, store, on=on, rules=base)
    t3 = time.perf_counter()
    timings["decide_s"] = round(t3 - t2, 3)
    timings.update({k: v for k, v in decision_timings.pop(decision.id, {}).items()})
    step(2)
    existed = store.read_one("MATCH (d:Decision {id: $id}) RETURN d.id AS id",
                             {"id": decision.id}) is not None
    # the run, its forecasts, the decision, its trace and provenance: all or nothing (the
    # reasoning does not read the run's nodes, so they are written with the decision)
    with store.atomic():
        register_run(store, findings)
        timings["register_s"] = round(time.perf_counter() - t3, 3)
        written = save_decision(store, decision)  # statuses on existing tasks stay (persist.py)
        written.add(store.write_all([
            trace_statement(decision), *provenance_statements(decision),
            *action_statements(decision), revision_statement(decision.id)]))
    t4 = time.perf_counter()
    timings["save_s"] = round(t4 - t3, 3)
    timings["total_s"] = round(t4 - t0, 3)
    counts = {"daily_aqi": len(findings.daily_aqi), "episodes": len(findings.episodes),
              "hotspots": len(findings.hotspots), "attribution": len(findings.attribution),
              "regimes": len(findings.regimes), "days": len(findings.days)}
    review = store.read_one("MATCH (d:Decision {id: $id}) RETURN d.review_status AS s",
                            {"id": decision.id})
    return RunOutcome(decision=decision, run_id=findings.run_id, run_dir=findings.run_dir,
                      model=findings.model, rule_source=source, existed=existed,
                      timings=timings, written=written.as_dict(), findings=counts,
                      review_status=(review or {}).get("s") or "draft")
