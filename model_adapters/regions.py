"""How grid values become region values: which cells, by how much, make up each region.

Rule (docs/model-runs.md, "Grid to region"):

* a **county, city or the province** takes the **area-weighted** mean of every grid cell it
  overlaps, each cell weighted by the area of the cell that lies inside the region (km²,
  :mod:`.grids.weights`): a cell split between two counties counts in both, by its share in
  each, and a county smaller than a cell takes the cell it lies in. Cities and the province are
  made of their counties (their weights are the sums of their counties' weights), so a city's
  value is exactly the area-weighted mean of its counties' values;
* a region the grid does not reach gets no value and a note says so; one the grid reaches in
  part is averaged over the part inside (the coverage warning says how much is missing);
* a **station** takes the value of the cell that contains it.

The weights are a sparse (counties × cells) matrix computed once per grid definition and
boundary version and cached on disk; region means are two sparse matrix products — cells to
counties and stations (the large one, run per time block on dask, :mod:`.compute.reductions`), then
counties to cities and the province (tiny).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ecobrain.model_adapters.grids.overlap import CountyShare
from ecobrain.model_adapters.grids.placement import place_points
from ecobrain.model_adapters.grids.weights import AreaWeights, area_weights
from ecobrain.ontology.geography import (
    RegionIndex,
    boundary_version,
    city_of,
    regions_by_code,
    zhejiang_region_list,
)
from ecobrain.ontology.grid import GridSpec

LEVEL_ORDER = ("province", "city", "county", "station")
AREA_METHOD = "area-weighted"
STATION_METHOD = "station-cell"


@dataclass(frozen=True)
class Station:
    """A monitoring station, as far as the adapters need one."""

    id: str
    lon: float
    lat: float
    name: str | None = None
    county_code: str | None = None


def default_stations_path() -> Path:
    from importlib.resources import files

    return Path(str(files("ecobrain.knowledge") / "reference" / "stations.csv"))


def load_stations_csv(path: str | Path) -> list[Station]:
    """Stations from a CSV with columns id,name,kind,county_code,lon,lat."""
    out: list[Station] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                out.append(Station(id=row["id"], lon=float(row["lon"]), lat=float(row["lat"]),
                                   name=row.get("name") or None,
                                   county_code=row.get("county_code") or None))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}, line {line_no}: bad station row ({exc})") from exc
    return out


def default_stations() -> list[Station]:
    """The reference stations bundled with the knowledge base, if that file exists yet."""
    p = default_stations_path()
    return load_stations_csv(p) if p.exists() else []


@dataclass
class RegionMapper:
    """Grid cells -> regions for one grid: area weights of base units (counties, station cells)
    over cells, and which base units make up each region."""

    grid: GridSpec
    codes: list[str]
    levels: list[str]
    names: list[str | None]
    city_codes: list[str | None]
    methods: list[str]
    base: sp.csr_matrix  # (nbase, ncells) km² of each base unit in each cell
    members: sp.csr_matrix  # (nregions, nbase) 1 where the region is made of the base unit
    cell_area_km2: np.ndarray  # (ncells,)
    notes: list[str] = field(default_factory=list)
    # whole area of each area base unit (counties; stations have none), on the grid or not
    base_total_km2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    base_codes: tuple[str, ...] = ()  # codes of the area base units (base's first rows)

    @cached_property
    def _area_by_cell(self) -> sp.csc_matrix:
        return sp.csc_matrix(self.base[:len(self.base_codes)])

    def county_shares(self, cell: int, min_share: float) -> list[CountyShare]:
        """The base regions (counties) a cell overlaps by at least ``min_share`` of its area
        inside them, largest first — the largest always, when the cell touches any: a hotspot
        cell straddling a boundary names both counties, from the same weights as the means."""
        a = self._area_by_cell
        rows = a.indices[a.indptr[cell]:a.indptr[cell + 1]]
        areas = a.data[a.indptr[cell]:a.indptr[cell + 1]]
        total = float(areas.sum())
        if total <= 0:
            return []
        parts = sorted(((self.base_codes[k], float(x)) for k, x in zip(rows, areas, strict=True)
                        if x > 0), key=lambda p: (-p[1], p[0]))
        out = [CountyShare(c, round(x / total, 4), round(x, 3)) for c, x in parts
               if x / total >= min_share]
        return out or [CountyShare(parts[0][0], round(parts[0][1] / total, 4),
                                   round(parts[0][1], 3))]

    def coverage(self) -> float:
        """Share of the regions' whole area that lies on the grid (0..1), from the weights:
        what the ``coverage`` warning reports, with no boundary to intersect."""
        n = len(self.base_total_km2)
        total = float(self.base_total_km2.sum())
        on_grid = float(self.base[:n].sum())
        return min(1.0, on_grid / total) if total > 0 else 0.0

    @property
    def nregions(self) -> int:
        return len(self.codes)

    @property
    def ncells(self) -> int:
        return self.grid.nrows * self.grid.ncols

    @cached_property
    def region_area_km2(self) -> np.ndarray:
        """Area of each region on the grid (km²; a station: its cell's area)."""
        return np.asarray(self.members @ np.asarray(self.base.sum(axis=1)).ravel()).ravel()

    @cached_property
    def _mean_matrix(self) -> sp.csr_matrix:
        area = self.region_area_km2
        scale = np.divide(1.0, area, out=np.zeros_like(area), where=area > 0)
        return sp.csr_matrix(sp.diags(scale) @ self.members)

    @cached_property
    def _cells(self) -> sp.csr_matrix:
        """(nregions, ncells) area of each region in each cell."""
        return sp.csr_matrix(self.members @ self.base)

    @cached_property
    def cell_counts(self) -> np.ndarray:
        """Number of cells each region overlaps."""
        return np.diff(self._cells.indptr).astype(int)

    @cached_property
    def used_cells(self) -> np.ndarray:
        return np.unique(self.base.indices).astype(np.int64)

    @cached_property
    def base_used(self) -> sp.csc_matrix:
        """:attr:`base` restricted to the :attr:`used_cells` columns and column-compressed:
        what block work multiplies a block's used cells with."""
        return sp.csc_matrix(self.base[:, self.used_cells])

    def indices(self, *levels: str) -> np.ndarray:
        return np.array([i for i, lv in enumerate(self.levels) if lv in levels], dtype=int)

    def cells_of(self, i: int) -> np.ndarray:
        c = self._cells
        return c.indices[c.indptr[i]:c.indptr[i + 1]].astype(np.int64)

    def fractions_of(self, i: int) -> np.ndarray:
        """Share of each of :meth:`cells_of` that lies in the region (0..1)."""
        c = self._cells
        cells = self.cells_of(i)
        return c.data[c.indptr[i]:c.indptr[i + 1]] / self.cell_area_km2[cells]

    def base_sums(self, values: np.ndarray) -> np.ndarray:
        """(nt, ncells) -> (nt, nbase): area-weighted sums over each base unit (km² × value)."""
        x = np.asarray(values, dtype=np.float64).reshape(values.shape[0], -1)
        return np.asarray(self.base @ x.T).T

    def combine(self, base_sums: np.ndarray) -> np.ndarray:
        """(nt, nbase) base sums -> (nt, nregions) region means."""
        return np.asarray(self._mean_matrix @ base_sums.T).T

    def aggregate(self, values: np.ndarray) -> np.ndarray:
        """Region means: values (nt, nrows, ncols) or (nt, ncells) -> (nt, nregions) float64."""
        if self.nregions == 0:
            return np.zeros((values.shape[0], 0))
        return self.combine(self.base_sums(values))

    def totals(self, per_cell: np.ndarray) -> np.ndarray:
        """Region totals of an extensive quantity given per cell (e.g. t/day of emission):
        each cell contributes the share of its area inside the region. (nrows, ncols) ->
        (nregions,)."""
        x = np.asarray(per_cell, dtype=np.float64).ravel() / self.cell_area_km2
        return np.asarray(self._cells @ x).ravel()

    def subset(self, idx: np.ndarray) -> RegionMapper:
        """A mapper for some of the regions (e.g. counties only); unused base units dropped."""
        idx = np.asarray(idx, dtype=int)
        members = sp.csr_matrix(self.members[idx])
        keep = np.unique(members.indices)
        return RegionMapper(
            grid=self.grid,
            codes=[self.codes[i] for i in idx], levels=[self.levels[i] for i in idx],
            names=[self.names[i] for i in idx], city_codes=[self.city_codes[i] for i in idx],
            methods=[self.methods[i] for i in idx],
            base=sp.csr_matrix(self.base[keep]), members=sp.csr_matrix(members[:, keep]),
            cell_area_km2=self.cell_area_km2, notes=list(self.notes),
            base_total_km2=self.base_total_km2[keep[keep < len(self.base_total_km2)]],
            base_codes=tuple(self.base_codes[k] for k in keep if k < len(self.base_codes)),
        )


@cache
def _county_weights(grid: GridSpec) -> AreaWeights:
    counties = [r.code for r in zhejiang_region_list() if r.level == "county"]

    def geometries() -> list:
        by_code = regions_by_code()
        return [by_code[c].geometry for c in counties]

    # Keyed by the boundary files' version: a cached grid needs no boundary parsed at all.
    return area_weights(grid, counties, geometries, version=boundary_version("county"))


def build_mapper(grid: GridSpec, stations: Iterable[Station] | None = (),
                 levels: Sequence[str] = ("province", "city", "county")) -> RegionMapper:
    """Regions of the given levels (Zhejiang, from the shared geography) plus stations."""
    w = _county_weights(grid)
    county_area = np.asarray(w.area.sum(axis=1)).ravel()
    county_pos = {c: k for k, c in enumerate(w.codes)}
    on_grid = county_area > 0
    codes: list[str] = []
    lvls: list[str] = []
    names: list[str | None] = []
    cities: list[str | None] = []
    methods: list[str] = []
    member_rows: list[np.ndarray] = []
    notes: list[str] = []
    for r in zhejiang_region_list():
        if r.level not in levels:
            continue
        if r.level == "county":
            ks = np.array([county_pos[r.code]])
        elif r.level == "city":
            ks = np.array([k for c, k in county_pos.items() if city_of(c) == r.code])
        else:
            ks = np.arange(len(w.codes))
        ks = ks[on_grid[ks]] if len(ks) else ks
        if len(ks) == 0:
            if r.level != "province":
                notes.append(f"{r.level} {r.code} {r.name_zh} is outside grid {grid.name}: "
                             "no value")
            continue
        codes.append(r.code)
        lvls.append(r.level)
        names.append(r.name_zh)
        cities.append(r.city_code)
        methods.append(AREA_METHOD)
        member_rows.append(ks)
    nbase_regions = len(w.codes)
    station_cells: list[int] = []
    st = list(stations or [])
    if st:
        placed = place_points(grid, [s.lon for s in st], [s.lat for s in st])
        missing_county = [j for j, s in enumerate(st) if not s.county_code]
        located = RegionIndex.counties().locate(
            np.array([st[j].lon for j in missing_county]),
            np.array([st[j].lat for j in missing_county])) if missing_county else []
        county_of_station = dict(zip(missing_county, located, strict=True))
        for j, (s, r, c) in enumerate(zip(st, np.atleast_1d(placed.row),
                                          np.atleast_1d(placed.col), strict=True)):
            if r < 0:
                notes.append(f"station {s.id} ({s.lon:.4f}, {s.lat:.4f}) is outside grid "
                             f"{grid.name}: no value")
                continue
            cc = s.county_code or county_of_station.get(j)
            codes.append(s.id)
            lvls.append("station")
            names.append(s.name)
            cities.append(city_of(cc) if cc else None)
            methods.append(STATION_METHOD)
            member_rows.append(np.array([nbase_regions + len(station_cells)]))
            station_cells.append(int(r) * grid.ncols + int(c))
    if not notes and len(codes) == 0:
        notes.append(f"no Zhejiang region or station lies on grid {grid.name}")
    ncells = grid.nrows * grid.ncols
    cells = np.array(station_cells, dtype=np.int64)
    station_base = sp.csr_matrix((w.cell_area_km2[cells], (np.arange(len(cells)), cells)),
                                 shape=(len(cells), ncells))
    base = sp.csr_matrix(sp.vstack([w.area, station_base], format="csr"))
    lengths = [len(m) for m in member_rows]
    members = sp.csr_matrix(
        (np.ones(sum(lengths)),
         (np.repeat(np.arange(len(member_rows)), lengths),
          np.concatenate(member_rows) if member_rows else np.zeros(0, np.int64))),
        shape=(len(member_rows), base.shape[0]))
    return RegionMapper(grid=grid, codes=codes, levels=lvls, names=names, city_codes=cities,
                        methods=methods, base=base, members=members,
                        cell_area_km2=w.cell_area_km2, notes=notes,
                        base_total_km2=w.region_total_km2, base_codes=w.codes)


def mapper_from_weights(grid: GridSpec, weights: AreaWeights, *, level: str = "county",
                        names: Sequence[str | None] | None = None,
                        groups: dict[str, tuple[str, Sequence[str]]] | None = None
                        ) -> RegionMapper:
    """A mapper over any set of regions given by area weights (another province, a national
    domain): each weighted region is a base unit, and ``groups`` (code -> (level, member
    codes)) adds regions made of several of them (cities, the country). A group may not
    reuse a region's code (a city without counties, such as Dongguan 441900, is one region,
    not a county and a city of the same code): findings would carry one code twice."""
    taken = set(weights.codes)
    for code in groups or {}:
        if code in taken:
            raise ValueError(f"region code {code} names a weighted region and a group of "
                             "regions; a region made of itself needs no group")
    area = np.asarray(weights.area.sum(axis=1)).ravel()
    pos = {c: k for k, c in enumerate(weights.codes)}
    keep = [k for k in range(len(weights.codes)) if area[k] > 0]
    rows: list[np.ndarray] = [np.array([k]) for k in keep]
    codes = [weights.codes[k] for k in keep]
    levels = [level] * len(keep)
    all_names = list(names) if names is not None else [None] * len(weights.codes)
    region_names = [all_names[k] for k in keep]
    for code, (lv, member_codes) in (groups or {}).items():
        ks = np.array([pos[c] for c in member_codes if area[pos[c]] > 0], dtype=np.int64)
        if len(ks):
            rows.append(ks)
            codes.append(code)
            levels.append(lv)
            region_names.append(None)
    lengths = [len(r) for r in rows]
    members = sp.csr_matrix(
        (np.ones(sum(lengths)), (np.repeat(np.arange(len(rows)), lengths),
                                 np.concatenate(rows) if rows else np.zeros(0, np.int64))),
        shape=(len(rows), weights.area.shape[0]))
    return RegionMapper(grid=grid, codes=codes, levels=levels, names=region_names,
                        city_codes=[None] * len(codes), methods=[AREA_METHOD] * len(codes),
                        base=weights.area, members=members,
                        cell_area_km2=weights.cell_area_km2,
                        base_total_km2=weights.region_total_km2, base_codes=weights.codes)
