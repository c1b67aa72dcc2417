"""The sample run: real IOAPI files, deterministic, with the planted episodes and hotspots."""

from __future__ import annotations

import datetime as dt
import gc
import json
import shutil
import subprocess
import warnings
from collections import defaultdict

import numpy as np
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from ecobrain.api.cli.commands.findings import register
from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.sample_run import (
    FORECAST_FILE,
    PRIOR_FILE,
    SA_FILE,
    write_sample_run,
)

START = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = write_sample_run(tmp_path_factory.mktemp("sample") / "run", days=15, seed=0,
                           start=START)
    return out, collect_findings(out, stations=[], include_hourly=False)


def test_manifest_and_files(sample):
    out, res = sample
    doc = json.loads((out / "run.json").read_text())
    assert doc["id"] == "zj3km-2026112512" and doc["init_time"] == "2026-11-25T12:00:00+08:00"
    assert [o["kind"] for o in doc["outputs"]] == ["forecast", "attribution", "inversion"]
    assert res.days[0] == START and len(res.days) == 15
    assert res.kinds == ["forecast", "inversion", "attribution", "regime"]
    assert res.grid.name == "ZJ3KM" and res.notes == []


def test_files_open_as_ioapi_with_xarray_pseudonetcdf_and_ncdump(sample):
    out, _ = sample
    for name in (FORECAST_FILE, SA_FILE, PRIOR_FILE):
        ds = xr.open_dataset(out / name)
        assert ds.attrs["GDNAM"].strip() == "ZJ3KM" and ds.attrs["FTYPE"] == 1
        assert ds["TFLAG"].dims == ("TSTEP", "VAR", "DATE-TIME")
        ds.close()
    ds = xr.open_dataset(out / FORECAST_FILE, chunks={})
    assert ds["O3"].encoding["chunksizes"] == (24, 1, 158, 164)
    assert ds["O3"].attrs["units"].strip() == "ppmV"
    assert ds["PM25"].attrs["units"].strip() == "ug m-3"
    ds.close()
    import PseudoNetCDF as pnc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pnc.pncopen(str(out / SA_FILE), format="ioapi")
        assert "PM25_HZIND" in f.variables and "O3_ICO" in f.variables
        assert len(f.getTimes()) == 15 * 24
        # PseudoNetCDF's ioapi class is a netCDF4.Dataset whose close() is repeated by its
        # __dealloc__, which can close a netCDF id since reused by another open file: let
        # the garbage collector close it once instead.
        del f
        gc.collect()
    if shutil.which("ncdump"):
        head = subprocess.run(["ncdump", "-h", str(out / FORECAST_FILE)], capture_output=True,
                              text=True, check=True).stdout
        assert "TSTEP = UNLIMITED ; // (360 currently)" in head
        assert "Timestamp represents beginning computed date/time" in head


def test_pm25_episode_over_northern_zhejiang(sample):
    out, res = sample
    truth = json.loads((out / "sample-truth.json").read_text())
    eps = [e for e in res.episodes if e.region_level == "city" and e.driver == "PM2_5"]
    cities_200 = {e.region_code for e in eps if e.threshold == 200 and e.days >= 3}
    assert cities_200 == set(truth["pm25_episode"]["cities"])
    assert any(e.threshold == 300 for e in eps)
    assert all(e.start_date.isoformat() in truth["pm25_episode"]["days"] for e in eps)


def test_o3_episode_elsewhere(sample):
    _, res = sample
    o3 = [e for e in res.episodes if e.region_level == "city" and e.threshold == 200
          and e.driver == "O3"]
    assert {e.region_code for e in o3} >= {"330800", "331100"}
    assert not {e.region_code for e in o3} & {"330100", "330400", "330500", "330600"}


def test_hotspots_are_the_planted_ones(sample):
    out, res = sample
    truth = json.loads((out / "sample-truth.json").read_text())
    planted = {(p["species"], p["row"], p["col"]) for p in truth["planted_hotspots"]}
    found = {(h.species, h.row, h.col) for h in res.hotspots}
    assert 20 <= len(found) <= 40 and found == planted
    assert {h.species for h in res.hotspots} == {"NOx", "SO2", "VOCs", "PM2_5"}
    assert all(h.date == START - dt.timedelta(days=1) for h in res.hotspots)
    if truth["enterprises_used"]:
        assert sum(1 for p in truth["planted_hotspots"] if p["enterprise_id"]) >= 5


def test_attribution_closes_and_has_all_tags(sample):
    _, res = sample
    by = defaultdict(float)
    tags = set()
    for s in res.attribution:
        by[(s.receptor_code, s.date, s.pollutant)] += s.share
        tags.add(s.tag)
    assert tags == {"HZIND", "HZMOB", "JXIND", "HUIND", "NBPWR", "OUTZJ", "BCO", "OTH", "ICO"}
    assert all(abs(v - 1) < 1e-3 for v in by.values())
    hz = [s for s in res.attribution if s.receptor_code == "330100" and s.tag == "HZIND"]
    assert all(s.source_region == "330100" and s.source_sector == "industry" for s in hz)


def test_regimes_cover_all_three(sample):
    _, res = sample
    assert {r.regime for r in res.regimes} == {"VOCLimited", "Transitional", "NOxLimited"}


def test_deterministic_from_seed_and_start(tmp_path):
    a = write_sample_run(tmp_path / "a", days=1, seed=3, start=START)
    b = write_sample_run(tmp_path / "b", days=1, seed=3, start=START)
    c = write_sample_run(tmp_path / "c", days=1, seed=4, start=START)
    for name in (FORECAST_FILE, SA_FILE, PRIOR_FILE):
        da, db, dc = (xr.open_dataset(x / name) for x in (a, b, c))
        for v in ("PM25", "NOX", "PM25_HZIND"):
            if v in da:
                assert np.array_equal(da[v].values, db[v].values)
                if v != "PM25_HZIND":
                    assert not np.array_equal(da[v].values, dc[v].values)
        for d in (da, db, dc):
            d.close()
    assert (a / "run.json").read_text() == (b / "run.json").read_text()


def _app():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test app"""

    register(app)
    return app


def test_cli_findings_table_and_json(sample):
    out, _ = sample
    runner = CliRunner()
    r = runner.invoke(_app(), ["findings", str(out), "--no-stations"])
    assert r.exit_code == 0, r.output
    assert "Daily AQI by city" in r.output and "Emission hotspots" in r.output
    r = runner.invoke(_app(), ["findings", str(out), "--kind", "inversion", "--format", "json",
                               "--no-stations"])
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert len(data["hotspots"]) == 30 and "daily_aqi" not in data
    assert data["run_id"] == "zj3km-2026112512"


def test_cli_bad_run_is_one_line_and_exit_2(tmp_path):
    r = CliRunner().invoke(_app(), ["findings", str(tmp_path)])
    assert r.exit_code == 2
    assert "run.json" in r.output and "Traceback" not in r.output


def test_cli_sample_run_command(tmp_path):
    r = CliRunner().invoke(_app(), ["sample-run", str(tmp_path / "s"), "--days", "1",
                                    "--start", "2026-03-01", "--seed", "2"])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "s" / "run.json").read_text())
    assert doc["init_time"] == "2026-02-28T12:00:00+08:00"
