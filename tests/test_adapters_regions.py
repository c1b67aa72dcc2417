"""How grid values become region values (docs/model-runs.md, "Grid to region")."""

from __future__ import annotations

import numpy as np
import pytest
from adapters_fixtures import COARSE, SHIFTED

from ecobrain.model_adapters.regions import Station, build_mapper
from ecobrain.ontology.geography import RegionIndex, city_of, regions_by_code
from ecobrain.ontology.grid import ZJ3KM


def _cell_index_field(grid):
    """A field whose value in each cell is its flat index: region means are checkable."""
    return np.arange(grid.nrows * grid.ncols, dtype=np.float64).reshape(1, grid.nrows,
                                                                         grid.ncols)


@pytest.mark.parametrize("grid", [ZJ3KM, SHIFTED], ids=lambda g: g.name)
def test_region_value_is_the_mean_over_cells_whose_centre_lies_inside(grid):
    m = build_mapper(grid)
    values = _cell_index_field(grid)
    means = m.aggregate(values)[0]
    lon, lat = grid.cell_centers_lonlat()
    county = RegionIndex.counties().locate(lon, lat).ravel()
    flat = values.ravel()
    for code in ("330102", "330481", "331127"):  # 上城区, 海宁市, 景宁县
        i = m.codes.index(code)
        inside = np.flatnonzero(county == code)
        if len(inside) == 0:
            assert m.methods[i] == "representative-point"
            continue
        assert m.methods[i] == "cell-centres" and m.cell_counts[i] == len(inside)
        assert means[i] == pytest.approx(flat[inside].mean())
    # a city is the mean over all cells of its counties, not the mean of county means
    i = m.codes.index("330100")
    city_cells = np.flatnonzero([c is not None and city_of(c) == "330100" for c in county])
    assert means[i] == pytest.approx(flat[city_cells].mean())
    assert m.cell_counts[m.codes.index("330000")] == int((county != None).sum())  # noqa: E711


def test_coarse_grid_region_without_a_centre_takes_the_cell_of_its_representative_point():
    m = build_mapper(COARSE)
    values = _cell_index_field(COARSE)
    means = m.aggregate(values)[0]
    fallback = [i for i, meth in enumerate(m.methods) if meth == "representative-point"]
    assert fallback, "a 30 km grid leaves some small districts without a cell centre"
    for i in fallback:
        assert m.cell_counts[i] == 1
        p = regions_by_code()[m.codes[i]].geometry.representative_point()
        r, c = COARSE.lonlat_to_rowcol(p.x, p.y)
        assert means[i] == int(r) * COARSE.ncols + int(c)
    # every county still gets a value
    assert len(m.indices("county")) == 90


def test_station_takes_the_cell_containing_it_and_outside_stations_are_noted():
    st = [Station("S1", 120.16, 30.27, "in Hangzhou"), Station("FAR", 100.0, 40.0, "far away")]
    m = build_mapper(ZJ3KM, st)
    values = _cell_index_field(ZJ3KM)
    means = m.aggregate(values)[0]
    i = m.codes.index("S1")
    r, c = ZJ3KM.lonlat_to_rowcol(120.16, 30.27)
    assert m.levels[i] == "station" and m.methods[i] == "station-cell"
    assert means[i] == int(r) * ZJ3KM.ncols + int(c)
    assert m.city_codes[i] == "330100"
    assert "FAR" not in m.codes and any("station FAR" in n for n in m.notes)


def test_aggregation_is_linear_over_time():
    m = build_mapper(COARSE)
    a = np.random.default_rng(0).random((5, COARSE.nrows, COARSE.ncols))
    b = np.random.default_rng(1).random((5, COARSE.nrows, COARSE.ncols))
    assert np.allclose(m.aggregate(a + 2 * b), m.aggregate(a) + 2 * m.aggregate(b))
    # daily mean of region means == region mean of daily means
    assert np.allclose(m.aggregate(a).mean(axis=0), m.aggregate(a.mean(axis=0)[None])[0])
