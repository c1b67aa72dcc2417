#!/usr/bin/env python
"""Benchmark: ``ecobrain decide`` on a foreign run — a 1 km nest of 600 × 600 cells over
northern Zhejiang, 15 days hourly, with a one-day NOX inversion on the same nest.

The run is not ecobrain's: its grid is a 1 km Lambert nest with another team's projection
(secant latitudes 25/47, central meridian 105°E), its forecast a ``CCTM_ACONC_*`` file whose
FILEDESC does not state the time convention. Written once into
``$TMPDIR/ecobrain-bench-nest1km`` (PM25_TOT, O3, NO2; 360 records of 360,000 cells, ~1.6 GB,
not timed), then decided in a fresh graph holding the bundled knowledge (loaded first, not
timed), without documents. Prints seconds per step, the peak RSS of this process and of the
engine worker, and a **floor** measured in the same run: a raw xarray read of the same
forecast variables (every value read once and summed). Aim: the decision < 2 min.

    .venv/bin/python benchmarks/bench_foreign_decide.py [--days 15]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
import xarray as xr
from bench_common import machine_line, private_graph

from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.files.ioapi_writer import IOAPIWriter, VarSpec, write_ioapi
from ecobrain.ontology.geography import RegionIndex
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.grid import GridSpec
from ecobrain.reasoning.decisions.run_decision import decide_run

ROOT = Path(__file__).resolve().parents[1]
NEST = GridSpec("NZJ1KM600", 2, 25.0, 47.0, 105.0, 105.0, 35.0, 1_150_000.0, -650_000.0,
                1_000.0, 1_000.0, 600, 600)
START = dt.date(2026, 12, 7)  # first Beijing day
EPISODE_CITIES = ("330100", "330400", "330500")  # Hangzhou, Jiaxing, Huzhou


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), BEIJING).astimezone(dt.UTC).replace(
        tzinfo=None)


def write_run(run_dir: Path, days: int) -> None:
    """PM2.5 episode on days 4-8 over Hangzhou, Jiaxing and Huzhou; O3 and NO2 diurnal."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lon, lat = NEST.cell_centers_lonlat()
    counties = RegionIndex.counties().locate(lon, lat)
    episode = np.isin(np.array([c[:4] + "00" if c else "" for c in counties.ravel()]),
                      EPISODE_CITIES).reshape(lon.shape)
    specs = [VarSpec("PM25_TOT", "ug m-3", ""), VarSpec("O3", "ppmV", ""),
             VarSpec("NO2", "ppmV", "")]
    hours = np.arange(24)
    with IOAPIWriter(run_dir / "CCTM_ACONC_v54_NZJ1KM600.nc", NEST, specs, _utc(START), 3600,
                     filedesc=["CMAQ v5.4 CCTM output, 1 km nest"], upnam="WR_ACONC") as w:
        for d in range(days):
            heavy = 3 <= d <= 7
            pm = np.full((24, *lon.shape), 35.0, dtype=np.float32)
            if heavy:
                pm[:, episode] = (170.0 + 40 * np.sin(hours / 24 * 2 * np.pi))[:, None]
            o3 = (0.030 + 0.020 * np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
                  ).astype(np.float32)
            w.write(d * 24, {"PM25_TOT": pm,
                             "O3": np.broadcast_to(o3[:, None, None], pm.shape),
                             "NO2": np.full(pm.shape, 0.015, dtype=np.float32)})
    # a one-day NOX inversion: 20 cells with registered NOx emitters run 5x the prior
    rows, cols = [], []
    with (ROOT / "knowledge/reference/enterprises.csv").open(encoding="utf-8-sig") as fh:
        for e in csv.DictReader(fh):
            if "NOx" in e["pollutants"].split(";") and e["county_code"][:4] == "3301":
                r, c = NEST.lonlat_to_rowcol(float(e["lon"]), float(e["lat"]))
                if r >= 0:
                    rows.append(int(r))
                    cols.append(int(c))
    prior = np.full((24, NEST.nrows, NEST.ncols), 0.05, dtype=np.float32)
    post = prior.copy()
    post[:, rows[:20], cols[:20]] *= 5
    desc = ["emission rates", "Timestamp represents beginning computed date/time"]
    day0 = _utc(START - dt.timedelta(days=1))
    write_ioapi(run_dir / "emis_prior.nc", NEST, {"NOX": prior}, {"NOX": "moles/s"}, day0,
                3600, filedesc=desc)
    write_ioapi(run_dir / "emis_post.nc", NEST, {"NOX": post}, {"NOX": "moles/s"}, day0, 3600,
                filedesc=desc)
    init = dt.datetime.combine(START - dt.timedelta(days=1), dt.time(12), BEIJING)
    (run_dir / "run.json").write_text(json.dumps({
        "id": f"nzj1km-{days}d", "model": "CMAQ 5.4 (benchmark nest)",
        "init_time": init.isoformat(),
        "outputs": [{"kind": "forecast", "format": "ioapi",
                     "path": "CCTM_ACONC_v54_NZJ1KM600.nc"},
                    {"kind": "inversion", "format": "ioapi", "prior": "emis_prior.nc",
                     "posterior": "emis_post.nc"}]}), encoding="utf-8")
    (run_dir / "DONE").write_text(str(days))


