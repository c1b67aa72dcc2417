"""A later inversion run for the evaluation tests, written as a CMAQ-side system writes one.

Hourly IOAPI emission files (NOX and SO2 in moles/s, VOC and PM25 in g/s, as SMOKE writes
them), a diurnal profile whose daily mean is 1, starting at 00:00 Beijing time; the fields are
given in t/day per cell and per day, so a test knows the daily means it should get back.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.files.ioapi_writer import IOAPIWriter, VarSpec
from ecobrain.model_adapters.files.units import MOLAR_MASS
from ecobrain.ontology.grid import ZJ3KM, GridSpec

SPECIES = {  # ecobrain species -> (variable, units, t/day -> file unit)
    "NOx": ("NOX", "moles/s", 1e6 / 86400.0 / MOLAR_MASS["NO2"]),
    "SO2": ("SO2", "moles/s", 1e6 / 86400.0 / MOLAR_MASS["SO2"]),
    "VOCs": ("VOC", "g/s", 1e6 / 86400.0),
    "PM2_5": ("PM25", "g/s", 1e6 / 86400.0),
}


def base_field(grid: GridSpec = ZJ3KM, scale: float = 1.0) -> np.ndarray:
    """A smooth positive t/day field (no zero cell: every ratio is defined)."""
    r = np.arange(grid.nrows)[:, None]
    c = np.arange(grid.ncols)[None, :]
    return scale * (0.05 + 0.02 * ((r * 7 + c * 3) % 11) / 10.0)


def write_inversion_run(out: Path, run_id: str, first_day: dt.date,
                        prior: dict[str, np.ndarray], posterior: dict[str, np.ndarray],
                        grid: GridSpec = ZJ3KM, start_hour: int = 0) -> Path:
    """prior/posterior: species -> (ndays, nrows, ncols) t/day, 24 hourly records each from
    `start_hour` (Beijing) of `first_day` on. Returns the run directory."""
    out.mkdir(parents=True, exist_ok=True)
    ndays = next(iter(prior.values())).shape[0]
    h = np.arange(24, dtype=float)
    profile = 1.0 + 0.3 * np.sin(2 * np.pi * (h - 9) / 24)
    profile = profile / profile.mean()
    start = dt.datetime.combine(first_day, dt.time(start_hour), BEIJING)
    specs = [VarSpec(SPECIES[s][0], SPECIES[s][1], f"{s} emission rate") for s in SPECIES]
    for name, fields in (("emis_prior.nc", prior), ("emis_post.nc", posterior)):
        with IOAPIWriter(out / name, grid, specs, start, 3600, upnam="OPEMIS",
                         filedesc=["later inversion for the evaluation tests"],
                         fmt="NETCDF4_CLASSIC", zlib=True) as w:
            for d in range(ndays):
                w.write(d * 24, {SPECIES[s][0]: (fields[s][d] * SPECIES[s][2])[None]
                                 * profile[:, None, None] for s in SPECIES})
    manifest = {"id": run_id, "model": "Kalman-filter inversion (test)",
                "init_time": dt.datetime.combine(first_day + dt.timedelta(days=ndays),
                                                 dt.time(12), BEIJING).isoformat(),
                "outputs": [{"kind": "inversion", "format": "ioapi", "prior": "emis_prior.nc",
                             "posterior": "emis_post.nc"}]}
    (out / "run.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def write_daily_inversion_run(out: Path, run_id: str, first_day: dt.date,
                              prior: dict[str, np.ndarray], posterior: dict[str, np.ndarray],
                              grid: GridSpec = ZJ3KM) -> Path:
    """The same, with one record per Beijing day (TSTEP 240000), as daily inversions write."""
    out.mkdir(parents=True, exist_ok=True)
    start = dt.datetime.combine(first_day, dt.time(0), BEIJING)
    specs = [VarSpec(SPECIES[s][0], SPECIES[s][1], f"{s} emission rate") for s in SPECIES]
    for name, fields in (("prior_daily.nc", prior), ("post_daily.nc", posterior)):
        with IOAPIWriter(out / name, grid, specs, start, 86400, upnam="DAILYINV",
                         filedesc=["daily inversion for the evaluation tests"]) as w:
            w.write(0, {SPECIES[s][0]: fields[s] * SPECIES[s][2] for s in SPECIES})
    (out / "run.json").write_text(json.dumps({
        "id": run_id, "outputs": [{"kind": "inversion", "format": "ioapi",
                                   "prior": "prior_daily.nc", "posterior": "post_daily.nc"}]}),
        encoding="utf-8")
    return out
