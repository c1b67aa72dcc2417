"""The decision pipeline on generated findings and a real graph: chaining, dates, legal
grounds, determinism, explanations, subclass matching, persistence."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from reasoning_fixtures import (
    RUN,
    attribution,
    enterprise,
    forecast_findings,
    hotspot,
    load_knowledge,
    regime,
    write_enterprises,
    write_regions,
)

from ecobrain.model_adapters.findings import RunFindings
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.conclusions import Decision
from ecobrain.reasoning.decisions.persist import load_decision_conclusions, save_decision
from ecobrain.reasoning.decisions.pipeline import decide

D0 = dt.date(2026, 1, 10)
HZ, SC, XH, NB = "330100", "330102", "330106", "330200"


@pytest.fixture
def kb(store: GraphStore) -> GraphStore:
    load_knowledge(store)
    write_regions(store, [("330000", "浙江省", "province", None), (HZ, "杭州市", "city", "330000"),
                          (SC, "上城区", "county", HZ), (XH, "西湖区", "county", HZ),
                          (NB, "宁波市", "city", "330000"), ("330203", "海曙区", "county", NB)])
    write_enterprises(store, [
        enterprise("E-B", SC, "ZJ3KM:r80c95", "IndustrialBoiler", ["NOx", "SO2"], "B",
                   online=True, name="上城热电"),
        enterprise("E-D", SC, "ZJ3KM:r80c96", "Coating", ["VOCs", "Toluene"], "D",
                   name="上城涂装"),
        enterprise("E-C", XH, "ZJ3KM:r85c90", "Chemicals", ["VOCs", "Benzene"], "C",
                   name="西湖化工"),
        enterprise("E-N", "330203", "ZJ3KM:r40c140", "Printing", ["VOCs"], "D",
                   name="海曙印刷"),
    ])
    return store


def heavy_pm(start: dt.date = D0) -> RunFindings:
    # Hangzhou: >200 on three consecutive days and >300 on one -> red (2024);
    # Shangcheng: >150 for three days -> orange; Ningbo: clean.
    return forecast_findings({(HZ, "city"): [180, 240, 320, 260, 120],
                              (SC, "county"): [160, 180, 190, 140, 100],
                              (NB, "city"): [60, 70, 80, 90, 75]}, start)


def by_subject(d: Decision) -> dict[str, object]:
    return {t.subject.id: t for t in d.tasks}


def test_chain_forecast_alert_measure_enterprise_task(kb: GraphStore) -> None:
    d = decide(heavy_pm(), kb)
    levels = {a.region_code: a.level for a in d.alerts}
    assert levels == {HZ: "AlertRed", SC: "AlertOrange"}
    ratios = {m.region_code: m.reduction_ratio for m in d.measures
              if m.measure_type == "EmergencyEmissionReduction"}
    assert ratios == {HZ: 0.3, SC: 0.2}
    tasks = by_subject(d)
    assert tasks["E-D"].measure_types == ["StopProduction"]
    assert tasks["E-B"].measure_types == ["LimitProduction"]
    assert tasks["E-C"].measure_types == ["StopPartialLines"]  # city alert reaches Xihu
    assert "E-N" not in tasks  # Ningbo has no alert
    assert tasks["E-D"].region_code == SC and tasks["E-D"].region_name == "上城区"
    # E-D is asked by the county's and the city's alert: one task, both reasons
    assert {r.rule_key for r in tasks["E-D"].reasons} == {"task.emergency.grade-d@1"}
    assert len(tasks["E-D"].reasons) == 2
    ex = d.explain(tasks["E-D"].id)
    firing = ex.firings[0]
    assert firing.rule.id == "task.emergency.grade-d" and firing.rule.version == 1
    measure = next(f for f in firing.facts if f.type == "measure")
    alert_firing = measure.derived_from.facts[0].derived_from  # measure <- alert <- assessment
    assert measure.derived_from.rule.id == "measure.emergency.reduction"
    assert alert_firing.rule.id.startswith("alert.heavy-pollution.")
    assessment = alert_firing.facts[0]
    assert assessment.type == "alert_assessment"
    assert assessment.evidence and assessment.evidence[0].kind == "daily_aqi"
    assert assessment.evidence[0].provenance["run_id"] == RUN
    texts = {g.citation_id: g.text for g in ex.legal_grounds}
    assert texts["cn.air-law.2018.art96"].startswith(
        "县级以上地方人民政府应当依据重污染天气的预警等级")
    assert "停产" in ex.to_text() and "第九十六条" in ex.to_text()


def test_the_regions_emergency_plan_in_force_is_part_of_its_assessment(kb: GraphStore) -> None:
    # Test data only: a plan node of the shape experts load (a Regulation kind, IN_REGION)
    kb.write("MERGE (p:EmergencyPlan:Regulation {id: 'test.plan.hz.2024'}) "
             "SET p.valid_from = '2024-05-01', p.title = '测试预案' WITH p "
             "MATCH (r:AdminRegion {code: $hz}) MERGE (p)-[:IN_REGION]->(r)", {"hz": HZ})
    d = decide(heavy_pm(), kb)
    plans = {f["region_code"]: f.get("emergency_plan_id") for f in d.facts.values()
             if f["type"] == "alert_assessment"}
    assert plans == {HZ: "test.plan.hz.2024", SC: None}
    early = decide(heavy_pm(dt.date(2024, 3, 1)), kb)  # before the plan took effect
    assert all(f.get("emergency_plan_id") is None for f in early.facts.values()
               if f["type"] == "alert_assessment")


def test_the_same_episode_is_graded_by_the_version_in_force(kb: GraphStore) -> None:
    findings = forecast_findings({(HZ, "city"): [210, 230, 160, 100]}, dt.date(2023, 12, 1))
    old = decide(findings, kb, on=dt.date(2023, 12, 1))
    new = decide(findings, kb, on=dt.date(2024, 3, 1))
    assert [(a.level, a.reasons[0].rule_key) for a in old.alerts] == [
        ("AlertYellow", "alert.heavy-pollution.yellow@1")]  # 2017: >200 for 2 days
    assert [(a.level, a.reasons[0].rule_key) for a in new.alerts] == [
        ("AlertOrange", "alert.heavy-pollution.orange@2")]  # 2024: >200 for 48 h
    assert "alert.heavy-pollution.blue@1" in old.rule_versions
    assert not any(k.startswith("alert.heavy-pollution.blue") for k in new.rule_versions)
    assert old.id != new.id
    # O3-driven: an alert under 2017, health advice and VOCs/NOx supervision under 2024
    o3 = forecast_findings({(HZ, "city"): [205, 190, 120]}, dt.date(2023, 7, 1), primary="O3")
    assert [a.level for a in decide(o3, kb, on=dt.date(2023, 7, 1)).alerts] == ["AlertBlue"]
    d24 = decide(o3, kb, on=dt.date(2024, 7, 1))
    assert d24.alerts == []
    assert {a.measure_type for a in d24.advice} == {"HealthAdvice", "VOCsSupervision",
                                                   "NOxSupervision"}


def test_after_the_repeal_the_grounds_in_force_lead_and_the_air_law_is_history(
        kb: GraphStore) -> None:
    """Issue 12: from 2026-08-15 the Air Law is (reportedly) repealed. Conclusions rest on the
    Zhejiang regulation and the MEE guidance, in force; the Air Law article is shown as history
    beside them, and nothing is flagged for legal review (was: everything flagged)."""
    findings = heavy_pm(dt.date(2026, 8, 10))
    before = decide(findings, kb, on=dt.date(2026, 8, 14))
    after = decide(findings, kb, on=dt.date(2026, 8, 15))
    assert not before.legal_review_required
    assert all(g.in_force for c in before.conclusions() for g in c.legal_grounds
               if g.role == "basis")
    task = by_subject(before)["E-D"]
    assert [g.citation_id for g in task.legal_grounds] == [  # national law first
        "cn.air-law.2018.art96", "zj.air-reg.2020.art55.i1", "cn.mee.tech-guide.2020.purpose"]
    assert not after.legal_review_required
    task = by_subject(after)["E-D"]
    assert not task.legal_review_required and task.legal_review_reasons == []
    assert [(g.citation_id, g.shown_as) for g in task.legal_grounds] == [
        ("zj.air-reg.2020.art55.i1", "in_force"), ("cn.mee.tech-guide.2020.purpose", "in_force"),
        ("cn.air-law.2018.art96", "history")]
    g96 = task.legal_grounds[-1]
    assert (g96.in_force, g96.status) == (False, "reported_repealed")
    assert g96.repealed_by == "cn.eco-env-code.2026" and g96.repealed_from == "2026-08-15"
    assert g96.successors == [] and "后继条款尚未录入" in g96.remark_zh
    assert g96.text.startswith("县级以上地方人民政府")  # shown, but as history
    alert = next(a for a in after.alerts if a.region_code == HZ)
    assert [(g.citation_id, g.shown_as) for g in alert.legal_grounds] == [
        ("zj.air-reg.2020.art54.p1", "in_force"), ("cn.mee.2024-6.differentiated", "in_force"),
        ("cn.mee.2024-6.grading", "in_force"), ("cn.air-law.2018.art95.p1", "history")]
    assert not alert.legal_review_required


def test_a_recorded_successor_is_shown_with_the_repealed_ground(kb: GraphStore) -> None:
    # Test data only: a synthetic successor provision, to check the mechanics experts use.
    kb.write("MERGE (g:Regulation {id: 'test.code'}) SET g.title = '测试法典', "
             "g.valid_from = '2026-08-15', g.status = 'in_force' "
             "MERGE (a:Article {id: 'test.code.art1'}) SET a.regulation_id = 'test.code', "
             "a.text = '（测试用后继条款）', a.paragraphs = ['（测试用后继条款）'], "
             "a.valid_from = '2026-08-15', a.citation = '《测试法典》第一条', a.number = 1 "
             "MERGE (a)-[:PART_OF]->(g) WITH a "
             "MATCH (old:Article {id: 'cn.air-law.2018.art96'}) "
             "MERGE (old)-[s:SUCCEEDED_BY]->(a) SET s.from = '2026-08-15'")
    d = decide(heavy_pm(dt.date(2026, 9, 1)), kb, on=dt.date(2026, 9, 1))
    g96 = next(g for g in by_subject(d)["E-D"].legal_grounds
               if g.citation_id == "cn.air-law.2018.art96")
    assert not g96.in_force
    assert [(s.article_id, s.text) for s in g96.successors] == [("test.code.art1",
                                                                 "（测试用后继条款）")]
    assert "《测试法典》第一条" in g96.remark_zh


def test_two_runs_give_the_same_decision_and_ids(kb: GraphStore) -> None:
    findings = heavy_pm()
    findings.hotspots.append(hotspot("NO2", 80, 95, SC))
    a = decide(findings, kb)
    shuffled = findings.model_copy(deep=True)
    random.Random(3).shuffle(shuffled.daily_aqi)
    b = decide(shuffled, kb)
    assert a.id == b.id
    assert [t.id for t in a.tasks] == [t.id for t in b.tasks]
    assert a.to_json() == b.to_json()
    # a stored decision reads back as the same typed decision
    assert Decision.model_validate_json(a.to_json()).to_json() == a.to_json()


def test_rules_on_parent_classes_match_subclasses(kb: GraphStore) -> None:
    findings = RunFindings(run_id=RUN, run_dir="/runs/x", kinds=["inversion"],
                           init_time=dt.datetime(2025, 6, 1, 8),
                           hotspots=[hotspot("NO2", 80, 95, SC),      # NOx subclass
                                     hotspot("Benzene", 85, 91, XH),  # VOCs subclass
                                     hotspot("PM10", 40, 140, "330203")])
    d = decide(findings, kb)
    tasks = by_subject(d)
    # NO2 hotspot in E-B's cell; E-B is registered for NOx (the parent) and has online data
    assert set(tasks["E-B"].measure_types) == {"DenitrationCheck", "OnlineMonitoringCheck"}
    # Benzene hotspot next to a Chemicals plant (VOCs key industry subclass) emitting Benzene
    assert set(tasks["E-C"].measure_types) == {"LDAR", "VOCsSupervision"}
    assert "E-D" not in tasks  # a coating plant 1 cell from the NO2 hotspot emits no NOx
    # PM10 hotspot: the only enterprise around emits VOCs, so the cell is patrolled
    cell = tasks["ZJ3KM:r40c140"]
    assert cell.subject.kind == "grid_cell" and cell.region_code == "330203"
    assert set(cell.measure_types) == {"DustControl", "FieldPatrol"}


def test_facts_no_rule_matches_are_normal(kb: GraphStore) -> None:
    day = dt.date(2025, 5, 1)
    findings = forecast_findings({(HZ, "city"): [40, 60, 80]}, day)
    findings.attribution.extend(attribution(HZ, "city", day, "PM2_5", 30.0, [
        ("HZPOW", HZ, "Power", 2.0), ("OUT", "outside", None, 6.0), ("BCO", "boundary", None,
                                                                      3.0),
        ("OTH", "other", None, 19.0)]))
    findings.regimes.append(regime(SC, day, "VOCLimited", 1.5))
    d = decide(findings, kb)
    assert d.conclusions() == []
    assert d.stats["input_facts"] > 0 and d.stats["firings"] == 0
    assert not d.legal_review_required


def test_attribution_and_regime_advice_through_the_pipeline(kb: GraphStore) -> None:
    day = dt.date(2025, 7, 1)
    findings = forecast_findings({(SC, "county"): [120, 130]}, day, primary="O3")
    for i in range(2):
        findings.regimes.append(regime(SC, day + dt.timedelta(days=i), "NOxLimited", 5.0))
        findings.attribution.extend(attribution(SC, "county", day + dt.timedelta(days=i), "O3",
                                                100.0, [("SCTRK", SC, "柴油货车", 30.0),
                                                        ("NBIND", NB, "IronSteel", 40.0),
                                                        ("OUT", "outside", None, 25.0),
                                                        ("BCO", "boundary", None, 5.0)]))
    d = decide(findings, kb)
    kinds = {(a.measure_type, a.pollutant) for a in d.advice}
    assert ("NOxSupervision", "NOx") in kinds  # NOx-limited and O3 over 100
    assert ("RegionalJointControl", "O3") in kinds  # 70 % from outside the city
    assert ("VehicleEmissionSpotCheck", "NOx") in kinds  # local diesel trucks, label mapped


def test_a_province_alert_reaches_implicated_enterprises_in_every_city(kb: GraphStore) -> None:
    # Ningbo has no city fact of its own: the province-wide alert must still reach the
    # enterprises of its implicated county (海曙区, heavy on day 0, no alert of its own);
    # Shangcheng stays under 150 and Xihu has no forecast: not in the alert's scope (issue 11)
    findings = forecast_findings({("330000", "province"): [230, 240, 180],
                                  (SC, "county"): [120, 130, 140],
                                  ("330203", "county"): [160, 140, 120]}, D0)
    d = decide(findings, kb)
    assert [(a.region_code, a.level) for a in d.alerts] == [("330000", "AlertOrange")]
    tasks = by_subject(d)
    assert {s for s, t in tasks.items() if t.subject.kind == "enterprise"} == {"E-N"}
    assert tasks["E-N"].region_code == "330203"
    # one reason, though the province's facts are copied into every city's partition
    assert len(tasks["E-N"].reasons) == 1
    assert len([t for t in d.tasks if t.subject.id == "ConstructionDust"]) == 1


def test_saving_a_decision_twice_writes_it_once(kb: GraphStore) -> None:
    findings = heavy_pm()
    findings.hotspots.append(hotspot("NO2", 80, 95, SC))
    d = decide(findings, kb)
    first = save_decision(kb, d)
    assert first.nodes_created > 0
    again = save_decision(kb, decide(findings, kb))
    assert again.nodes_created == 0 and again.relationships_created == 0
    task = by_subject(d)["E-B"]
    row = kb.read_one(
        "MATCH (dec:Decision {id: $d})-[:HAS_TASK]->(t:Task {id: $t})-[:ABOUT]->(e:Enterprise) "
        "MATCH (t)-[:ASSIGNED_TO]->(r:AdminRegion) MATCH (dec)-[:DECIDED_ON]->(m:ModelRun) "
        "RETURN e.id AS e, r.code AS region, m.id AS run, t.priority AS priority",
        {"d": d.id, "t": task.id})
    assert row == {"e": "E-B", "region": SC, "run": RUN, "priority": task.priority}
    grounds = kb.read("MATCH (t:Task {id: $t})-[g:GROUNDED_IN]->(a:Article) "
                      "RETURN a.id AS a, g.status AS status, g.role AS role ORDER BY a",
                      {"t": task.id})
    assert {"a": "cn.air-law.2018.art96", "status": "in_force", "role": "basis"} in grounds
    assert any(g["role"] == "escalation" for g in grounds)  # art. 99 / 30, EP Law 25
    made_by = {r["r"] for r in kb.read("MATCH (t:Task {id: $t})-[:MADE_BY]->(r:Rule) "
                                       "RETURN r.id AS r", {"t": task.id})}
    assert made_by == {"task.emergency.grade-b@1", "task.hotspot.nox@1",
                       "task.hotspot.online-monitoring@1"}
    evidence = kb.read("MATCH (t:Task {id: $t})-[:EVIDENCED_BY]->(f:Finding) "
                       "RETURN f.kind AS kind", {"t": task.id})
    assert {"emission_hotspot", "daily_aqi"} <= {e["kind"] for e in evidence}
    stored = load_decision_conclusions(kb, d.id)
    assert len(stored) == len(d.conclusions())


def test_a_changed_enterprise_register_gives_another_decision(kb: GraphStore) -> None:
    before = decide(heavy_pm(), kb)
    kb.write("MATCH (e:Enterprise {id: 'E-C'}) SET e.performance_grade = 'D'")
    after = decide(heavy_pm(), kb)
    assert after.id != before.id
    assert by_subject(after)["E-C"].measure_types == ["StopProduction"]
    assert decide(heavy_pm(), kb).id == after.id  # and it is stable again


def test_one_order_per_enterprise_with_the_highest_level_each_day(kb: GraphStore) -> None:
    """Shangcheng's own orange alert and Hangzhou's red alert overlap: one order, never two
    contradictory lines (issue 11). Worked out by hand from heavy_pm(): Hangzhou is heavy
    (> 150) on days 0-3 (red), Shangcheng on days 0-2 (orange); on every one of those days red
    is the highest level covering Shangcheng, so each Shangcheng enterprise has one period,
    days 0-3, red."""
    d = decide(heavy_pm(), kb)
    tasks = by_subject(d)
    for eid, measure in (("E-D", "StopProduction"), ("E-B", "LimitProduction")):
        t = tasks[eid]
        assert [(e.date_from, e.date_to, e.level, e.measure_type) for e in t.schedule] == [
            (D0.isoformat(), (D0 + dt.timedelta(days=3)).isoformat(), "AlertRed", measure)]
        emergency = [i for i in t.items if i.measure_type == measure]
        assert len(emergency) == 1 and "红色预警" in emergency[0].text
        assert "橙色预警" not in emergency[0].text  # the county's lower level is not ordered
    # Xihu has no alert of its own: the city's red order
    assert [(e.level, e.date_from) for e in tasks["E-C"].schedule] == [
        ("AlertRed", D0.isoformat())]


def test_an_order_changes_level_from_day_to_day(kb: GraphStore) -> None:
    """The county's alert outlasts the city's: red while the city's red holds, then the
    county's own level. By hand: Hangzhou > 200 on days 0-2 and > 300 on day 1 -> red over its
    heavy run, days 0-2; Shangcheng > 150 on days 0-4 (72 h and more) -> orange, days 0-4."""
    findings = forecast_findings({(HZ, "city"): [240, 320, 260, 120, 110],
                                  (SC, "county"): [160, 180, 190, 170, 160]}, D0)
    d = decide(findings, kb)
    levels = {a.region_code: a.level for a in d.alerts}
    assert levels == {HZ: "AlertRed", SC: "AlertOrange"}
    t = by_subject(d)["E-D"]
    assert [(e.date_from, e.date_to, e.level) for e in t.schedule] == [
        (D0.isoformat(), (D0 + dt.timedelta(days=2)).isoformat(), "AlertRed"),
        ((D0 + dt.timedelta(days=3)).isoformat(), (D0 + dt.timedelta(days=4)).isoformat(),
         "AlertOrange")]
    assert t.items[0].text.startswith("应急减排日程：")
    assert sum(1 for x in t.items if x.measure_type == "StopProduction") == 1
