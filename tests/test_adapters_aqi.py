"""AQI per HJ 633-2012 and HJ 633-2026, checked by hand against the tables in FACTS.md §1.

Each expected IAQI below is worked out in the comment next to it from the breakpoints
(式1: IAQI = (IAQI_Hi − IAQI_Lo)/(BP_Hi − BP_Lo) × (C − BP_Lo) + IAQI_Lo), then rounded up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
import yaml

from ecobrain.model_adapters.aqi import StandardSet, daily_aqi, default_standards_path

S = StandardSet.load()
HJ2012 = S.by_id("HJ633-2012")
HJ2026 = S.by_id("HJ633-2026")


def test_standard_in_force_is_chosen_per_day_from_effective_dates():
    assert S.for_day(dt.date(2016, 1, 1)).id == "HJ633-2012"
    assert S.for_day(dt.date(2026, 2, 28)).id == "HJ633-2012"
    assert S.for_day(dt.date(2026, 3, 1)).id == "HJ633-2026"
    assert S.for_day(dt.date(2030, 6, 1)).id == "HJ633-2026"
    with pytest.raises(ValueError, match="no AQI standard in force on 2015-12-31"):
        S.for_day(dt.date(2015, 12, 31))


@pytest.mark.parametrize(("std", "conc", "expected"), [
    # PM2.5 75 is a 2012 breakpoint (IAQI 100); in 2026: 100 + 50/55·15 = 113.6 -> 114
    (HJ2012, {"PM2_5_24h": 75}, 100),
    (HJ2026, {"PM2_5_24h": 75}, 114),
    (HJ2026, {"PM2_5_24h": 60}, 100),
    # PM10 150: 2012 breakpoint 100; 2026: 100 + 50/130·30 = 111.5 -> 112
    (HJ2012, {"PM10_24h": 150}, 100),
    (HJ2026, {"PM10_24h": 150}, 112),
    # SO2 300: 100 + 50/325·150 = 123.08 -> 124 (ceiling, not 123)
    (HJ2012, {"SO2_24h": 300}, 124),
    # NO2 exactly on a breakpoint stays there (no float push over the ceiling): 80 -> 100
    (HJ2012, {"NO2_24h": 80}, 100),
    # CO (mg/m³) 3: 50 + 50/2·1 = 75
    (HJ2012, {"CO_24h": 3.0}, 75),
    # PM2.5 36: 50 + 50/40·1 = 51.25 -> 52 under 2012 ceiling
    (HJ2012, {"PM2_5_24h": 36}, 52),
    # PM2.5 160: 200 + 100/100·10 = 210 (both standards)
    (HJ2012, {"PM2_5_24h": 160}, 210),
    (HJ2026, {"PM2_5_24h": 160}, 210),
    # above the top breakpoint: capped at 500
    (HJ2012, {"PM2_5_24h": 620}, 500),
    (HJ2026, {"NO2_24h": 1000}, 500),
    # zero
    (HJ2026, {"PM2_5_24h": 0}, 0),
])
def test_iaqi_interpolation_and_rounding(std, conc, expected):
    assert daily_aqi(std, conc).aqi == expected


def test_rounding_is_a_field_of_the_table_not_code():
    half_up = replace(HJ2012, rounding="half_up")
    assert daily_aqi(half_up, {"PM2_5_24h": 36}).aqi == 51  # 51.25 -> 51
    assert daily_aqi(HJ2012, {"PM2_5_24h": 36}).aqi == 52
    doc = yaml.safe_load(default_standards_path().read_text(encoding="utf-8"))
    by_id = {s["id"]: s for s in doc["standards"]}
    assert by_id["HJ633-2012"]["rounding"] == {**by_id["HJ633-2012"]["rounding"],
                                                "method": "ceiling", "status": "UNCONFIRMED"}
    assert by_id["HJ633-2026"]["rounding"]["method"] == "ceiling"


def test_primary_pollutant_only_above_50_and_ties_give_all():
    low = daily_aqi(HJ2012, {"PM2_5_24h": 30, "PM10_24h": 40, "NO2_24h": 30})
    assert low.aqi == 43 and low.primary == []  # PM2.5 30: 50/35·30 = 42.9 -> 43
    tie = daily_aqi(HJ2012, {"PM2_5_24h": 75, "PM10_24h": 150, "NO2_24h": 40})
    assert tie.aqi == 100 and tie.primary == ["PM10", "PM2_5"]
    assert tie.exceeding == []  # IAQI 100 is not > 100
    one = daily_aqi(HJ2026, {"PM2_5_24h": 75, "PM10_24h": 150})
    assert one.aqi == 114 and one.primary == ["PM2_5"] and one.exceeding == ["PM10", "PM2_5"]


def test_o3_rules_2012_uses_1h_and_8h_and_1h_iaqi_above_800():
    # 8h 300: 200 + 100/535·35 = 206.5 -> 207 ; 1h 250: 100 + 50/100·50 = 125
    d = daily_aqi(HJ2012, {"O3_8h": 300, "O3_1h": 250, "PM2_5_24h": 20})
    assert d.iaqi["O3_8h"] == 207 and d.iaqi["O3_1h"] == 125 and d.aqi == 207
    assert d.primary == ["O3"]
    # 1h dominates in 2012 (it is in the daily report): 1h 420 -> 200 + 100/400·20 = 205,
    # 8h 200 -> 100 + 50/55·40 = 136.4 -> 137
    d = daily_aqi(HJ2012, {"O3_8h": 200, "O3_1h": 420})
    assert d.aqi == 205 and d.primary == ["O3"]
    # 8h above 800: its IAQI is not computed, the 1-h IAQI is reported (1000 -> 400)
    d = daily_aqi(HJ2012, {"O3_8h": 900, "O3_1h": 1000})
    assert d.iaqi["O3_8h"] == 400 and d.aqi == 400 and d.category.level == 6


def test_o3_rules_2026_daily_uses_8h_only_and_counts_above_800_as_300():
    d = daily_aqi(HJ2026, {"O3_8h": 100, "O3_1h": 1000})
    assert "O3_1h" not in d.iaqi and d.aqi == 50 and d.primary == []
    d = daily_aqi(HJ2026, {"O3_8h": 900, "O3_1h": 1000})
    assert d.iaqi["O3_8h"] == 300 and d.aqi == 300 and d.category.level == 5


@pytest.mark.parametrize(("aqi", "level", "zh", "colour"), [
    (0, 1, "优", "#00E400"), (50, 1, "优", "#00E400"), (51, 2, "良", "#FFFF00"),
    (100, 2, "良", "#FFFF00"), (101, 3, "轻度污染", "#FF7E00"), (200, 4, "中度污染", "#FF0000"),
    (201, 5, "重度污染", "#99004C"), (300, 5, "重度污染", "#99004C"),
    (301, 6, "严重污染", "#7E0023"), (500, 6, "严重污染", "#7E0023"),
])
def test_levels_categories_and_colours(aqi, level, zh, colour):
    for std in (HJ2012, HJ2026):
        cat = std.category(aqi)
        assert (cat.level, cat.category_zh, cat.colour) == (level, zh, colour)


def test_yaml_is_self_describing_every_value_has_a_known_source():
    doc = yaml.safe_load(default_standards_path().read_text(encoding="utf-8"))
    sources = set(doc["sources"])
    for s in doc["standards"]:
        assert set(s["source"]) <= sources
        assert s["effective_from"] is not None
        for name, col in s["columns"].items():
            assert set(col["source"]) <= sources, name
            assert col["strength"] in {"PRIMARY", "SECONDARY", "CODE", "UNCONFIRMED"}
            assert col["units"] in {"ug/m3", "mg/m3"}
        assert set(s["daily_report"]) <= set(s["columns"])
    by_id = {s["id"]: s for s in doc["standards"]}
    old, new = by_id["HJ633-2012"], by_id["HJ633-2026"]
    # Only the PM columns changed (FACTS.md §0, §1.B).
    changed = {k for k in old["columns"] if old["columns"][k]["breakpoints"]
               != new["columns"][k]["breakpoints"]}
    assert changed == {"PM2_5_24h", "PM10_24h"}
    assert old["effective_to"] == dt.date(2026, 2, 28)
    assert new["effective_from"] == dt.date(2026, 3, 1)
