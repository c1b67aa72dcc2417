"""Bad input: a clear error naming the file and variable, and no findings returned at all."""

from __future__ import annotations

import datetime as dt
import json
import os

import netCDF4
import numpy as np
import pytest
from adapters_fixtures import (
    COARSE,
    beijing_midnight_utc,
    forecast_run,
    write_forecast,
    write_manifest,
)

from ecobrain.model_adapters import (
    AdapterError,
    BadValueError,
    DimensionError,
    ManifestError,
    MissingVariableError,
    TimeAxisError,
    TruncatedFileError,
    UnitError,
    collect_findings,
    load_run,
)
from ecobrain.ontology.geography import RegionIndex

DAY = dt.date(2026, 11, 26)


def _inside_cell() -> tuple[int, int]:
    lon, lat = COARSE.cell_centers_lonlat()
    county = RegionIndex.counties().locate(lon, lat)
    r, c = np.argwhere(county == "330110")[0]  # 余杭区
    return int(r), int(c)


def test_manifest_naming_a_missing_file(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0})
    doc = json.loads((run / "run.json").read_text())
    doc["outputs"].append({"kind": "inversion", "format": "ioapi", "prior": "prior.nc",
                           "posterior": "post.nc"})
    (run / "run.json").write_text(json.dumps(doc))
    with pytest.raises(ManifestError) as exc:
        load_run(run)
    msg = str(exc.value)
    assert "run.json" in msg and "outputs[1].prior: file 'prior.nc'" in msg
    assert "outputs[1].posterior" in msg


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda d: d.update(outputs=[{"kind": "forecast", "format": "ioapi"}]),
     "outputs[0]: a forecast output needs 'path'"),
    (lambda d: d["outputs"][0].update(pth="x.nc"), "outputs[0].pth: Extra inputs"),
    (lambda d: d.update(init_time="2026-11-25T12:00:00"), "init_time: init_time needs a UTC"),
    (lambda d: d["outputs"].append({"kind": "attribution", "format": "ioapi", "path": "aconc.nc",
                                    "tags": {"X": {"region": "Hangzhou"}}}),
     "outputs[1].tags.X.region: region 'Hangzhou'"),
    (lambda d: d["outputs"][0].update(kind="forecasts"), "outputs[0].kind"),
])
def test_manifest_errors_name_the_field(tmp_path, edit, needle):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0})
    doc = json.loads((run / "run.json").read_text())
    edit(doc)
    (run / "run.json").write_text(json.dumps(doc))
    with pytest.raises(ManifestError) as exc:
        load_run(run)
    assert needle in str(exc.value)


def test_manifest_that_is_not_json_or_absent(tmp_path):
    (tmp_path / "r").mkdir()
    with pytest.raises(ManifestError, match="does not exist"):
        load_run(tmp_path / "r")
    (tmp_path / "r" / "run.json").write_text('{"id": "x", ')
    with pytest.raises(ManifestError, match=r"not valid JSON \(line 1"):
        load_run(tmp_path / "r")
    with pytest.raises(ManifestError, match="not a directory"):
        load_run(tmp_path / "nope")


def test_missing_variable(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"SO2x": 1.0},
                       units={"SO2x": "ppmV"})
    with pytest.raises(MissingVariableError) as exc:
        collect_findings(run, stations=[])
    assert "aconc.nc" in str(exc.value) and "none of the AQI pollutants" in str(exc.value)


def test_manifest_variable_override_that_is_not_in_the_file(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0})
    doc = json.loads((run / "run.json").read_text())
    doc["outputs"][0]["variables"] = {"PM2_5": "PM25_TOT"}
    (run / "run.json").write_text(json.dumps(doc))
    with pytest.raises(MissingVariableError) as exc:
        collect_findings(run, stations=[])
    assert exc.value.file == "aconc.nc" and exc.value.variable == "PM25_TOT"


def test_unknown_units(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0, "O3": 0.04},
                       units={"O3": "furlongs"})
    with pytest.raises(UnitError) as exc:
        collect_findings(run, stations=[])
    assert exc.value.file == "aconc.nc" and exc.value.variable == "O3"
    assert "unknown units 'furlongs'" in str(exc.value)


@pytest.mark.parametrize(("bad", "what"), [(-9.999e36, "fill value"), (np.nan, "NaN")])
def test_fill_values_and_nans_in_cells_that_feed_a_region(tmp_path, bad, what):
    r, c = _inside_cell()
    pm = np.full((24, COARSE.nrows, COARSE.ncols), 30.0, dtype=np.float32)
    pm[5, r, c] = bad
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": pm})
    with pytest.raises(BadValueError) as exc:
        collect_findings(run, stations=[])
    msg = str(exc.value)
    assert exc.value.file == "aconc.nc" and exc.value.variable == "PM25"
    assert what in msg and "record 5" in msg and f"row {r}, col {c}" in msg


