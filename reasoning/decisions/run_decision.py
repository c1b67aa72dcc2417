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
   for region findings — the evidence chain task → findings → run → cells → enterprises —
   and the run's pollution episodes with their signatures (the analogue library,
   :mod:`ecobrain.reasoning.evaluation.episodes`; with the run's meteorology when it names
   MCIP files).

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
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.files.manifest import load_run
from ecobrain.model_adapters.findings import RunFindings
from ecobrain.model_adapters.meteorology import run_meteorology
from ecobrain.ontology.graph.store import GraphStore, Statement
from ecobrain.reasoning.authoring.rule_store import graph_rule_base
from ecobrain.reasoning.authoring.rulebase import RuleBase, bundled_rules_dir, load_rule_base
from ecobrain.reasoning.decisions.conclusions import Decision
from ecobrain.reasoning.decisions.memory import memory_statement
from ecobrain.reasoning.decisions.persist import (
    CONCLUSION_LABELS,
    decision_statements,
    revision_statement,
)
from ecobrain.reasoning.decisions.pipeline import decide, decision_memories, decision_timings
from ecobrain.reasoning.decisions.trace import finding_payloads, trace_statement
from ecobrain.reasoning.evaluation.episodes import (
    MeteorologyOf,
    episode_statements,
    signatures,
)

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

# rows grouped by the node the findings point to (one run, ~100 regions, a few cells): a row
# per finding looked the same run up 28,000 times
_FROM_RUN = ("UNWIND $rows AS r MATCH (m:ModelRun {id: r.to}) UNWIND r.ids AS id "
             "MATCH (f:Finding {id: id}) MERGE (f)-[:FROM_RUN]->(m)")
_IN_CELL = ("UNWIND $rows AS r MATCH (c:GridCell {id: r.to}) UNWIND r.ids AS id "
            "MATCH (f:Finding {id: id}) MERGE (f)-[:IN_CELL]->(c)")
_FOR_REGION = ("UNWIND $rows AS r MATCH (g:AdminRegion {code: r.to}) UNWIND r.ids AS id "
               "MATCH (f:Finding {id: id}) MERGE (f)-[:FOR_REGION]->(g)")
_PROVENANCE_BATCH = 2000  # findings per statement


def provenance_statements(decision: Decision,
                          payloads: dict[str, dict[str, Any]] | None = None) -> list[Statement]:
    """`payloads`: the findings' parsed payloads (``trace.finding_payloads``), when at hand."""
    runs: dict[str, list[str]] = {}
    cells: dict[str, list[str]] = {}
    regions: dict[str, list[str]] = {}
    for fid, rec in sorted(decision.findings.items()):
        runs.setdefault(rec.run_id, []).append(fid)
        if payloads is not None:
            payload = payloads.get(fid, {})
        else:
            try:
                payload = json.loads(rec.payload)
            except ValueError:
                continue
            if not isinstance(payload, dict):
                continue
        if payload.get("cell_id"):
            cells.setdefault(payload["cell_id"], []).append(fid)
        code = payload.get("region_code") or payload.get("receptor_code")
        if code and payload.get("region_level", payload.get("receptor_level")) != "station":
            regions.setdefault(code, []).append(fid)
    out: list[Statement] = []
    for query, groups in ((_FROM_RUN, runs), (_IN_CELL, cells), (_FOR_REGION, regions)):
        rows: list[dict[str, Any]] = []
        count = 0
        for to, ids in sorted(groups.items()):
            for i in range(0, len(ids), _PROVENANCE_BATCH):
                part = ids[i:i + _PROVENANCE_BATCH]
                if rows and count + len(part) > _PROVENANCE_BATCH:
                    out.append((query, {"rows": rows}))
                    rows, count = [], 0
                rows.append({"to": to, "ids": part})
                count += len(part)
        if rows:
            out.append((query, {"rows": rows}))
    return out


def action_statements(decision: Decision) -> list[Statement]:
    """Each task's action texts as a list property: task listings read them without parsing
    the task's whole JSON (written after every save, which replaces the node's properties)."""
    rows = [{"id": t.id, "actions": [i.text for i in t.items]} for t in decision.tasks]
    return [("UNWIND $rows AS r MATCH (t:Task {id: r.id}) SET t.actions = r.actions",
             {"rows": rows[i:i + 2000]}) for i in range(0, len(rows), 2000)]


