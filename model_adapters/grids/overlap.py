"""Which counties a grid cell lies in, by area: a 9 km cell is not where its centre is.

The cell's outline (its edges densified, then unprojected to lon/lat) is intersected with
the county boundaries of the shared geography; areas are compared in an equal-area
projection. A cell is *in* every county that holds at least ``min_share`` of the cell's
in-province area, largest first — a cell straddling a boundary names both counties.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyproj
import shapely
from shapely.geometry import Polygon

from ecobrain.ontology.geography import RegionIndex, regions_by_code
from ecobrain.ontology.grid import GridSpec

# Albers equal-area for China (the geography's area_km2 uses the same kind of projection).
_EQUAL_AREA = pyproj.Transformer.from_crs(
    "EPSG:4326", "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m +no_defs",
    always_xy=True)
DEFAULT_MIN_SHARE = 0.2
_EDGE_POINTS = 8


def _equal_area(coords: np.ndarray) -> np.ndarray:
    x, y = _EQUAL_AREA.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


@dataclass(frozen=True)
class CountyShare:
    county_code: str
    share: float  # of the cell's area that lies in the province
    area_km2: float


def _outline_lonlat(grid: GridSpec, x0: float, y0: float, x1: float, y1: float,
                    points_per_edge: int) -> Polygon:
    """A rectangle of grid coordinates as a lon/lat polygon, each edge densified (projected
    edges are not straight in lon/lat)."""
    t = np.linspace(0.0, 1.0, points_per_edge, endpoint=False)
    xs = np.concatenate([x0 + t * (x1 - x0), np.full_like(t, x1), x1 - t * (x1 - x0),
                         np.full_like(t, x0)])
    ys = np.concatenate([np.full_like(t, y0), y0 + t * (y1 - y0), np.full_like(t, y1),
                         y1 - t * (y1 - y0)])
    lon, lat = grid.xy_to_lonlat(xs, ys)
    return Polygon(zip(np.asarray(lon).tolist(), np.asarray(lat).tolist(), strict=True))


def cell_outline_lonlat(grid: GridSpec, row: int, col: int) -> Polygon:
    """The cell as a lon/lat polygon."""
    x0, y0 = grid.xorig + col * grid.xcell, grid.yorig + row * grid.ycell
    return _outline_lonlat(grid, x0, y0, x0 + grid.xcell, y0 + grid.ycell, _EDGE_POINTS)


@cache
def _counties() -> tuple[shapely.STRtree, tuple[str, ...], tuple]:
    idx = RegionIndex.counties()
    geoms = tuple(r.geometry for r in idx.regions)
    return shapely.STRtree(geoms), tuple(r.code for r in idx.regions), geoms


def county_shares(grid: GridSpec, row: int, col: int,
                  min_share: float = DEFAULT_MIN_SHARE) -> list[CountyShare]:
    """The counties the cell overlaps by at least ``min_share``, largest overlap first
    (the largest is always named when the cell touches the province at all)."""
    cell = cell_outline_lonlat(grid, row, col)
    tree, codes, geoms = _counties()
    hits = tree.query(cell, predicate="intersects")
    parts = []
    for i in sorted(hits.tolist()):
        area = shapely.transform(cell.intersection(geoms[i]), _equal_area).area / 1e6
        if area > 0:
            parts.append((codes[i], area))
    total = sum(a for _, a in parts)
    if total <= 0:
        return []
    parts.sort(key=lambda p: (-p[1], p[0]))
    out = [CountyShare(c, round(a / total, 4), round(a, 3)) for c, a in parts
           if a / total >= min_share]
    return out or [CountyShare(parts[0][0], round(parts[0][1] / total, 4),
                               round(parts[0][1], 3))]


def grid_outline_lonlat(grid: GridSpec, points_per_edge: int = 200) -> Polygon:
    """The whole grid's outline as a lon/lat polygon (edges densified)."""
    return _outline_lonlat(grid, grid.xorig, grid.yorig, grid.xorig + grid.ncols * grid.xcell,
                           grid.yorig + grid.nrows * grid.ycell, points_per_edge)


@cache
def province_coverage(grid: GridSpec, province_code: str = "330000") -> float:
    """Fraction of the province's area inside the grid (equal-area), cached per grid."""
    province = regions_by_code()[province_code].geometry
    inside = grid_outline_lonlat(grid).intersection(province)
    total = shapely.transform(province, _equal_area).area
    return float(shapely.transform(inside, _equal_area).area / total) if total else 0.0
