"""Foreign model runs for the tests: grids, names and time conventions that are not ecobrain's.

Each builder writes a real run directory (IOAPI through the project's writer, CF through
xarray) on a grid of its own — 9 km and 12 km Lambert grids with other projection
parameters, a 1 km nest over northern Zhejiang, a regular lat-lon CF grid — with PM2.5 that
is a known function of the Beijing hour inside Hangzhou and 30 µg/m³ elsewhere, so the tests
can work out daily AQI by hand. Emission inversions (NO2 only, NO + NO2, NOX) plant one hot
cell. Values are written as the *file's* convention says they mean: an hour-beginning average
file's record k stands for [t_k, t_k + 1 h).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.files.ioapi_writer import write_ioapi
from ecobrain.ontology.geography import RegionIndex
from ecobrain.ontology.grid import GridSpec

# -- grids that are not the project's ----------------------------------------------------------
# 9 km Lambert, secant latitudes 25/47, central meridian 105°E, origin latitude 35°N: the
# hotspot cell (45, 27) has its centre in 萧山区 but 51 % of its area in 上城区.
G9 = GridSpec("ZJ9KM", 2, 25.0, 47.0, 105.0, 105.0, 35.0, 1_191_000.0, -814_500.0,
              9_000.0, 9_000.0, 68, 66)
HOT9 = (45, 27)
# 12 km Lambert, 30/60 and 114°E, origin latitude 30°N (another modelling team's domain).
G12 = GridSpec("EC12KM", 2, 30.0, 60.0, 114.0, 114.0, 30.0, 348_000.0, -432_000.0,
               12_000.0, 12_000.0, 52, 52)
# 1 km nest over northern Zhejiang, on the 9 km grid's projection.
G1 = GridSpec("NZJ1KM", 2, 25.0, 47.0, 105.0, 105.0, 35.0, 1_335_000.0, -480_000.0,
              1_000.0, 1_000.0, 213, 193)
# regular lat-lon, 0.05°, Zhejiang and around
LATS = np.round(np.arange(26.9, 31.4, 0.05), 4)
LONS = np.round(np.arange(117.9, 123.3, 0.05), 4)

CLEAN = 30.0  # µg/m³ outside Hangzhou
# O3 everywhere, constant: 0.03 ppmV = 58.9 µg/m³ at 298.15 K / 1013.25 hPa, MDA8 IAQI 30 —
# below every PM2.5 IAQI of the tests (CLEAN PM2.5 alone gives 43), so AQI is PM2.5's.
O3_PPM = 0.03
HANGZHOU = "3301"


def hangzhou_mask(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a point lies in a county of Hangzhou (the fixture's episode area)."""
    codes = RegionIndex.counties().locate(lon, lat)
    return np.array([bool(c) and c.startswith(HANGZHOU) for c in codes.ravel()]
                    ).reshape(np.shape(lon))


def utc(local: dt.datetime) -> dt.datetime:
    """A naive Beijing time as a naive UTC time."""
    return local.replace(tzinfo=BEIJING).astimezone(dt.UTC).replace(tzinfo=None)


PMOfHour = Callable[[dt.datetime], float]  # Beijing time of the hour's beginning -> µg/m³


def pm_series(start_local: dt.datetime, hours: int, pm: PMOfHour,
              stamp: str = "begin") -> np.ndarray:
    """Hangzhou PM2.5 per record, for files whose record k means the hour beginning at the
    stamp (``begin``) or the hour ending at it (``instant``)."""
    shift = 0 if stamp == "begin" else 1
    return np.array([pm(start_local + dt.timedelta(hours=k - shift)) for k in range(hours)],
                    dtype=np.float32)


def pm_field(grid: GridSpec, series: np.ndarray) -> np.ndarray:
    lon, lat = grid.cell_centers_lonlat()
    inside = hangzhou_mask(lon, lat)
    out = np.full((len(series), grid.nrows, grid.ncols), CLEAN, dtype=np.float32)
    out[:, inside] = series[:, None]
    return out


def write_aconc(path: Path, grid: GridSpec, start_local: dt.datetime, hours: int,
                pm: PMOfHour, *, filedesc: Sequence[str] = ("CMAQ v5.4 CCTM output",),
                stamp: str = "begin") -> Path:
    """A CMAQ-named averaged file; by default its FILEDESC does not state the convention."""
    arr = pm_field(grid, pm_series(start_local, hours, pm, stamp))
    return write_ioapi(path, grid, {"PM25_TOT": arr, "O3": np.full_like(arr, O3_PPM)},
                       {"PM25_TOT": "ug m-3", "O3": "ppmV"}, utc(start_local), 3600,
                       filedesc=list(filedesc), upnam="WR_ACONC")


