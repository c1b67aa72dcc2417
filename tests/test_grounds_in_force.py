"""Legal grounds chosen by date and hierarchy (issue 12).

Expected answers are worked out by hand from the bundled sidecars: the 2018 Air Law is in force
until 2026-08-14 and reported repealed from 2026-08-15; the Zhejiang regulation (kind
regulation, jurisdiction 330000) from 2020-11-27; the Hangzhou regulation (330100) from
2016-08-04; the 2020 technical guide (policy, national) attested from 2020-07-13.
"""

from __future__ import annotations

from datetime import date

import pytest
from kb_fixture import sample_run_dir

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.authoring.legal_coverage import legal_coverage
from ecobrain.reasoning.authoring.rulebase import load_rule_base
from ecobrain.reasoning.decisions.conclusions import Decision
from ecobrain.reasoning.decisions.ground_selection import applies_in, scope_prefix, select
from ecobrain.reasoning.decisions.legal_grounds import LegalGround, resolve_grounds
from ecobrain.reasoning.decisions.run_decision import decide_run

DEC = date(2026, 12, 1)
JUNE = date(2026, 6, 1)
ART96 = "cn.air-law.2018.art96"
ZJ55_1 = "zj.air-reg.2020.art55.i1"
GUIDE = "cn.mee.tech-guide.2020.purpose"
MENU = [ART96, "zj.air-reg.2020.art55", "zj.vehicle-reg.2020.art10.p3", "hz.air-reg.2016.art28.p1"]


def _g(cid: str, kind: str, in_force: bool, jurisdiction: str | None = None) -> LegalGround:
    return LegalGround(citation_id=cid, article_id=cid, citation=cid, regulation_id=cid.rsplit(
        ".", 1)[0], text="…", status="in_force" if in_force else "reported_repealed",
        in_force=in_force, regulation_kind=kind, jurisdiction=jurisdiction,
        remark_zh="" if in_force else "已于2026-08-15被《法典》废止；后继条款尚未录入；需法务复核")


# -- pure selection ----------------------------------------------------------------------------

def test_scope_of_a_jurisdiction() -> None:
    assert (scope_prefix(None), scope_prefix("330000"), scope_prefix("330100")) == ("", "33",
                                                                                     "3301")
    hz = _g("hz.x.art1", "regulation", True, "330100")
    assert applies_in(hz, "330106") and not applies_in(hz, "330203") and not applies_in(hz, None)


def test_in_force_first_in_hierarchy_order_repealed_as_history() -> None:
    law = _g("cn.law.art1", "law", False)
    zj = _g("zj.reg.art5", "regulation", True, "330000")
    hz = _g("hz.reg.art2", "regulation", True, "330100")
    guide = _g("cn.mee.x", "policy", True)
    sel = select([guide, hz, law, zj], "330106", "2026-12-01")
    assert [g.citation_id for g in sel.grounds] == ["zj.reg.art5", "hz.reg.art2", "cn.mee.x",
                                                    "cn.law.art1"]
    assert [g.shown_as for g in sel.grounds] == ["in_force"] * 3 + ["history"]
    assert not sel.review_required and sel.reasons == ()
    # outside Hangzhou the Hangzhou regulation is not a ground at all
    sel = select([guide, hz, law, zj], "330203", "2026-12-01")
    assert [g.citation_id for g in sel.grounds] == ["zj.reg.art5", "cn.mee.x", "cn.law.art1"]


def test_national_law_first_while_in_force() -> None:
    sel = select([_g("zj.reg.art5", "regulation", True, "330000"), _g("cn.law.art1", "law", True)],
                 "330102", "2026-06-01")
    assert [g.citation_id for g in sel.grounds] == ["cn.law.art1", "zj.reg.art5"]


def test_flag_only_when_no_ground_in_force_and_it_says_which() -> None:
    sel = select([_g("cn.law.art1", "law", False), _g("hz.reg.art2", "regulation", True,
                                                      "330100")], "330203", "2026-12-01")
    assert sel.review_required
    assert [g.shown_as for g in sel.grounds] == ["missing"]
    assert sel.reasons == ("决策日（2026-12-01）无有效法律依据——cn.law.art1：已于2026-08-15被"
                           "《法典》废止；后继条款尚未录入；需法务复核",)


# -- the bundled knowledge ---------------------------------------------------------------------

def test_grounds_of_the_emergency_tasks_by_date(module_rules_kb: GraphStore) -> None:
    ids = [ART96, ZJ55_1, GUIDE]
    dec = resolve_grounds(module_rules_kb, ids, DEC)
    sel = select(dec.values(), "330102", DEC.isoformat())
    assert [(g.citation_id, g.shown_as) for g in sel.grounds] == [
        (ZJ55_1, "in_force"), (GUIDE, "in_force"), (ART96, "history")]
    assert sel.grounds[0].citation == "《浙江省大气污染防治条例》第五十五条第（一）项"
    assert sel.grounds[0].text == "（一）责令有关企业暂停生产或者限产；"
    june = select(resolve_grounds(module_rules_kb, ids, JUNE).values(), "330102", "2026-06-01")
    assert [(g.citation_id, g.shown_as) for g in june.grounds] == [
        (ART96, "in_force"), (ZJ55_1, "in_force"), (GUIDE, "in_force")]
    # before the Zhejiang 2020 amendment and the guide: the Air Law alone (a ground not yet in
    # force is neither law nor history that day)
    old = select(resolve_grounds(module_rules_kb, ids, date(2019, 12, 1)).values(), "330102",
                 "2019-12-01")
    assert [(g.citation_id, g.shown_as) for g in old.grounds] == [(ART96, "in_force")]


