#!/usr/bin/env python
"""Benchmark: the model adapters on a run the size of a provincial CMAQ domain.

The run (written once into ``--workdir``, reused afterwards):

* a 15-day hourly forecast (360 records) on a 200×200 3 km Lambert grid over Zhejiang with
  PM25, PM10, O3, NO2, SO2, CO and FORM (HCHO) — netCDF3 64-bit offset, uncompressed, as CMAQ
  writes it (403 MB);
* an ISAM SA_ACONC file with 10 tags (7 user + BCO/OTH/ICO) for PM25 and O3 (1.15 GB);
* a one-day hourly inversion (prior and posterior) of NOX, SO2, VOC and PM25.

Each measurement runs ``collect_findings`` in a fresh Python process (cold imports, region
weights from the disk cache of a first untimed run) and reports the adapter's wall time (after
imports) beside the **floor** measured in the same run — netCDF4 reading every value the case
reads once, in its own fresh process, alternating with the adapter runs — and their ratio.
Both are measured twice: with the case's files **from disk** (evicted from the OS page cache
before each run with ``posix_fadvise(DONTNEED)``: how a model run's files are read the first
time, and the floor issue 18 set its aim against) and **from the page cache** (read once
before). Also the CPU time of the whole process (user + system, including imports; less
sensitive to a busy machine), the import time, and the peak RSS. Stations are the bundled
``stations.csv`` when it exists, else 1,737 synthetic points in Zhejiang counties.

The cases are the paths users run: ``decision`` is what ``ecobrain decide`` reads (every kind,
no stations, no hourly series); ``findings`` what ``ecobrain findings`` shows (the forecast with
its stations); ``export`` what ``ecobrain findings --format json --hourly`` writes (stations and
4.2 million hourly values as Python objects); ``all`` every kind with stations and hourly.

    .venv/bin/python benchmarks/bench_adapters.py [--workdir DIR] [--only forecast,...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.files.ioapi_writer import IOAPIWriter, VarSpec
from ecobrain.model_adapters.regions import default_stations_path
from ecobrain.model_adapters.sample_run import _smooth_field
from ecobrain.ontology.geography import RegionIndex
from ecobrain.ontology.grid import GridSpec

NT = 360
TAGS = ("HZIND", "HZMOB", "JXIND", "HUIND", "NBPWR", "SXIND", "OUTZJ")


def bench_grid():
    return GridSpec(name="BENCH200", gdtyp=2, p_alp=25.0, p_bet=40.0, p_gam=120.5,
                    xcent=120.5, ycent=29.0, xorig=-300_000.0, yorig=-300_000.0,
                    xcell=3_000.0, ycell=3_000.0, ncols=200, nrows=200)


def _smooth(rng: np.random.Generator, shape: tuple[int, int], n: int = 9) -> np.ndarray:
    return _smooth_field(rng, shape, n).astype(np.float32)


def write_run(work: Path) -> Path:
    """Write the benchmark run (once)."""
    run = work / "run"
    marker = run / "run.json"
    if marker.exists():
        return run
    run.mkdir(parents=True, exist_ok=True)
    grid = bench_grid()
    shape = (grid.nrows, grid.ncols)
    rng = np.random.default_rng(42)
    start = dt.datetime(2026, 11, 26, tzinfo=BEIJING)
    base = {k: _smooth(rng, shape) for k in ("pm", "o3", "no2", "hcho")}
    h = np.arange(24, dtype=np.float32)[:, None, None]
    day_cycle = (1 + 0.3 * np.sin(2 * np.pi * (h - 9) / 24)).astype(np.float32)
    specs = [VarSpec("PM25", "ug m-3"), VarSpec("PM10", "ug m-3"), VarSpec("O3", "ppmV"),
             VarSpec("NO2", "ppmV"), VarSpec("SO2", "ppmV"), VarSpec("CO", "ppmV"),
             VarSpec("FORM", "ppmV")]
    sa_specs = [VarSpec(f"{sp}_{t}", u, "tracer conc.") for t in (*TAGS, "BCO", "OTH", "ICO")
                for sp, u in (("PM25", "micrograms/m**3"), ("O3", "ppmV"))]
    desc = ["benchmark forecast", "Timestamp represents beginning computed date/time"]
    t0 = time.perf_counter()
    with IOAPIWriter(run / "CCTM_ACONC_bench.nc", grid, specs, start, 3600,
                     filedesc=desc) as wf, \
            IOAPIWriter(run / "CCTM_SA_ACONC_bench.nc", grid, sa_specs, start, 3600,
                        filedesc=desc) as ws:
        weights = rng.uniform(0.5, 1.5, len(TAGS) + 3).astype(np.float32)
        weights /= weights.sum()
        for d in range(NT // 24):
            amp = np.float32(1 + 0.5 * np.sin(d))
            pm = (40 + 25 * base["pm"])[None] * day_cycle * amp
            o3 = ((0.04 + 0.015 * base["o3"])[None] * day_cycle).astype(np.float32)
            data = {
                "PM25": pm, "PM10": pm * np.float32(1.4),
                "O3": o3,
                "NO2": np.broadcast_to((0.015 + 0.008 * base["no2"])[None], pm.shape),
                "SO2": np.broadcast_to(np.float32(0.004) + 0 * base["no2"][None], pm.shape),
                "CO": np.broadcast_to((0.6 + 0.2 * base["pm"])[None], pm.shape),
                "FORM": np.broadcast_to((0.004 + 0.002 * base["hcho"])[None], pm.shape),
            }
            wf.write(d * 24, data)
            sa = {}
            for sp, bulk in (("PM25", pm), ("O3", o3)):
                parts = [bulk * w for w in weights]
                parts[-2] = bulk - sum(p for i, p in enumerate(parts) if i != len(parts) - 2)
                for t, p in zip((*TAGS, "BCO", "OTH", "ICO"), parts, strict=True):
                    sa[f"{sp}_{t}"] = p
            ws.write(d * 24, sa)
    emis = [VarSpec("NOX", "moles/s"), VarSpec("SO2", "moles/s"), VarSpec("VOC", "g/s"),
            VarSpec("PM25", "g/s")]
    prior = {v.name: np.abs(_smooth(rng, shape)) + np.float32(0.1) for v in emis}
    post = {k: v * rng.uniform(0.9, 1.1, shape).astype(np.float32) for k, v in prior.items()}
    for k in post:
        idx = rng.integers(0, shape[0] * shape[1], 25)
        post[k].ravel()[idx] *= 6.0
        post[k].ravel()[idx] += 10.0
    inv_start = start - dt.timedelta(days=1)
    for name, fields in (("emis_prior.nc", prior), ("emis_post.nc", post)):
        with IOAPIWriter(run / name, grid, emis, inv_start, 3600,
                         filedesc=["benchmark emissions",
                                   "Timestamp represents beginning computed date/time"]) as w:
            w.write(0, {k: np.broadcast_to(v[None], (24, *shape)) for k, v in fields.items()})
    manifest = {
        "id": "bench-200x200", "model": "CMAQ 5.4 (benchmark)",
        "init_time": "2026-11-25T12:00:00+08:00",
        "outputs": [
            {"kind": "forecast", "format": "ioapi", "path": "CCTM_ACONC_bench.nc"},
            {"kind": "attribution", "format": "ioapi", "path": "CCTM_SA_ACONC_bench.nc",
             "tags": {t: {"region": "outside" if t == "OUTZJ" else "330100",
                          "sector": "industry"} for t in TAGS}},
            {"kind": "inversion", "format": "ioapi", "prior": "emis_prior.nc",
             "posterior": "emis_post.nc"},
        ],
    }
    marker.write_text(json.dumps(manifest, indent=1))
    print(f"wrote benchmark run in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in sorted(run.iterdir())
                      if p.suffix == ".nc"), file=sys.stderr)
    return run


def stations_for_bench(work: Path) -> Path:
    """The bundled stations.csv if present, else 1,737 synthetic stations in counties."""
    bundled = default_stations_path()
    if bundled.exists():
        return bundled
    path = work / "stations.csv"
    if path.exists():
        return path

    rng = np.random.default_rng(7)
    lon = rng.uniform(118.0, 122.9, 6000)
    lat = rng.uniform(27.1, 31.1, 6000)
    county = RegionIndex.counties().locate(lon, lat)
    keep = np.flatnonzero(county != None)[:1737]  # noqa: E711
    lines = ["id,name,kind,county_code,lon,lat"]
    lines += [f"B{i:04d},bench {i},county,{county[j]},{lon[j]:.5f},{lat[j]:.5f}"
              for i, j in enumerate(keep)]
    path.write_text("\n".join(lines) + "\n")
    return path


CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.regions import load_stations_csv
t1 = time.perf_counter()
kinds = json.loads(sys.argv[2])
stations = load_stations_csv(sys.argv[3]) if sys.argv[3] else []
res = collect_findings(sys.argv[1], kinds=kinds, stations=stations,
                       include_hourly=sys.argv[4] == "1")
t2 = time.perf_counter()
ru = resource.getrusage(resource.RUSAGE_SELF)
counts = {k: len(getattr(res, k)) for k in ("daily_aqi", "hourly", "episodes", "hotspots",
                                             "region_emissions", "attribution", "regimes")}
print(json.dumps({"import_s": t1 - t0, "work_s": t2 - t1, "cpu_s": ru.ru_utime + ru.ru_stime,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "counts": counts, "stations": len(stations)}))
"""