def write_cf_forecast(path: Path, start_local: dt.datetime, hours: int, pm: PMOfHour) -> Path:
    """A CF lat-lon file, north-first rows, with time bounds (each record: [lower, upper))."""
    lats = LATS[::-1]
    lon2, lat2 = np.meshgrid(LONS, lats)
    inside = hangzhou_mask(lon2, lat2)
    series = pm_series(start_local, hours, pm)
    arr = np.full((hours, len(lats), len(LONS)), CLEAN, dtype=np.float32)
    arr[:, inside] = series[:, None]
    t0 = np.datetime64(utc(start_local), "s")
    times = t0 + np.arange(hours) * np.timedelta64(3600, "s")
    bounds = np.stack([times, times + np.timedelta64(3600, "s")], axis=1)
    ds = xr.Dataset(
        {"pm25": (("time", "lat", "lon"), arr, {"units": "ug/m3"}),
         "o3": (("time", "lat", "lon"), np.full_like(arr, O3_PPM), {"units": "ppmV"}),
         "time_bnds": (("time", "nv"), bounds)},
        coords={"time": ("time", times, {"bounds": "time_bnds"}),
                "lat": ("lat", lats, {"units": "degrees_north", "standard_name": "latitude"}),
                "lon": ("lon", LONS, {"units": "degrees_east", "standard_name": "longitude"})},
        attrs={"Conventions": "CF-1.8"})
    units = "hours since 2026-01-01 00:00:00"
    ds.to_netcdf(path, engine="netcdf4", encoding={"time": {"units": units},
                                                   "time_bnds": {"units": units}})
    return path


def write_inversion(run_dir: Path, grid: GridSpec, day: dt.date, hot: tuple[int, int],
                    species: dict[str, float], factor: float = 5.0) -> dict[str, Any]:
    """IOAPI prior/posterior (mol/s per cell, hourly over one Beijing day): each species at
    its given rate everywhere; the posterior is ``factor`` times the prior in the hot cell."""
    start = utc(dt.datetime.combine(day, dt.time(0)))
    prior = {k: np.full((24, grid.nrows, grid.ncols), v, dtype=np.float32)
             for k, v in species.items()}
    post = {k: a.copy() for k, a in prior.items()}
    for a in post.values():
        a[:, hot[0], hot[1]] *= factor
    units = {k: "moles/s" for k in species}
    desc = ["emission rates", "Timestamp represents beginning computed date/time"]
    write_ioapi(run_dir / "emis_prior.nc", grid, prior, units, start, 3600, filedesc=desc,
                upnam="OPEMIS")
    write_ioapi(run_dir / "emis_post.nc", grid, post, units, start, 3600, filedesc=desc,
                upnam="OPEMIS")
    return {"kind": "inversion", "format": "ioapi", "prior": "emis_prior.nc",
            "posterior": "emis_post.nc"}


def manifest(run_dir: Path, run_id: str, init_local: dt.datetime,
             outputs: list[dict[str, Any]]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    doc = {"id": run_id, "model": "CMAQ 5.4 (foreign test run)",
           "init_time": init_local.replace(tzinfo=BEIJING).isoformat(), "outputs": outputs}
    (run_dir / "run.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    return run_dir


def by_day(values: dict[dt.date, float]) -> PMOfHour:
    """PM2.5 constant over each Beijing day (CLEAN on days not listed)."""
    return lambda t: values.get(t.date(), CLEAN)


# -- HJ 633-2026 PM2.5 IAQI, worked out in the tests (not the project's aqi module) ----------
PM25_BP = (0, 35, 60, 115, 150, 250, 350, 500)
IAQI = (0, 50, 100, 150, 200, 300, 400, 500)


def iaqi_pm25(c: float) -> int:
    for i in range(len(PM25_BP) - 1):
        lo, hi = PM25_BP[i], PM25_BP[i + 1]
        if c <= hi:
            return math.ceil(round((IAQI[i + 1] - IAQI[i]) / (hi - lo) * (c - lo) + IAQI[i],
                                   9))
    return 500
