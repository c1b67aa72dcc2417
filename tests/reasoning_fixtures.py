"""Test helpers for the reasoning tests: knowledge in a graph, generated findings, enterprises.

The graph gets the real ontology and the real statutes through their loaders (fast: ~0.3 s);
enterprises are written with the shape the reference-data loader gives them (properties as in
``kb_loaders/places/enterprises.py``), so a test controls exactly which enterprise sits in which
cell.
Findings are generated with the model-adapter types, so the reasoning code reads what it will
read in production.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ecobrain.model_adapters.findings import (
    AttributionShare,
    DailyConcentrations,
    EmissionHotspot,
    O3Regime,
    Provenance,
    RegionDailyAQI,
    RunFindings,
)
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.grid import ZJ3KM, parse_cell_id

RUN = "run-test-001"


def load_knowledge(store: GraphStore) -> None:
    """The real ontology and regulations, through their loaders."""
    from ecobrain.kb_loaders.legal.statutes import load_regulations
    from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology

    load_ontology(store)
    load_regulations(store)


def write_regions(store: GraphStore, regions: Iterable[tuple[str, str, str, str | None]]) -> None:
    """(code, name, level, parent) as AdminRegion nodes (the regions loader's shape)."""
    rows = [{"id": c, "code": c, "name_zh": n, "level": lv, "parent_code": p}
            for c, n, lv, p in regions]
    store.write_rows("UNWIND $rows AS r MERGE (n:AdminRegion {id: r.id}) SET n.code = r.code, "
                     "n.name_zh = r.name_zh, n.name = r.name_zh, n.level = r.level, "
                     "n.parent_code = r.parent_code", rows)


def enterprise(eid: str, county: str, cell: str | None, sector: str, pollutants: Sequence[str],
               grade: str | None = None, *, key: bool = True, online: bool = False,
               name: str | None = None, lon: float | None = None,
               lat: float | None = None) -> dict[str, Any]:
    """An enterprise row; without lon/lat it stands at the centre of its ZJ3KM cell."""
    if lon is None and cell is not None:
        lon, lat = cell_centre(cell)
    return {"id": eid, "name": name or f"企业{eid}", "county_code": county,
            "city_code": county[:4] + "00", "sector": sector, "pollutants": list(pollutants),
            "performance_grade": grade, "key_enterprise": key, "online_monitoring": online,
            "cell_id": cell, "lon": lon, "lat": lat}


def cell_centre(cell: str) -> tuple[float, float]:
    """Centre of a ZJ3KM cell, as the findings round it."""
    _, row, col = parse_cell_id(cell)
    lon, lat = ZJ3KM.xy_to_lonlat(ZJ3KM.xorig + (col + 0.5) * ZJ3KM.xcell,
                                  ZJ3KM.yorig + (row + 0.5) * ZJ3KM.ycell)
    return round(float(lon), 5), round(float(lat), 5)


def write_enterprises(store: GraphStore, rows: Sequence[Mapping[str, Any]]) -> None:
    store.write_rows(
        "UNWIND $rows AS r MERGE (e:Enterprise {id: r.id}) SET e.name = r.name, "
        "e.county_code = r.county_code, e.city_code = r.city_code, e.sector = r.sector, "
        "e.pollutants = r.pollutants, e.performance_grade = r.performance_grade, "
        "e.key_enterprise = r.key_enterprise, e.online_monitoring = r.online_monitoring, "
        "e.cell_id = r.cell_id, e.lon = r.lon, e.lat = r.lat", [dict(r) for r in rows])


def _prov(variables: Sequence[str] = ("PM25_TOT",), t: tuple[int, int] | None = (0, 23)
          ) -> Provenance:
    return Provenance(run_id=RUN, file="CCTM_ACONC.nc", variables=list(variables), time_index=t,
                      region_cell_count=10, region_method="cell-centres")


def daily(region: str, level: str, day: dt.date, aqi: int, primary: Sequence[str],
          *, name: str | None = None, o3_iaqi: int | None = None) -> RegionDailyAQI:
    iaqi: dict[str, int] = {}
    for p in primary:
        key = {"PM2_5": "PM2_5_24h", "PM10": "PM10_24h", "O3": "O3_8h", "NO2": "NO2_24h",
               "SO2": "SO2_24h", "CO": "CO_24h"}[p]
        iaqi[key] = aqi
    if o3_iaqi is not None:
        iaqi["O3_8h"] = o3_iaqi
    category = next(c for lim, c in ((50, "优"), (100, "良"), (150, "轻度污染"),
                                     (200, "中度污染"), (300, "重度污染"), (10 ** 6, "严重污染"))
                    if aqi <= lim)
    level_n = min(6, 1 + sum(aqi > x for x in (50, 100, 150, 200, 300)))
    return RegionDailyAQI(
        run_id=RUN, region_code=region, region_level=level, region_name=name,
        city_code=None if level == "province" else (region if level == "city"
                                                     else region[:4] + "00"), date=day,
        standard="HJ633-2026", concentrations=DailyConcentrations(PM2_5_24h=float(aqi)),
        iaqi=iaqi, aqi=aqi, primary_pollutants=list(primary) if aqi > 50 else [],
        exceeding_pollutants=list(primary) if aqi > 100 else [], level=level_n,
        category_zh=category, category_en=category, colour="#FF0000", provenance=_prov())


def forecast_findings(series: Mapping[tuple[str, str], Sequence[int]], start: dt.date,
                      primary: str | Mapping[str, str] = "PM2_5",
                      init: dt.datetime | None = None) -> RunFindings:
    """Daily AQI per (region code, level) over consecutive days from `start`."""
    items = []
    days = set()
    for (code, level), values in series.items():
        pol = primary if isinstance(primary, str) else primary[code]
        for i, v in enumerate(values):
            d = start + dt.timedelta(days=i)
            days.add(d)
            items.append(daily(code, level, d, v, [pol]))
    return RunFindings(run_id=RUN, model="CMAQ", init_time=init or dt.datetime.combine(
        start, dt.time(8)), run_dir="/runs/test", kinds=["forecast"], days=sorted(days),
        daily_aqi=items)


def hotspot(species: str, row: int, col: int, county: str, *, excess: float = 1.5,
            rank: int = 1, day: dt.date = dt.date(2025, 6, 1)) -> EmissionHotspot:
    return EmissionHotspot(
        run_id=RUN, species=species, date=day,
        period_start=dt.datetime.combine(day, dt.time(0)),
        period_end=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)), row=row, col=col,
        cell_id=f"ZJ3KM:r{row}c{col}", lon=cell_centre(f"ZJ3KM:r{row}c{col}")[0],
        lat=cell_centre(f"ZJ3KM:r{row}c{col}")[1], county_code=county,
        city_code=county[:4] + "00", prior=1.0, posterior=1.0 + excess, excess=excess,
        ratio=1.0 + excess, rank=rank, units="t/day",
        thresholds={"min_excess": 0.1, "min_ratio": 1.2},
        provenance=_prov(("NOX_POST",), None))


