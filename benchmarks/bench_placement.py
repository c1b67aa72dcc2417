#!/usr/bin/env python
"""Benchmark: placing the enterprise register and the stations into a new run's grid.

A run's grid is whatever its files declare, so the 3,609 enterprises and 1,837 stations of
the bundled register are projected into it when a run arrives (``grids.placement``). This
measures, on a 1,000 × 1,000-cell grid (1 km Lambert with another team's projection
parameters), beside floors measured in the same run:

* **floor, transform**: one raw ``pyproj`` transform of the same 5,446 points with a
  transformer already built (the arithmetic nobody can avoid);
* **floor, transformer**: building a ``pyproj.Transformer`` for the grid's projection;
* **placement, new grid definition**: ``place_points`` on a grid never seen in the process
  (transformer built, points projected, cells computed);
* **placement, cached**: the same grid and points again (the per-grid cache);

each repeated ``--repeat`` times with fresh grid definitions, best and median; and the peak
memory the placement allocates (tracemalloc). Aim: placement < 1 s.

    .venv/bin/python benchmarks/bench_placement.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pyproj
from bench_common import machine_line

from ecobrain.model_adapters.grids.placement import place_points
from ecobrain.ontology.grid import GridSpec

ROOT = Path(__file__).resolve().parents[1]


def register_points() -> tuple[np.ndarray, np.ndarray]:
    lon: list[float] = []
    lat: list[float] = []
    for name in ("enterprises.csv", "stations.csv"):
        with (ROOT / "knowledge/reference" / name).open(encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                lon.append(float(row["lon"]))
                lat.append(float(row["lat"]))
    return np.array(lon), np.array(lat)


def grid(k: int) -> GridSpec:
    """A 1,000 × 1,000 1 km Lambert grid over East China; ``k`` makes each definition new."""
    return GridSpec(f"EC1KM{k}", 2, 25.0 + k * 0.01, 47.0, 110.0, 110.0, 34.0,
                    600_000.0, -1_000_000.0, 1_000.0, 1_000.0, 1_000, 1_000)


def seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    lon, lat = register_points()
    print(f"# placement benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    print(f"points: {len(lon)} (enterprises + stations); grid 1,000 × 1,000 cells of 1 km")
    floor_tr, floor_build, cold, warm = [], [], [], []
    inside = 0
    for k in range(args.repeat):
        g = grid(k)
        floor_build.append(seconds(lambda g=g: pyproj.Transformer.from_crs(
            "EPSG:4326", g.proj4 + " +type=crs", always_xy=True)))
        tr = pyproj.Transformer.from_crs("EPSG:4326", g.proj4 + " +type=crs", always_xy=True)
        floor_tr.append(seconds(lambda tr=tr: tr.transform(lon, lat)))
        g2 = grid(100 + k)  # a definition the process has not seen: nothing cached
        cold.append(seconds(lambda g2=g2: place_points(g2, lon, lat)))
        warm.append(seconds(lambda g2=g2: place_points(g2, lon, lat)))
        inside = int(place_points(g2, lon, lat).inside.sum())
    tracemalloc.start()
    place_points(grid(999), lon, lat)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    def fmt(xs: list[float]) -> str:
        return f"best {min(xs) * 1e3:.1f} ms, median {statistics.median(xs) * 1e3:.1f} ms"

    print(f"floor, raw pyproj transform of the points: {fmt(floor_tr)}")
    print(f"floor, building the transformer:          {fmt(floor_build)}")
    print(f"placement, new grid definition:            {fmt(cold)}")
    print(f"placement, cached (same grid and points):  {fmt(warm)}")
    print(f"points on the grid: {inside} of {len(lon)}; peak memory allocated by one "
          f"placement: {peak:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
