"""The episode library: every decided pollution episode with its signature.

An episode of a decision is, per pollutant (PM2.5, O3), the county-days of the run on which the
county's daily AQI exceeds ``min_aqi`` (100: light pollution and worse, HJ 633) with that
pollutant (co-)primary. Its signature, from the run's findings:

* pollutant, first and last day, duration (distinct days), peak county AQI and the peak
  county daily concentration of the pollutant (µg/m³; O3 as MDA8);
* affected counties and cities;
* attribution: the mean ISAM share of each source region and each source sector at the
  affected counties on the episode days (built-in tags as ``boundary``/``initial``/``other``);
* O3 regime: the share of the affected county-days in each regime (when the run has them);
* meteorology when the run carries MCIP fields (:mod:`ecobrain.model_adapters.meteorology`):
  mean PBL height, 10 m wind speed and temperature over the affected counties and days.

Saved with the decision as ``(:Decision)-[:HAS_EPISODE]->(:PollutionEpisode)-[:AFFECTS]->
(:AdminRegion)``, with the signature's JSON, so the library is the graph itself.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from pydantic import BaseModel, Field

from ecobrain.model_adapters.findings import DailyConcentrations, RunFindings
from ecobrain.model_adapters.meteorology import Meteorology
from ecobrain.ontology.geography import city_of
from ecobrain.ontology.graph.store import GraphStore, Statement
from ecobrain.reasoning.decisions.conclusions import short_hash

POLLUTANTS = ("PM2_5", "O3")
MeteorologyOf = Callable[[list[dt.date], list[str]], Meteorology | None]
MIN_AQI = 100
_CONC = {"PM2_5": "PM2_5_24h", "O3": "O3_8h"}


class EpisodeSignature(BaseModel):
    id: str
    decision_id: str | None = None
    run_id: str
    pollutant: str
    start: dt.date
    end: dt.date
    duration_days: int
    peak_aqi: int
    peak_concentration: float | None = Field(
        default=None, description="µg/m³: highest county daily value (PM2.5 24 h, O3 MDA8)")
    counties: list[str]
    cities: list[str]
    attribution_region: dict[str, float] = Field(
        default_factory=dict, description="source region -> mean share at affected counties")
    attribution_sector: dict[str, float] = Field(
        default_factory=dict, description="source sector -> mean share at affected counties")
    regime: dict[str, float] = Field(
        default_factory=dict, description="O3 regime -> share of affected county-days")
    meteorology: dict[str, float] = Field(
        default_factory=dict, description="pbl_m, wind_m_s, temp_k over the episode")
    meteorology_sources: dict[str, str] = Field(default_factory=dict)


def _norm(d: dict[str, float]) -> dict[str, float]:
    total = sum(d.values())
    return {k: round(v / total, 4) for k, v in sorted(d.items())} if total > 0 else {}


def _concentration(c: DailyConcentrations, pollutant: str) -> float | None:
    v = getattr(c, _CONC[pollutant])
    return None if v is None else float(v)


def signatures(findings: RunFindings, decision_id: str | None = None,
               meteorology: MeteorologyOf | None = None,
               min_aqi: int = MIN_AQI) -> list[EpisodeSignature]:
    """The episodes of a run's findings (one per pollutant that has any); `meteorology`
    gives the run's weather over (days, counties), when it carries any."""
    out = []
    for p in POLLUTANTS:
        days = [d for d in findings.daily_aqi if d.region_level == "county" and d.aqi > min_aqi
                and p in d.primary_pollutants]
        if not days:
            continue
        counties = sorted({d.region_code for d in days})
        dates = sorted({d.date for d in days})
        cset, dset = set(counties), set(dates)
        peak = max(days, key=lambda d: (d.aqi, d.region_code))
        concs = [c for c in (_concentration(d.concentrations, p) for d in days) if c is not None]
        by_region: dict[str, float] = defaultdict(float)
        by_sector: dict[str, float] = defaultdict(float)
        for a in findings.attribution:
            if a.pollutant == p and a.receptor_level == "county" and \
                    a.receptor_code in cset and a.date in dset:
                by_region[a.source_region or a.tag] += a.share
                by_sector[a.source_sector or (a.source_region or a.tag)] += a.share
        regime: dict[str, float] = defaultdict(float)
        for r in findings.regimes:
            if r.region_code in cset and r.date in dset:
                regime[r.regime] += 1.0
        sig = EpisodeSignature(
            id="ep-" + short_hash(findings.run_id, p, decision_id), decision_id=decision_id,
            run_id=findings.run_id, pollutant=p, start=dates[0], end=dates[-1],
            duration_days=len(dates), peak_aqi=peak.aqi,
            peak_concentration=round(max(concs), 1) if concs else None, counties=counties,
            cities=sorted({c for c in (city_of(x) for x in counties) if c}),
            attribution_region=_norm(by_region), attribution_sector=_norm(by_sector),
            regime=_norm(regime))
        met = meteorology(dates, counties) if meteorology else None
        if met is not None:
            sig.meteorology = dict(met.values)
            sig.meteorology_sources = dict(met.sources)
        out.append(sig)
    return out


