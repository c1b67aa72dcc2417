"""Findings built without per-object validation (model_adapters/trusted.py) are the findings
pydantic would build: values worked out by hand from the file, the schema of every finding,
and the fields recorded as set."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from adapters_fixtures import (
    COARSE,
    beijing_midnight_utc,
    write_emissions,
    write_forecast,
    write_manifest,
)

from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.files.ioapi_writer import write_ioapi
from ecobrain.model_adapters.findings import (
    AttributionShare,
    O3Regime,
    Provenance,
    RegionDailyAQI,
    RegionEmission,
)
from ecobrain.model_adapters.trusted import trusted

DAY = dt.date(2026, 11, 26)  # HJ 633—2026 in force (from 2026-03-01)
HOURS = 48
# PM2.5 the same in every cell, 40 + 5·h µg/m³ at Beijing hour h (both days)
PM_HOURLY = 40.0 + 5.0 * (np.arange(HOURS) % 24)
TAGS = {"HZIND": {"region": "330100", "sector": "industry"},
        "OUTZJ": {"region": "outside", "sector": "regional"}}
PM_SHARES = {"HZIND": 0.4, "OUTZJ": 0.25, "BCO": 0.15, "OTH": 0.15, "ICO": 0.05}


def _run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    start = beijing_midnight_utc(DAY)
    write_forecast(run / "aconc.nc", start_utc=start, hours=HOURS, values={"PM25": PM_HOURLY})
    shape = (HOURS, COARSE.nrows, COARSE.ncols)
    arrays = {f"PM25_{t}": np.broadcast_to((PM_HOURLY * s)[:, None, None], shape).astype("f4")
              for t, s in PM_SHARES.items()}
    write_ioapi(run / "sa.nc", COARSE, arrays, dict.fromkeys(arrays, "micrograms/m**3"),
                start, 3600, filedesc=["SA_ACONC_1 stores contributing srcs",
                                       "Timestamp represents beginning computed date/time"])
    return write_manifest(run, [
        {"kind": "forecast", "format": "ioapi", "path": "aconc.nc"},
        {"kind": "attribution", "format": "ioapi", "path": "sa.nc", "tags": TAGS}])


def test_a_countys_daily_aqi_and_shares_worked_out_by_hand(tmp_path):
    res = collect_findings(_run(tmp_path), ["forecast", "attribution"], stations=[])
    # Xihu district of Hangzhou: any county gives the same, the field being uniform.
    day = {f.date: f for f in res.daily_aqi
           if f.region_code == "330106" and f.region_level == "county"}[DAY]
    # 24-h mean of 40, 45, ..., 155 = 40 + 5 × 11.5 = 97.5 µg/m³; HJ 633—2026 PM2.5 table:
    # 60 → 100, 115 → 150, so IAQI = 100 + 50/55 × 37.5 = 134.09, rounded up: 135.
    assert day.concentrations.PM2_5_24h == 97.5
    assert day.concentrations.O3_8h is None and day.concentrations.PM10_24h is None
    assert day.standard == "HJ633-2026"
    assert day.iaqi == {"PM2_5_24h": 135} and day.aqi == 135
    assert day.primary_pollutants == ["PM2_5"] and day.exceeding_pollutants == ["PM2_5"]
    assert (day.level, day.category_zh, day.category_en) == (3, "轻度污染", "Lightly polluted")
    assert day.city_code == "330100" and day.run_id == "test-run"
    assert day.provenance.time_index == (0, 23) and day.provenance.variables == ["PM25"]
    assert day.provenance.region_method == "area-weighted"
    hourly = next(h for h in res.hourly if h.region_code == "330106" and h.pollutant == "PM2_5")
    assert hourly.values == [40.0 + 5.0 * (h % 24) for h in range(HOURS)]
    assert hourly.start == dt.datetime(2026, 11, 26, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    # Shares: each tag is its fixed fraction of the bulk every hour, so of the daily mean too.
    shares = {s.tag: s for s in res.attribution
              if s.receptor_code == "330106" and s.date == DAY}
    assert set(shares) == set(PM_SHARES)
    for tag, share in PM_SHARES.items():
        s = shares[tag]
        assert s.share == pytest.approx(share, abs=1e-6)
        assert s.concentration == pytest.approx(97.5 * share, abs=1e-3)
        assert s.bulk_concentration == 97.5 and s.metric == "24h"
        assert s.provenance.variables == [f"PM25_{tag}", "PM25"]
    assert shares["HZIND"].source_region == "330100"
    assert shares["HZIND"].source_sector == "industry" and not shares["HZIND"].is_builtin
    assert shares["BCO"].source_region == "boundary" and shares["BCO"].is_builtin
    # Order: by day, receptor, tag — as the file's tags come.
    first = [(s.date, s.receptor_code) for s in res.attribution[:5]]
    assert len(set(first)) == 1


def test_every_share_validates_and_records_the_fields_given(tmp_path):
    res = collect_findings(_run(tmp_path), ["attribution"], stations=[])
    assert len(res.attribution) == 101 * 2 * len(PM_SHARES)
    for s in res.attribution:
        again = AttributionShare.model_validate(s.model_dump())
        assert again == s
        assert type(s.concentration) is float and type(s.provenance.region_cell_count) is int
        assert type(s.date) is dt.date and type(s.provenance.time_index) is tuple
    given = {"run_id", "file", "variables", "time_index", "region_cell_count", "region_method"}
    assert res.attribution[0].provenance.model_fields_set == given


def test_trusted_is_model_construct_for_defaults_and_set_fields():
    values = {"run_id": "r", "file": "f.nc", "variables": ["PM25"]}
    a = trusted(Provenance, values)
    b = Provenance.model_construct(**values)
    assert a == b and a.__dict__ == b.__dict__
    assert list(a.__dict__) == list(Provenance.model_fields)
    assert a.model_fields_set == b.model_fields_set == set(values)
    assert a.model_dump_json() == b.model_dump_json()
    # a default_factory gives each finding its own list
    f1 = trusted(RegionDailyAQI, {"run_id": "r"})
    f2 = trusted(RegionDailyAQI, {"run_id": "r"})
    assert f1.exceeding_pollutants == [] and f1.exceeding_pollutants is not \
        f2.exceeding_pollutants
    with pytest.raises(Exception, match="frozen"):
        a.file = "other.nc"  # type: ignore[misc]


def test_regimes_region_totals_and_daily_aqi_validate_with_exact_types(tmp_path):
    """O3 regimes and inversion region totals are built without validation too: each one
    validates to an equal object, with Python floats, ints and tuples where pydantic would
    put them; each daily finding owns its pollutant lists (they are worked out once per
    distinct IAQI row and copied)."""
    run = tmp_path / "run"
    start = beijing_midnight_utc(DAY)
    # HCHO 6 ppb and NO2 2 ppb every hour: a ratio of 3 in every county on both days
    write_forecast(run / "aconc.nc", start_utc=start, hours=HOURS,
                   values={"PM25": PM_HOURLY, "NO2": 0.002, "FORM": 0.006, "O3": 0.05})
    shape = (COARSE.nrows, COARSE.ncols)
    rates = {"NOX": np.full(shape, 1.0), "SO2": np.full(shape, 0.5)}
    units = {"NOX": "moles/s", "SO2": "moles/s"}
    write_emissions(run / "prior.nc", COARSE, start, 24, rates, units)
    write_emissions(run / "post.nc", COARSE, start, 24, {k: v * 2 for k, v in rates.items()},
                    units)
    write_manifest(run, [{"kind": "forecast", "format": "ioapi", "path": "aconc.nc"},
                         {"kind": "inversion", "format": "ioapi", "prior": "prior.nc",
                          "posterior": "post.nc"}])
    res = collect_findings(run, ["forecast", "regime", "inversion"], stations=[])
    assert len(res.regimes) == 90 * 2 and len(res.region_emissions) == 2 * 102
    for r in res.regimes:
        assert O3Regime.model_validate(r.model_dump()) == r
        assert type(r.hcho_ppb) is float and type(r.ratio) is float
        assert type(r.hours) is tuple and all(type(h) is int for h in r.hours)
        assert all(type(v) is float for v in r.thresholds.values())
        # 6 ppb / 2 ppb, the same everywhere and every day
        assert r.hcho_ppb == pytest.approx(6.0, abs=1e-3) and r.ratio == pytest.approx(3.0)
    for e in res.region_emissions:
        assert RegionEmission.model_validate(e.model_dump()) == e
        assert type(e.prior) is float  # both rounded to 4 places:
        assert e.posterior == pytest.approx(2 * e.prior, abs=2e-4)
    given = {"run_id", "file", "variables", "time_index", "region_cell_count", "region_method"}
    assert res.regimes[0].provenance.model_fields_set == given
    assert res.region_emissions[0].provenance.model_fields_set == given
    days = [d for d in res.daily_aqi if d.primary_pollutants]
    assert len(days) > 2
    assert len({id(d.primary_pollutants) for d in days}) == len(days)
    assert len({id(d.exceeding_pollutants) for d in days}) == len(days)
    for d in res.daily_aqi:
        assert RegionDailyAQI.model_validate(d.model_dump()) == d