def test_menu_grounds_depend_on_the_region(module_rules_kb: GraphStore) -> None:
    grounds = resolve_grounds(module_rules_kb, MENU, DEC).values()
    hangzhou = [g.citation_id for g in select(grounds, "330106", "").grounds]
    ningbo = [g.citation_id for g in select(grounds, "330203", "").grounds]
    assert hangzhou == ["zj.air-reg.2020.art55", "zj.vehicle-reg.2020.art10.p3",
                        "hz.air-reg.2016.art28.p1", ART96]
    assert ningbo == ["zj.air-reg.2020.art55", "zj.vehicle-reg.2020.art10.p3", ART96]


def test_coverage_report_in_december_2026_has_no_uncovered_rule(
        module_rules_kb: GraphStore) -> None:
    base, _ = load_rule_base()
    report = legal_coverage(base, module_rules_kb, DEC)
    assert len(report.rules) >= 25
    assert report.uncovered == [], report.warnings
    by_key = {r.key: r for r in report.rules}
    grade_d = by_key["task.emergency.grade-d@1"]
    assert [(g.citation_id, g.in_force) for g in grade_d.grounds] == [
        (ZJ55_1, True), (GUIDE, True), (ART96, False)]
    # the penalty of refusing dust controls: the Zhejiang regulation's article 68 is in force
    assert by_key["measure.public.yellow@1"].escalation_gaps == ()
    # enterprise penalties have no in-force ground until the Code's articles are recorded
    assert by_key["task.hotspot.nox@1"].escalation_gaps


def test_coverage_warns_for_a_rule_citing_only_the_air_law(module_rules_kb: GraphStore,
                                                          tmp_path) -> None:
    (tmp_path / "r.yaml").write_text("""family: test.only-air-law
title: t
rules:
  - id: test.only-air-law
    version: 1
    title: 仅引用大气法
    effective_from: 2018-10-26
    priority: 50
    legal_basis: [cn.air-law.2018.art96]
    when: {fact: alert, as: a}
    then:
      - measure: {measure_type: EmergencyEmissionReduction, region_code: "{a.region_code}",
                  description: 减排}
""", encoding="utf-8")
    base, _ = load_rule_base(tmp_path)
    report = legal_coverage(base, module_rules_kb, DEC)
    assert [r.key for r in report.uncovered] == ["test.only-air-law@1"]
    assert "《中华人民共和国大气污染防治法》第九十六条" in report.warnings[0]
    assert legal_coverage(base, module_rules_kb, JUNE).uncovered == []


# -- a decision on the sample run --------------------------------------------------------------

@pytest.fixture(scope="module")
def december(module_kb: GraphStore) -> Decision:
    out = decide_run(module_kb, sample_run_dir(), on=DEC)
    return _decision(module_kb, out)


def _decision(store: GraphStore, out: object) -> Decision:
    return out.decision  # type: ignore[attr-defined]


def test_december_decision_grounds_in_force_everywhere(december: Decision) -> None:
    conclusions = december.conclusions()
    assert december.tasks and december.measures
    bare = [c.id for c in conclusions if not any(g.in_force for g in c.legal_grounds)]
    flagged = [c for c in conclusions if c.legal_review_required]
    assert bare == [c.id for c in flagged] == []
    assert not december.legal_review_required
    for c in conclusions:
        shown = [g.shown_as for g in c.legal_grounds if g.role == "basis"]
        assert shown == sorted(shown, key=["in_force", "history", "missing"].index)
        assert all(g.status != "in_force" for g in c.legal_grounds if g.shown_as == "history")
    # the Air Law is never shown as current law: as history beside an in-force ground, or as
    # the missing ground of an escalation (a penalty) that has no in-force ground yet
    air = [g for c in conclusions for g in c.legal_grounds if g.regulation_id == "cn.air-law.2018"]
    assert air and all(g.shown_as == "history" for g in air if g.role == "basis")
    assert all(g.shown_as in ("history", "missing") and not g.in_force for g in air)
    texts = [i.text for t in december.tasks for i in t.items]
    assert not any("第九十六条" in x or "罚款" in x for x in texts)


def test_june_decision_cites_the_air_law_as_current(module_kb: GraphStore,
                                                   december: Decision) -> None:
    june = _decision(module_kb, decide_run(module_kb, sample_run_dir(), on=JUNE))
    tasks = [t for t in june.tasks if any(g.citation_id == ART96 for g in t.legal_grounds)]
    assert tasks
    for t in tasks:  # national law first: the Air Law's articles lead, in force
        first = t.legal_grounds[0]
        assert (first.regulation_id, first.shown_as) == ("cn.air-law.2018", "in_force")
        art96 = next(g for g in t.legal_grounds if g.citation_id == ART96)
        assert art96.in_force and art96.shown_as == "in_force"
    assert not any(c.legal_review_required for c in june.conclusions())


def test_escalation_penalty_rendered_from_the_grounds(december: Decision) -> None:
    escalations = [e for t in december.tasks for e in t.escalations]
    dust = [e for e in escalations if "扬尘管控应急措施" in e.text]
    assert dust  # the sample run has PM2.5 alerts
    assert dust[0].basis == "依照《浙江省大气污染防治条例》第六十八条处理"
    assert not dust[0].legal_review_required
    penalties = [e for e in escalations if e.legal_review_required]
    assert penalties
    for e in penalties:  # e.g. Air Law art. 108 (VOCs): no in-force penalty recorded yet
        assert e.basis.startswith("处理依据待法务复核：")
        assert e.basis.endswith("在决策日均非现行有效条款")
        assert len(e.legal_review_reasons) == len(e.citation_ids)
        assert all(r.startswith("决策日（2026-12-01）无有效法律依据——《中华人民共和国")
                   for r in e.legal_review_reasons)

