"""What the engine is not asked to compute (runs, counts, shares), and the engine's isolation
between runs."""

from __future__ import annotations

import datetime as dt

import pytest
from reasoning_fixtures import attribution, daily, enterprise, hotspot, regime

from ecobrain.reasoning.authoring.rulebase import load_rule_base
from ecobrain.reasoning.engine import derived
from ecobrain.reasoning.engine.runner import _WORKERS, Engine
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex

D = dt.date(2025, 1, 1)


@pytest.fixture(scope="module")
def concepts() -> ConceptIndex:
    return ConceptIndex.from_ontology()


def days(values: list[int]) -> list[tuple[dt.date, int]]:
    return [(D + dt.timedelta(days=i), v) for i, v in enumerate(values)]


def test_runs_over_a_threshold_are_consecutive_days() -> None:
    runs = derived.runs_over(days([160, 210, 220, 140, 230, 201, 205]), 200)
    assert [(a.day, b.day) for a, b in runs] == [(2, 3), (5, 7)]
    gap = [(D, 250), (D + dt.timedelta(days=2), 260)]  # a missing day breaks a run
    assert len(derived.runs_over(gap, 200)) == 2
    assert derived.runs_over(days([100, 120]), 150) == []


def test_alert_assessment_counts_runs_peak_driver_and_window() -> None:
    values = [120, 160, 240, 320, 210, 140, 90]
    prim = ["PM2_5", "PM2_5", "PM2_5", "O3", "PM2_5", "PM2_5", "PM2_5"]
    items = [daily("330100", "city", D + dt.timedelta(days=i), v, [p])
             for i, (v, p) in enumerate(zip(values, prim, strict=True))]
    [a] = derived.alert_assessments(reversed(items))
    f = a.fields
    assert (f["days_over_150"], f["days_over_200"], f["days_over_300"]) == (4, 3, 1)
    assert (f["longest_run_over_150"], f["longest_run_over_200"],
            f["longest_run_over_300"]) == (4, 3, 1)
    assert (f["peak_aqi"], f["peak_date"]) == (320, "2025-01-04")
    assert (f["driver"], f["driver_days"]) == ("PM2_5", 3)
    assert (f["alert_start"], f["alert_end"]) == ("2025-01-02", "2025-01-05")
    assert f["primary_pollutants"] == ["O3", "PM2_5"]
    assert len(a.evidence) == 7 and all(e.startswith("daily_aqi.") for e in a.evidence)


def test_driver_ties_go_to_the_peak_day_then_mixed() -> None:
    items = [daily("330102", "county", D, 210, ["PM2_5"]),
             daily("330102", "county", D + dt.timedelta(days=1), 250, ["O3"])]
    assert derived.alert_assessments(items)[0].fields["driver"] == "O3"
    items = [daily("330102", "county", D, 250, ["PM2_5", "O3"])]
    assert derived.alert_assessments(items)[0].fields["driver"] == "mixed"


def test_hotspot_candidates_by_distance_and_species_with_subclasses(concepts) -> None:
    """Enterprises at the centres of ZJ3KM cells: the hotspot's own cell (0 km), a diagonal
    neighbour (√2·3 km ≈ 4.24 km in the projection, 4.3 km on the ground this far south:
    inside the 5 km radius) and a cell two rows up (6 km, out)."""
    h = hotspot("NOx", 10, 10, "330102")
    ents = [enterprise("A", "330102", "ZJ3KM:r10c10", "Power", ["NO2"]),
            enterprise("B", "330102", "ZJ3KM:r10c10", "Printing", ["VOCs"]),
            enterprise("C", "330102", "ZJ3KM:r11c9", "Cement", ["NOx", "PM10"], "leading"),
            enterprise("far", "330102", "ZJ3KM:r12c10", "Power", ["NOx"])]
    [hs], he = derived.hotspot_context([h], ents, concepts)
    assert (hs["enterprise_count"], hs["neighbour_enterprise_count"],
            hs["emitting_enterprise_count"], hs["emitting_in_cell_count"]) == (2, 1, 2, 1)
    emits = {f["enterprise_id"]: (f["ring"], f["emits_species"]) for f in he}
    assert emits == {"A": (0, True), "B": (0, False), "C": (1, True)}  # NO2 is a NOx
    dist = {f["enterprise_id"]: f["distance_km"] for f in he}
    assert dist["A"] == dist["B"] == 0.0 and dist["C"] == pytest.approx(4.24, abs=0.08)
    # ranked: registered emitters first (nearest first), then the rest
    assert [f["enterprise_id"] for f in sorted(he, key=lambda f: f["candidate_rank"])] == \
        ["A", "C", "B"]
    assert next(f for f in he if f["enterprise_id"] == "C")["location_zh"] == \
        "热点网格外，距网格中心4.3公里"
    grades = {f["enterprise_id"]: f["grade"] for f in he}
    assert grades["C"] == "GradeLeading" and grades["A"] is None
    assert "NOx" in next(f for f in he if f["enterprise_id"] == "A")["sector_pollutants"]


