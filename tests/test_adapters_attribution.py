"""ISAM attribution: shares per receptor and day, O3 at the MDA8 hours, closure within 1 %."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from adapters_fixtures import COARSE, beijing_midnight_utc, write_forecast, write_manifest

from ecobrain.model_adapters import (
    AttributionClosureError,
    ManifestError,
    MissingVariableError,
    collect_findings,
)
from ecobrain.model_adapters.files.ioapi_writer import write_ioapi

DAY = dt.date(2026, 11, 26)
TAGS = {"HZIND": {"region": "330100", "sector": "industry"},
        "OUTZJ": {"region": "outside", "sector": "regional"}}
PM_SHARES = {"HZIND": 0.5, "OUTZJ": 0.2, "BCO": 0.1, "OTH": 0.15, "ICO": 0.05}
HOURS = 48


def _o3_bulk():
    local = np.arange(HOURS) % 24
    return np.where((local >= 12) & (local < 20), 0.1, 0.02)


def _o3_tags():
    local = np.arange(HOURS) % 24
    bulk = _o3_bulk()
    return {"HZIND": np.where(local < 12, bulk, 0.0),
            "OUTZJ": np.where((local >= 12) & (local < 20), bulk, 0.0),
            "BCO": np.zeros(HOURS), "OTH": np.where(local >= 20, bulk, 0.0),
            "ICO": np.zeros(HOURS)}


def _sa_arrays(pm_shares=PM_SHARES, tag_names=None, species_pm="PM25", with_bulk=False):
    pm_bulk = 80.0
    arrays, units = {}, {}
    o3 = _o3_tags()
    for t, share in pm_shares.items():
        name = f"{species_pm}_{(tag_names or {}).get(t, t)}"
        arrays[name] = np.full((HOURS, COARSE.nrows, COARSE.ncols), pm_bulk * share, "f4")
        units[name] = "micrograms/m**3"
        oname = f"O3_{(tag_names or {}).get(t, t)}"
        o3_tag = o3["HZIND" if t not in o3 else t]
        arrays[oname] = np.broadcast_to(o3_tag[:, None, None], arrays[name].shape).astype("f4")
        units[oname] = "ppmV"
    if with_bulk:
        arrays["PM25"] = np.full((HOURS, COARSE.nrows, COARSE.ncols), pm_bulk, "f4")
        units["PM25"] = "ug m-3"
        arrays["O3"] = np.broadcast_to(_o3_bulk()[:, None, None],
                                       arrays["PM25"].shape).astype("f4")
        units["O3"] = "ppmV"
    return arrays, units


def _run(tmp_path, tags=TAGS, forecast=True, **sa_kw):
    run = tmp_path / "run"
    run.mkdir()
    start = beijing_midnight_utc(DAY)
    outputs = []
    if forecast:
        write_forecast(run / "aconc.nc", start_utc=start, hours=HOURS,
                       values={"PM25": 80.0, "O3": _o3_bulk()})
        outputs.append({"kind": "forecast", "format": "ioapi", "path": "aconc.nc"})
    arrays, units = _sa_arrays(**sa_kw)
    write_ioapi(run / "sa.nc", COARSE, arrays, units, start, 3600,
                filedesc=["SA_ACONC_1 stores contributing srcs",
                          "Timestamp represents beginning computed date/time"])
    outputs.append({"kind": "attribution", "format": "ioapi", "path": "sa.nc", "tags": tags})
    return write_manifest(run, outputs)


def _shares(res, code="330100", day=DAY, pollutant="PM2_5"):
    return {s.tag: s for s in res.attribution if s.receptor_code == code and s.date == day
            and s.pollutant == pollutant}


def test_pm25_shares_per_tag_close_to_the_forecast_bulk(tmp_path):
    res = collect_findings(_run(tmp_path), ["attribution"], stations=[])
    s = _shares(res)
    assert {t: round(v.share, 6) for t, v in s.items()} == PM_SHARES
    assert s["HZIND"].source_region == "330100" and s["HZIND"].source_sector == "industry"
    assert s["OUTZJ"].source_region == "outside" and not s["OUTZJ"].is_builtin
    assert s["BCO"].is_builtin and s["BCO"].source_region == "boundary"
    assert s["ICO"].source_region == "initial" and s["OTH"].source_region == "other"
    assert s["HZIND"].concentration == pytest.approx(40.0)
    assert s["HZIND"].bulk_concentration == pytest.approx(80.0)
    assert s["HZIND"].metric == "24h"
    assert s["HZIND"].provenance.variables == ["PM25_HZIND", "PM25"]
    levels = {x.receptor_level for x in res.attribution}
    assert levels == {"city", "county"}
    assert len({x.receptor_code for x in res.attribution}) == 101


def test_o3_shares_are_taken_at_the_mda8_hours(tmp_path):
    res = collect_findings(_run(tmp_path), ["attribution"], stations=[])
    s = _shares(res, pollutant="O3")
    # The bulk MDA8 window is 12-20 h, when only OUTZJ contributes: it explains all of it,
    # although over the whole day HZIND and OTH contribute too.
    assert s["OUTZJ"].share == pytest.approx(1.0)
    assert s["HZIND"].share == pytest.approx(0.0) and s["OTH"].share == pytest.approx(0.0)
    assert s["OUTZJ"].metric == "MDA8"
    assert s["OUTZJ"].bulk_concentration == pytest.approx(0.1 * 1962.0, rel=2e-4)


def test_bulk_can_come_from_the_sa_file_itself(tmp_path):
    res = collect_findings(_run(tmp_path, forecast=False, with_bulk=True), ["attribution"],
                           stations=[])
    s = _shares(res)
    assert s["HZIND"].share == pytest.approx(0.5)
    assert s["HZIND"].provenance.variables == ["PM25_HZIND", "PM25"]


def test_no_bulk_anywhere_is_an_error(tmp_path):
    with pytest.raises(ManifestError, match="no bulk PM2_5"):
        collect_findings(_run(tmp_path, forecast=False), ["attribution"], stations=[])


def test_long_tag_names_are_truncated_as_cmaq_does(tmp_path):
    tags = {"HANGZHOUIND": {"region": "330100", "sector": "industry"},
            "OUTZJ": {"region": "outside"}}
    # op_sa.F: the tag part is cut to min(7, 16 - len(species) - 1) characters
    shares = {"HANGZHOUIND": 0.5, "OUTZJ": 0.2, "BCO": 0.1, "OTH": 0.15, "ICO": 0.05}
    run = _run(tmp_path, tags=tags, pm_shares=shares, tag_names={"HANGZHOUIND": "HANGZHO"})
    s = _shares(collect_findings(run, ["attribution"], stations=[]))
    assert s["HANGZHOUIND"].share == pytest.approx(0.5)
    assert s["HANGZHOUIND"].provenance.variables[0] == "PM25_HANGZHO"


def test_tags_that_do_not_close_are_an_error_naming_file_variable_region_and_day(tmp_path):
    bad = {**PM_SHARES, "OTH": 0.10}  # the tags explain 95 % of the bulk
    with pytest.raises(AttributionClosureError) as exc:
        collect_findings(_run(tmp_path, pm_shares=bad), stations=[])
    msg = str(exc.value)
    assert "sa.nc" in msg and "PM25_*" in msg and "2026-11-26" in msg and "-5.00%" in msg
    assert exc.value.region and exc.value.gap == pytest.approx(-0.05, abs=1e-6)


def test_small_gaps_within_one_percent_are_accepted(tmp_path):
    ok = {**PM_SHARES, "OTH": 0.1460}  # 99.6 %
    res = collect_findings(_run(tmp_path, pm_shares=ok), ["attribution"], stations=[])
    assert res.attribution


def test_manifest_tag_missing_from_the_file_is_an_error(tmp_path):
    tags = {**TAGS, "NBPWR": {"region": "330200", "sector": "Power"}}
    with pytest.raises(MissingVariableError, match="PM25_NBPWR"):
        collect_findings(_run(tmp_path, tags=tags), ["attribution"], stations=[])


def test_missing_builtin_tag_is_an_error(tmp_path):
    shares = {"HZIND": 0.5, "OUTZJ": 0.2, "BCO": 0.1, "OTH": 0.2}
    with pytest.raises(MissingVariableError, match="PM25_ICO"):
        collect_findings(_run(tmp_path, pm_shares=shares), ["attribution"], stations=[])


def test_tags_not_in_the_manifest_are_kept_and_noted(tmp_path):
    res = collect_findings(_run(tmp_path, tags={"HZIND": TAGS["HZIND"]}), ["attribution"],
                           stations=[])
    s = _shares(res)
    assert s["OUTZJ"].source_region is None and s["OUTZJ"].share == pytest.approx(0.2)
    assert any("tag OUTZJ" in n for n in res.notes)
