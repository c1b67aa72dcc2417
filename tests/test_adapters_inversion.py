"""Inversion: prior and posterior per species and day, hotspots by excess AND ratio, ranked."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pyproj
import pytest
import shapely
from adapters_fixtures import COARSE, beijing_midnight_utc, write_emissions, write_manifest

from ecobrain.model_adapters import BadValueError, UnitError, collect_findings, inversion
from ecobrain.model_adapters.grids.overlap import cell_outline_lonlat
from ecobrain.model_adapters.inversion import cell_area_m2, load_hotspot_config
from ecobrain.ontology.geography import RegionIndex, zhejiang_regions

DAY = dt.date(2026, 11, 25)
M_NO2, M_SO2 = 46.0055, 64.066
TPD = 1e6 / 86400.0  # t/day -> g/s


A = (8, 9)
B = (9, 9)
C = (8, 10)
D = (10, 8)


def _run(tmp_path: Path, voc_units: str = "g/s", post_edit=None) -> Path:
    shape = (COARSE.nrows, COARSE.ncols)
    prior = {sp: np.full(shape, 0.1) for sp in ("NOx", "SO2", "VOCs", "PM2_5")}
    prior["NOx"][C] = 2.0
    post = {sp: v.copy() for sp, v in prior.items()}
    post["NOx"][A] = 1.0   # excess 0.9, ratio 10 -> hotspot rank 1
    post["NOx"][B] = 0.35  # excess 0.25 < 0.3 -> not a hotspot
    post["NOx"][C] = 2.8   # ratio 1.4 < 1.5 -> not a hotspot
    post["NOx"][D] = 0.5   # excess 0.4, ratio 5 -> rank 2
    post["SO2"][A] = 0.45  # excess 0.35, ratio 4.5 -> SO2 hotspot
    if post_edit:
        post_edit(post)

    def rates(e):
        return {"NOX": e["NOx"] * TPD / M_NO2, "SO2": e["SO2"] * TPD / M_SO2,
                "VOC": e["VOCs"] * TPD, "PM25": e["PM2_5"] * TPD}

    units = {"NOX": "moles/s", "SO2": "moles/s", "VOC": voc_units, "PM25": "g/s"}
    start = beijing_midnight_utc(DAY)
    run = tmp_path / "run"
    run.mkdir()
    write_emissions(run / "prior.nc", COARSE, start, 24, rates(prior), units)
    write_emissions(run / "post.nc", COARSE, start, 24, rates(post), units)
    return write_manifest(run, [{"kind": "inversion", "format": "ioapi", "prior": "prior.nc",
                                 "posterior": "post.nc"}])


def test_hotspots_need_excess_and_ratio_and_are_ranked_by_excess(tmp_path):
    res = collect_findings(_run(tmp_path), ["inversion"], stations=[])
    nox = sorted((h for h in res.hotspots if h.species == "NOx"), key=lambda h: h.rank)
    assert [(h.rank, h.row, h.col) for h in nox] == [(1, *A), (2, *D)]
    h = nox[0]
    assert h.prior == pytest.approx(0.1, rel=1e-5) and h.posterior == pytest.approx(1.0, rel=1e-5)
    assert h.excess == pytest.approx(0.9, rel=1e-4) and h.ratio == pytest.approx(10.0, rel=1e-4)
    assert h.units == "t/day" and h.date == DAY
    assert h.period_start.isoformat() == "2026-11-25T00:00:00+08:00"
    assert h.period_end.isoformat() == "2026-11-26T00:00:00+08:00"
    assert h.cell_id == f"ZJ30KM:r{A[0]}c{A[1]}"
    lon, lat = COARSE.cell_centers_lonlat()
    assert (h.lon, h.lat) == (pytest.approx(lon[A], abs=1e-5), pytest.approx(lat[A], abs=1e-5))
    county = RegionIndex.counties().locate_one(float(lon[A]), float(lat[A]))
    assert h.county_code == county and h.city_code == county[:4] + "00"
    assert h.thresholds == {"min_excess": 0.3, "min_ratio": 1.5}
    assert h.provenance.cells == [A] and h.provenance.variables == ["NOX"]
    assert [(x.species, x.row, x.col) for x in res.hotspots if x.species == "SO2"] == \
        [("SO2", *A)]


def test_thresholds_are_configurable_per_species(tmp_path):
    from ecobrain.model_adapters.files.run import collect_findings as cf

    cfg = load_hotspot_config(overrides={"NOx": {"min_excess": 0.2}})
    res = cf(_run(tmp_path), ["inversion"], stations=[], hotspot_config=cfg)
    nox = sorted((h for h in res.hotspots if h.species == "NOx"), key=lambda h: h.rank)
    assert [(h.row, h.col) for h in nox] == [A, D, B]


def test_region_totals_share_each_cell_by_its_area_inside(tmp_path):
    """0.1 t/day in every cell: the province's total is 0.1 × the number of cells' worth of
    area inside it, worked out here from each cell's outline in lon/lat intersected with the
    counties in an equal-area projection (another path than the adapters' grid-plane one)."""
    res = collect_findings(_run(tmp_path), ["inversion"], stations=[])
    prov = {e.species: e for e in res.region_emissions if e.region_level == "province"}
    counties = shapely.union_all([r.geometry for r in zhejiang_regions() if r.level == "county"])
    albers = pyproj.Transformer.from_crs("EPSG:4326", "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105",
                                         always_xy=True)
    inside = 0.0
    for r in range(COARSE.nrows):
        for c in range(COARSE.ncols):
            cell = cell_outline_lonlat(COARSE, r, c)
            part = cell.intersection(counties)
            if not part.is_empty:
                inside += (shapely.transform(part, albers.transform, interleaved=False).area
                           / shapely.transform(cell, albers.transform, interleaved=False).area)
    assert prov["SO2"].prior == pytest.approx(0.1 * inside, rel=2e-3)
    assert prov["VOCs"].posterior == pytest.approx(0.1 * inside, rel=2e-3)
    assert prov["NOx"].date == DAY
    # a county is all of the cells' area inside it, and the counties add up to the province
    county_sum = sum(e.prior for e in res.region_emissions
                     if e.species == "SO2" and e.region_level == "county")
    assert county_sum == pytest.approx(prov["SO2"].prior, rel=1e-4)


def test_molar_rate_without_a_molar_mass_is_an_error(tmp_path):
    with pytest.raises(UnitError) as exc:
        collect_findings(_run(tmp_path, voc_units="moles/s"), ["inversion"], stations=[])
    assert "prior.nc" in str(exc.value) and "VOC" in str(exc.value)
    assert "molar_mass_g_mol" in str(exc.value)


def test_cell_area_uses_the_projection_scale():
    area = cell_area_m2(COARSE)
    # LCC is conformal: true area = 30 km × 30 km / k², k within a few % of 1 here.
    assert np.all(np.abs(area / 9e8 - 1) < 0.05)
    assert area.shape == (COARSE.nrows, COARSE.ncols)


REAL = Path("/work/shared/data/real/inversion_cf")


@pytest.mark.skipif(not REAL.is_dir(), reason="shared real sample files not present")
def test_openmethane_cf_prior_with_posterior_multipliers(tmp_path):
    import xarray as xr

    run = tmp_path / "om"
    run.mkdir()
    shutil.copy(REAL / "openmethane_prior-emissions.nc", run / "prior.nc")
    shutil.copy(REAL / "openmethane_posterior-multipliers.nc", run / "post.nc")
    write_manifest(run, [{"kind": "inversion", "format": "cf", "prior": "prior.nc",
                          "posterior": "post.nc", "posterior_kind": "multiplier",
                          "posterior_group": "emis"}], run_id="om-test")
    cfg = load_hotspot_config(overrides={"CH4": {"min_excess": 0.0, "min_ratio": 1.05}})
    res = collect_findings(run, ["inversion"], stations=[], hotspot_config=cfg)
    prior = xr.open_dataset(run / "prior.nc")
    mult = xr.open_dataset(run / "post.nc", group="emis")["CH4"].values[0, 0]
    area = cell_area_m2(res_grid := _om_grid(run))
    expected_prior = prior["ch4_total"].values[0, 0] * area * 86400 / 1000
    prior.close()
    expected_ratio = mult
    hs = res.hotspots
    assert hs, "multipliers up to 1.11 pass a 1.05 ratio"
    assert all(h.species == "CH4" and h.county_code is None for h in hs)
    for h in hs:
        assert h.prior == pytest.approx(expected_prior[h.row, h.col], rel=1e-3, abs=1e-4)
        assert h.ratio == pytest.approx(expected_ratio[h.row, h.col], rel=1e-3)
    assert all(h.cell_id.startswith(f"{res_grid.name}:") for h in hs)
    assert hs[0].period_start.isoformat().startswith("2022-12-07T08:00:00+08:00")
    assert res.region_emissions == []  # no Zhejiang region on an Australian grid


def _om_grid(run):
    from ecobrain.model_adapters.files.registry import open_gridded

    with open_gridded(run / "prior.nc", "cf") as f:
        return f.grid


@pytest.mark.parametrize("eager_max", [0, inversion.EAGER_MAX_BYTES])
def test_whole_reads_and_lazy_blocks_find_the_same(tmp_path, monkeypatch, eager_max):
    """A small inversion is read whole with numpy, a large one as dask blocks: the findings
    (values, fields, provenance) are the same either way, and a NaN in the posterior is the
    same error naming the variable."""
    run = _run(tmp_path)
    reference = collect_findings(run, ["inversion"], stations=[])
    monkeypatch.setattr(inversion, "EAGER_MAX_BYTES", eager_max)
    res = collect_findings(run, ["inversion"], stations=[])
    assert [h.model_dump() for h in res.hotspots] == [h.model_dump() for h in reference.hotspots]
    assert [e.model_dump() for e in res.region_emissions] == \
        [e.model_dump() for e in reference.region_emissions]
    assert len(res.region_emissions) == 4 * 102  # 4 species x (province + 11 cities + 90)
    assert [(h.species, h.row, h.col) for h in res.hotspots] == \
        [("NOx", *A), ("NOx", *D), ("SO2", *A)]

    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    with netCDF4.Dataset(broken / "post.nc", "a") as nc:
        nc.variables["SO2"][5, 0, D[0], D[1]] = np.nan
    with pytest.raises(BadValueError) as exc:
        collect_findings(broken, ["inversion"], stations=[])
    assert "SO2" in str(exc.value) and "post.nc" in str(exc.value)
