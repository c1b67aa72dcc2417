#!/usr/bin/env python
"""Benchmark: region weights of a grid — computed once, then read from the disk cache.

For Zhejiang's 90 counties on a 3 km grid of 200 × 200 cells and a 1 km grid of 600 × 600,
in one process, beside what placing cells into counties cost before (each cell's centre
located in the county polygons, ``RegionIndex.locate`` — done per process, never cached):

* **centres (before)**: point-in-polygon of every cell centre;
* **weights, computed**: area of every county in every cell (``grids.weights``), into an empty
  cache directory (threads);
* **weights, cached**: the same call again as a new process would make it (in-process caches
  cleared): a file read and the cells' true areas;
* **mapper, cached**: ``build_mapper`` with its weights cached (counties, cities, province).

    .venv/bin/python benchmarks/bench_weights.py
"""

from __future__ import annotations

import os
import tempfile
import time

from bench_common import machine_line

from ecobrain.model_adapters import regions
from ecobrain.model_adapters.grids.weights import area_weights, cell_area_km2
from ecobrain.ontology.geography import RegionIndex, zhejiang_regions
from ecobrain.ontology.grid import GridSpec


def grid(n: int, cell_m: float) -> GridSpec:
    return GridSpec(name=f"ZJ{n}", gdtyp=2, p_alp=25.0, p_bet=40.0, p_gam=120.5, xcent=120.5,
                    ycent=29.0, xorig=-n * cell_m / 2, yorig=-n * cell_m / 2, xcell=cell_m,
                    ycell=cell_m, ncols=n, nrows=n)


def seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> int:
    os.environ["ECOBRAIN_CACHE_DIR"] = tempfile.mkdtemp(prefix="ecobrain-bench-weights-")
    os.environ.setdefault("ECOBRAIN_DASK_SCHEDULER", "threads")
    print(f"# region weights benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    counties = [r for r in zhejiang_regions() if r.level == "county"]
    codes, geoms = [r.code for r in counties], [r.geometry for r in counties]
    index = RegionIndex.counties()
    print(f"{'grid':<22}{'centres (before)':>18}{'computed':>10}{'cached':>9}"
          f"{'mapper, cached':>16}  entries")
    for n, cell in ((200, 3000.0), (600, 1000.0)):
        g = grid(n, cell)
        lon, lat = g.cell_centers_lonlat()
        before = seconds(lambda lon=lon, lat=lat: index.locate(lon, lat))
        computed = seconds(lambda g=g: area_weights(g, codes, geoms))
        cell_area_km2.cache_clear()  # as in a new process: cell areas are computed again
        cached = seconds(lambda g=g: area_weights(g, codes, geoms))
        w = area_weights(g, codes, geoms)
        regions._county_weights.cache_clear()
        regions.build_mapper(g)  # writes the mapper's own cache entry (keyed by file digest)
        regions._county_weights.cache_clear()
        cell_area_km2.cache_clear()
        mapper = seconds(lambda g=g: regions.build_mapper(g))
        print(f"{n} × {n} ({cell / 1000:.0f} km)".ljust(22)
              + f"{before:>17.2f}s{computed:>9.2f}s{cached:>8.2f}s{mapper:>15.2f}s"
              + f"  {w.area.nnz:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