def raw_read_seconds(path: Path) -> float:
    """Floor: every value of the forecast variables read once with xarray, and summed."""
    t = time.perf_counter()
    with xr.open_dataset(path, engine="netcdf4") as ds:
        for name in ("PM25_TOT", "O3", "NO2"):
            for t0 in range(0, ds.sizes["TSTEP"], 24):
                float(ds[name].isel(TSTEP=slice(t0, t0 + 24)).values.sum())
    return time.perf_counter() - t


def engine_worker_rss_mb() -> float:
    return max((p.memory_info().rss / 1e6 for p in psutil.Process().children(recursive=True)
                if "engine_worker" in " ".join(p.cmdline())), default=0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=15)
    args = parser.parse_args(argv)
    with private_graph():
        return _bench(args.days)


def _bench(days: int) -> int:
    print(f"# 1 km nest decide benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    run_dir = Path(tempfile.gettempdir()) / f"ecobrain-bench-nest1km-{days}d"
    if not (run_dir / "DONE").exists():
        t = time.perf_counter()
        write_run(run_dir, days)
        print(f"run written in {time.perf_counter() - t:.1f} s: {run_dir}")
    size = sum(f.stat().st_size for f in run_dir.iterdir()) / 1e6
    print(f"run: {NEST.ncols} x {NEST.nrows} cells of 1 km, {days} days hourly, "
          f"{size:.0f} MB of netCDF")
    floor = raw_read_seconds(run_dir / "CCTM_ACONC_v54_NZJ1KM600.nc")
    print(f"floor: raw xarray read of PM25_TOT, O3, NO2 (every value once): {floor:.1f} s")
    store = open_store(graph=f"bench_nest_{uuid.uuid4().hex[:10]}")
    try:
        t = time.perf_counter()
        load_bundled(store)
        print(f"knowledge loaded in {time.perf_counter() - t:.1f} s (not timed below)")
        started = time.perf_counter()
        outcome = decide_run(store, run_dir)
        total = time.perf_counter() - started
        worker = engine_worker_rss_mb()
        d, tm = outcome.decision, outcome.timings
        for name, key in (("findings (adapters)", "findings_s"), ("register run", "register_s"),
                          ("reasoning", "decide_s"), ("save", "save_s")):
            print(f"{name:<24}{tm.get(key, 0):8.1f} s")
        print(f"{'decision total':<24}{total:8.1f} s")
        print(f"decision {d.id}: {len(d.alerts)} alerts, {len(d.tasks)} tasks, "
              f"{len(d.advice)} advice; findings {outcome.findings}; warnings "
              f"{[w.code for w in d.warnings]}")
        hot = [t for t in d.tasks if "DenitrationCheck" in t.measure_types]
        print(f"hotspot inspection tasks: {len(hot)}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: this process {peak:.0f} MB; engine worker {worker:.0f} MB (at the end)")
        print(f"aim: decision < 120 s — {'met' if total < 120 else 'NOT met'} ({total:.1f} s)")
    finally:
        store.drop_graph()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
