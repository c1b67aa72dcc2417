"""IOAPI and CF readers on real CMAQ/MCIP/OpenMethane files and on files written here."""

from __future__ import annotations

import datetime as dt
import gc
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from adapters_fixtures import (
    COARSE,
    SHIFTED,
    beijing_midnight_utc,
    write_cf_latlon,
    write_forecast,
)

from ecobrain.model_adapters.files.ioapi import decode_tstep
from ecobrain.model_adapters.files.registry import formats, open_gridded, register_reader
from ecobrain.ontology.grid import ZJ3KM, GridSpec

REAL = Path("/work/shared/data/real")
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="shared real sample files not present")


@needs_real
@pytest.mark.parametrize(("rel", "var", "units", "shape", "first", "step"), [
    ("cmaq_ioapi/cmaqml_O3_8HRMAX.LST.Y_24.2016fh.v531.108US2.5-9.nc", "O3_8HRMAX", "ppbV",
     (27, 44), "2016-07-15T00:00:00", 86400),
    ("cmaq_ioapi/cmaqml_dailyavg.LST.Y_24.2016fh.v531.108US2.01.nc", "PM25_FRM", "ug/m3",
     (27, 44), "2016-01-15T00:00:00", 86400),
    ("cmaq_conc/openmethane_conc_template.nc", "CH4", "ppmV", (10, 10), "2022-12-07T00:00:00",
     3600),
    ("cmaq_conc/openmethane_emis_record_2022-12-07.nc", "CH4", "mol/s", (10, 10),
     "2022-12-07T00:00:00", 3600),
])
def test_real_cmaq_files_give_grid_time_and_units(rel, var, units, shape, first, step):
    with open_gridded(REAL / rel, "ioapi") as f:
        assert (f.grid.nrows, f.grid.ncols) == shape
        assert f.grid.gdtyp == 2
        assert str(f.times[0]) == first and f.step_seconds == step
        assert f.units(var) == units
        arr = f.read(var, slice(0, 1))
        assert arr.shape == (1, *shape) and np.isfinite(arr).all()


@needs_real
def test_real_conc_file_has_25_hourly_records_checked_against_tflag():
    with open_gridded(REAL / "cmaq_conc/openmethane_conc_template.nc", "ioapi") as f:
        assert f.ntimes == 25 and f.nlayers == 32
        assert str(f.times[-1]) == "2022-12-08T00:00:00"
        assert f.timestamp == "instant"  # CONC: instantaneous values
        # an instantaneous value stands for the hour it closes
        assert str(f.interval_begin()[1]) == "2022-12-07T00:00:00"


@needs_real
def test_unknown_units_in_real_file_are_reported_not_guessed():
    from ecobrain.model_adapters.errors import UnitError

    with open_gridded(REAL / "cmaq_ioapi/cmaqml_gpw_v4_une_atotpopbt_densy_108US2.IOAPI.nc",
                      "ioapi") as f, pytest.raises(UnitError, match="persons/km"):
        f.units("DENS")


@needs_real
@pytest.mark.parametrize("name", ["monet_aqm.t12z.grdcro2d.ncf",
                                  "openmethane_GRIDCRO2D_220701_aust-test"])
def test_cell_centres_match_mcip_lat_lon(name):
    with open_gridded(REAL / "mcip" / name, "ioapi") as f:
        lon, lat = f.grid.cell_centers_lonlat()
        mlat = f.read("LAT", check=False)[0]
        mlon = f.read("LON", check=False)[0]
    assert np.abs(lat - mlat).max() < 1e-4
    assert np.abs((lon - mlon + 180) % 360 - 180).max() < 1e-4


@needs_real
def test_cf_lambert_prior_grid_matches_its_own_lat_lon():
    with open_gridded(REAL / "inversion_cf/openmethane_prior-emissions.nc", "cf") as f:
        assert f.grid.gdtyp == 2 and (f.grid.nrows, f.grid.ncols) == (10, 10)
        lon, lat = f.grid.cell_centers_lonlat()
        assert np.abs(lat - f.dataset["lat"].values).max() < 1e-4
        assert np.abs(lon - f.dataset["lon"].values).max() < 1e-4
        assert f.units("ch4_total") == "kg/m2/s"
        assert f.timestamp == "begin" and f.step_seconds == 86400  # from time_bounds


@pytest.mark.parametrize("grid", [ZJ3KM, COARSE, SHIFTED], ids=lambda g: g.name)
def test_projection_round_trip(grid: GridSpec):
    rng = np.random.default_rng(1)
    rows = rng.integers(0, grid.nrows, 50)
    cols = rng.integers(0, grid.ncols, 50)
    lon, lat = grid.cell_centers_lonlat()
    r2, c2 = grid.lonlat_to_rowcol(lon[rows, cols], lat[rows, cols])
    assert np.array_equal(r2, rows) and np.array_equal(c2, cols)
    x, y = grid.lonlat_to_xy(lon[rows, cols], lat[rows, cols])
    assert np.allclose(x, grid.xorig + (cols + 0.5) * grid.xcell, atol=1e-3)
    assert np.allclose(y, grid.yorig + (rows + 0.5) * grid.ycell, atol=1e-3)


