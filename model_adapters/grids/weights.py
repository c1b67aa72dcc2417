"""How much of every grid cell lies in every region: sparse area weights, cached per grid.

A region's value is the area-weighted mean of the cells it overlaps, each cell counted by the
part of it that lies inside (a cell half in two counties gives half its area to each), so a
9 km cell straddling a boundary is not given wholly to the county that holds its centre, and a
county smaller than a cell still gets the cell it lies in.

How the areas are found: each region's boundary is densified and projected into the grid's
own coordinates, where cells are axis-aligned rectangles; the polygon is cut into one strip per
grid row (``clip_by_rect``) and each strip intersected with the row's cell boxes (vectorised
shapely 2). The fraction of the cell's projected area inside the region, times the cell's true
area (the projection's areal scale at its centre), is the region's area in that cell (km²).
Fractions below ``MIN_FRACTION`` (slivers where neighbouring boundaries do not quite meet) are
dropped.

The result depends only on the grid definition and the boundaries, so it is stored on disk
(``<data dir>/cache/region-weights``, or ``ECOBRAIN_CACHE_DIR``) under a key made of both; a
new grid or a new boundary version computes it once, every later run of that grid reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import dask
import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from shapely.geometry.base import BaseGeometry

from ecobrain.model_adapters.compute import scheduler
from ecobrain.ontology.graph.config import default_data_dir
from ecobrain.ontology.grid import EARTH_RADIUS_M, LATGRD3, GridSpec

# Bump when the way weights are computed changes: old cache files are then not read.
WEIGHTS_VERSION = 2
MIN_FRACTION = 1e-6
# Densify boundaries to this spacing (degrees) before projecting: a projected straight edge
# is a curve in lon/lat and vice versa.
SEGMENT_DEG = 0.01
REGIONS_PER_TASK = 64
# What computing a grid's weights is taken to cost per cell (shapely boxes and intersections),
# for the scheduler's threads-or-cluster choice: a national 3 km grid goes to the cluster.
BYTES_PER_CELL = 1024
# Albers equal-area for China: a region's whole area, to say how much of it a grid covers.
_EQUAL_AREA = pyproj.Transformer.from_crs(
    "EPSG:4326", "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m +no_defs",
    always_xy=True)


@dataclass(frozen=True)
class AreaWeights:
    """Area (km²) of each region in each cell: ``area[k, cell]``, cells flat row-major."""

    codes: tuple[str, ...]
    area: sp.csr_matrix  # (nregions, ncells) float64 km²
    cell_area_km2: np.ndarray  # (ncells,) true area of every cell
    region_total_km2: np.ndarray  # (nregions,) whole area of each region, on the grid or not

    @property
    def fraction(self) -> sp.csr_matrix:
        """Share of each cell's area in each region (0..1)."""
        return sp.csr_matrix(self.area @ sp.diags(1.0 / self.cell_area_km2))


def cache_dir() -> Path:
    if env := os.environ.get("ECOBRAIN_CACHE_DIR"):
        return Path(env).expanduser() / "region-weights"
    return default_data_dir() / "cache" / "region-weights"


def boundary_digest(codes: Sequence[str], geometries: Sequence[BaseGeometry]) -> str:
    """A version of a boundary set: its codes and exact coordinates."""
    h = hashlib.blake2b(digest_size=16)
    for c, g in zip(codes, geometries, strict=True):
        h.update(c.encode())
        h.update(shapely.to_wkb(g))
    return h.hexdigest()


def grid_key(grid: GridSpec) -> str:
    fields = (grid.gdtyp, grid.p_alp, grid.p_bet, grid.p_gam, grid.xcent, grid.ycent,
              grid.xorig, grid.yorig, grid.xcell, grid.ycell, grid.ncols, grid.nrows)
    return hashlib.blake2b(repr(fields).encode(), digest_size=12).hexdigest()


@cache
def cell_area_km2(grid: GridSpec) -> np.ndarray:
    """True area of every cell (nrows, ncols) on the CMAQ sphere, km²."""
    if grid.gdtyp == LATGRD3:
        lat_s = np.radians(grid.yorig + np.arange(grid.nrows) * grid.ycell)
        lat_n = lat_s + np.radians(grid.ycell)
        row = EARTH_RADIUS_M ** 2 * np.radians(grid.xcell) * (np.sin(lat_n) - np.sin(lat_s))
        return np.repeat(row[:, None], grid.ncols, axis=1) / 1e6
    lon, lat = grid.cell_centers_lonlat()
    factors = pyproj.Proj(grid.crs).get_factors(lon, lat)
    return grid.xcell * grid.ycell / np.asarray(factors.areal_scale) / 1e6


