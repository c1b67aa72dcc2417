"""No lost match, ever (issue 18): why durable_rules dropped matches, the engine keys that
make it impossible, and the independent check that refuses a run whose firings differ from
what the conditions select.

durable_rules tells facts apart by the 32-bit FNV-1a hash of their id in one engine state;
the benchmark's 100,000 facts in one partition held two colliding pairs and lost 6 firings
of hotspot r56c17 (docs/rule-engine.md). The suite runs with ``ECOBRAIN_ENGINE_VERIFY=1``
(conftest), so every engine run of every test is checked as well.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import durable_rules_engine as dre
import numpy as np
import pytest

from ecobrain.reasoning.authoring.rulebase import load_rule_base
from ecobrain.reasoning.engine import runner as engine_mod
from ecobrain.reasoning.engine.check import MatchCheck, predicate
from ecobrain.reasoning.engine.facts import assemble_facts
from ecobrain.reasoning.engine.keys import (
    KEYS,
    fnv1a_32,
    fnv1a_32_decimal,
    fnv1a_32_texts,
)
from ecobrain.reasoning.engine.runner import STATE_FACTS, STATES_PER_RULESETS, Engine, EngineError
from ecobrain.reasoning.engine.synthetic_load import hotspot_load
from ecobrain.reasoning.language.compiler import CompiledRuleBase, compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.expressions import Context, compile_condition, evaluate
from ecobrain.reasoning.language.fact_types import COMMON_FIELDS, FACT_TYPES

ON = dt.date(2026, 1, 15)
VOCS_R56C17 = "hs.bench.VOCs.2026-01-15.ZJ3KM:r56c17"


@pytest.fixture(scope="module")
def concepts() -> ConceptIndex:
    return ConceptIndex.from_ontology()


@pytest.fixture(scope="module")
def compiled(concepts: ConceptIndex) -> CompiledRuleBase:
    return compile_rule_base(load_rule_base()[0], ON, concepts)


def bench_facts(concepts: ConceptIndex, hotspots: int) -> list[dict[str, Any]]:
    """The rule benchmark's facts (benchmarks/bench_rules.py), 10 per hotspot."""
    findings, enterprises = hotspot_load(hotspots, seed=42, run_id="bench", id_prefix="B")
    return assemble_facts(findings, None, concepts, enterprises=enterprises).facts


def relabel(facts: list[dict[str, Any]], tag: str, sid: str | None = None
            ) -> list[dict[str, Any]]:
    """Copies with ids (and the hotspot ids joins compare) under `tag`, in partition `sid`."""
    out = []
    for f in facts:
        g = dict(f, id=f"{tag}/{f['id']}")
        if "hotspot_id" in g:
            g["hotspot_id"] = f"{tag}/{g['hotspot_id']}"
        if sid is not None:
            g["sid"] = sid
        out.append(g)
    return out


def made(result: Any, compiled: CompiledRuleBase) -> set[tuple[str, tuple[str, ...]]]:
    return {(f.rule_key, tuple(f.facts[a] for a in compiled.rules[f.rule_key].aliases))
            for f in result.firings}


# -- the cause -------------------------------------------------------------------------------

def test_durable_rules_drops_a_fact_whose_id_hash_collides_in_the_same_state() -> None:
    # two ids found by scripts/durable_rules_collisions.py, with the same FNV-1a hash
    a, b = "fact-25388", "fact-909936"
    assert fnv1a_32(a) == fnv1a_32(b) == 0x9525B9E8
    h = dre.create_ruleset("test_collision", json.dumps(
        {"every": {"all": [{"m": {"type": "fact"}}]}}))
    try:
        code = dre.assert_facts(h, json.dumps([{"id": a, "type": "fact"},
                                               {"id": b, "type": "fact"},
                                               {"id": "c", "type": "fact", "sid": "other"}]))[0]
        seen = []
        started = dre.start_action(h)
        while started:
            _, messages, offset = started
            while messages:
                seen.append(json.loads(messages)["every"]["m"]["id"])
                messages = dre.complete_and_start_action(h, offset)
            started = dre.start_action(h)
    finally:
        dre.delete_ruleset(h)
    assert code == 2  # "observed": b taken for a
    assert sorted(seen) == ["c", a]  # b never matched; c, in another state, is