def test_written_file_opens_as_ioapi_in_xarray_pseudonetcdf_and_ncdump(tmp_path):
    start = beijing_midnight_utc(dt.date(2026, 11, 26))
    path = write_forecast(tmp_path / "aconc.nc", start_utc=start, hours=3, grid=ZJ3KM,
                          values={"O3": 0.04, "PM25": 35.0}, fmt="NETCDF4_CLASSIC")
    ds = xr.open_dataset(path)
    assert ds["O3"].dims == ("TSTEP", "LAY", "ROW", "COL")
    assert ds.attrs["VAR-LIST"] == "O3              PM25            "
    assert ds["O3"].attrs["units"] == "ppmV            "
    assert ds["TFLAG"].values[1, 0].tolist() == [2026329, 170000]  # 2026-11-25 17Z
    ds.close()
    import PseudoNetCDF as pnc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pnc.pncopen(str(path), format="ioapi")
        times = f.getTimes()
        assert times[0].replace(tzinfo=None) == start
        i, j = f.ll2ij(120.2, 30.3)
        lon, lat = f.ij2ll(i, j)
        # PseudoNetCDF's ioapi class is a netCDF4.Dataset whose close() is repeated by its
        # __dealloc__, which can close a netCDF id since reused by another open file: let
        # the garbage collector close it once instead.
        del f
        gc.collect()
    row, col = ZJ3KM.lonlat_to_rowcol(120.2, 30.3)
    assert (int(j), int(i)) == (int(row), int(col))
    clon, clat = ZJ3KM.cell_centers_lonlat()
    assert abs(clon[row, col] - lon) < 1e-6 and abs(clat[row, col] - lat) < 1e-6
    ncdump = shutil.which("ncdump")
    if ncdump is None:
        pytest.skip("ncdump (Debian netcdf-bin) not installed")
    head = subprocess.run([ncdump, "-h", str(path)], capture_output=True, text=True,
                          check=True).stdout
    assert "TSTEP = UNLIMITED ; // (3 currently)" in head
    assert ':GDTYP = 2 ;' in head and "float O3(TSTEP, LAY, ROW, COL)" in head


def test_ioapi_tstep_codes():
    assert decode_tstep(10000) == 3600
    assert decode_tstep(240000) == 86400
    assert decode_tstep(7320000) == 732 * 3600
    assert decode_tstep(1500) == 900


def test_cf_latlon_grid_north_to_south_is_flipped_to_row0_south(tmp_path):
    lats = np.arange(31.0, 27.0, -0.5)  # north first
    lons = np.arange(118.0, 123.0, 0.5)
    times = np.array(["2026-11-25T16:00", "2026-11-25T17:00"], dtype="datetime64[ns]")
    data = np.zeros((2, len(lats), len(lons)))
    data[:, 0, :] = 99.0  # the northernmost row
    write_cf_latlon(tmp_path / "cf.nc", lats=lats, lons=lons, times=times,
                    variables={"pm25": (data, "ug/m3")})
    with open_gridded(tmp_path / "cf.nc", "cf") as f:
        assert f.grid.gdtyp == 1 and f.grid.nrows == len(lats)
        arr = f.read("pm25")
        assert (arr[:, -1, :] == 99).all() and (arr[:, 0, :] == 0).all()
        lon, lat = f.grid.cell_centers_lonlat()
        assert lat[0, 0] == pytest.approx(27.5) and lat[-1, 0] == pytest.approx(31.0)
        assert lon[0, 0] == pytest.approx(118.0)
        assert f.units("pm25") == "ug/m3"


def test_registry_adds_a_model_as_one_reader(tmp_path, monkeypatch):
    from ecobrain.model_adapters.errors import ManifestError
    from ecobrain.model_adapters.files import registry
    from ecobrain.model_adapters.files.ioapi import open_ioapi

    monkeypatch.setattr(registry, "_READERS", dict(registry._READERS))
    with pytest.raises(ManifestError, match="unknown format 'camx7'"):
        open_gridded(tmp_path / "x.nc", "camx7")
    register_reader("camx7", open_ioapi)  # CAMx ≥7 writes IOAPI-like netCDF (FORMATS.md §6)
    assert "camx7" in formats()
    path = write_forecast(tmp_path / "camx.nc", start_utc=dt.datetime(2026, 1, 1), hours=2,
                          values={"O3": 0.03})
    with open_gridded(path, "camx7") as f:
        assert f.units("O3") == "ppmV"
