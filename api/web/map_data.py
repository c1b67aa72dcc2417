"""What the command-centre map draws for one decision: every county's outline (GeoJSON), its
daily AQI forecast from the decision's model run, and the AQI colour bands (HJ 633).

Outlines come from the graph's ``AdminRegion.boundary_wkt`` (the bundled GB/T 2260 boundaries,
already simplified to ~100 m when loaded) and are simplified again here to ~1 km: a province
of 90 counties is then a few hundred kB, drawn as SVG in the browser in well under a second.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from shapely import wkt as shapely_wkt
from shapely.geometry import mapping

from ecobrain.model_adapters.aqi import StandardSet
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions import store as decision_store

SIMPLIFY_DEG = 0.01  # ~1 km: finer than a county map of the province can show
DECIMALS = 3

_COUNTIES = ("MATCH (g:AdminRegion) WHERE g.level = 'county' RETURN g.code AS code, "
             "g.name_zh AS name, g.parent_code AS city, g.boundary_wkt AS wkt")
_CITIES = "MATCH (g:AdminRegion) WHERE g.level = 'city' RETURN g.code AS code, g.name_zh AS name"
_FORECASTS = ("MATCH (f:RegionForecast) WHERE f.run_id = $run AND f.region_level = 'county' "
              "RETURN f.region_code AS code, f.days_json AS days")


def _rounded(geometry: Any) -> Any:
    """GeoJSON coordinates with DECIMALS places (a tenth of the simplification)."""
    if isinstance(geometry, list | tuple):
        if geometry and isinstance(geometry[0], float | int):
            return [round(float(c), DECIMALS) for c in geometry]
        return [_rounded(g) for g in geometry]
    return geometry


def _geometry(wkt: str) -> dict[str, Any]:
    shape = shapely_wkt.loads(wkt).simplify(SIMPLIFY_DEG, preserve_topology=True)
    geo = mapping(shape)
    return {"type": geo["type"], "coordinates": _rounded(geo["coordinates"])}


def decision_map(store: GraphStore, decision_id: str) -> dict[str, Any]:
    """The decision's counties with their forecast (NotFound, a 404, for an unknown id)."""
    decision = decision_store.get_decision(store, decision_id)
    forecasts = {r["code"]: json.loads(r["days"] or "[]")
                 for r in store.read(_FORECASTS, {"run": decision["run_id"]})}
    cities = {r["code"]: r["name"] for r in store.read(_CITIES)}
    features = []
    for r in sorted(store.read(_COUNTIES), key=lambda r: r["code"]):
        if not r["wkt"]:
            continue
        days = [{"date": d["date"], "aqi": round(d["aqi"]), "colour": d["colour"],
                 "category_zh": d.get("category_zh"), "primary": d.get("primary", [])}
                for d in forecasts.get(r["code"], [])]
        features.append({"type": "Feature", "id": r["code"], "geometry": _geometry(r["wkt"]),
                         "properties": {"code": r["code"], "name": r["name"],
                                        "city_code": r["city"],
                                        "city_name": cities.get(r["city"] or ""),
                                        "days": days}})
    dates = sorted({d["date"] for f in features for d in f["properties"]["days"]})
    std = StandardSet.load().nearest(
        dt.date.fromisoformat(dates[0] if dates else decision["decision_date"]))
    bands = [{"aqi_min": c.aqi_min, "aqi_max": c.aqi_max, "colour": c.colour,
              "category_zh": c.category_zh} for c in std.categories]
    return {"decision_id": decision_id, "run_id": decision["run_id"],
            "decision_date": decision["decision_date"], "standard": std.id, "dates": dates,
            "bands": bands, "counties": {"type": "FeatureCollection", "features": features}}