def test_the_fnv_hash_is_the_one_durable_rules_computes() -> None:
    # durable_rules' fnv1Hash32 XORs, then multiplies: FNV-1a (its published test vectors)
    assert fnv1a_32("") == 0x811C9DC5
    assert fnv1a_32("a") == 0xE40C292C
    assert fnv1a_32("foobar") == 0xBF9CF968
    # durable_rules' own constant for the property name "id" (state.h HASH_ID)
    assert fnv1a_32("id") == 926444256
    assert fnv1a_32("sid") == 3593476751
    texts = ["fact-25388", "企业12-3", "he.hs.bench.VOCs", "0", "797186"]
    assert fnv1a_32_texts(texts).tolist() == [fnv1a_32(t) for t in texts]
    assert fnv1a_32_decimal(np.array([0, 9, 10, 40189, 797186])).tolist() == [
        fnv1a_32(str(n)) for n in (0, 9, 10, 40189, 797186)]


def test_engine_keys_never_share_a_hash() -> None:
    keys = KEYS.first(800_000)
    assert keys == sorted(set(keys)) and keys[:3] == [0, 1, 2]
    hashes = fnv1a_32_decimal(np.array(keys))
    assert len(np.unique(hashes)) == len(keys)
    # 797186 hashes like 40189: skipped (the first such pair of decimal numbers)
    assert fnv1a_32("797186") == fnv1a_32("40189")
    assert 40189 in keys and 797186 not in keys


def test_field_names_have_distinct_hashes() -> None:
    # durable_rules looks a fact's properties up by the hash of their names, too
    names = set(COMMON_FIELDS) | {"sid"} | {n for t in FACT_TYPES.values() for n in t.fields}
    hashes = Counter(fnv1a_32(n) for n in names)
    assert max(hashes.values()) == 1


# -- the check itself ------------------------------------------------------------------------

def test_predicates_agree_with_the_reference_evaluation(concepts: ConceptIndex) -> None:
    ctx = Context(fact_type="hotspot_enterprise", aliases={"h": "hotspot"}, own_alias="e",
                  concepts=concepts)
    texts = ["hotspot_id == h.hotspot_id and emits_species",
             "not online_monitoring or sector in ['Coating', 'Printing']",
             "distance_km < 2.5 and not (grade == GradeA)",
             "pollutants has_a VOCs"]
    h = {"hotspot_id": "x"}
    facts = [
        {"hotspot_id": "x", "emits_species": True, "online_monitoring": False,
         "sector": "Coating", "distance_km": 1.0, "grade": "GradeB", "pollutants": ["Toluene"]},
        {"hotspot_id": "y", "emits_species": True, "online_monitoring": True,
         "sector": "Cement", "distance_km": 3.0, "grade": "GradeA", "pollutants": ["SO2"]},
        {"hotspot_id": "x", "emits_species": False, "distance_km": 2.0},
    ]
    expected = [[True, True, True, True], [False, False, False, False],
                [False, True, True, False]]
    for text, col in zip(texts, zip(*expected, strict=True), strict=True):
        tree = compile_condition(text, ctx).tree
        got = [predicate(tree)(f, {"h": h}) for f in facts]
        assert got == list(col), text
        assert got == [evaluate(tree, f, {"h": h}) for f in facts], text


def test_empty_values_count_as_absent_as_the_engine_sees_them(concepts: ConceptIndex) -> None:
    ctx = Context(fact_type="hotspot_enterprise", aliases={}, own_alias="e", concepts=concepts)
    missing = predicate(compile_condition("sector == null", ctx).tree)
    assert missing({"sector": ""}, {}) and missing({}, {})
    assert not missing({"sector": "Coating"}, {})


