"""Gridded reductions on dask: the same numbers as the whole-array computation, wherever they run.

The whole-array computation (read every record at once, one sparse product in this process)
is the reference; the block-wise dask path must equal it on the threaded scheduler and on a real
``LocalCluster`` reached through ``ECOBRAIN_DASK_SCHEDULER``. A real CMAQ file from
``/work/shared/data/real`` is reduced and checked against values read with netCDF4 directly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import shapely
from adapters_fixtures import COARSE, SHIFTED, forecast_run
from distributed import LocalCluster

from ecobrain.model_adapters import BadValueError, collect_findings
from ecobrain.model_adapters.compute import scheduler
from ecobrain.model_adapters.compute.reductions import region_series
from ecobrain.model_adapters.files.ioapi_writer import write_ioapi
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.model_adapters.grids.weights import compute_area_weights
from ecobrain.model_adapters.regions import Station, build_mapper, mapper_from_weights

REAL = Path("/work/shared/data/real/cmaq_conc/openmethane_conc_template.nc")
START = dt.datetime(2026, 11, 25, 16)


def _random_file(tmp_path: Path, grid, hours: int = 50,
                 negative_at: tuple[int, int] = (0, 0)) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(5)
    arrays = {"PM25": rng.uniform(5, 200, (hours, grid.nrows, grid.ncols)).astype(np.float32),
              "O3": rng.uniform(0.01, 0.09, (hours, grid.nrows, grid.ncols)).astype(np.float32)}
    arrays["O3"][3, *negative_at] = -0.002  # a negative value (sanity warnings count it)
    path = write_ioapi(tmp_path / "f.nc", grid, arrays, {"PM25": "ug m-3", "O3": "ppmV"},
                       START, 3600)
    return path, arrays


def test_block_wise_equals_the_whole_array_computation(tmp_path, monkeypatch):
    monkeypatch.setenv(scheduler.ENV_SCHEDULER, "threads")
    m = build_mapper(SHIFTED, [Station("S1", 120.16, 30.27)])
    used = divmod(int(m.used_cells[7]), SHIFTED.ncols)
    path, arrays = _random_file(tmp_path, SHIFTED, negative_at=used)
    unused = set(range(SHIFTED.nrows * SHIFTED.ncols)) - set(m.used_cells.tolist())
    arrays_unused = divmod(min(unused), SHIFTED.ncols)
    arrays["O3"][5, *arrays_unused] = -1.0  # where no region looks: not counted
    path = write_ioapi(tmp_path / "g.nc", SHIFTED, arrays, {"PM25": "ug m-3", "O3": "ppmV"},
                       START, 3600)
    with open_gridded(path, "ioapi") as f:
        assert f.lazy("PM25").chunks[0] == (24, 24, 2)  # day blocks, the last one short
        assert [(b.start, b.stop) for b in f.blocks("PM25")] == [(0, 24), (24, 48), (48, 50)]
        got = region_series(f, {"pm": "PM25", "o3": "O3"}, m, count_negatives=True)
    for key, var in (("pm", "PM25"), ("o3", "O3")):
        whole = m.aggregate(arrays[var].astype(np.float64))
        np.testing.assert_allclose(got[key].series, whole, rtol=1e-12)
    # negatives counted only where a region uses the cell
    assert got["o3"].negative_count == 1 and got["o3"].negative_min == pytest.approx(-0.002)
    assert got["pm"].negative_count == 0


def test_a_nan_in_a_used_cell_names_its_record_and_cell(tmp_path, monkeypatch):
    monkeypatch.setenv(scheduler.ENV_SCHEDULER, "threads")
    m = build_mapper(COARSE)
    r, c = divmod(int(m.used_cells[10]), COARSE.ncols)
    arr = np.full((30, COARSE.nrows, COARSE.ncols), 20.0, dtype=np.float32)
    arr[27, r, c] = np.nan
    arr[28, r, c] = -9.999e36
    path = write_ioapi(tmp_path / "bad.nc", COARSE, {"PM25": arr}, {"PM25": "ug m-3"}, START,
                       3600)
    with open_gridded(path, "ioapi") as f, pytest.raises(BadValueError) as err:
        region_series(f, {"pm": "PM25"}, m)
    msg = str(err.value)
    assert "2 missing values" in msg and "NaN at record 27" in msg
    assert f"row {r}, col {c}" in msg and "PM25" in msg


def test_real_cmaq_file_reduced_block_wise_equals_netcdf4_by_hand(monkeypatch):
    """OpenMethane's CMAQ CONC template (Australia, 10 km, 25 hourly records: blocks of 24 and
    1): two regions split at a cell's middle, values checked against a netCDF4 read."""
    if not REAL.exists():
        pytest.skip(f"{REAL} not present")
    monkeypatch.setenv(scheduler.ENV_SCHEDULER, "threads")
    with open_gridded(REAL, "ioapi") as f:
        g = f.grid
        # west: columns 0..3 and half of column 4, rows 2..6; east: the rest of those rows
        x_mid = g.xorig + 4.5 * g.xcell
        west_xy = shapely.box(g.xorig, g.yorig + 2 * g.ycell, x_mid, g.yorig + 7 * g.ycell)
        east_xy = shapely.box(x_mid, g.yorig + 2 * g.ycell, g.xorig + g.ncols * g.xcell,
                              g.yorig + 7 * g.ycell)

        def to_lonlat(poly):
            dense = shapely.segmentize(poly, g.xcell / 20)
            return shapely.transform(dense, lambda c: np.column_stack(
                g.xy_to_lonlat(c[:, 0], c[:, 1])))

        w = compute_area_weights(g, ["W", "E"], [to_lonlat(west_xy), to_lonlat(east_xy)])
        m = mapper_from_weights(g, w)
        got = region_series(f, {"ch4": "CH4"}, m)["ch4"].series
    with netCDF4.Dataset(REAL) as nc:
        ch4 = np.asarray(nc.variables["CH4"][:, 0], dtype=np.float64)  # (25, rows, cols)
    area = w.cell_area_km2.reshape(g.nrows, g.ncols)
    frac_w = np.zeros((g.nrows, g.ncols))
    frac_w[2:7, :4] = 1.0
    frac_w[2:7, 4] = 0.5
    frac_e = np.zeros((g.nrows, g.ncols))
    frac_e[2:7, 5:] = 1.0
    frac_e[2:7, 4] = 0.5
    for code, frac in (("W", frac_w), ("E", frac_e)):
        wt = frac * area
        expect = (ch4 * wt).sum(axis=(1, 2)) / wt.sum()
        np.testing.assert_allclose(got[:, m.codes.index(code)], expect, rtol=1e-6)
    assert got.shape == (25, 2)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as c:
        yield c
    scheduler.shutdown()


