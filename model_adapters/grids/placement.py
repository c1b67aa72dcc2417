"""Sites (enterprises, stations) into the cells of any grid, by projecting their coordinates.

One pyproj transform of all points into the grid's projection, then integer division by the
cell size: the cell containing each point, and its projected x/y (for distances). Results are
cached per grid definition and point set, so the 3,609 enterprises and 1,837 stations are
projected once per grid however many hotspots and stations ask (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ecobrain.ontology.grid import GridSpec

_CACHE_SIZE = 16
_cache: OrderedDict[tuple[GridSpec, str], Placement] = OrderedDict()


@dataclass(frozen=True)
class Placement:
    """Where points fall on a grid: row/col (-1 outside), projected x/y in the grid's metres
    (lon/lat degrees on a lat-lon grid)."""

    row: np.ndarray
    col: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def inside(self) -> np.ndarray:
        return self.row >= 0

    def flat(self, ncols: int) -> np.ndarray:
        """Flat cell index row * ncols + col (-1 outside)."""
        return np.where(self.inside, self.row * ncols + self.col, -1)


def _digest(lon: np.ndarray, lat: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(lon.tobytes())
    h.update(lat.tobytes())
    return h.hexdigest()


def place_points(grid: GridSpec, lon: np.ndarray | list[float],
                 lat: np.ndarray | list[float]) -> Placement:
    """The cell of each point (cached per grid definition and point set)."""
    lon_a = np.ascontiguousarray(lon, dtype=np.float64).ravel()
    lat_a = np.ascontiguousarray(lat, dtype=np.float64).ravel()
    key = (grid, _digest(lon_a, lat_a))
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    x, y = grid.lonlat_to_xy(lon_a, lat_a)
    col = np.floor((x - grid.xorig) / grid.xcell)
    row = np.floor((y - grid.yorig) / grid.ycell)
    ok = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < grid.ncols) \
        & (row >= 0) & (row < grid.nrows)
    placed = Placement(row=np.where(ok, row, -1).astype(np.int64),
                       col=np.where(ok, col, -1).astype(np.int64), x=x, y=y)
    _cache[key] = placed
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return placed
