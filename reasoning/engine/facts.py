"""Facts = findings + graph context, each with a unique id, a partition and its evidence.

From one run's findings this builds the input facts of :mod:`.fact_types`: per-region alert
assessments and daily AQI, episodes, hotspots with the registered enterprises in their cell
and the 8 neighbours, attribution summaries, O3 regimes. The graph is read in a few batched
queries (all enterprises of all hotspot neighbourhoods in one, region names in one), never
one query per fact.

The enterprises of an *alerted* region are not facts up front: a province has thousands and
most runs alert nowhere. :class:`GraphContext` adds them when the engine concludes an alert
(``enterprise_in_region``, for that region only, one query per stratum), so the cost follows
the alerts, not the size of the enterprise register.

Every fact has a partition (``sid``): the city code of the region it is about (a hotspot: the
cell's city; a hotspot's enterprise: the hotspot's city), ``*`` for province-wide facts, which
are copied into every city; see :mod:`.engine`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ecobrain.model_adapters.findings import EmissionHotspot, RegionDailyAQI, RunFindings
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.engine import derived
from ecobrain.reasoning.engine.runner import (
    ALL_PARTITIONS,
    DEFAULT_PARTITION,
    RegionInfo,
    paused_gc,
    region_from_code,
)
from ecobrain.reasoning.language.concept_index import ConceptIndex

OUTSIDE_PARTITION = "outside"

_ENTERPRISE_COLUMNS = (
    "e.id AS id, e.name AS name, e.county_code AS county_code, e.city_code AS city_code, "
    "e.sector AS sector, e.pollutants AS pollutants, e.performance_grade AS performance_grade, "
    "e.key_enterprise AS key_enterprise, e.online_monitoring AS online_monitoring, "
    "e.cell_id AS cell_id, e.lon AS lon, e.lat AS lat"
)


@dataclass
class FactSet:
    """The input facts of a decision, with what they rest on."""

    facts: list[dict[str, Any]]
    evidence: dict[str, list[str]] = field(default_factory=dict)  # fact id -> finding ids
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> kind, json
    regions: dict[str, RegionInfo] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # every city, for province-wide facts

    _digest: tuple[int, str] | None = field(default=None, repr=False)

    @property
    def digest(self) -> str:
        """A digest of the facts (order-independent): part of the decision id."""
        if self._digest is None or self._digest[0] != len(self.facts):
            # facts are built in a deterministic order (fields too): no need to sort keys
            body = json.dumps(sorted(self.facts, key=lambda f: f["id"]), default=str)
            self._digest = (len(self.facts), hashlib.sha256(body.encode()).hexdigest()[:16])
        return self._digest[1]


def partition_of(region_code: str | None, city_code: str | None = None) -> str:
    """The city of the region (province-wide facts: every partition, ``*``)."""
    if region_code and region_from_code(region_code).level == "province":
        return ALL_PARTITIONS
    if city_code:
        return city_code
    if not region_code:
        return OUTSIDE_PARTITION
    return region_from_code(region_code).city_code or OUTSIDE_PARTITION


_TYPE_ID = ("type", "id")


def _fact(ftype: str, fid: str, fields: Mapping[str, Any], sid: str,
          skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """type, id, sid, then the fields that have a value (those named in `skip` left out).

    One pass over the fields, no intermediate dict: 100k facts go through here.
    """
    out = {"type": ftype, "id": fid, "sid": sid}
    for k, v in fields.items():
        if v is not None and v != [] and k not in skip:
            out[k] = v
    return out


def read_regions(store: GraphStore | None, codes: Sequence[str]) -> dict[str, RegionInfo]:
    """Names, levels and cities of the regions named (one query), code structure otherwise."""
    out = {c: region_from_code(c) for c in codes if c}
    if store is None or not out:
        return out
    rows = store.read("MATCH (r:AdminRegion) WHERE r.code IN $codes RETURN r.code AS code, "
                      "r.name_zh AS name, r.level AS level, r.parent_code AS parent",
                      {"codes": sorted(out)})
    for r in rows:
        level = r["level"] or out[r["code"]].level
        city = r["code"] if level == "city" else (r["parent"] if level == "county" else None)
        out[r["code"]] = RegionInfo(r["code"], r["name"], level, city)
    return out


def read_emergency_plans(store: GraphStore | None, codes: Sequence[str],
                         on: date | None) -> dict[str, str]:
    """The emergency plan of each region in force on `on` (one query), by region code.

    A plan is an ``(:EmergencyPlan)`` (a kind of Regulation, with ``valid_from``/``valid_to``)
    ``-[:IN_REGION]->`` the region it covers. None are bundled: Zhejiang's plans are not
    available as text here (FACTS.md §3.D); experts load them as regulations.
    """
    if store is None or not codes:
        return {}
    day = (on or date.today()).isoformat()
    rows = store.read(
        "MATCH (p:EmergencyPlan)-[:IN_REGION]->(r:AdminRegion) WHERE r.code IN $codes "
        "AND (p.valid_from IS NULL OR p.valid_from <= $day) "
        "AND (p.valid_to IS NULL OR p.valid_to >= $day) "
        "RETURN r.code AS code, p.id AS id ORDER BY code, id", {"codes": list(codes),
                                                               "day": day})
    out: dict[str, str] = {}
    for r in rows:
        out.setdefault(r["code"], r["id"])
    return out


def read_cities(store: GraphStore | None) -> list[str]:
    """Every city code the graph knows (regions, and the cities of registered enterprises)."""
    if store is None:
        return []
    cities = {r["c"] for r in store.read("MATCH (c:AdminRegion) WHERE c.level = 'city' "
                                         "RETURN c.code AS c")}
    cities |= {r["c"] for r in store.read("MATCH (e:Enterprise) WHERE e.city_code IS NOT NULL "
                                          "RETURN DISTINCT e.city_code AS c")}
    return sorted(c for c in cities if c)


def hotspot_bbox(hotspots: Sequence[EmissionHotspot]) -> tuple[float, float, float, float]:
    """(west, south, east, north) around every hotspot, wide enough for its cell and its
    search radius (a generous box; the exact selection is :func:`derived.near_hotspot`)."""
    reach = [max(derived.search_radius(h), 0.75 * _cell_km(h)) + 1.0 for h in hotspots]
    lat_pad = [r / 111.0 for r in reach]
    lon_pad = [p / max(math.cos(math.radians(h.lat)), 0.1) for p, h in zip(lat_pad, hotspots,
                                                                          strict=True)]
    return (min(h.lon - p for h, p in zip(hotspots, lon_pad, strict=True)),
            min(h.lat - p for h, p in zip(hotspots, lat_pad, strict=True)),
            max(h.lon + p for h, p in zip(hotspots, lon_pad, strict=True)),
            max(h.lat + p for h, p in zip(hotspots, lat_pad, strict=True)))


def _cell_km(h: EmissionHotspot) -> float:
    g = h.grid
    if g is None:
        return 3.0
    return max(g.xcell, g.ycell) * (111.0 if g.gdtyp == 1 else 1e-3)


def read_enterprises_near(store: GraphStore, hotspots: Sequence[EmissionHotspot]
                          ) -> list[dict[str, Any]]:
    """Registered enterprises in a box around the hotspots (one query); which of them are
    candidates of which hotspot is decided by geometry in :mod:`.derived`."""
    if not hotspots:
        return []
    w, s, e, n = hotspot_bbox(hotspots)
    return store.read(f"MATCH (e:Enterprise) WHERE e.lon >= $w AND e.lon <= $e AND "
                      f"e.lat >= $s AND e.lat <= $n RETURN {_ENTERPRISE_COLUMNS} ORDER BY id",
                      {"w": w, "s": s, "e": e, "n": n})


def assemble_facts(findings: RunFindings, store: GraphStore | None,
                   concepts: ConceptIndex,
                   enterprises: Sequence[Mapping[str, Any]] | None = None,
                   on: date | None = None) -> FactSet:
    """All input facts of a run (graph context as on `on`, the decision date).

    `enterprises` (rows with lon/lat) replaces the graph's register (tests, benchmarks).
    """
    with paused_gc(), derived.findings_kept():
        return _assemble(findings, store, concepts, enterprises, on)


def _assemble(findings: RunFindings, store: GraphStore | None, concepts: ConceptIndex,
              enterprises: Sequence[Mapping[str, Any]] | None,
              on: date | None) -> FactSet:
    fs = FactSet(facts=[])
    run = findings.run_id

    def remember(finding: Any) -> str:
        fid, body = derived.finding_id_and_json(finding)
        if fid not in fs.findings:
            fs.findings[fid] = {"id": fid, "kind": finding.kind, "run_id": finding.run_id,
                                "payload": body}
        return fid

    region_daily = [d for d in findings.daily_aqi if d.region_level != "station"]
    for d in region_daily:
        remember(d)
    assessments = derived.alert_assessments(region_daily)
    plans = read_emergency_plans(store, [a.fields["region_code"] for a in assessments], on)
    for a in assessments:
        f = a.fields
        f["emergency_plan_id"] = plans.get(f["region_code"])
        fid = f"aa.{run}.{f['region_code']}"
        fs.facts.append(_fact("alert_assessment", fid, f,
                              partition_of(f["region_code"], f.get("city_code"))))
        fs.evidence[fid] = a.evidence
    for d in region_daily:
        f = derived.daily_fields(d)
        fid = f"daily.{run}.{d.region_code}.{d.date.isoformat()}"
        fs.facts.append(_fact("daily_aqi", fid, f, partition_of(d.region_code, f["city_code"])))
        fs.evidence[fid] = [remember(d)]
    for e in findings.episodes:
        if e.region_level == "station":
            continue
        city = e.region_code if e.region_level == "city" else (
            e.region_code[:4] + "00" if e.region_level == "county" else None)
        fid = f"ep.{run}.{e.region_code}.{e.threshold}.{e.start_date.isoformat()}"
        fs.facts.append(_fact("episode", fid, {
            "region_code": e.region_code, "region_name": e.region_name,
            "region_level": e.region_level, "city_code": city, "threshold": e.threshold,
            "start_date": e.start_date.isoformat(), "end_date": e.end_date.isoformat(),
            "days": e.days, "peak_aqi": e.peak_aqi, "peak_date": e.peak_date.isoformat(),
            "driver": e.driver, "primary_pollutants": sorted(e.primary_pollutants),
            "open_start": e.open_start, "open_end": e.open_end,
        }, partition_of(e.region_code, city)))
        fs.evidence[fid] = [remember(e)]

    if findings.hotspots:
        if enterprises is None:
            enterprises = read_enterprises_near(store, findings.hotspots) \
                if store is not None else []
        hs, he = derived.hotspot_context(findings.hotspots, enterprises, concepts)
        by_id = {derived.hotspot_id(h): h for h in findings.hotspots}
        sid_of: dict[str, str] = {}
        for f in hs:
            sid = partition_of(f.get("county_code"), f.get("city_code"))
            sid_of[f["id"]] = sid
            fs.facts.append(_fact("hotspot", f["id"], f, sid, _TYPE_ID))
            fs.evidence[fs.facts[-1]["id"]] = [remember(by_id[fs.facts[-1]["id"]])]
        evidence = fs.evidence
        facts = fs.facts
        for f in he:
            fid = f["id"]
            facts.append(_fact("hotspot_enterprise", fid, f, sid_of[f["hotspot_id"]],
                               _TYPE_ID))
            evidence[fid] = evidence[f["hotspot_id"]]
        if not he:
            fs.notes.append("no registered enterprise near any hotspot (is the enterprise "
                            "register loaded?)")

    if findings.attribution:
        for s in findings.attribution:
            remember(s)
        attr = derived.attribution_summaries(findings.attribution, concepts)
        for f in attr.summaries + attr.sectors:
            fid = f["id"]
            fs.facts.append(_fact(f["type"], fid, f,
                                  partition_of(f["region_code"], f.get("city_code")), _TYPE_ID))
            fs.evidence[fid] = attr.evidence[fid]
        if attr.unmapped:
            fs.notes.append("attribution sector labels not in the ontology (left out of the "
                            f"sector facts): {', '.join(attr.unmapped)}")

    if findings.regimes:
        for r in findings.regimes:
            remember(r)
        o3_facts, o3_ev = derived.o3_regime_summaries(findings.regimes, region_daily, concepts)
        for f in o3_facts:
            fid = f["id"]
            fs.facts.append(_fact("o3_regime", fid, f,
                                  partition_of(f["region_code"], f.get("city_code")), _TYPE_ID))
            fs.evidence[fid] = o3_ev[fid]

    if any(f["sid"] == ALL_PARTITIONS for f in fs.facts):
        fs.partitions = read_cities(store)
    codes = {f.get("region_code") for f in fs.facts} | {f.get("county_code") for f in fs.facts}
    codes |= {c for f in fs.facts if f["type"] == "hotspot" for c in f.get("counties") or []}
    fs.regions = read_regions(store, sorted(c for c in codes if c))
    _name_regions(fs)
    fs.facts.sort(key=lambda f: f["id"])
    return fs


def _name_regions(fs: FactSet) -> None:
    """Fill region_name/city_code from the region directory where the findings had none."""
    for f in fs.facts:
        code = f.get("region_code")
        if code and code in fs.regions:
            info = fs.regions[code]
            if info.name and "region_name" not in f and f["type"] in (
                    "alert_assessment", "daily_aqi", "episode", "attribution_summary",
                    "attribution_sector", "o3_regime"):
                f["region_name"] = info.name
        if f["type"] == "hotspot":
            names = [fs.regions[c].name for c in f.get("counties") or []
                     if c in fs.regions and fs.regions[c].name]
            if f.get("county_code") in fs.regions and fs.regions[f["county_code"]].name:
                f["county_name"] = fs.regions[f["county_code"]].name
            if names:
                f["counties_zh"] = "、".join(names)


def implicated_days(daily: Iterable[RegionDailyAQI]) -> dict[str, set[str]]:
    """County -> the days its own forecast is heavy (daily AQI over the lowest threshold of the
    grading, as the alert assessments count it): the counties a province-wide alert implicates
    on those days (:class:`GraphContext`, docs/alert-scope.md)."""
    out: dict[str, set[str]] = defaultdict(set)
    for d in daily:
        if d.region_level == "county" and d.aqi > derived.THRESHOLDS[0]:
            out[d.region_code].add(d.date.isoformat())
    return dict(out)


def _within(days: set[str], start: str | None, end: str | None) -> bool:
    return any((start is None or day >= start) and (end is None or day <= end) for day in days)


class GraphContext:
    """The engine's context provider: enterprises of a region when it gets an alert.

    An alert reaches the enterprises of its **scope**. A county or city alert covers its
    whole area (the city plans answer a city alert 全市域, and a county follows its city's
    level). A province-wide alert — issued from the province's mean, it tells the cities to
    act — covers only the counties its forecast implicates: those whose own daily AQI is heavy
    on a day of the alert. A county whose air stays clean gets no emergency measure from it
    (an issue-11 finding: 临海市 at a peak AQI of 43 was told to stop production)."""

    def __init__(self, store: GraphStore | None, concepts: ConceptIndex,
                 enterprises: Sequence[Mapping[str, Any]] | None = None,
                 implicated: Mapping[str, set[str]] | None = None):
        self.store = store
        self.concepts = concepts
        self._given = enterprises  # instead of the graph (tests, benchmarks)
        self._implicated = implicated or {}
        self.queries = 0

    def _read(self, counties: list[str], cities: list[str], province: bool
              ) -> list[dict[str, Any]]:
        if self._given is not None:
            return [dict(e) for e in self._given
                    if province or e.get("county_code") in counties
                    or e.get("city_code") in cities]
        if self.store is None:
            return []
        self.queries += 1
        return self.store.read(
            f"MATCH (e:Enterprise) WHERE $province OR e.county_code IN $counties OR "
            f"e.city_code IN $cities RETURN {_ENTERPRISE_COLUMNS} ORDER BY id",
            {"province": province, "counties": counties, "cities": cities})

    def in_scope(self, alert: Mapping[str, Any], county: str | None) -> bool:
        """Whether a province-wide alert's forecast implicates `county` (class docstring)."""
        return county is not None and _within(self._implicated.get(county, set()),
                                              alert.get("start"), alert.get("end"))

    def expand(self, partition: str, facts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        alerts = {f["region_code"]: f for f in facts if f.get("type") == "alert"}
        regions = sorted(alerts)
        if not regions:
            return []
        infos = {c: region_from_code(c) for c in regions}
        counties = [c for c, i in infos.items() if i.level == "county"]
        cities = [c for c, i in infos.items() if i.level == "city"]
        province = any(i.level == "province" for i in infos.values())
        out: list[dict[str, Any]] = []
        for e in self._read(counties, cities, province):
            if partition not in (ALL_PARTITIONS, DEFAULT_PARTITION) \
                    and e.get("city_code") != partition:
                continue  # a province alert: each city partition takes its own enterprises
            ef = derived.enterprise_fields(e, self.concepts)
            for code in regions:
                i = infos[code]
                inside = ((i.level == "province"
                           and self.in_scope(alerts[code], e.get("county_code")))
                          or (i.level == "city" and e.get("city_code") == code)
                          or (i.level == "county" and e.get("county_code") == code))
                if inside:
                    out.append(_fact("enterprise_in_region", f"eir.{code}.{e['id']}",
                                     {"region_code": code, **ef}, partition))
        return out