# --------------------------------------------------------------------------- graph

_EPISODES = "UNWIND $rows AS r MERGE (e:PollutionEpisode {id: r.id}) SET e += r.props"
_HAS_EPISODE = (
    "UNWIND $rows AS r MATCH (e:PollutionEpisode {id: r.id}) "
    "MATCH (d:Decision {id: r.decision_id}) MERGE (d)-[:HAS_EPISODE]->(e)"
)
_AFFECTS = (
    "UNWIND $rows AS r MATCH (e:PollutionEpisode {id: r.id}) "
    "MATCH (g:AdminRegion {code: r.code}) MERGE (e)-[:AFFECTS]->(g)"
)


def episode_statements(sigs: list[EpisodeSignature]) -> list[Statement]:
    """MERGE the episodes (and their edges): part of a decision's save unit."""
    rows = [{"id": s.id, "decision_id": s.decision_id or "", "props": {
        "decision_id": s.decision_id or "", "run_id": s.run_id, "pollutant": s.pollutant,
        "start": s.start.isoformat(), "end": s.end.isoformat(),
        "duration_days": s.duration_days, "peak_aqi": s.peak_aqi,
        "json": s.model_dump_json()}} for s in sigs]
    aff = [{"id": s.id, "code": c} for s in sigs for c in s.counties]
    if not rows:
        return []
    return [(_EPISODES, {"rows": rows}),
            (_HAS_EPISODE, {"rows": [r for r in rows if r["decision_id"]]}),
            (_AFFECTS, {"rows": aff})]


def save_episodes(store: GraphStore, sigs: list[EpisodeSignature]) -> None:
    store.write_all(episode_statements(sigs))


def library(store: GraphStore, pollutant: str | None = None) -> list[EpisodeSignature]:
    rows = store.read(
        "MATCH (e:PollutionEpisode) WHERE $p IS NULL OR e.pollutant = $p "
        "RETURN e.json AS json ORDER BY e.id", {"p": pollutant})
    return [EpisodeSignature.model_validate_json(r["json"]) for r in rows]


def episodes_of(store: GraphStore, decision_id: str) -> list[EpisodeSignature]:
    rows = store.read("MATCH (:Decision {id: $id})-[:HAS_EPISODE]->(e:PollutionEpisode) "
                      "RETURN e.json AS json ORDER BY e.id", {"id": decision_id})
    return [EpisodeSignature.model_validate_json(r["json"]) for r in rows]


def episode(store: GraphStore, episode_id: str) -> EpisodeSignature | None:
    row = store.read_one("MATCH (e:PollutionEpisode {id: $id}) RETURN e.json AS json",
                         {"id": episode_id})
    return EpisodeSignature.model_validate_json(row["json"]) if row else None