GRIDDED_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.model_adapters.forecast import read_forecast
from ecobrain.model_adapters.regions import build_mapper, load_stations_csv
t1 = time.perf_counter()
stations = load_stations_csv(sys.argv[2])
with open_gridded(Path(sys.argv[1]) / "CCTM_ACONC_bench.nc", "ioapi") as f:
    mapper = build_mapper(f.grid, stations)
    t2 = time.perf_counter()
    fs = read_forecast(f, "bench", mapper)
    t3 = time.perf_counter()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"import_s": t1 - t0, "work_s": t3 - t2, "cpu_s": ru.ru_utime + ru.ru_stime,
                  "peak_rss_mb": ru.ru_maxrss / 1024, "stations": len(stations),
                  "counts": {"region series": len(fs.raw) * mapper.nregions}}))
"""


FLOOR_CHILD = r"""
import json, sys, time
import netCDF4
reads = json.loads(sys.argv[1])
t = time.perf_counter()
for path, names in reads:
    with netCDF4.Dataset(path) as nc:
        for name in names:
            v = nc.variables[name]
            for s in range(0, v.shape[0], 24):
                v[s:s + 24]
print(json.dumps({"floor_s": time.perf_counter() - t}))
"""


def evict(paths: list[Path]) -> None:
    """Drop the files' pages from the OS page cache (clean pages; no root needed), so the next
    read comes from the disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def prepare(cache: str, reads: list[tuple[str, list[str]]]) -> None:
    """Before a measured run: the case's files out of the page cache ("disk"), or in it."""
    if cache == "disk":
        evict([Path(p) for p, _ in reads])
    else:
        measure_floor(reads)


