"""An alert reaches only the regions its forecast implicates (issue 11).

The reported case: a province-wide yellow alert, issued from the province's mean AQI, sent
production stops to 临海市 at a peak AQI of 43. Here the province's mean is heavy for two days
(a yellow alert under the 2024 grading: daily AQI > 150 for 48 h), Hangzhou's 上城区 is heavy
on one of those days, 宁波's 海曙区 stays clean; neither city reaches an alert of its own. Worked
out by hand: the province alert's scope is 上城区 only, so its two enterprises get emergency
tasks and 海曙区's enterprise gets none; a city alert still reaches every county of its city.
"""

from __future__ import annotations

import datetime as dt

import pytest
from reasoning_fixtures import (
    enterprise,
    forecast_findings,
    load_knowledge,
    write_enterprises,
    write_regions,
)

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.conclusions import Decision
from ecobrain.reasoning.decisions.pipeline import decide

D0 = dt.date(2026, 12, 1)
ZJ, HZ, SC, XH, NB, HS = "330000", "330100", "330102", "330106", "330200", "330203"


@pytest.fixture
def kb(store: GraphStore) -> GraphStore:
    load_knowledge(store)
    write_regions(store, [(ZJ, "浙江省", "province", None), (HZ, "杭州市", "city", ZJ),
                          (SC, "上城区", "county", HZ), (XH, "西湖区", "county", HZ),
                          (NB, "宁波市", "city", ZJ), (HS, "海曙区", "county", NB)])
    write_enterprises(store, [
        enterprise("E-SC-D", SC, "ZJ3KM:r80c96", "Coating", ["VOCs"], "D", name="上城涂装"),
        enterprise("E-SC-B", SC, "ZJ3KM:r80c95", "IndustrialBoiler", ["NOx"], "B",
                   name="上城热电"),
        enterprise("E-XH-C", XH, "ZJ3KM:r85c90", "Chemicals", ["VOCs"], "C", name="西湖化工"),
        enterprise("E-HS-D", HS, "ZJ3KM:r40c140", "Printing", ["VOCs"], "D", name="海曙印刷"),
    ])
    return store


def _emergency_subjects(d: Decision) -> set[str]:
    return {t.subject.id for t in d.tasks if t.subject.kind == "enterprise"}


def test_a_province_alert_reaches_only_implicated_counties(kb: GraphStore) -> None:
    findings = forecast_findings({
        (ZJ, "province"): [160, 170, 90],     # > 150 for 48 h: yellow for the province
        (HZ, "city"): [140, 145, 80],         # no alert of its own
        (SC, "county"): [120, 155, 70],       # heavy on day 2 only: implicated
        (XH, "county"): [100, 110, 60],       # clean
        (NB, "city"): [40, 43, 38],           # clean
        (HS, "county"): [41, 43, 39],         # the 临海市 case: clean
    }, D0)
    d = decide(findings, kb, on=D0)
    assert {a.region_code: a.level for a in d.alerts} == {ZJ: "AlertYellow"}
    assert _emergency_subjects(d) == {"E-SC-D", "E-SC-B"}
    assert all(t.region_code == SC for t in d.tasks if t.subject.kind == "enterprise")


def test_a_day_outside_the_alert_does_not_implicate(kb: GraphStore) -> None:
    findings = forecast_findings({
        (ZJ, "province"): [160, 170, 90, 80],
        (SC, "county"): [120, 130, 70, 160],  # heavy only after the province's alert ends
        (HS, "county"): [41, 43, 39, 40],
    }, D0)
    d = decide(findings, kb, on=D0)
    assert {a.region_code for a in d.alerts} == {ZJ}
    assert _emergency_subjects(d) == set()


def test_a_city_alert_still_covers_all_its_counties(kb: GraphStore) -> None:
    findings = forecast_findings({
        (HZ, "city"): [210, 180, 90],         # > 200 on a day: yellow for Hangzhou
        (SC, "county"): [190, 140, 80],       # one heavy day: no alert of its own
        (XH, "county"): [90, 95, 60],         # clean, but inside the city's alert
        (HS, "county"): [41, 43, 39],
    }, D0)
    d = decide(findings, kb, on=D0)
    assert {a.region_code: a.level for a in d.alerts} == {HZ: "AlertYellow"}
    assert _emergency_subjects(d) == {"E-SC-D", "E-SC-B", "E-XH-C"}
