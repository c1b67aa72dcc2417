"""What an approved decision planned, read back from the graph for its evaluation.

The plan is what was dispatched: the EmergencyEmissionReduction measures (region, level, the
reduction ratio, the alert's days), every task with its subject, day-by-day schedule, the
hotspot findings it rests on and the bureau's reported status, and the enterprises' locations
and pollutants. Only an approved decision has a plan: a draft dispatched nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.review import APPROVED, review_state
from ecobrain.reasoning.decisions.store import NotFound
from ecobrain.reasoning.decisions.task_status import INITIAL


class NotApproved(RuntimeError):
    """The decision is still a draft: nothing was dispatched, nothing to evaluate (HTTP 409)."""


@dataclass(frozen=True)
class PlanMeasure:
    region_code: str
    level: str
    reduction_ratio: float
    start: dt.date
    end: dt.date
    pollutants: tuple[str, ...]

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class ScheduleDay:
    day: dt.date
    level: str
    measure_type: str


@dataclass
class PlanTask:
    id: str
    region_code: str
    region_name: str
    city_code: str | None
    status: str
    status_note: str
    subject_kind: str
    subject_id: str
    subject_name: str
    measure_types: list[str]
    measure_labels: list[str]
    schedule: list[ScheduleDay]
    hotspots: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Plan:
    decision_id: str
    run_id: str
    decision_date: dt.date
    measures: list[PlanMeasure]
    tasks: list[PlanTask]
    enterprises: dict[str, dict[str, Any]]

    def level_ratios(self) -> dict[str, float]:
        """Alert level -> the plan's reduction ratio (the measures carry one per level)."""
        out: dict[str, float] = {}
        for m in self.measures:
            out[m.level] = max(out.get(m.level, 0.0), m.reduction_ratio)
        return out


def _days(a: str, b: str) -> list[dt.date]:
    d0, d1 = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    return [d0 + dt.timedelta(days=i) for i in range((d1 - d0).days + 1)]


def read_plan(store: GraphStore, decision_id: str, plan_measure: str) -> Plan:
    """The approved decision's plan (:class:`NotApproved` for a draft)."""
    state = review_state(store, decision_id)  # NotFound for an unknown id
    if state["review_status"] != APPROVED:
        raise NotApproved(f"decision {decision_id} is not approved: its tasks were never "
                          "dispatched, so there is nothing to evaluate")
    d = store.read_one("MATCH (d:Decision {id: $id}) RETURN d.date AS date, d.run_id AS run",
                       {"id": decision_id})
    if d is None:
        raise NotFound(f"no decision {decision_id!r}")
    measures = [
        PlanMeasure(r["region"], r["level"], float(r["ratio"]), dt.date.fromisoformat(r["start"]),
                    dt.date.fromisoformat(r["end"]), tuple(r["pollutants"] or ()))
        for r in store.read(
            "MATCH (:Decision {id: $id})-[:HAS_MEASURE]->(m:Measure) "
            "WHERE m.measure_type = $type AND m.reduction_ratio IS NOT NULL "
            "AND m.start IS NOT NULL AND m.end IS NOT NULL "
            "RETURN m.region_code AS region, m.level AS level, m.reduction_ratio AS ratio, "
            "m.start AS start, m.end AS end, m.pollutants AS pollutants "
            "ORDER BY region, level, start", {"id": decision_id, "type": plan_measure})]
    tasks: list[PlanTask] = []
    hotspot_ids: set[str] = set()
    rows = store.read(
        "MATCH (:Decision {id: $id})-[:HAS_TASK]->(t:Task) "
        "OPTIONAL MATCH (t)-[:EVIDENCED_BY]->(f:Finding {kind: 'emission_hotspot'}) "
        "RETURN t.id AS id, t.json AS json, coalesce(t.status, $initial) AS status, "
        "coalesce(t.status_note, '') AS note, "
        "collect(f.id) AS hotspots ORDER BY id", {"id": decision_id, "initial": INITIAL})
    for r in rows:
        j = json.loads(r["json"])
        schedule = [ScheduleDay(day, e["level"], e["measure_type"])
                    for e in j.get("schedule") or [] for day in _days(e["date_from"],
                                                                       e["date_to"])]
        hs = sorted(h for h in r["hotspots"] or [] if h)
        hotspot_ids.update(hs)
        tasks.append(PlanTask(
            id=r["id"], region_code=j["region_code"], region_name=j.get("region_name") or "",
            city_code=j.get("city_code"), status=r["status"], status_note=r["note"],
            subject_kind=j["subject"]["kind"], subject_id=j["subject"]["id"],
            subject_name=j["subject"].get("name") or j["subject"]["id"],
            measure_types=list(j.get("measure_types") or []),
            measure_labels=list(dict.fromkeys(i["measure_label"]
                                              for i in j.get("items") or [])),
            schedule=schedule,
            hotspots=[{"id": h} for h in hs]))
    findings = {r["id"]: json.loads(r["json"]) for r in store.read(
        "MATCH (f:Finding) WHERE f.id IN $ids RETURN f.id AS id, f.json AS json",
        {"ids": sorted(hotspot_ids)})}
    for t in tasks:
        t.hotspots = [{"id": h["id"], **findings[h["id"]]} for h in t.hotspots
                      if h["id"] in findings]
    ent_ids = sorted({t.subject_id for t in tasks if t.subject_kind == "enterprise"})
    enterprises = {r["id"]: r for r in store.read(
        "MATCH (e:Enterprise) WHERE e.id IN $ids RETURN e.id AS id, e.name AS name, "
        "e.lon AS lon, e.lat AS lat, e.pollutants AS pollutants, e.county_code AS county_code, "
        "e.sector AS sector, e.performance_grade AS grade", {"ids": ent_ids})}
    return Plan(decision_id, d["run"], dt.date.fromisoformat(d["date"]), measures, tasks,
                enterprises)
