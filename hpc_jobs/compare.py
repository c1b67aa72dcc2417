"""Baseline vs scenario: the expected effect of a control measure, per city and county.

From the findings of the two runs (the model adapters' :class:`RunFindings`), for every region
both runs report: the daily AQI and its change, the days over each AQI level in each run and how
many the measure avoids (AQI > 100 light, > 150 moderate, > 200 heavy, > 300 severe pollution),
and the change of the peak. The comparison is saved in the graph as a
``(:ScenarioComparison)`` linked to both runs and, when the scenario tests a decision's advice,
``(:Decision)-[:EXPECTED_EFFECT]->(:ScenarioComparison)``, so the task-list documents can show
the measure's expected effect next to the task (:func:`expected_effects`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from ecobrain.model_adapters.findings import RegionDailyAQI, RunFindings
from ecobrain.ontology.graph.store import GraphStore

THRESHOLDS = (100, 150, 200, 300)
LEVELS = ("province", "city", "county")


class DayEffect(BaseModel):
    date: dt.date
    baseline_aqi: int
    scenario_aqi: int
    change: int = Field(description="scenario - baseline (negative: better)")
    baseline_level: int
    scenario_level: int
    baseline_primary: list[str]
    scenario_primary: list[str]


class RegionEffect(BaseModel):
    region_code: str
    region_name: str | None
    region_level: str
    city_code: str | None
    days: list[DayEffect]
    days_over: dict[str, dict[str, int]] = Field(
        description="AQI threshold -> {baseline, scenario, avoided} day counts (AQI > threshold)")
    peak_baseline: int
    peak_scenario: int
    peak_change: int
    mean_change: float


class ComparisonSummary(BaseModel):
    regions: int
    regions_improved: int = Field(description="regions whose AQI falls on at least one day")
    days_avoided: dict[str, int] = Field(
        description="threshold -> county-days over it avoided (summed over counties)")
    city_days_avoided: dict[str, int] = Field(description="threshold -> city-days avoided")
    largest_fall: dict[str, Any] | None = Field(
        description="the region-day with the largest AQI fall")


class ScenarioComparison(BaseModel):
    id: str
    scenario_run_id: str
    baseline_run_id: str
    decision_id: str | None = None
    measure: str | None = None
    days: list[dt.date]
    thresholds: list[int]
    regions: list[RegionEffect]
    summary: ComparisonSummary
    notes: list[str] = Field(default_factory=list)

    def region(self, code: str) -> RegionEffect | None:
        return next((r for r in self.regions if r.region_code == code), None)


def compare_runs(
    baseline: RunFindings,
    scenario: RunFindings,
    *,
    decision_id: str | None = None,
    measure: str | None = None,
    thresholds: Sequence[int] = THRESHOLDS,
    levels: Sequence[str] = LEVELS,
) -> ScenarioComparison:
    notes: list[str] = []

    def index(f: RunFindings) -> dict[str, dict[dt.date, RegionDailyAQI]]:
        out: dict[str, dict[dt.date, RegionDailyAQI]] = defaultdict(dict)
        for d in f.daily_aqi:
            if d.region_level in levels:
                out[d.region_code][d.date] = d
        return out

    b, s = index(baseline), index(scenario)
    if not b:
        raise ValueError(f"baseline run {baseline.run_id} has no daily AQI findings to compare")
    if not s:
        raise ValueError(f"scenario run {scenario.run_id} has no daily AQI findings to compare")
    days = sorted(set(baseline.days) & set(scenario.days))
    if not days:
        raise ValueError(f"runs {baseline.run_id} and {scenario.run_id} share no forecast day")
    only_b = sorted(set(baseline.days) - set(scenario.days))
    if only_b:
        notes.append(f"baseline days not in the scenario: {', '.join(map(str, only_b))}")
    missing = sorted(set(b) ^ set(s))
    if missing:
        notes.append(f"regions in only one run (left out): {', '.join(missing[:10])}")
    regions: list[RegionEffect] = []
    for code in sorted(set(b) & set(s)):
        pairs = [(b[code][d], s[code][d]) for d in days if d in b[code] and d in s[code]]
        if not pairs:
            continue
        effects = [DayEffect(date=x.date, baseline_aqi=x.aqi, scenario_aqi=y.aqi,
                             change=y.aqi - x.aqi, baseline_level=x.level, scenario_level=y.level,
                             baseline_primary=list(x.primary_pollutants),
                             scenario_primary=list(y.primary_pollutants)) for x, y in pairs]
        over = {}
        for t in thresholds:
            nb = sum(1 for e in effects if e.baseline_aqi > t)
            ns = sum(1 for e in effects if e.scenario_aqi > t)
            over[str(t)] = {"baseline": nb, "scenario": ns, "avoided": nb - ns}
        first = pairs[0][0]
        pb = max(e.baseline_aqi for e in effects)
        ps = max(e.scenario_aqi for e in effects)
        regions.append(RegionEffect(
            region_code=code, region_name=first.region_name, region_level=first.region_level,
            city_code=first.city_code, days=effects, days_over=over, peak_baseline=pb,
            peak_scenario=ps, peak_change=ps - pb,
            mean_change=round(sum(e.change for e in effects) / len(effects), 2)))
    level_order = {lv: i for i, lv in enumerate(LEVELS)}
    regions.sort(key=lambda r: (level_order.get(r.region_level, 9), r.region_code))
    falls = [(e.change, r, e) for r in regions for e in r.days if e.change < 0]
    largest = None
    if falls:
        ch, r, e = min(falls, key=lambda x: (x[0], x[1].region_code, x[2].date))
        largest = {"region_code": r.region_code, "region_name": r.region_name,
                   "date": e.date.isoformat(), "baseline_aqi": e.baseline_aqi,
                   "scenario_aqi": e.scenario_aqi, "change": ch}

    def avoided(level: str) -> dict[str, int]:
        return {str(t): sum(r.days_over[str(t)]["avoided"] for r in regions
                            if r.region_level == level) for t in thresholds}

    summary = ComparisonSummary(
        regions=len(regions),
        regions_improved=sum(1 for r in regions if any(e.change < 0 for e in r.days)),
        days_avoided=avoided("county"), city_days_avoided=avoided("city"),
        largest_fall=largest)
    return ScenarioComparison(
        id=f"cmp-{scenario.run_id}", scenario_run_id=scenario.run_id,
        baseline_run_id=baseline.run_id, decision_id=decision_id, measure=measure, days=days,
        thresholds=list(thresholds), regions=regions, summary=summary, notes=notes)


# --------------------------------------------------------------------------- graph


def save_comparison(store: GraphStore, cmp: ScenarioComparison) -> None:
    """MERGE the comparison and its edges (to both runs and, if it exists, the decision)."""
    props = {
        "scenario_run_id": cmp.scenario_run_id, "baseline_run_id": cmp.baseline_run_id,
        "decision_id": cmp.decision_id, "measure": cmp.measure,
        "days": [d.isoformat() for d in cmp.days],
        "summary_json": cmp.summary.model_dump_json(),
        "regions_json": json.dumps([r.model_dump(mode="json") for r in cmp.regions],
                                   ensure_ascii=False),
        "notes_json": json.dumps(cmp.notes, ensure_ascii=False),
        "days_avoided_over_100": cmp.summary.days_avoided.get("100", 0),
        "regions_improved": cmp.summary.regions_improved,
    }
    statements: list[tuple[str, dict[str, Any]]] = [
        ("MERGE (c:ScenarioComparison {id: $id}) SET c += $props",
         {"id": cmp.id, "props": props}),
        ("MATCH (c:ScenarioComparison {id: $id}) MERGE (s:ModelRun {id: $scn}) "
         "MERGE (b:ModelRun {id: $base}) MERGE (s)-[:HAS_COMPARISON]->(c) "
         "MERGE (c)-[:BASELINE]->(b)",
         {"id": cmp.id, "scn": cmp.scenario_run_id, "base": cmp.baseline_run_id}),
    ]
    if cmp.decision_id:
        statements.append(
            ("MATCH (c:ScenarioComparison {id: $id}) MATCH (d:Decision {id: $did}) "
             "MERGE (d)-[:EXPECTED_EFFECT]->(c)", {"id": cmp.id, "did": cmp.decision_id}))
    store.write_all(statements)


def _from_props(node: dict[str, Any]) -> ScenarioComparison:
    p = node.get("properties", node)
    return ScenarioComparison(
        id=p["id"], scenario_run_id=p["scenario_run_id"], baseline_run_id=p["baseline_run_id"],
        decision_id=p.get("decision_id"), measure=p.get("measure"),
        days=[dt.date.fromisoformat(d) for d in p.get("days") or []],
        thresholds=list(THRESHOLDS),
        regions=[RegionEffect.model_validate(r) for r in json.loads(p["regions_json"])],
        summary=ComparisonSummary.model_validate_json(p["summary_json"]),
        notes=json.loads(p.get("notes_json") or "[]"))


def load_comparison(store: GraphStore, comparison_id: str) -> ScenarioComparison | None:
    row = store.read_one("MATCH (c:ScenarioComparison {id: $id}) RETURN c AS p",
                         {"id": comparison_id})
    return _from_props(row["p"]) if row else None


def expected_effects(store: GraphStore, decision_id: str) -> list[ScenarioComparison]:
    """The scenario comparisons saved for a decision (the documents show them per region)."""
    rows = store.read(
        "MATCH (c:ScenarioComparison) WHERE c.decision_id = $did "
        "RETURN c AS p ORDER BY c.id", {"did": decision_id})
    return [_from_props(r["p"]) for r in rows]


def expected_effect_rows(store: GraphStore, decision_id: str, region_code: str
                         ) -> list[dict[str, Any]]:
    """Flat rows for a task list of one region: measure, days avoided per level, peak change."""
    out = []
    for cmp in expected_effects(store, decision_id):
        r = cmp.region(region_code)
        if r is None:
            continue
        out.append({
            "comparison_id": cmp.id, "scenario_run_id": cmp.scenario_run_id,
            "baseline_run_id": cmp.baseline_run_id, "measure": cmp.measure,
            "region_code": r.region_code, "region_name": r.region_name,
            "days_over": r.days_over, "peak_baseline": r.peak_baseline,
            "peak_scenario": r.peak_scenario, "peak_change": r.peak_change,
            "mean_change": r.mean_change,
            "days": [d.model_dump(mode="json") for d in r.days],
        })
    return out