def test_fill_values_outside_every_region_do_not_matter(tmp_path):
    pm = np.full((24, COARSE.nrows, COARSE.ncols), 30.0, dtype=np.float32)
    pm[:, 0, 0] = -9.999e36  # the south-west corner is outside Zhejiang
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": pm})
    assert collect_findings(run, stations=[]).daily_aqi


def test_wrong_dimensions(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0})
    with netCDF4.Dataset(run / "aconc.nc", "a") as nc:
        v = nc.createVariable("NO2", "f4", ("TSTEP", "ROW", "COL"))
        v.units = "ppmV"
    with pytest.raises(DimensionError) as exc:
        collect_findings(run, stations=[])
    assert exc.value.file == "aconc.nc" and exc.value.variable == "NO2"
    assert "('TSTEP', 'ROW', 'COL')" in str(exc.value)


def test_header_that_disagrees_with_the_data(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0})
    with netCDF4.Dataset(run / "aconc.nc", "a") as nc:
        nc.NROWS = np.int32(COARSE.nrows + 1)
    with pytest.raises(DimensionError, match="ROW has 16 cells but the header says NROWS=17"):
        collect_findings(run, stations=[])


def test_tflag_that_disagrees_with_sdate(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0})
    with netCDF4.Dataset(run / "aconc.nc", "a") as nc:
        nc.variables["TFLAG"][3, :, 1] = 999999
    with pytest.raises(TimeAxisError) as exc:
        collect_findings(run, stations=[])
    assert exc.value.variable == "TFLAG" and "record 3" in str(exc.value)


@pytest.mark.parametrize("fmt", ["NETCDF3_64BIT_OFFSET", "NETCDF4_CLASSIC"])
def test_truncated_file(tmp_path, fmt):
    run = tmp_path / "r"
    run.mkdir()
    path = write_forecast(run / "aconc.nc", start_utc=beijing_midnight_utc(DAY), hours=48,
                          values={"PM25": 30.0, "O3": 0.03}, fmt=fmt)
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) * 2 // 3)
    write_manifest(run, [{"kind": "forecast", "format": "ioapi", "path": "aconc.nc"}])
    with pytest.raises((TruncatedFileError, TimeAxisError)) as exc:
        collect_findings(run, stations=[])
    assert exc.value.file == "aconc.nc" and "truncated" in str(exc.value)


def test_not_netcdf_at_all(tmp_path):
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 30.0})
    (run / "aconc.nc").write_bytes(b"this is a log file, not model output\n")
    with pytest.raises(TruncatedFileError, match=r"aconc\.nc: cannot be opened as netCDF"):
        collect_findings(run, stations=[])


def test_non_hourly_forecast_is_refused(tmp_path):
    from ecobrain.model_adapters.files.ioapi_writer import write_ioapi

    run = tmp_path / "r"
    run.mkdir()
    write_ioapi(run / "daily.nc", COARSE, {"PM25": np.full((3, 16, 17), 30.0, "f4")},
                {"PM25": "ug m-3"}, beijing_midnight_utc(DAY), 86400)
    write_manifest(run, [{"kind": "forecast", "format": "ioapi", "path": "daily.nc"}])
    with pytest.raises(TimeAxisError, match="daily values need hourly records; TSTEP is 86400"):
        collect_findings(run, stations=[])


def test_one_bad_output_means_no_findings_for_the_run(tmp_path):
    """The forecast is fine, the ISAM file does not close: nothing comes back."""
    run = forecast_run(tmp_path / "r", day=DAY, days=1, values={"PM25": 80.0, "O3": 0.03})
    from ecobrain.model_adapters.files.ioapi_writer import write_ioapi

    shape = (24, COARSE.nrows, COARSE.ncols)
    arrays = {f"PM25_{t}": np.full(shape, v, "f4") for t, v in
              (("HZIND", 30.0), ("BCO", 5.0), ("OTH", 5.0), ("ICO", 5.0))}
    write_ioapi(run / "sa.nc", COARSE, arrays, dict.fromkeys(arrays, "micrograms/m**3"),
                beijing_midnight_utc(DAY), 3600,
                filedesc=["Timestamp represents beginning computed date/time"])
    doc = json.loads((run / "run.json").read_text())
    doc["outputs"].append({"kind": "attribution", "format": "ioapi", "path": "sa.nc",
                           "tags": {"HZIND": {"region": "330100", "sector": "industry"}}})
    (run / "run.json").write_text(json.dumps(doc))
    with pytest.raises(AdapterError) as exc:
        collect_findings(run, stations=[])
    assert "sa.nc" in str(exc.value)
