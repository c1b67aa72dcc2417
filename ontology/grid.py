"""Model grids defined the way CMAQ defines them (IOAPI header attributes).

A grid is data, not an assumption: adapters build a :class:`GridSpec` from whatever a file
declares, and the knowledge graph's Zhejiang 3 km grid (:data:`ZJ3KM`) is just one instance.
CMAQ and MCIP treat the Earth as a sphere of radius 6 370 000 m; using WGS84 instead moves
cell centres by ~0.013° (FORMATS.md §1.5), so the sphere is used throughout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pyproj

EARTH_RADIUS_M = 6_370_000.0

# IOAPI GDTYP codes (PARMS3.EXT)
LATGRD3 = 1
LAMGRD3 = 2
POLGRD3 = 6
EQMGRD3 = 7  # equatorial Mercator


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    """One transformer per projection pair, shared by every GridSpec of that definition
    (creating one costs ~10-50 ms; placing thousands of sites costs less)."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


@dataclass(frozen=True)
class GridSpec:
    """A horizontal grid in IOAPI terms. Row 0 is the southernmost row, col 0 the westernmost."""

    name: str
    gdtyp: int
    p_alp: float
    p_bet: float
    p_gam: float
    xcent: float
    ycent: float
    xorig: float
    yorig: float
    xcell: float
    ycell: float
    ncols: int
    nrows: int

    @classmethod
    def from_ioapi_attrs(cls, attrs: dict[str, Any], name: str | None = None) -> GridSpec:
        """Build from a netCDF file's global attributes (numpy scalars accepted)."""
        missing = [
            k
            for k in ("GDTYP", "P_ALP", "P_BET", "P_GAM", "XCENT", "YCENT", "XORIG", "YORIG",
                      "XCELL", "YCELL", "NCOLS", "NROWS")
            if k not in attrs
        ]
        if missing:
            raise ValueError(f"IOAPI grid attributes missing: {', '.join(missing)}")
        gdnam = str(attrs.get("GDNAM", "")).strip()
        return cls(
            name=name or gdnam or "grid",
            gdtyp=int(attrs["GDTYP"]),
            p_alp=float(attrs["P_ALP"]),
            p_bet=float(attrs["P_BET"]),
            p_gam=float(attrs["P_GAM"]),
            xcent=float(attrs["XCENT"]),
            ycent=float(attrs["YCENT"]),
            xorig=float(attrs["XORIG"]),
            yorig=float(attrs["YORIG"]),
            xcell=float(attrs["XCELL"]),
            ycell=float(attrs["YCELL"]),
            ncols=int(attrs["NCOLS"]),
            nrows=int(attrs["NROWS"]),
        )

    def ioapi_attrs(self) -> dict[str, Any]:
        """The IOAPI global attributes that describe this grid (for writers)."""
        return {
            "GDTYP": np.int32(self.gdtyp),
            "P_ALP": np.float64(self.p_alp),
            "P_BET": np.float64(self.p_bet),
            "P_GAM": np.float64(self.p_gam),
            "XCENT": np.float64(self.xcent),
            "YCENT": np.float64(self.ycent),
            "XORIG": np.float64(self.xorig),
            "YORIG": np.float64(self.yorig),
            "XCELL": np.float64(self.xcell),
            "YCELL": np.float64(self.ycell),
            "NCOLS": np.int32(self.ncols),
            "NROWS": np.int32(self.nrows),
            "GDNAM": f"{self.name[:16]:<16}",
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @cached_property
    def crs(self) -> pyproj.CRS:
        """The projection, on the CMAQ sphere."""
        return pyproj.CRS.from_proj4(self.proj4)

    @cached_property
    def proj4(self) -> str:
        """The projection as a PROJ string (the key of the shared transformers)."""
        sphere = f"+a={EARTH_RADIUS_M:.0f} +b={EARTH_RADIUS_M:.0f}"
        if self.gdtyp == LAMGRD3:
            proj = (
                f"+proj=lcc +lat_1={self.p_alp} +lat_2={self.p_bet} +lat_0={self.ycent} "
                f"+lon_0={self.p_gam} {sphere} +x_0=0 +y_0=0 +units=m +no_defs"
            )
        elif self.gdtyp == LATGRD3:
            proj = f"+proj=longlat {sphere} +no_defs"
        elif self.gdtyp == EQMGRD3:
            proj = (
                f"+proj=merc +lat_ts={self.p_alp} +lon_0={self.p_gam} {sphere} "
                "+x_0=0 +y_0=0 +units=m +no_defs"
            )
        elif self.gdtyp == POLGRD3:
            lat0 = 90 if self.p_alp >= 0 else -90
            proj = (
                f"+proj=stere +lat_0={lat0} +lat_ts={self.p_bet} +lon_0={self.p_gam} "
                f"{sphere} +x_0=0 +y_0=0 +units=m +no_defs"
            )
        else:
            raise ValueError(
                f"grid {self.name!r}: GDTYP={self.gdtyp} is not supported "
                "(supported: 1 lat-lon, 2 Lambert conformal, 6 polar stereographic, "
                "7 equatorial Mercator)"
            )
        return proj

    @cached_property
    def _origin_shift(self) -> tuple[float, float]:
        """Offset when the Cartesian origin (XCENT, YCENT) is not the projection centre."""
        if self.gdtyp == EQMGRD3:
            x0, y0 = self._to_xy.transform(self.xcent, self.ycent)
            return (float(x0), float(y0))
        if self.gdtyp != LAMGRD3 or abs(self.xcent - self.p_gam) < 1e-9:
            return (0.0, 0.0)
        x0, y0 = self._to_xy.transform(self.xcent, self.ycent)
        return (float(x0), float(y0))

    @cached_property
    def _to_lonlat(self) -> pyproj.Transformer:
        return _transformer(self.proj4, "EPSG:4326")

    @cached_property
    def _to_xy(self) -> pyproj.Transformer:
        return _transformer("EPSG:4326", self.proj4)

    def cell_center_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """1-D projected x (per col) and y (per row) of cell centres."""
        x = self.xorig + (np.arange(self.ncols) + 0.5) * self.xcell
        y = self.yorig + (np.arange(self.nrows) + 0.5) * self.ycell
        return x, y

    def xy_to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.gdtyp == LATGRD3:
            return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        dx, dy = self._origin_shift
        lon, lat = self._to_lonlat.transform(np.asarray(x) + dx, np.asarray(y) + dy)
        return np.asarray(lon), np.asarray(lat)

    def lonlat_to_xy(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.gdtyp == LATGRD3:
            return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        x, y = self._to_xy.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        dx, dy = self._origin_shift
        return np.asarray(x) - dx, np.asarray(y) - dy

    def cell_centers_lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """2-D (nrows, ncols) lon and lat of every cell centre."""
        x, y = self.cell_center_xy()
        xx, yy = np.meshgrid(x, y)
        return self.xy_to_lonlat(xx, yy)

    def lonlat_to_rowcol(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """Row and col of the cell containing each point; -1 where outside the grid."""
        x, y = self.lonlat_to_xy(lon, lat)
        col = np.floor((x - self.xorig) / self.xcell).astype(int)
        row = np.floor((y - self.yorig) / self.ycell).astype(int)
        outside = (col < 0) | (col >= self.ncols) | (row < 0) | (row >= self.nrows)
        col = np.where(outside, -1, col)
        row = np.where(outside, -1, row)
        return row, col

    def cell_polygon_lonlat(self, row: int, col: int) -> list[tuple[float, float]]:
        """Corners of one cell (SW, SE, NE, NW) in lon/lat, for maps."""
        x0 = self.xorig + col * self.xcell
        y0 = self.yorig + row * self.ycell
        xs = np.array([x0, x0 + self.xcell, x0 + self.xcell, x0])
        ys = np.array([y0, y0, y0 + self.ycell, y0 + self.ycell])
        lon, lat = self.xy_to_lonlat(xs, ys)
        return list(zip(lon.tolist(), lat.tolist(), strict=True))

    def cell_id(self, row: int, col: int) -> str:
        """Stable id of a cell in the graph: grid name, row and col (0-based, row 0 south)."""
        return f"{self.name}:r{row}c{col}"


# The knowledge graph's default grid: 3 km Lambert conformal over Zhejiang, centred near the
# province centre with China-domain secant latitudes. It covers the province boundary with
# a margin of ~8 km; ~11.8k of its 25,912 cells have their centre in the province.
ZJ3KM = GridSpec(
    name="ZJ3KM",
    gdtyp=LAMGRD3,
    p_alp=25.0,
    p_bet=40.0,
    p_gam=120.5,
    xcent=120.5,
    ycent=29.0,
    xorig=-246_000.0,
    yorig=-225_000.0,
    xcell=3_000.0,
    ycell=3_000.0,
    ncols=164,
    nrows=158,
)


def parse_cell_id(cell_id: str) -> tuple[str, int, int]:
    """Inverse of :meth:`GridSpec.cell_id`."""
    try:
        grid, rc = cell_id.rsplit(":", 1)
        r, c = rc[1:].split("c")
        return grid, int(r), int(c)
    except ValueError as exc:
        raise ValueError(f"not a grid cell id: {cell_id!r} (expected GRID:r<row>c<col>)") from exc
