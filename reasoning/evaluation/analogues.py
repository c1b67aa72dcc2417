"""Analogues: the past episodes most like a new one, what was done then and how it evaluated.

Distance between two signatures of the same pollutant (``knowledge/config/analogues.yaml``):
the weighted mean, over the components both carry, of

* duration ``|d1-d2| / max(d1,d2)``; peak ``|p1-p2| / max(p1,p2)`` (county AQI);
* regions ``1 - |A∩B| / |A∪B|`` over the affected counties;
* attribution by source region and by sector, and the O3 regime mix: the total-variation
  distance ``½ Σ |p_k - q_k|`` of the share vectors (keys missing on one side count as 0);
* season: the circular distance of the start's day of year, / 182.5;
* meteorology: the mean over the quantities both have of ``min(1, |a-b| / scale)``.

Every component lies in [0, 1], so the distance does too; 0 is the same episode. A component
one side lacks (no ISAM tags, no MCIP fields) is left out and the weights renormalised, so a
run without meteorology is still compared on what it has. Ties are broken by the episode id,
so the order is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.evaluation.episodes import EpisodeSignature, library
from ecobrain.reasoning.evaluation.outcomes import EvaluationSummary
from ecobrain.yaml12 import load_yaml


@dataclass(frozen=True)
class AnalogueConfig:
    weights: Mapping[str, float]
    scales: Mapping[str, float]


@cache
def load_analogue_config(path: str | None = None) -> AnalogueConfig:
    p = path or str(Path(str(files("ecobrain.knowledge") / "config" / "analogues.yaml")))
    with open(p, encoding="utf-8") as fh:
        doc = load_yaml(fh)
    try:
        return AnalogueConfig({str(k): float(v) for k, v in doc["weights"].items()},
                              {str(k): float(v) for k, v in doc["meteorology_scales"].items()})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{p}: {type(exc).__name__}: {exc}") from exc


def _rel(a: float, b: float) -> float:
    m = max(abs(a), abs(b))
    return 0.0 if m == 0 else abs(a - b) / m


def total_variation(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def components(a: EpisodeSignature, b: EpisodeSignature, cfg: AnalogueConfig
               ) -> dict[str, float]:
    """Each distance component both signatures carry, in [0, 1]."""
    out = {"duration": _rel(a.duration_days, b.duration_days),
           "peak": _rel(a.peak_aqi, b.peak_aqi)}
    ua, ub = set(a.counties), set(b.counties)
    out["regions"] = 1.0 - len(ua & ub) / len(ua | ub) if ua | ub else 0.0
    for name in ("attribution_region", "attribution_sector", "regime"):
        pa, pb = getattr(a, name), getattr(b, name)
        if pa and pb:
            out[name] = total_variation(pa, pb)
    da, db = a.start.timetuple().tm_yday, b.start.timetuple().tm_yday
    gap = abs(da - db)
    out["season"] = min(gap, 365 - gap) / 182.5
    shared = [k for k in a.meteorology if k in b.meteorology and k in cfg.scales]
    if shared:
        out["meteorology"] = sum(min(1.0, abs(a.meteorology[k] - b.meteorology[k])
                                     / cfg.scales[k]) for k in shared) / len(shared)
    return out


def distance(a: EpisodeSignature, b: EpisodeSignature, cfg: AnalogueConfig | None = None
             ) -> float:
    if a.pollutant != b.pollutant:
        return 1.0
    cfg = cfg or load_analogue_config()
    comp = components(a, b, cfg)
    w = {k: cfg.weights.get(k, 0.0) for k in comp}
    total = sum(w.values())
    return sum(w[k] * v for k, v in comp.items()) / total if total else 0.0


class Analogue(BaseModel):
    episode: EpisodeSignature
    distance: float
    components: dict[str, float]
    done: dict[str, Any]
    evaluations: list[dict[str, Any]]


def rank(query: EpisodeSignature, candidates: Iterable[EpisodeSignature], k: int = 5,
         cfg: AnalogueConfig | None = None) -> list[tuple[float, EpisodeSignature]]:
    """The k nearest candidates of the same pollutant (the query itself left out)."""
    cfg = cfg or load_analogue_config()
    scored = [(round(distance(query, c, cfg), 6), c) for c in candidates
              if c.id != query.id and c.pollutant == query.pollutant
              and (query.decision_id is None or c.decision_id != query.decision_id)]
    scored.sort(key=lambda x: (x[0], x[1].id))
    return scored[:k]


def what_was_done(store: GraphStore, decision_id: str | None) -> dict[str, Any]:
    """The decision's alerts by level and tasks by measure, and its review state."""
    if not decision_id:
        return {}
    d = store.read_one("MATCH (d:Decision {id: $id}) RETURN d.date AS date, "
                       "d.review_status AS review", {"id": decision_id})
    if d is None:
        return {}
    alerts = {r["level"]: r["n"] for r in store.read(
        "MATCH (:Decision {id: $id})-[:HAS_ALERT]->(a:Alert) RETURN a.level AS level, "
        "count(*) AS n ORDER BY level", {"id": decision_id})}
    measures: dict[str, int] = {}
    for r in store.read("MATCH (:Decision {id: $id})-[:HAS_TASK]->(t:Task) "
                        "RETURN t.measure_types AS m", {"id": decision_id}):
        for m in r["m"] or []:
            measures[m] = measures.get(m, 0) + 1
    return {"decision_id": decision_id, "decision_date": d["date"],
            "review_status": d["review"] or "draft", "alerts_by_level": alerts,
            "tasks_by_measure": dict(sorted(measures.items(), key=lambda x: (-x[1], x[0])))}


def how_it_evaluated(store: GraphStore, decision_id: str | None) -> list[dict[str, Any]]:
    if not decision_id:
        return []
    return [{"id": r["id"], "run_id": r["run_id"],
             "summary": EvaluationSummary.model_validate_json(r["s"]).model_dump()}
            for r in store.read(
                "MATCH (:Decision {id: $id})-[:EVALUATED_BY]->(e:Evaluation) "
                "RETURN e.id AS id, e.run_id AS run_id, e.summary_json AS s ORDER BY run_id",
                {"id": decision_id})]


def find_analogues(store: GraphStore, query: EpisodeSignature, k: int = 5) -> list[Analogue]:
    cfg = load_analogue_config()
    out = []
    for dist, ep in rank(query, library(store, query.pollutant), k, cfg):
        out.append(Analogue(episode=ep, distance=dist, components={
            n: round(v, 4) for n, v in components(query, ep, cfg).items()},
            done=what_was_done(store, ep.decision_id),
            evaluations=how_it_evaluated(store, ep.decision_id)))
    return out