def measure(run: Path, kinds: list[str], stations: Path | None, hourly: bool) -> dict:
    if kinds == ["gridded"]:
        out = subprocess.run([sys.executable, "-c", GRIDDED_CHILD, str(run), str(stations)],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    out = subprocess.run([sys.executable, "-c", CHILD, str(run), json.dumps(kinds),
                          str(stations) if stations else "", "1" if hourly else "0"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def case_reads(run: Path, kinds: list[str]) -> list[tuple[str, list[str]]]:
    """The files and variables a case reads."""
    forecast = ["PM25", "PM10", "O3", "NO2", "SO2", "CO", "FORM"]
    sa = [f"{sp}_{t}" for t in (*TAGS, "BCO", "OTH", "ICO") for sp in ("PM25", "O3")]
    emis = ["NOX", "SO2", "VOC", "PM25"]
    wanted: dict[str, set[str]] = {}
    if "forecast" in kinds or "gridded" in kinds:
        wanted.setdefault("CCTM_ACONC_bench.nc", set()).update(forecast)
    if "regime" in kinds:
        wanted.setdefault("CCTM_ACONC_bench.nc", set()).update(["NO2", "FORM"])
    if "attribution" in kinds:
        wanted.setdefault("CCTM_ACONC_bench.nc", set()).update(["PM25", "O3"])
        wanted.setdefault("CCTM_SA_ACONC_bench.nc", set()).update(sa)
    if "inversion" in kinds:
        wanted.setdefault("emis_prior.nc", set()).update(emis)
        wanted.setdefault("emis_post.nc", set()).update(emis)
    return [(str(run / f), sorted(v)) for f, v in wanted.items()]


def measure_floor(reads: list[tuple[str, list[str]]]) -> float:
    """netCDF4 reading every value the case reads, once, in a fresh process (imports not
    counted): the floor the adapters are compared with."""
    out = subprocess.run([sys.executable, "-c", FLOOR_CHILD, json.dumps(reads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["floor_s"]


ALL_KINDS = ["forecast", "inversion", "attribution", "regime"]
# name: (kinds, with stations, with hourly series)
CASES = {
    # the gridded work alone: the 7 variables, day blocks -> all region and station series
    "forecast-gridded": (["gridded"], True, False),
    "decision": (ALL_KINDS, False, False),
    "findings": (["forecast"], True, False),
    "export": (["forecast"], True, True),
    "regime": (["regime"], False, False),
    "attribution": (["attribution"], False, False),
    "inversion": (["inversion"], False, False),
    "all": (ALL_KINDS, True, True),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) /
                    "ecobrain-bench-adapters")
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--repeat", type=int, default=2, help="runs per case (best is reported)")
    ap.add_argument("--cache", choices=["disk", "cache", "both"], default="both",
                    help="read the case's files from disk (evicted first), from the page "
                    "cache, or both")
    args = ap.parse_args()
    run = write_run(args.workdir)
    stations = stations_for_bench(args.workdir)
    # The region weights of the benchmark grid, cached in the workdir: computed by a first
    # (untimed) run, read from disk by every measured one, as for any grid already seen.
    os.environ["ECOBRAIN_CACHE_DIR"] = str(args.workdir / "cache")
    t = time.perf_counter()
    measure(run, ["inversion"], stations, False)
    first = time.perf_counter() - t
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; date {dt.date.today()}; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"run: {run}; first run on this grid (weights computed and cached, inversion): "
          f"{first:.1f} s")
    caches = ["disk", "cache"] if args.cache == "both" else [args.cache]
    print(f"{'case':<18}{'files in':>9}{'wall s':>8}{'floor s':>9}{'ratio':>7}{'cpu s':>8}"
          f"{'import s':>10}{'peak RSS MB':>13}  findings")
    for name in args.only.split(","):
        kinds, with_stations, hourly = CASES[name]
        reads = case_reads(run, kinds)
        for cache in caches:
            results, floors = [], []
            for _ in range(args.repeat):  # floor and adapters alternate: the same load for both
                prepare(cache, reads)
                floors.append(measure_floor(reads))
                prepare(cache, reads)
                results.append(measure(run, kinds, stations if with_stations else None, hourly))
            best = min(results, key=lambda r: r["work_s"])
            floor = min(floors)
            rss = max(r["peak_rss_mb"] for r in results)
            counts = ", ".join(f"{k} {v}" for k, v in best["counts"].items() if v)
            print(f"{name:<18}{cache:>9}{best['work_s']:>8.2f}{floor:>9.2f}"
                  f"{best['work_s'] / floor:>7.2f}{best['cpu_s']:>8.2f}{best['import_s']:>10.2f}"
                  f"{rss:>13.0f}  {counts} ({best['stations']} stations)", flush=True)

if __name__ == "__main__":
    main()
