"""Baseline vs scenario findings: AQI change, days over each level avoided, saved in the graph."""

from __future__ import annotations

import datetime as dt

import pytest

from ecobrain.hpc_jobs.compare import (
    compare_runs,
    expected_effect_rows,
    expected_effects,
    load_comparison,
    save_comparison,
)
from ecobrain.model_adapters.findings import (
    DailyConcentrations,
    Provenance,
    RegionDailyAQI,
    RunFindings,
)
from ecobrain.ontology.graph.store import GraphStore

D1, D2, D3 = dt.date(2026, 11, 26), dt.date(2026, 11, 27), dt.date(2026, 11, 28)
LEVEL = [(50, 1), (100, 2), (150, 3), (200, 4), (300, 5), (10_000, 6)]


def _day(run: str, code: str, level: str, date: dt.date, aqi: int) -> RegionDailyAQI:
    lv = next(n for top, n in LEVEL if aqi <= top)
    return RegionDailyAQI(
        run_id=run, region_code=code, region_level=level, region_name=f"region {code}",
        city_code=code[:4] + "00" if level == "county" else None, date=date,
        standard="HJ633-2026", concentrations=DailyConcentrations(PM2_5_24h=aqi * 0.7),
        iaqi={"PM2_5_24h": aqi}, aqi=aqi, primary_pollutants=["PM2_5"] if aqi > 50 else [],
        level=lv, category_zh="-", category_en="-", colour="#000000",
        provenance=Provenance(run_id=run, file="f.nc", variables=["PM25"]))


def _run(run: str, table: dict[tuple[str, str], list[int]], days=(D1, D2, D3)) -> RunFindings:
    daily = [_day(run, code, level, d, aqi) for (code, level), aqis in table.items()
             for d, aqi in zip(days, aqis, strict=True)]
    return RunFindings(run_id=run, run_dir="/r", kinds=["forecast"], days=list(days),
                       daily_aqi=daily)


BASE = {("330100", "city"): [160, 210, 320], ("330102", "county"): [140, 205, 310],
        ("330200", "city"): [60, 70, 80], ("330000", "province"): [120, 150, 190]}
SCEN = {("330100", "city"): [140, 195, 290], ("330102", "county"): [98, 190, 301],
        ("330200", "city"): [60, 70, 80], ("330000", "province"): [112, 141, 180]}


def test_per_region_changes_and_days_avoided() -> None:
    cmp = compare_runs(_run("base", BASE), _run("scn", SCEN), decision_id="dec-1",
                       measure="industrial VOCs -50 %")
    assert cmp.id == "cmp-scn" and cmp.days == [D1, D2, D3]
    assert [r.region_code for r in cmp.regions] == ["330000", "330100", "330200", "330102"]
    hz = cmp.region("330100")
    assert [d.change for d in hz.days] == [-20, -15, -30]
    assert hz.days_over["150"] == {"baseline": 3, "scenario": 2, "avoided": 1}
    assert hz.days_over["200"] == {"baseline": 2, "scenario": 1, "avoided": 1}
    assert hz.days_over["300"] == {"baseline": 1, "scenario": 0, "avoided": 1}
    assert (hz.peak_baseline, hz.peak_scenario, hz.peak_change) == (320, 290, -30)
    assert hz.mean_change == pytest.approx(-21.67)
    county = cmp.region("330102")
    assert county.days_over["100"] == {"baseline": 3, "scenario": 2, "avoided": 1}
    assert county.days[0].baseline_level == 3 and county.days[0].scenario_level == 2
    nb = cmp.region("330200")
    assert all(d.change == 0 for d in nb.days)
    s = cmp.summary
    assert s.regions == 4 and s.regions_improved == 3
    assert s.days_avoided == {"100": 1, "150": 0, "200": 1, "300": 0}  # counties only
    assert s.city_days_avoided == {"100": 0, "150": 1, "200": 1, "300": 1}
    assert s.largest_fall == {"region_code": "330102", "region_name": "region 330102",
                              "date": "2026-11-26", "baseline_aqi": 140, "scenario_aqi": 98,
                              "change": -42}


def test_only_shared_days_and_regions_are_compared() -> None:
    scen = _run("scn", {k: v[:2] for k, v in SCEN.items() if k[0] != "330200"}, days=(D1, D2))
    cmp = compare_runs(_run("base", BASE), scen)
    assert cmp.days == [D1, D2]
    assert cmp.region("330200") is None
    assert any("2026-11-28" in n for n in cmp.notes)
    assert any("330200" in n for n in cmp.notes)


def test_runs_that_cannot_be_compared() -> None:
    empty = RunFindings(run_id="e", run_dir="/r", kinds=[])
    with pytest.raises(ValueError, match="no daily AQI"):
        compare_runs(empty, _run("scn", SCEN))
    with pytest.raises(ValueError, match="share no forecast day"):
        compare_runs(_run("base", BASE), _run("scn", {k: [1, 1, 1] for k in SCEN},
                                              days=(dt.date(2027, 1, 1), dt.date(2027, 1, 2),
                                                    dt.date(2027, 1, 3))))


def test_saved_with_the_decision_as_its_expected_effect(store: GraphStore) -> None:
    store.write("MERGE (d:Decision {id: 'dec-1'}) SET d.date = '2026-11-25'")
    cmp = compare_runs(_run("base", BASE), _run("scn", SCEN), decision_id="dec-1",
                       measure="industrial VOCs -50 %")
    save_comparison(store, cmp)
    save_comparison(store, cmp)  # idempotent
    row = store.read_one(
        "MATCH (d:Decision {id: 'dec-1'})-[:EXPECTED_EFFECT]->(c:ScenarioComparison) "
        "MATCH (s:ModelRun)-[:HAS_COMPARISON]->(c)-[:BASELINE]->(b:ModelRun) "
        "RETURN c.id AS c, s.id AS s, b.id AS b, count(*) AS n")
    assert row == {"c": "cmp-scn", "s": "scn", "b": "base", "n": 1}
    again = load_comparison(store, "cmp-scn")
    assert again == cmp
    assert [c.id for c in expected_effects(store, "dec-1")] == ["cmp-scn"]
    rows = expected_effect_rows(store, "dec-1", "330100")
    assert len(rows) == 1 and rows[0]["measure"] == "industrial VOCs -50 %"
    assert rows[0]["days_over"]["200"]["avoided"] == 1 and rows[0]["peak_change"] == -30
    assert expected_effect_rows(store, "dec-1", "331100") == []
