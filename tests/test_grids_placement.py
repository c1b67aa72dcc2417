"""Sites into any grid a run declares: lat-lon, Lambert, polar stereographic, Mercator.

For each projection, points placed at known cell centres (computed from the grid definition:
XORIG + (col + ½)·XCELL) come back in those cells, a point just outside the domain is off the
grid, and a second placement of the same points is served from the cache.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecobrain.model_adapters.grids.placement import place_points
from ecobrain.ontology.grid import GridSpec

GRIDS = [
    GridSpec("LL005", 1, 0.0, 0.0, 0.0, 0.0, 0.0, 118.0, 27.0, 0.05, 0.05, 100, 90),
    GridSpec("LCC9", 2, 25.0, 47.0, 105.0, 105.0, 35.0, 1_191_000.0, -814_500.0, 9_000.0,
             9_000.0, 68, 66),
    GridSpec("POL12", 6, 1.0, 60.0, 120.0, 120.0, 90.0, -400_000.0, -6_900_000.0, 12_000.0,
             12_000.0, 60, 60),
    GridSpec("MERC4", 7, 30.0, 0.0, 120.0, 120.0, 29.0, -250_000.0, -250_000.0, 4_000.0,
             4_000.0, 125, 125),
]


@pytest.mark.parametrize("grid", GRIDS, ids=lambda g: g.name)
def test_points_at_cell_centres_fall_in_their_cells(grid: GridSpec) -> None:
    rows = np.array([0, 5, grid.nrows // 2, grid.nrows - 1])
    cols = np.array([0, 7, grid.ncols // 3, grid.ncols - 1])
    x = grid.xorig + (cols + 0.5) * grid.xcell
    y = grid.yorig + (rows + 0.5) * grid.ycell
    lon, lat = grid.xy_to_lonlat(x, y)
    placed = place_points(grid, lon, lat)
    assert placed.row.tolist() == rows.tolist() and placed.col.tolist() == cols.tolist()
    assert place_points(grid, lon, lat) is placed  # cached per grid and point set
    # half a cell beyond the western edge: off the grid
    out_lon, out_lat = grid.xy_to_lonlat(np.array([grid.xorig - 0.5 * grid.xcell]),
                                         np.array([grid.yorig + 0.5 * grid.ycell]))
    off = place_points(grid, out_lon, out_lat)
    assert off.row.tolist() == [-1] and not off.inside.any()


def test_mercator_cell_centre_of_the_origin_is_xcent_ycent() -> None:
    """IOAPI grids measure x/y from (XCENT, YCENT): the cell around x = y = 0 holds it."""
    merc = GRIDS[3]
    placed = place_points(merc, [merc.xcent], [merc.ycent])
    assert (int(placed.row[0]), int(placed.col[0])) == (
        int(-merc.yorig // merc.ycell), int(-merc.xorig // merc.xcell))