def attribution(receptor: str, level: str, day: dt.date, pollutant: str, bulk: float,
                tags: Sequence[tuple[str, str | None, str | None, float]]
                ) -> list[AttributionShare]:
    """tags: (tag, source_region, source_sector, concentration)."""
    out = []
    for tag, region, sector, conc in tags:
        builtin = tag in ("BCO", "OTH", "ICO", "BID")
        out.append(AttributionShare(
            run_id=RUN, receptor_code=receptor, receptor_level=level, date=day,
            pollutant=pollutant, metric="24h" if pollutant == "PM2_5" else "MDA8", tag=tag,
            source_region=region, source_sector=sector, is_builtin=builtin,
            concentration=conc, bulk_concentration=bulk, share=conc / bulk,
            provenance=_prov((f"{pollutant}_{tag}",))))
    return out


def regime(county: str, day: dt.date, regime_id: str, ratio: float) -> O3Regime:
    return O3Regime(run_id=RUN, region_code=county, region_level="county", date=day,
                    hcho_ppb=ratio, no2_ppb=1.0, ratio=ratio, regime=regime_id,
                    thresholds={"voc_limited_below": 2.3, "nox_limited_above": 4.2},
                    threshold_source="Wang2021", hours=(10, 16), provenance=_prov(("HCHO",)))