def test_scheduler_address_sends_the_work_to_that_cluster(cluster, tmp_path, monkeypatch):
    path, arrays = _random_file(tmp_path, SHIFTED, hours=30)
    m = build_mapper(SHIFTED)
    monkeypatch.setenv(scheduler.ENV_SCHEDULER, cluster.scheduler_address)
    assert scheduler.choose(1) == cluster.scheduler_address
    with open_gridded(path, "ioapi") as f:
        got = region_series(f, {"pm": "PM25"}, m)["pm"].series
    np.testing.assert_allclose(got, m.aggregate(arrays["PM25"].astype(np.float64)), rtol=1e-12)
    # the blocks ran on the cluster's workers (the scheduler saw the task prefix)
    assert "read_and_reduce" in cluster.scheduler.task_prefixes


def test_whole_findings_are_the_same_on_threads_and_on_the_cluster(cluster, tmp_path,
                                                                   monkeypatch):
    day = dt.date(2026, 11, 26)
    run = forecast_run(tmp_path / "r", day=day, days=2, grid=SHIFTED,
                       values={"PM25": lambda t, g: 40.0 + 5.0 * np.sin(t / 5.0)[:, None, None]
                               + np.linspace(0, 30, g.ncols)[None, None, :],
                               "O3": 0.05, "NO2": 0.02})
    monkeypatch.setenv(scheduler.ENV_SCHEDULER, "threads")
    on_threads = collect_findings(run, ["forecast"], stations=[], include_hourly=False)
    monkeypatch.setenv(scheduler.ENV_SCHEDULER, cluster.scheduler_address)
    on_cluster = collect_findings(run, ["forecast"], stations=[], include_hourly=False)
    assert on_cluster.daily_aqi == on_threads.daily_aqi and len(on_threads.daily_aqi) > 100


def test_small_work_stays_on_threads_and_large_work_goes_to_a_cluster(monkeypatch):
    monkeypatch.delenv(scheduler.ENV_SCHEDULER, raising=False)
    monkeypatch.delenv(scheduler.ENV_CLUSTER_MIN_MB, raising=False)
    assert scheduler.choose(400e6) == "threads"  # a provincial 15-day forecast
    assert scheduler.choose(3.1e9) == "threads"  # a national 3 km domain, 3 days
    assert scheduler.choose(15.6e9) == "local"  # the same, 15 days
    monkeypatch.setenv(scheduler.ENV_CLUSTER_MIN_MB, "100")
    assert scheduler.choose(400e6) == "local"
    monkeypatch.setenv(scheduler.ENV_CLUSTER_MIN_MB, "lots")
    with pytest.raises(ValueError, match="ECOBRAIN_DASK_CLUSTER_MIN_MB"):
        scheduler.choose(1)
