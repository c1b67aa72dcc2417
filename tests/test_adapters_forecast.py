"""Forecast findings: Beijing days, daily values, AQI by the standard of each day, episodes."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from adapters_fixtures import (
    COARSE,
    SHIFTED,
    beijing_midnight_utc,
    forecast_run,
    ppm_from_ugm3,
    write_cf_latlon,
    write_forecast,
    write_manifest,
)

from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.episodes import detect_episodes
from ecobrain.model_adapters.findings import DailyConcentrations, Provenance, RegionDailyAQI
from ecobrain.model_adapters.regions import Station

O3_UG_PER_PPM = 1962.0  # FORMATS.md §3 (1 ppb O3 = 1.962 µg/m³ at the reference state)


def _by(findings, code, level="city"):
    return {f.date: f for f in findings if f.region_code == code and f.region_level == level}


def test_aconc_hours_are_assigned_to_beijing_days_by_their_beginning(tmp_path):
    day = dt.date(2026, 11, 26)
    pm = np.where(np.arange(48) < 24, 100.0, 40.0)
    run = forecast_run(tmp_path / "r", day=day, days=2, values={"PM25": pm})
    res = collect_findings(run, ["forecast"], stations=[])
    assert res.days == [day, day + dt.timedelta(days=1)]
    hz = _by(res.daily_aqi, "330100")
    assert hz[day].concentrations.PM2_5_24h == pytest.approx(100.0)
    assert hz[day + dt.timedelta(days=1)].concentrations.PM2_5_24h == pytest.approx(40.0)
    assert hz[day].provenance.time_index == (0, 23)
    assert hz[day].provenance.file == "aconc.nc" and hz[day].provenance.variables == ["PM25"]


def test_instantaneous_records_stand_for_the_hour_they_close(tmp_path):
    day = dt.date(2026, 11, 26)
    pm = np.where(np.arange(48) < 24, 100.0, 40.0)
    run = tmp_path / "r"
    run.mkdir()
    write_forecast(run / "conc.nc", start_utc=beijing_midnight_utc(day), hours=48,
                   values={"PM25": pm}, timestamp="instant")
    write_manifest(run, [{"kind": "forecast", "format": "ioapi", "path": "conc.nc"}])
    res = collect_findings(run, ["forecast"], stations=[])
    # Record 0 (00:00 Beijing) closes the hour 23-24 of the previous day; the only complete
    # Beijing day is made of records 1..24: 23 hours of 100 and one of 40.
    assert res.days == [day]
    hz = _by(res.daily_aqi, "330100")[day]
    assert hz.concentrations.PM2_5_24h == pytest.approx((23 * 100 + 40) / 24)
    assert hz.provenance.time_index == (1, 24)
    assert any("2026-11-25 has 1 of 24 hours" in n for n in res.notes)
    assert any("2026-11-27 has 23 of 24 hours" in n for n in res.notes)
    # the manifest can say otherwise
    doc = json.loads((run / "run.json").read_text())
    doc["outputs"][0]["timestamp"] = "begin"
    (run / "run.json").write_text(json.dumps(doc))
    res = collect_findings(run, ["forecast"], stations=[])
    assert len(res.days) == 2


def test_partial_first_day_of_a_noon_run_is_skipped_and_said(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    start = dt.datetime(2026, 11, 25, 4)  # 12:00 Beijing time
    write_forecast(run / "aconc.nc", start_utc=start, hours=36, values={"PM25": 50.0})
    write_manifest(run, [{"kind": "forecast", "format": "ioapi", "path": "aconc.nc"}])
    res = collect_findings(run, ["forecast"], stations=[])
    assert res.days == [dt.date(2026, 11, 26)]
    assert any("2026-11-25 has 12 of 24 hours" in n for n in res.notes)
    assert {f.date for f in res.daily_aqi} == {dt.date(2026, 11, 26)}


def test_mda8_uses_windows_inside_the_beijing_day_and_max_1h(tmp_path):
    day = dt.date(2026, 7, 1)
    hours = np.arange(48)
    local = hours % 24
    # high O3 from 20:00 on day 1 to 04:00 on day 2: the cross-midnight 8-h window would be all
    # high, but windows inside each day hold only 4 high hours.
    o3 = np.where(((hours < 24) & (local >= 20)) | ((hours >= 24) & (local < 4)), 0.1, 0.02)
    run = forecast_run(tmp_path / "r", day=day, days=2, values={"O3": o3})
    res = collect_findings(run, ["forecast"], stations=[])
    for d in (day, day + dt.timedelta(days=1)):
        c = _by(res.daily_aqi, "330100")[d].concentrations
        assert c.O3_8h == pytest.approx((4 * 0.1 + 4 * 0.02) / 8 * O3_UG_PER_PPM, rel=2e-4)
        assert c.O3_1h == pytest.approx(0.1 * O3_UG_PER_PPM, rel=2e-4)


def test_forecast_straddling_2026_03_01_uses_each_days_standard(tmp_path):
    day = dt.date(2026, 2, 27)
    run = forecast_run(tmp_path / "r", day=day, days=4, values={"PM25": 75.0, "PM10": 150.0})
    res = collect_findings(run, ["forecast"], stations=[])
    hz = _by(res.daily_aqi, "330100")
    got = [(d.isoformat(), hz[d].standard, hz[d].aqi, hz[d].primary_pollutants)
           for d in sorted(hz)]
    assert got == [
        ("2026-02-27", "HJ633-2012", 100, ["PM10", "PM2_5"]),
        ("2026-02-28", "HJ633-2012", 100, ["PM10", "PM2_5"]),
        ("2026-03-01", "HJ633-2026", 114, ["PM2_5"]),  # 100 + 50/55·15 = 113.6 -> 114
        ("2026-03-02", "HJ633-2026", 114, ["PM2_5"]),
    ]
    assert hz[dt.date(2026, 3, 1)].iaqi["PM10_24h"] == 112
    assert res.standards == {"2026-02-27": "HJ633-2012", "2026-02-28": "HJ633-2012",
                             "2026-03-01": "HJ633-2026", "2026-03-02": "HJ633-2026"}


def test_gases_are_converted_from_ppmv_at_the_reference_state(tmp_path):
    day = dt.date(2026, 11, 26)
    values = {"NO2": ppm_from_ugm3(80.0, 46.0055), "SO2": ppm_from_ugm3(150.0, 64.066),
              "CO": 4.0 / 1.1456, "O3": ppm_from_ugm3(100.0, 48.0), "PM25": 10.0}
    run = forecast_run(tmp_path / "r", day=day, days=1, values=values)
    f = _by(collect_findings(run, ["forecast"], stations=[]).daily_aqi, "330100")[day]
    assert f.concentrations.NO2_24h == pytest.approx(80.0, rel=1e-5)
    assert f.concentrations.SO2_24h == pytest.approx(150.0, rel=1e-5)
    assert f.concentrations.CO_24h == pytest.approx(4.0, rel=1e-3)
    assert f.iaqi["NO2_24h"] == 100 and f.iaqi["SO2_24h"] == 100 and f.iaqi["CO_24h"] == 100
    assert f.aqi == 100 and set(f.primary_pollutants) == {"NO2", "SO2", "CO"}


def test_episode_detection_follows_beijing_days_not_utc_days(tmp_path):
    day = dt.date(2026, 11, 26)
    hours = np.arange(72)
    # PM2.5 300 from 20:00 Beijing on day 1 to 04:00 on day 3, 20 otherwise. Beijing-day means:
    # day 1 (20·20 + 4·300)/24 = 66.7, day 2 300, day 3 66.7 -> a one-day episode. UTC days
    # would give a two-day episode (each UTC day holds 12 hours of 300).
    pm = np.where((hours >= 20) & (hours < 52), 300.0, 20.0)
    run = forecast_run(tmp_path / "r", day=day, days=3, values={"PM25": pm})
    res = collect_findings(run, ["forecast"], stations=[])
    hz = [e for e in res.episodes if e.region_code == "330100"]
    assert [(e.threshold, e.start_date, e.days, e.peak_aqi, e.driver) for e in hz] == [
        (200, day + dt.timedelta(days=1), 1, 350, "PM2_5"),
        (300, day + dt.timedelta(days=1), 1, 350, "PM2_5"),
    ]
    assert hz[0].open_start is False and hz[0].open_end is False
    assert hz[0].provenance.time_index == (24, 47)


def _daily(code, day, aqi, primary, std="HJ633-2026"):
    return RegionDailyAQI(
        run_id="r", region_code=code, region_level="city", date=day, standard=std,
        concentrations=DailyConcentrations(), iaqi={}, aqi=aqi, primary_pollutants=primary,
        level=5, category_zh="重度污染", category_en="Heavily polluted", colour="#99004C",
        provenance=Provenance(run_id="r", file="f.nc", variables=["PM25"], time_index=(0, 23)))


def test_episodes_split_on_gaps_and_report_driver_and_edges():
    d0 = dt.date(2026, 2, 26)
    days = [d0 + dt.timedelta(days=i) for i in range(7)]
    aqi = [250, 310, 205, 150, 220, 230, 500]
    prim = [["PM2_5"], ["PM2_5"], ["O3"], ["PM2_5"], ["O3"], ["O3", "PM2_5"], ["PM2_5"]]
    std = ["HJ633-2012"] * 3 + ["HJ633-2026"] * 4
    rows = [_daily("330100", d, a, p, s) for d, a, p, s in zip(days, aqi, prim, std,
                                                                strict=True)]
    eps = detect_episodes(rows, days)
    summary = [(e.threshold, e.start_date.day, e.days, e.peak_aqi, e.driver, e.open_start,
                e.open_end) for e in eps]
    assert summary == [
        (200, 26, 3, 310, "PM2_5", True, False),
        (200, 2, 3, 500, "PM2_5", False, True),  # O3 2 days, PM2.5 2 days: peak day decides
        (300, 27, 1, 310, "PM2_5", False, False),
        (300, 4, 1, 500, "PM2_5", False, True),
        (500, 4, 1, 500, "PM2_5", False, True),  # "reaches 500" (AQI is capped at 500)
    ]
    assert eps[0].standards == ["HJ633-2012"]
    assert eps[0].days_by_primary == {"PM2_5": 2, "O3": 1}


def test_o3_driven_episode(tmp_path):
    day = dt.date(2026, 7, 1)
    local = np.arange(48) % 24
    o3 = np.where((local >= 10) & (local < 18), ppm_from_ugm3(320.0, 48.0), 0.02)
    run = forecast_run(tmp_path / "r", day=day, days=2, values={"O3": o3, "PM25": 30.0})
    res = collect_findings(run, ["forecast"], stations=[])
    e = next(e for e in res.episodes if e.region_code == "330100")
    # MDA8 320: 200 + 100/535·55 = 210.3 -> 211 (HJ 633-2026 uses the 8-h value only)
    assert (e.days, e.peak_aqi, e.driver, e.primary_pollutants) == (2, 211, "O3", ["O3"])


def test_hourly_series_are_in_aqi_units_from_beijing_midnight(tmp_path):
    day = dt.date(2026, 11, 26)
    run = forecast_run(tmp_path / "r", day=day, days=1,
                       values={"O3": np.linspace(0.01, 0.05, 24), "PM25": 12.0})
    res = collect_findings(run, ["forecast"], stations=[])
    h = next(x for x in res.hourly if x.region_code == "330100" and x.pollutant == "O3")
    assert h.start.isoformat() == "2026-11-26T00:00:00+08:00"
    assert len(h.values) == 24 and h.units == "ug/m3"
    assert h.values[0] == pytest.approx(0.01 * O3_UG_PER_PPM, rel=1e-3)


def test_another_grid_and_projection_centre_work_the_same(tmp_path):
    day = dt.date(2026, 11, 26)
    run = forecast_run(tmp_path / "r", day=day, days=1, values={"PM25": 80.0}, grid=SHIFTED)
    res = collect_findings(run, ["forecast"], stations=[])
    assert res.grid.name == "ZJ9KMB"
    counties = [f for f in res.daily_aqi if f.region_level == "county"]
    assert len(counties) == 90
    assert all(f.concentrations.PM2_5_24h == pytest.approx(80.0) for f in counties)
    assert all(f.aqi == 119 for f in counties)  # 2026: 100 + 50/55·20 = 118.2 -> 119


def test_cf_latlon_forecast(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    lats = np.arange(26.95, 31.4, 0.1)
    lons = np.arange(117.95, 123.3, 0.1)
    start = np.datetime64(beijing_midnight_utc(dt.date(2026, 11, 26)), "ns")
    times = start + np.arange(24) * np.timedelta64(1, "h")
    shape = (24, len(lats), len(lons))
    write_cf_latlon(run / "wrfchem.nc", lats=lats, lons=lons, times=times, variables={
        "PM2_5_DRY": (np.full(shape, 55.0), "ug m^-3"),
        "o3": (np.full(shape, 0.03), "ppmv")})
    write_manifest(run, [{"kind": "forecast", "format": "cf", "path": "wrfchem.nc",
                          "timestamp": "begin"}])
    res = collect_findings(run, ["forecast"], stations=[])
    f = _by(res.daily_aqi, "330100")[dt.date(2026, 11, 26)]
    assert f.concentrations.PM2_5_24h == pytest.approx(55.0)
    assert f.concentrations.O3_8h == pytest.approx(0.03 * O3_UG_PER_PPM, rel=2e-4)
    assert res.grid.gdtyp == 1


def test_coarse_grid_regions_report_their_method(tmp_path):
    day = dt.date(2026, 11, 26)
    run = forecast_run(tmp_path / "r", day=day, days=1, values={"PM25": 30.0}, grid=COARSE)
    res = collect_findings(run, ["forecast"], stations=[])
    counties = [f for f in res.daily_aqi if f.region_level == "county"]
    assert {f.provenance.region_method for f in counties} == {"area-weighted"}
    # on a 30 km grid every county still has a value, the small ones from the one or two
    # cells they lie in, and every value is the constant field's
    assert len({f.region_code for f in counties}) == 90
    assert min(f.provenance.region_cell_count for f in counties) in (1, 2)
    assert {f.concentrations.PM2_5_24h for f in counties} == {30.0}


def test_every_daily_and_hourly_finding_passes_its_schema(tmp_path):
    """The adapters build daily and hourly findings without re-validating each (forecast.py,
    ``_construct``): every one they build here must validate against its model as it stands,
    nested parts included, and come back equal."""
    day = dt.date(2026, 11, 26)
    run = forecast_run(tmp_path / "r", day=day, days=2, grid=SHIFTED,
                       values={"PM25": lambda t, g: 60.0 + 80.0 * (t[:, None, None] % 24 > 12),
                               "PM10": 90.0, "O3": 0.07, "NO2": 0.03, "SO2": 0.004, "CO": 0.9})
    res = collect_findings(run, ["forecast"], stations=[Station("S1", 120.16, 30.27, "hz")])
    assert len(res.daily_aqi) > 100 and len(res.hourly) > 100
    for f in [*res.daily_aqi, *res.hourly]:
        again = type(f).model_validate(f.model_dump())
        assert again == f
    assert any(f.primary_pollutants for f in res.daily_aqi)