def test_the_check_finds_the_hand_worked_matches_of_a_small_partition(
        compiled: CompiledRuleBase) -> None:
    # hotspot H1 (VOCs, 2 emitting enterprises: a coater with online monitoring, a printer),
    # hotspot H2 (SO2, no emitting enterprise around it)
    facts = [
        {"type": "hotspot", "id": "H1", "hotspot_id": "H1", "species": "VOCs",
         "emitting_enterprise_count": 2},
        {"type": "hotspot", "id": "H2", "hotspot_id": "H2", "species": "SO2",
         "emitting_enterprise_count": 0},
        {"type": "hotspot_enterprise", "id": "E1", "hotspot_id": "H1", "emits_species": True,
         "online_monitoring": True, "sector": "Coating"},
        {"type": "hotspot_enterprise", "id": "E2", "hotspot_id": "H1", "emits_species": True,
         "online_monitoring": False, "sector": "Printing"},
        {"type": "hotspot_enterprise", "id": "E3", "hotspot_id": "H2", "emits_species": False,
         "online_monitoring": True, "sector": "Cement"},
    ]
    got = MatchCheck(compiled).matches(facts)
    assert got == {
        ("task.hotspot.vocs@1", ("H1", "E1")), ("task.hotspot.vocs@1", ("H1", "E2")),
        ("task.hotspot.vocs-coating@1", ("H1", "E1")),
        ("task.hotspot.online-monitoring@1", ("H1", "E1")),
        ("task.hotspot.patrol@1", ("H2",)),
    }


def test_split_keys_follow_the_joins(compiled: CompiledRuleBase) -> None:
    by_types = {tuple(sorted(t for t, r in compiled.routing.items() if i in r)): k
                for i, k in enumerate(compiled.split_keys)}
    assert by_types[("hotspot", "hotspot_enterprise")] == {
        "hotspot": "hotspot_id", "hotspot_enterprise": "hotspot_id"}
    assert by_types[("enterprise_in_region", "measure")] == {
        "enterprise_in_region": "region_code", "measure": "region_code"}
    assert by_types[("alert_assessment",)] == {}  # single-block rules only: any split


# -- the engine with both ----------------------------------------------------------------------

def test_one_partition_of_100k_facts_keeps_every_match(concepts: ConceptIndex,
                                                       compiled: CompiledRuleBase) -> None:
    facts = [dict(f, sid="330000") for f in bench_facts(concepts, 10_000)]
    assert len(facts) == 100_000
    # the hazard is real here: raw ids would collide in the hotspot ruleset's state
    ids = [f["id"] for f in facts]
    hashes = fnv1a_32_texts(ids)
    assert len(np.unique(hashes)) < len(ids)
    result = Engine(compiled, verify=True).run(facts, decision_date=ON)
    assert result.stats["verified"] and result.stats["partitions"] == 1
    # the hotspot rules join on hotspot_id only: the partition is spread over states of
    # ≤ STATE_FACTS facts by it (100,000 / 5,000), and the check sees the partition whole
    assert result.stats["states"] == 100_000 // STATE_FACTS
    assert len(result.firings) == 83_204  # as in 11 partitions (docs/benchmarks.md)
    got = made(result, compiled)
    lost_before = {  # the six firings issue 18 saw missing
        ("task.hotspot.vocs@1", "B-55-16"), ("task.hotspot.vocs@1", "B-55-17"),
        ("task.hotspot.vocs-ldar@1", "B-55-16"), ("task.hotspot.vocs-coating@1", "B-55-17"),
        ("task.hotspot.online-monitoring@1", "B-55-16"),
        ("task.hotspot.online-monitoring@1", "B-55-17")}
    for rule, enterprise in lost_before:
        assert (rule, (VOCS_R56C17, f"he.{VOCS_R56C17}.{enterprise}")) in got


class _CollidingKeys:
    """Engine keys whose first two hash alike (40189 and 797186): a seeded fault."""

    def first(self, n: int) -> list[int]:
        rest = [k for k in KEYS.first(n + 2) if k != 40189]
        return [40189, 797186, *rest][:n]


