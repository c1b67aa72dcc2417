"""How grid values become region values: which cells make up each county, city and station.

Rule (docs/model-runs.md, "Grid to region"):

* a **county, city or the province** takes the plain mean over the grid cells whose *centres*
  lie inside its boundary (the same point-in-region test the knowledge graph uses, so a cell is
  in the same county everywhere);
* a region with **no cell centre inside** (possible on coarse grids) takes the value of the
  single cell that contains its representative point (a point guaranteed inside the polygon);
  if that point is off the grid, the region gets no value and a note says so;
* a **station** takes the value of the cell that contains it.

The cells come from whatever grid the file declares, so another resolution or projection centre
needs no change. Aggregation is one gather and one ``np.add.reduceat`` over (time × cells), which
keeps a 200×200×360-hour forecast well under a second per species.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from ecobrain.model_adapters.grids.placement import place_points
from ecobrain.ontology.geography import RegionIndex, city_of, zhejiang_regions
from ecobrain.ontology.grid import GridSpec

LEVEL_ORDER = ("province", "city", "county", "station")


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
    """Cell -> region weights for one grid, flattened for fast aggregation."""

    grid: GridSpec
    codes: list[str]
    levels: list[str]
    names: list[str | None]
    city_codes: list[str | None]
    methods: list[str]
    cell_counts: np.ndarray
    entry_cell: np.ndarray  # flat cell index of each (region, cell) entry, grouped by region
    entry_weight: np.ndarray
    starts: np.ndarray  # first entry of each region
    county_of_cell: np.ndarray  # object array (ncells,) of county code or None
    notes: list[str] = field(default_factory=list)

    @property
    def nregions(self) -> int:
        return len(self.codes)

    @property
    def used_cells(self) -> np.ndarray:
        return np.unique(self.entry_cell)

    def indices(self, *levels: str) -> np.ndarray:
        return np.array([i for i, lv in enumerate(self.levels) if lv in levels], dtype=int)

    def cells_of(self, i: int) -> np.ndarray:
        end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.entry_cell)
        return self.entry_cell[self.starts[i]:end]

    def aggregate(self, values: np.ndarray) -> np.ndarray:
        """Region means: values (nt, nrows, ncols) or (nt, ncells) -> (nt, nregions) float64."""
        x = values.reshape(values.shape[0], -1)
        if self.nregions == 0:
            return np.zeros((x.shape[0], 0))
        # Every cell of a region has the same weight (1/n): sum in float64, then scale.
        sums = np.add.reduceat(x[:, self.entry_cell], self.starts, axis=1, dtype=np.float64)
        return sums * self.entry_weight[self.starts]

    def subset(self, idx: np.ndarray) -> RegionMapper:
        """A mapper for some of the regions (e.g. counties only)."""
        cells, weights, starts = [], [], []
        n = 0
        for i in idx:
            c = self.cells_of(int(i))
            s = self.starts[i]
            starts.append(n)
            cells.append(c)
            weights.append(self.entry_weight[s:s + len(c)])
            n += len(c)
        return RegionMapper(
            grid=self.grid,
            codes=[self.codes[i] for i in idx], levels=[self.levels[i] for i in idx],
            names=[self.names[i] for i in idx], city_codes=[self.city_codes[i] for i in idx],
            methods=[self.methods[i] for i in idx], cell_counts=self.cell_counts[idx],
            entry_cell=np.concatenate(cells) if cells else np.zeros(0, int),
            entry_weight=np.concatenate(weights) if weights else np.zeros(0),
            starts=np.array(starts, dtype=int), county_of_cell=self.county_of_cell,
            notes=list(self.notes),
        )


@cache
def _county_of_cells(grid: GridSpec) -> np.ndarray:
    lon, lat = grid.cell_centers_lonlat()
    lon, lat = lon.ravel(), lat.ravel()
    out = np.full(lon.shape, None, dtype=object)
    # Only test cells near Zhejiang (the polygon test is the slow part on large grids).
    near = (lon > 117.5) & (lon < 123.5) & (lat > 26.5) & (lat < 31.7)
    if near.any():
        out[near] = RegionIndex.counties().locate(lon[near], lat[near])
    return out


@cache
def _region_part(grid: GridSpec, levels: tuple[str, ...]) -> tuple:
    county = _county_of_cells(grid)
    regions = [r for r in zhejiang_regions() if r.level in levels]
    has = county != None  # noqa: E711 - object array comparison
    county_codes = county[has].astype(str)
    cell_idx = np.flatnonzero(has)
    city_codes = np.array([c[:4] + "00" for c in county_codes]) if len(county_codes) else \
        np.zeros(0, dtype=str)
    codes, lvls, names, cities, methods, counts, cells_list = [], [], [], [], [], [], []
    notes: list[str] = []
    for r in regions:
        if r.level == "county":
            cells = cell_idx[county_codes == r.code]
        elif r.level == "city":
            cells = cell_idx[city_codes == r.code]
        else:
            cells = cell_idx
        method = "cell-centres"
        if len(cells) == 0:
            p = r.geometry.representative_point()
            row, col = grid.lonlat_to_rowcol(p.x, p.y)
            if int(row) < 0:
                if r.level != "province":
                    notes.append(f"{r.level} {r.code} {r.name_zh} is outside grid {grid.name}: "
                                 "no value")
                continue
            cells = np.array([int(row) * grid.ncols + int(col)])
            method = "representative-point"
        codes.append(r.code)
        lvls.append(r.level)
        names.append(r.name_zh)
        cities.append(r.city_code)
        methods.append(method)
        counts.append(len(cells))
        cells_list.append(cells)
    return codes, lvls, names, cities, methods, counts, cells_list, notes


def build_mapper(grid: GridSpec, stations: Iterable[Station] | None = (),
                 levels: Sequence[str] = ("province", "city", "county")) -> RegionMapper:
    """Regions of the given levels (Zhejiang, from the shared geography) plus stations."""
    codes, lvls, names, cities, methods, counts, cells_list, notes = _region_part(
        grid, tuple(lv for lv in levels if lv != "station"))
    codes, lvls, names, cities = list(codes), list(lvls), list(names), list(cities)
    methods, counts, cells_list, notes = list(methods), list(counts), list(cells_list), list(notes)
    st = list(stations or [])
    if st:
        placed = place_points(grid, [s.lon for s in st], [s.lat for s in st])
        row, col = placed.row, placed.col
        county = _county_of_cells(grid)
        for s, r, c in zip(st, np.atleast_1d(row), np.atleast_1d(col), strict=True):
            if r < 0:
                notes.append(f"station {s.id} ({s.lon:.4f}, {s.lat:.4f}) is outside grid "
                             f"{grid.name}: no value")
                continue
            flat = int(r) * grid.ncols + int(c)
            cc = s.county_code or county[flat]
            codes.append(s.id)
            lvls.append("station")
            names.append(s.name)
            cities.append(city_of(cc) if cc else None)
            methods.append("station-cell")
            counts.append(1)
            cells_list.append(np.array([flat]))
    if not notes and len(codes) == 0:
        notes.append(f"no Zhejiang region or station lies on grid {grid.name}")
    lengths = np.array([len(c) for c in cells_list], dtype=int)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int) if len(lengths) else \
        np.zeros(0, int)
    entry_cell = np.concatenate(cells_list).astype(np.int64) if cells_list else np.zeros(0, int)
    entry_weight = np.repeat(1.0 / np.maximum(lengths, 1), lengths) if len(lengths) else \
        np.zeros(0)
    return RegionMapper(
        grid=grid, codes=codes, levels=lvls, names=names, city_codes=cities, methods=methods,
        cell_counts=np.array(counts, dtype=int), entry_cell=entry_cell,
        entry_weight=entry_weight, starts=starts, county_of_cell=_county_of_cells(grid),
        notes=notes,
    )