def test_attribution_shares_by_origin_and_local_sector(concepts) -> None:
    shares = []
    for i, bulk in enumerate((50.0, 100.0)):
        day = D + dt.timedelta(days=i)
        shares += attribution("330106", "county", day, "PM2_5", bulk, [
            ("XHIND", "330106", "钢铁", 0.2 * bulk),        # local: same city (Hangzhou)
            ("SCMOB", "330102", "MobileSource", 0.1 * bulk),  # another county, same city
            ("NBALL", "330200", None, 0.3 * bulk),           # another city of the province
            ("OUT", "outside", None, 0.2 * bulk),
            ("BCO", "boundary", None, 0.1 * bulk),
            ("XHX", "330106", "spaceships", 0.05 * bulk),    # a label the ontology lacks
            ("OTH", "other", None, 0.05 * bulk)])
    res = derived.attribution_summaries(shares, concepts)
    [s] = res.summaries
    assert s["local_share"] == pytest.approx(0.35)
    assert (s["outside_city_share"], s["outside_province_share"], s["boundary_share"]) == \
        pytest.approx((0.3, 0.2, 0.1))
    assert s["outside_share"] == pytest.approx(0.6)
    assert (s["dominant_sector"], s["dominant_sector_share"]) == ("IronSteel", pytest.approx(0.2))
    assert [(x["sector"], x["rank"]) for x in res.sectors] == [("IronSteel", 1),
                                                             ("MobileSource", 2)]
    assert res.unmapped == ["spaceships"]


def test_o3_regime_of_the_exceedance_days(concepts) -> None:
    regimes = [regime("330106", D + dt.timedelta(days=i), r, x)
               for i, (r, x) in enumerate([("NOxLimited", 5.0), ("VOCLimited", 1.8),
                                           ("VOCLimited", 2.0)])]
    aqi = [daily("330106", "county", D + dt.timedelta(days=i), v, ["O3"], o3_iaqi=v)
           for i, v in enumerate([90, 130, 150])]
    [f], ev = derived.o3_regime_summaries(regimes, aqi, concepts)
    assert (f["regime"], f["regime_days"], f["o3_exceedance_days"], f["max_o3_iaqi"]) == \
        ("VOCLimited", 2, 2, 150)
    assert f["prioritises"] == ["VOCs"]
    assert len(ev[f["id"]]) == 3


def test_runs_are_isolated_and_engine_workers_are_reused(concepts) -> None:
    base, _ = load_rule_base()
    compiled = compile_rule_base(base, dt.date(2025, 1, 10), concepts)
    measure = {"type": "measure", "id": "m1", "region_code": "330102", "sid": "330100",
               "measure_type": "EmergencyEmissionReduction", "level": "AlertRed",
               "start": "2025-01-11", "end": "2025-01-12"}
    eir = {"type": "enterprise_in_region", "id": "e1", "region_code": "330102",
           "sid": "330100", "enterprise_id": "E1", "enterprise_name": "x",
           "county_code": "330102", "grade": "GradeD"}
    first = Engine(compiled).run([measure], decision_date=dt.date(2025, 1, 10))
    assert first.firings == []  # a measure alone concludes nothing
    started = _WORKERS.started
    second = Engine(compiled).run([eir], decision_date=dt.date(2025, 1, 10))
    assert second.firings == []  # the first run's measure is gone
    assert _WORKERS.started == started  # the same engine process, with fresh rulesets
    both = Engine(compiled).run([measure, eir], decision_date=dt.date(2025, 1, 10))
    assert [f.rule_key for f in both.firings] == ["task.emergency.grade-d@1"]
