"""Small model-run files for the adapter tests, written as real IOAPI / CF netCDF.

Everything the adapter tests read goes through the same writer the sample run uses
(``ioapi_writer``), so the tests exercise the real reader on real files; the builders here only
choose small grids and hand-checkable values.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.files.ioapi_writer import write_ioapi
from ecobrain.ontology.grid import ZJ3KM, GridSpec

ACONC_DESC = ["Averaged concentration file output",
              "Timestamp represents beginning computed date/time"]
CONC_DESC = ["Concentration file output"]

# A coarse (30 km) grid over Zhejiang, same projection as ZJ3KM: many counties have no cell
# centre inside them, which exercises the representative-point rule.
COARSE = GridSpec(name="ZJ30KM", gdtyp=2, p_alp=25.0, p_bet=40.0, p_gam=120.5, xcent=120.5,
                  ycent=29.0, xorig=-246_000.0, yorig=-225_000.0, xcell=30_000.0,
                  ycell=30_000.0, ncols=17, nrows=16)
# A 9 km grid with another projection centre: the adapters must not assume ZJ3KM.
SHIFTED = GridSpec(name="ZJ9KMB", gdtyp=2, p_alp=30.0, p_bet=60.0, p_gam=110.0, xcent=110.0,
                   ycent=34.0, xorig=740_000.0, yorig=-750_000.0, xcell=9_000.0, ycell=9_000.0,
                   ncols=64, nrows=63)
FINE = ZJ3KM


def beijing_midnight_utc(day: dt.date) -> dt.datetime:
    """00:00 Beijing time of ``day`` as a naive UTC datetime (16:00Z the day before)."""
    return dt.datetime.combine(day, dt.time(0), BEIJING).astimezone(dt.UTC).replace(tzinfo=None)


Value = float | np.ndarray | Callable[[np.ndarray, GridSpec], np.ndarray]


def field(value: Value, nt: int, grid: GridSpec) -> np.ndarray:
    """A (nt, nrows, ncols) float32 array from a scalar, an hourly series, a (nt, r, c) array
    or a function of the hour index array."""
    shape = (nt, grid.nrows, grid.ncols)
    if callable(value):
        out = value(np.arange(nt), grid)
        return np.broadcast_to(np.asarray(out, dtype=np.float32), shape).copy()
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim == 0:
        return np.full(shape, arr, dtype=np.float32)
    if arr.ndim == 1:
        return np.broadcast_to(arr[:, None, None], shape).astype(np.float32)
    return np.broadcast_to(arr, shape).astype(np.float32)


DEFAULT_UNITS = {"O3": "ppmV", "NO2": "ppmV", "SO2": "ppmV", "CO": "ppmV", "FORM": "ppmV",
                 "PM25": "ug m-3", "PM10": "ug m-3"}


def write_forecast(path: Path, *, start_utc: dt.datetime, hours: int,
                   values: Mapping[str, Value], grid: GridSpec = COARSE,
                   units: Mapping[str, str] | None = None, timestamp: str = "begin",
                   fmt: str = "NETCDF3_64BIT_OFFSET") -> Path:
    """An ACONC-like file: variables named as CMAQ names them (O3, PM25, FORM ...)."""
    u = {**DEFAULT_UNITS, **(units or {})}
    arrays = {k: field(v, hours, grid) for k, v in values.items()}
    desc = ACONC_DESC if timestamp == "begin" else CONC_DESC
    return write_ioapi(path, grid, arrays, {k: u[k] for k in arrays}, start_utc, 3600,
                       filedesc=desc, fmt=fmt, upnam="WR_ACONC")


def write_manifest(run_dir: Path, outputs: list[dict[str, Any]], run_id: str = "test-run",
                   **extra: Any) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    doc = {"id": run_id, "model": "CMAQ 5.4 (test)", "init_time": "2026-11-25T12:00:00+08:00",
           "outputs": outputs, **extra}
    (run_dir / "run.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    return run_dir


def forecast_run(run_dir: Path, *, day: dt.date, days: int, values: Mapping[str, Value],
                 grid: GridSpec = COARSE, **kw: Any) -> Path:
    """A run directory with one forecast file starting at 00:00 Beijing time of ``day``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_forecast(run_dir / "aconc.nc", start_utc=beijing_midnight_utc(day), hours=24 * days,
                   values=values, grid=grid, **kw)
    return write_manifest(run_dir, [{"kind": "forecast", "format": "ioapi",
                                     "path": "aconc.nc"}])


def ppm_from_ugm3(ug: float, molar_mass: float) -> float:
    """ppmV giving ``ug`` µg/m³ at 298.15 K / 1013.25 hPa."""
    return ug / (molar_mass * 101325.0 / (8.314462618 * 298.15))


def write_emissions(path: Path, grid: GridSpec, start_utc: dt.datetime, hours: int,
                    rates: Mapping[str, np.ndarray], units: Mapping[str, str]) -> Path:
    arrays = {k: field(v, hours, grid) for k, v in rates.items()}
    return write_ioapi(path, grid, arrays, dict(units), start_utc, 3600,
                       filedesc=["emission rates", "Timestamp represents beginning computed "
                                 "date/time"], upnam="OPEMIS")


def write_cf_latlon(path: Path, *, lats: np.ndarray, lons: np.ndarray, times: np.ndarray,
                    variables: Mapping[str, tuple[np.ndarray, str]]) -> Path:
    """A CF file on a regular lat/lon grid (time, lat, lon); lats may run north to south."""
    import xarray as xr

    ds = xr.Dataset(
        {name: (("time", "lat", "lon"), arr.astype(np.float32), {"units": units})
         for name, (arr, units) in variables.items()},
        coords={"time": times, "lat": ("lat", lats, {"units": "degrees_north",
                                                      "standard_name": "latitude"}),
                "lon": ("lon", lons, {"units": "degrees_east", "standard_name": "longitude"})},
        attrs={"Conventions": "CF-1.8"},
    )
    ds.to_netcdf(path, engine="netcdf4")
    return path
