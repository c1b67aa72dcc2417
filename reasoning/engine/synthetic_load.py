"""Synthetic rule-engine workloads: emission hotspots with registered enterprises around them.

The rule-engine benchmark, the stress script and the engine's thread tests need the same kind
of load — joins between hotspots and the enterprises of the neighbouring 3 km cells, and
optionally heavy PM2.5 days that chain alert -> measure -> enterprise task — of a chosen size,
deterministic for a seed. One generator keeps their figures comparable. The data is
synthetic: enterprise ids are made up, sectors, pollutants, grades and monitoring are drawn
from the bundled (itself synthetic) register's mix.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from ecobrain.model_adapters.aqi import StandardSet, daily_aqi
from ecobrain.model_adapters.findings import (
    DailyConcentrations,
    EmissionHotspot,
    Provenance,
    RegionDailyAQI,
    RunFindings,
    grid_info,
)
from ecobrain.ontology.grid import ZJ3KM

SPECIES = ("VOCs", "NO2", "SO2", "PM2_5")
DAY = dt.date(2026, 1, 15)
REGISTER = Path(str(files("ecobrain.knowledge") / "reference" / "enterprises.csv"))
# hotspot cells: every third row and column of ZJ3KM, so 3x3 neighbourhoods never overlap
CELLS = tuple((r, c) for r in range(2, 157, 3) for c in range(2, 163, 3))
# four-day courses of 24-hour PM2.5 (µg/m³) of a heavy episode: heavy, moderate-to-heavy,
# severe (their AQI comes from the AQI standard in force, as for a model run)
EPISODES = ((170, 210, 260, 190), (120, 160, 150, 90), (280, 300, 330, 160))


@lru_cache(maxsize=1)
def register_mix() -> tuple[tuple[str, ...], tuple[dict[str, Any], ...]]:
    """The bundled register's counties and its sector / pollutants / grade / monitoring mix."""
    with open(REGISTER, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    counties = tuple(sorted({r["county_code"] for r in rows}))
    mix = tuple({"sector": r["sector"], "pollutants": r["pollutants"].split(";"),
                 "grade": r["performance_grade"] or None,
                 "online": r["online_monitoring"] == "true"} for r in rows)
    return counties, mix


def hotspot_load(n_hotspots: int, *, seed: int = 42, heavy_cities: int = 0,
                 shuffle: bool = False, run_id: str = "bench", id_prefix: str = "B"
                 ) -> tuple[RunFindings, list[dict[str, Any]]]:
    """Findings and enterprise records (as the graph gives them) for ``n_hotspots`` hotspots.

    Hotspots of the four species share a cell (four per cell), each cell has one enterprise in
    every cell of its 3x3 neighbourhood, cells go round the register's counties. ``shuffle``
    places cells and counties at random instead of in order (varied layouts for stress runs);
    ``heavy_cities`` cities get a four-day heavy PM2.5 episode (alerts and emergency tasks).
    """
    rnd = random.Random(seed)
    counties, mix = register_mix()
    counties_l, cells = list(counties), list(CELLS)
    if shuffle:
        rnd.shuffle(counties_l)
        rnd.shuffle(cells)
    n_cells = -(-n_hotspots // len(SPECIES))
    if n_cells > len(cells):
        raise ValueError(f"at most {len(cells) * len(SPECIES)} hotspots fit on ZJ3KM")
    prov = Provenance(run_id=run_id, file="inversion.nc", variables=["EMIS"])
    lon, lat = ZJ3KM.cell_centers_lonlat()  # sites at their cells' centres, on the graph's grid
    grid = grid_info(ZJ3KM)
    hotspots: list[EmissionHotspot] = []
    enterprises: list[dict[str, Any]] = []
    for k, (row, col) in enumerate(cells[:n_cells]):
        county = counties_l[k % len(counties_l)]
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                m = rnd.choice(mix)
                r, c = row + dr, col + dc
                enterprises.append({
                    "id": f"{id_prefix}-{r}-{c}", "name": f"企业{r}-{c}",
                    "county_code": county, "city_code": county[:4] + "00",
                    "sector": m["sector"], "pollutants": m["pollutants"],
                    "performance_grade": m["grade"], "key_enterprise": True,
                    "online_monitoring": m["online"], "cell_id": f"ZJ3KM:r{r}c{c}",
                    "lon": round(float(lon[r, c]), 5), "lat": round(float(lat[r, c]), 5)})
        for s in SPECIES:
            if len(hotspots) == n_hotspots:
                break
            excess = round(rnd.uniform(0.1, 3.0), 3)
            hotspots.append(EmissionHotspot(
                run_id=run_id, species=s, date=DAY,
                period_start=dt.datetime(2026, 1, 15), period_end=dt.datetime(2026, 1, 16),
                row=row, col=col, cell_id=f"ZJ3KM:r{row}c{col}",
                lon=round(float(lon[row, col]), 5), lat=round(float(lat[row, col]), 5),
                grid=grid, search_radius_km=5.0,
                county_code=county, city_code=county[:4] + "00", prior=1.0,
                posterior=1.0 + excess, excess=excess, ratio=1.0 + excess, rank=1,
                units="t/day", thresholds={"min_excess": 0.1}, provenance=prov))
    daily = _heavy_days(rnd, run_id, sorted({c[:4] + "00" for c in counties_l}), heavy_cities)
    findings = RunFindings(
        run_id=run_id, run_dir=f"/{run_id}", model="CMAQ",
        kinds=["inversion", "forecast"] if daily else ["inversion"],
        init_time=dt.datetime(2026, 1, 14, 20),
        days=sorted({d.date for d in daily} | {DAY}), hotspots=hotspots, daily_aqi=daily)
    return findings, enterprises


def _heavy_days(rnd: random.Random, run_id: str, cities: list[str], n: int
                ) -> list[RegionDailyAQI]:
    if n <= 0:
        return []
    rnd.shuffle(cities)
    out = []
    standard = StandardSet.load().for_day(DAY)
    for city in cities[:n]:
        for i, pm25 in enumerate(rnd.choice(EPISODES)):
            day = daily_aqi(standard, {"PM2_5_24h": float(pm25)})
            out.append(RegionDailyAQI(
                run_id=run_id, region_code=city, region_level="city", region_name=None,
                city_code=city, date=DAY + dt.timedelta(days=i), standard=standard.id,
                concentrations=DailyConcentrations(PM2_5_24h=float(pm25)),
                iaqi=day.iaqi, aqi=day.aqi, primary_pollutants=day.primary,
                exceeding_pollutants=day.exceeding, level=day.category.level,
                category_zh=day.category.category_zh, category_en=day.category.category_en,
                colour=day.category.colour,
                provenance=Provenance(run_id=run_id, file="CCTM_ACONC.nc",
                                      variables=["PM25_TOT"])))
    return out