def _to_grid_xy(grid: GridSpec, geom: BaseGeometry) -> BaseGeometry:
    dense = shapely.segmentize(geom, SEGMENT_DEG)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = grid.lonlat_to_xy(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.make_valid(shapely.transform(dense, project))


def region_fractions(grid: GridSpec, geom_xy: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Flat cell indices and the fraction of each cell's projected area inside ``geom_xy``
    (a polygon already in the grid's coordinates)."""
    if geom_xy.is_empty:
        return np.zeros(0, np.int64), np.zeros(0)
    x0, y0, x1, y1 = geom_xy.bounds
    c0 = max(int(np.floor((x0 - grid.xorig) / grid.xcell)), 0)
    c1 = min(int(np.floor((x1 - grid.xorig) / grid.xcell)), grid.ncols - 1)
    r0 = max(int(np.floor((y0 - grid.yorig) / grid.ycell)), 0)
    r1 = min(int(np.floor((y1 - grid.yorig) / grid.ycell)), grid.nrows - 1)
    if c1 < c0 or r1 < r0:
        return np.zeros(0, np.int64), np.zeros(0)
    cell = grid.xcell * grid.ycell
    xs = grid.xorig + np.arange(c0, c1 + 2) * grid.xcell
    cells_out: list[np.ndarray] = []
    frac_out: list[np.ndarray] = []
    for r in range(r0, r1 + 1):
        ya, yb = grid.yorig + r * grid.ycell, grid.yorig + (r + 1) * grid.ycell
        strip = shapely.clip_by_rect(geom_xy, xs[0], ya, xs[-1], yb)
        if strip.is_empty or strip.area <= 0:
            continue
        sx0, _, sx1, _ = strip.bounds
        a = max(int(np.floor((sx0 - grid.xorig) / grid.xcell)), c0)
        b = min(int(np.floor((sx1 - grid.xorig) / grid.xcell)), c1)
        cols = np.arange(a, b + 1)
        boxes = shapely.box(grid.xorig + cols * grid.xcell, ya,
                            grid.xorig + (cols + 1) * grid.xcell, yb)
        frac = shapely.area(shapely.intersection(boxes, strip)) / cell
        keep = frac >= MIN_FRACTION
        cells_out.append(r * grid.ncols + cols[keep])
        frac_out.append(np.minimum(frac[keep], 1.0))
    if not cells_out:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(cells_out).astype(np.int64), np.concatenate(frac_out)


def _weights_part(grid: GridSpec, first: int, geometries: Sequence[BaseGeometry]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(region, cell, area km²) entries of some regions, and their whole areas (one task)."""
    cell_area = cell_area_km2(grid).ravel()
    rows, cols, vals = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    totals = np.array([shapely.transform(g, _EQUAL_AREA.transform, interleaved=False).area
                       for g in geometries]) / 1e6
    for k, g in enumerate(geometries, start=first):
        cells, frac = region_fractions(grid, _to_grid_xy(grid, g))
        rows.append(np.full(len(cells), k, np.int64))
        cols.append(cells)
        vals.append(frac * cell_area[cells])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), totals


def compute_area_weights(grid: GridSpec, codes: Sequence[str],
                         geometries: Sequence[BaseGeometry]) -> AreaWeights:
    """Area weights of the regions on the grid (no cache), in tasks of
    :data:`REGIONS_PER_TASK` regions on the adapters' scheduler: threads for a provincial grid,
    the cluster for a national one (:data:`BYTES_PER_CELL` per cell decides)."""
    geoms = list(geometries)
    tasks = [dask.delayed(_weights_part, pure=False)(grid, k, geoms[k:k + REGIONS_PER_TASK])
             for k in range(0, len(geoms), REGIONS_PER_TASK)]
    parts = scheduler.compute(tasks, grid.nrows * grid.ncols * BYTES_PER_CELL) if tasks else []
    n = grid.nrows * grid.ncols
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    vals = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    area = sp.csr_matrix((vals, (rows, cols)), shape=(len(codes), n))
    area.sum_duplicates()
    area.sort_indices()
    totals = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0)
    return AreaWeights(tuple(codes), area, cell_area_km2(grid).ravel(), totals)


def area_weights(grid: GridSpec, codes: Sequence[str],
                 geometries: Sequence[BaseGeometry] | Callable[[], Sequence[BaseGeometry]],
                 *, version: str | None = None, use_cache: bool = True) -> AreaWeights:
    """Area weights of the regions on the grid, read from or written to the disk cache.

    ``geometries`` may be a function, called only when the weights must be computed;
    ``version`` names the boundary set (default: a digest of the geometries themselves)."""
    geoms = geometries if not callable(geometries) else None

    def get_geoms() -> Sequence[BaseGeometry]:
        nonlocal geoms
        if geoms is None:
            geoms = geometries()  # type: ignore[operator]
        return geoms

    digest = version or boundary_digest(codes, get_geoms())
    key = hashlib.blake2b(f"{digest}|{','.join(codes)}".encode(), digest_size=12).hexdigest()
    path = cache_dir() / f"v{WEIGHTS_VERSION}-{grid_key(grid)}-{key}.npz"
    if use_cache and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if meta["codes"] == list(codes):
                    area = sp.csr_matrix((z["data"], z["indices"], z["indptr"]),
                                         shape=tuple(meta["shape"]))
                    # the cells' true areas are kept beside the weights (projection factors
                    # of every cell cost more than reading the file); a file written before
                    # they were gets them added
                    stored = "cell_area" in z.files
                    cells = np.asarray(z["cell_area"]) if stored else \
                        cell_area_km2(grid).ravel()
                    w = AreaWeights(tuple(codes), area, cells, np.asarray(z["totals"]))
            if meta["codes"] == list(codes):
                if not stored:
                    _write(path, w, grid)
                return w
        except (OSError, ValueError, KeyError):
            pass  # an unreadable cache file is recomputed and replaced
    w = compute_area_weights(grid, codes, get_geoms())
    if use_cache:
        _write(path, w, grid)
    return w


def _write(path: Path, w: AreaWeights, grid: GridSpec) -> None:
    """Write atomically (a concurrent reader sees the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"codes": list(w.codes), "shape": list(w.area.shape),
                       "grid": grid.as_dict(), "version": WEIGHTS_VERSION})
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, data=w.area.data, indices=w.area.indices, indptr=w.area.indptr,
                     totals=w.region_total_km2, cell_area=w.cell_area_km2,
                     meta=np.array(meta))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