def test_a_lost_firing_is_an_engine_error_of_the_run(concepts: ConceptIndex,
                                                     compiled: CompiledRuleBase,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    facts = bench_facts(concepts, 8)
    hotspots = [f for f in facts if f["type"] == "hotspot"]
    first, second = hotspots[0], hotspots[1]
    expected = MatchCheck(compiled).matches(facts)
    assert any(second["id"] in ids for _, ids in expected)  # the one to be lost fires
    ordered = [first, second] + [f for f in facts if f not in (first, second)]
    assert len(Engine(compiled, verify=True).run(ordered, decision_date=ON).firings) == \
        len(expected)
    monkeypatch.setattr(engine_mod, "KEYS", _CollidingKeys())
    with pytest.raises(EngineError, match="engine check failed in partition") as err:
        Engine(compiled, verify=True).run(ordered, decision_date=ON)
    assert "not reported by durable_rules" in str(err.value)
    assert second["id"] in str(err.value)
    # unchecked, the same fault is silent: fewer firings, no error
    quiet = Engine(compiled, verify=False).run(ordered, decision_date=ON)
    assert len(quiet.firings) < len(expected)


def test_more_partitions_than_a_ruleset_holds_states(concepts: ConceptIndex,
                                                     compiled: CompiledRuleBase) -> None:
    one = bench_facts(concepts, 4)  # one cell: 4 hotspots, 36 enterprises around them
    per_partition = len(Engine(compiled).run(one, decision_date=ON).firings)
    assert per_partition > 0
    n = STATES_PER_RULESETS + 100
    facts = [f for i in range(n) for f in relabel(one, f"p{i}", f"p{i}")]
    result = Engine(compiled, verify=True).run(facts, decision_date=ON)
    assert result.stats["partitions"] == n
    assert len(result.firings) == n * per_partition


def test_the_check_is_on_in_the_suite(compiled: CompiledRuleBase,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine_mod.verify_default() and Engine(compiled).verify
    monkeypatch.setenv(engine_mod.VERIFY_ENV, "0")
    assert not Engine(compiled).verify  # production: off unless asked
    assert Engine(compiled, verify=True).verify


@pytest.mark.slow
def test_a_million_facts_checked(concepts: ConceptIndex, compiled: CompiledRuleBase) -> None:
    base = bench_facts(concepts, 10_000)
    facts = [f for r in range(10) for f in relabel(base, f"r{r}")]
    assert len(facts) == 1_000_000
    sizes = Counter(f["sid"] for f in facts)
    assert len(sizes) == 11 and max(sizes.values()) > 90_000
    result = Engine(compiled, verify=True).run(facts, decision_date=ON)
    assert result.stats["verified"]
    assert len(result.firings) == 10 * 83_204


RULES_TWO_KEYS = """\
family: task.test
title: 测试
title_en: two rules joining on different fields
rules:
  - id: task.test.by-hotspot
    version: 1
    title: 按热点
    title_en: by hotspot
    effective_from: 2020-01-01
    priority: 50
    legal_basis: [cn.air-law.2018.art29]
    when:
      - fact: hotspot
        as: h
      - fact: hotspot_enterprise
        as: e
        if: hotspot_id == h.hotspot_id and emits_species
    then:
      - task:
          subject: {kind: enterprise, id: "{e.enterprise_id}", name: "{e.enterprise_name}"}
          region_code: "{e.county_code}"
          measure_type: VOCsSupervision
          action: "核查{e.enterprise_name}"
  - id: task.test.by-county
    version: 1
    title: 按区县
    title_en: by county
    effective_from: 2020-01-01
    priority: 40
    legal_basis: [cn.air-law.2018.art29]
    when:
      - fact: hotspot
        as: h
        if: species == SO2
      - fact: hotspot_enterprise
        as: e
        if: county_code == h.county_code and sector == Coating
    then:
      - task:
          subject: {kind: enterprise, id: "{e.enterprise_id}", name: "{e.enterprise_name}"}
          region_code: "{e.county_code}"
          measure_type: VOCsSupervision
          action: "巡查{e.enterprise_name}"
"""


def test_joins_on_different_keys_keep_a_partition_in_one_state(
        tmp_path: Path, concepts: ConceptIndex) -> None:
    # one rule joins on hotspot_id, the other on the county: no single key per type ties
    # both, so the hotspot ruleset cannot be spread and each partition stays one state
    (tmp_path / "two.yaml").write_text(RULES_TWO_KEYS, encoding="utf-8")
    compiled = compile_rule_base(load_rule_base(tmp_path)[0], ON, concepts)
    [keys] = compiled.split_keys
    assert keys is None
    facts = bench_facts(concepts, 1_000)  # 10,000 facts: 2 states if the rules allowed it
    one = [dict(f, sid="330000") for f in facts]
    result = Engine(compiled, verify=True).run(one, decision_date=ON)
    assert result.stats["states"] == 1
    expected = MatchCheck(compiled).matches(one)
    assert made(result, compiled) == expected
    assert {r for r, _ in expected} == {"task.test.by-hotspot@1", "task.test.by-county@1"}