def created_nodes(decision: Decision, findings: RunFindings, *, memory: bool = False,
                  episodes: Sequence[str] = ()) -> dict[str, list[str]]:
    """The nodes a decision's save writes, by label: the unit that saves a new run's first
    decision creates all of them (and Rule nodes only where missing, ON CREATE) — with its
    working memory and its episodes (ids per decision), which a failed save must not leave."""
    nodes: dict[str, list[str]] = {
        "DecisionMemory": [f"memory-{decision.id}"] if memory else [],
        "PollutionEpisode": list(episodes),
        "ModelRun": [findings.run_id], "RegionForecast": [r["id"] for r in
                                                          _forecast_rows(findings)],
        "Decision": [decision.id], "DecisionTrace": [f"trace-{decision.id}"],
        "Finding": sorted({fid for c in decision.conclusions() for fid in c.evidence
                           if fid in decision.findings}),
        "Rule": sorted(decision.rules)}
    for c in decision.conclusions():
        nodes.setdefault(CONCLUSION_LABELS[c.kind], []).append(c.id)
    return nodes


# -- the rule base ---------------------------------------------------------------------------------

def rule_base_for(store: GraphStore | None) -> tuple[RuleBase, str]:
    """The graph's rule versions if it holds any, else the bundled folder (and which it was)."""
    if store is not None:
        base = graph_rule_base(store)
        if base is not None:
            active = sum(1 for e in base.entries if e.rule.status == "active")
            return base, f"graph ({active} active rule versions)"
    return load_rule_base()[0], f"bundled {bundled_rules_dir()}"


# -- the whole run ---------------------------------------------------------------------------------

def _meteorology_of(run_dir: str | Path) -> MeteorologyOf:
    """The run's weather over an episode's days and counties (None without MCIP files)."""
    run = load_run(run_dir)
    return lambda days, counties: run_meteorology(run, days, counties)


def decide_run(store: GraphStore, run_dir: str | Path, *, on: date | None = None,
               progress: Progress | None = None, rules: RuleBase | None = None
               ) -> RunOutcome:
    """Findings → run → decision → graph for one run directory (see the module docstring).

    Raises the adapters' errors (:class:`ecobrain.model_adapters.AdapterError`) for a bad run
    directory, :class:`ecobrain.reasoning.language.errors.RuleError` for a rule base that does not
    compile; nothing is written to the graph before the findings are read.
    """
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
    memory = decision_memories.pop(decision.id, None)
    episodes = signatures(findings, decision.id, meteorology=_meteorology_of(run_dir))
    step(2)

    def follow_up() -> list[Statement]:
        payloads = finding_payloads(decision)  # parsed once for the trace and the provenance
        return [trace_statement(decision, payloads),
                *([memory_statement(memory)] if memory is not None else []),
                *provenance_statements(decision, payloads), *action_statements(decision),
                *episode_statements(episodes), revision_statement(decision.id)]

    existed = store.read_one("MATCH (d:Decision {id: $id}) RETURN d.id AS id",
                             {"id": decision.id}) is not None
    # the run, its forecasts, the decision, its trace and provenance: all or nothing (the
    # reasoning does not read the run's nodes, so they are written with the decision)
    created = created_nodes(decision, findings, memory=memory is not None,
                            episodes=[e.id for e in episodes])
    own = decision_statements(decision)  # statuses on tasks stay (persist.py)
    # what follows the decision's own statements (its trace, working memory, provenance…) is
    # Python work, built in a thread while the server writes the decision (a thread waiting
    # for the server holds no GIL) rather than after it — and only then: started earlier, it
    # would slow the building and formatting of the decision's statements down by as much
    later: list[Future[list[Statement]]] = []
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="decision-save") as pool,
          store.additive(created, unchanged=("Rule",))):
        register_run(store, findings)
        timings["register_s"] = round(time.perf_counter() - t3, 3)
        written = store.write_all(own, meanwhile=lambda: later.append(pool.submit(follow_up)))
        written.add(store.write_all(later[0].result() if later else follow_up()))
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
