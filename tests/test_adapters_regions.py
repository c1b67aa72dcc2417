"""How grid values become region values (docs/model-runs.md, "Grid to region"): area weights."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from adapters_fixtures import COARSE, SHIFTED

from ecobrain.model_adapters.grids import weights
from ecobrain.model_adapters.grids.overlap import county_shares, province_coverage
from ecobrain.model_adapters.grids.weights import area_weights, compute_area_weights
from ecobrain.model_adapters.regions import Station, build_mapper, mapper_from_weights
from ecobrain.ontology.geography import regions_by_code, zhejiang_regions
from ecobrain.ontology.grid import EARTH_RADIUS_M, LATGRD3, ZJ3KM, GridSpec

# Albers equal-area: region areas worked out independently of the grid's projection.
ALBERS = pyproj.Transformer.from_crs("EPSG:4326", "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105",
                                     always_xy=True)
G9 = GridSpec("ZJ9KM", 2, 25.0, 47.0, 105.0, 105.0, 35.0, 1_191_000.0, -814_500.0,
              9_000.0, 9_000.0, 68, 66)


def _cell_index_field(grid):
    """A field whose value in each cell is its flat index: region means are checkable."""
    return np.arange(grid.nrows * grid.ncols, dtype=np.float64).reshape(1, grid.nrows,
                                                                         grid.ncols)


def test_a_cell_split_between_two_regions_counts_in_both_by_its_area_inside_by_hand():
    # 1° lat-lon cells, 2 rows (0-1°N, 1-2°N) × 3 cols (100-103°E); region A is 100-101.5°E,
    # B 101.5-103°E: the middle column is half in each.
    grid = GridSpec("LL1", LATGRD3, 0, 0, 0, 0, 0, 100.0, 0.0, 1.0, 1.0, 3, 2)
    a = shapely.box(100.0, 0.0, 101.5, 2.0)
    b = shapely.box(101.5, 0.0, 103.0, 2.0)
    w = compute_area_weights(grid, ["A", "B"], [a, b])
    m = mapper_from_weights(grid, w, groups={"AB": ("province", ["A", "B"])})
    x = np.array([[[1.0, 2.0, 4.0], [10.0, 20.0, 40.0]]])
    # true area of a cell of row r on the CMAQ sphere: R² · Δλ · (sin φn − sin φs), km²
    row_area = [EARTH_RADIUS_M ** 2 * np.radians(1.0)
                * (np.sin(np.radians(r + 1)) - np.sin(np.radians(r))) / 1e6 for r in (0, 1)]
    a0, a1 = row_area
    expect_a = (a0 * (1.0 + 0.5 * 2.0) + a1 * (10.0 + 0.5 * 20.0)) / (1.5 * a0 + 1.5 * a1)
    expect_b = (a0 * (0.5 * 2.0 + 4.0) + a1 * (0.5 * 20.0 + 40.0)) / (1.5 * a0 + 1.5 * a1)
    expect_ab = (a0 * 7.0 + a1 * 70.0) / (3 * a0 + 3 * a1)
    means = m.aggregate(x)[0]
    assert means[m.codes.index("A")] == pytest.approx(expect_a, rel=1e-9)
    assert means[m.codes.index("B")] == pytest.approx(expect_b, rel=1e-9)
    assert means[m.codes.index("AB")] == pytest.approx(expect_ab, rel=1e-9)
    # the middle cells are half in each region; an extensive quantity (t/day per cell) is
    # shared the same way
    i = m.codes.index("A")
    assert dict(zip(m.cells_of(i).tolist(), m.fractions_of(i).round(9).tolist(),
                    strict=True)) == {0: 1.0, 1: 0.5, 3: 1.0, 4: 0.5}
    totals = m.totals(x[0])
    assert totals[i] == pytest.approx(1.0 + 0.5 * 2.0 + 10.0 + 0.5 * 20.0, rel=1e-9)
    assert totals[m.codes.index("AB")] == pytest.approx(x.sum(), rel=1e-9)
    assert m.region_area_km2[i] == pytest.approx(1.5 * (a0 + a1), rel=1e-9)


def test_straddling_cell_shares_match_the_lonlat_overlap_of_the_counties():
    # The 9 km cell (45, 27) has its centre in 萧山区 but 51 % of its area in 上城区: the
    # weights (grid plane) agree with grids.overlap (lon/lat outline, equal-area) to 1e-3.
    m = build_mapper(G9)
    flat = 45 * G9.ncols + 27
    for share in county_shares(G9, 45, 27, min_share=0.0):
        i = m.codes.index(share.county_code)
        frac = m.fractions_of(i)[m.cells_of(i) == flat]
        assert frac == pytest.approx([share.share], abs=1e-3)
    # the hotspot's counties (≥ 20 % of the cell) come from the same weights: both named
    from_weights = m.county_shares(flat, 0.2)
    assert [s.county_code for s in from_weights] == ["330102", "330109"]
    assert [s.county_code for s in from_weights] == \
        [s.county_code for s in county_shares(G9, 45, 27, min_share=0.2)]
    # a sea cell far from every county has none; a cell inside one county has that one only
    assert m.county_shares(0, 0.2) == []


@pytest.mark.parametrize("code", ["330106", "330481", "331127", "330000"])
def test_region_area_on_the_grid_is_its_equal_area_area(code):
    m = build_mapper(ZJ3KM)
    geom = regions_by_code()[code].geometry
    albers = shapely.transform(geom, ALBERS.transform, interleaved=False).area / 1e6
    assert m.region_area_km2[m.codes.index(code)] == pytest.approx(albers, rel=2e-3)


@pytest.mark.parametrize("grid", [ZJ3KM, SHIFTED], ids=lambda g: g.name)
def test_a_city_is_the_area_weighted_mean_of_its_counties(grid):
    m = build_mapper(grid)
    values = _cell_index_field(grid)
    means = m.aggregate(values)[0]
    area = m.region_area_km2
    for city in ("330100", "330300"):
        ks = [m.codes.index(r.code) for r in zhejiang_regions()
              if r.level == "county" and r.parent_code == city and r.code in m.codes]
        i = m.codes.index(city)
        assert means[i] == pytest.approx(np.dot(area[ks], means[ks]) / area[ks].sum())
        assert area[i] == pytest.approx(area[ks].sum())
    # a constant field is that constant everywhere
    assert np.allclose(m.aggregate(np.full((2, grid.nrows, grid.ncols), 7.5)), 7.5)


def test_every_county_has_a_value_on_a_coarse_grid_from_the_cells_it_overlaps():
    # 30 km cells: small urban districts hold no cell centre, yet each overlaps a few cells
    m = build_mapper(COARSE)
    assert len(m.indices("county")) == 90
    values = _cell_index_field(COARSE)
    means = m.aggregate(values)[0]
    i = m.codes.index("330102")  # 上城区, 122 km²
    cells, frac = m.cells_of(i), m.fractions_of(i)
    assert 1 <= len(cells) <= 4 and frac.max() < 0.2
    w = frac * m.cell_area_km2[cells]
    assert means[i] == pytest.approx(np.dot(w, cells) / w.sum())
    assert cells.min() <= means[i] <= cells.max()


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


def test_subset_keeps_the_values_of_the_regions_it_keeps():
    m = build_mapper(SHIFTED, [Station("S1", 120.16, 30.27)])
    values = np.random.default_rng(2).random((3, SHIFTED.nrows, SHIFTED.ncols))
    idx = m.indices("city", "county")
    sub = m.subset(idx)
    assert sub.codes == [m.codes[i] for i in idx]
    assert np.allclose(sub.aggregate(values), m.aggregate(values)[:, idx])
    assert sub.base.shape[0] < m.base.shape[0]  # the station's base row is not computed


def test_weights_are_cached_on_disk_per_grid_and_boundary_version(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOBRAIN_CACHE_DIR", str(tmp_path))
    counties = [r for r in zhejiang_regions() if r.level == "county"][:5]
    codes, geoms = [r.code for r in counties], [r.geometry for r in counties]
    first = area_weights(COARSE, codes, geoms)
    files = list((tmp_path / "region-weights").glob("*.npz"))
    assert len(files) == 1

    def fail(*_a, **_k):
        raise AssertionError("computed again although cached")

    monkeypatch.setattr(weights, "compute_area_weights", fail)
    again = area_weights(COARSE, codes, geoms)
    assert (again.area != first.area).nnz == 0 and again.codes == first.codes
    monkeypatch.undo()
    monkeypatch.setenv("ECOBRAIN_CACHE_DIR", str(tmp_path))
    # a moved boundary is another boundary version; another grid another key
    moved = [shapely.affinity.translate(geoms[0], 0.01, 0.0), *geoms[1:]]
    area_weights(COARSE, codes, moved)
    area_weights(SHIFTED, codes, geoms)
    assert len(list((tmp_path / "region-weights").glob("*.npz"))) == 3
    # a damaged cache file is recomputed, not trusted
    files[0].write_bytes(b"not a zip")
    assert (area_weights(COARSE, codes, geoms).area != first.area).nnz == 0


def test_coverage_from_the_weights_matches_the_grid_outline_intersected_with_the_province():
    # the 1 km nest over northern Zhejiang covers part of the province; ZJ3KM all of it
    nest = GridSpec("NZJ1KM", 2, 25.0, 47.0, 105.0, 105.0, 35.0, 1_335_000.0, -480_000.0,
                    1_000.0, 1_000.0, 213, 193)
    from_weights = build_mapper(nest).coverage()
    assert 0.1 < from_weights < 0.9
    assert from_weights == pytest.approx(province_coverage(nest), abs=0.003)
    assert build_mapper(ZJ3KM).coverage() == pytest.approx(1.0, abs=0.002)


def test_cell_areas_are_kept_beside_the_cached_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOBRAIN_CACHE_DIR", str(tmp_path))
    counties = [r for r in zhejiang_regions() if r.level == "county"][:3]
    codes, geoms = [r.code for r in counties], [r.geometry for r in counties]
    first = area_weights(COARSE, codes, geoms)
    (path,) = (tmp_path / "region-weights").glob("*.npz")
    with np.load(path) as z:
        assert np.array_equal(z["cell_area"], weights.cell_area_km2(COARSE).ravel())
    # read back without projecting the cells again
    monkeypatch.setattr(weights, "cell_area_km2", lambda _g: pytest.fail("recomputed"))
    again = area_weights(COARSE, codes, geoms)
    assert np.array_equal(again.cell_area_km2, first.cell_area_km2)
    monkeypatch.undo()
    monkeypatch.setenv("ECOBRAIN_CACHE_DIR", str(tmp_path))
    # a file written before cell areas were kept gets them added on its first read
    with np.load(path) as z:
        old = {k: z[k] for k in z.files if k != "cell_area"}
    np.savez(path, **old)
    assert np.array_equal(area_weights(COARSE, codes, geoms).cell_area_km2,
                          first.cell_area_km2)
    with np.load(path) as z:
        assert "cell_area" in z.files


def test_a_group_may_not_reuse_a_regions_code():
    """Dongguan (441900) is a county-level unit of the national boundaries and a city: a city
    group of the same code would give every finding of that code twice (the engine refuses
    two facts with one id, far from the cause); the mapper says so where it is made."""
    grid = GridSpec("LL1", LATGRD3, 0, 0, 0, 0, 0, 100.0, 0.0, 1.0, 1.0, 3, 2)
    w = compute_area_weights(grid, ["441900", "441800"], [shapely.box(100.0, 0.0, 101.5, 2.0),
                                                          shapely.box(101.5, 0.0, 103.0, 2.0)])
    with pytest.raises(ValueError, match="region code 441900 names a weighted region"):
        mapper_from_weights(grid, w, groups={"441900": ("city", ["441900"])})
    m = mapper_from_weights(grid, w, groups={"440000": ("province", ["441900", "441800"])})
    assert sorted(m.codes) == ["440000", "441800", "441900"]
