"""The condition language: parsing, checking, subclass expansion, and the compiled durable_rules
condition agreeing with the Python reference semantics on generated facts."""

from __future__ import annotations

import random
from datetime import date

import pytest

from ecobrain.reasoning.authoring.rulebase import RuleBase
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.dsl import LoadedFile, RuleFile
from ecobrain.reasoning.language.errors import ExpressionError
from ecobrain.reasoning.language.expressions import Context, compile_condition, evaluate
from ecobrain.reasoning.language.templates import parse_template


@pytest.fixture(scope="module")
def concepts() -> ConceptIndex:
    return ConceptIndex.from_ontology()


def cond(text: str, concepts: ConceptIndex, fact: str = "hotspot_enterprise", **aliases: str):
    return compile_condition(text, Context(fact, aliases=aliases, concepts=concepts))


def test_class_test_expands_to_all_subclasses(concepts: ConceptIndex) -> None:
    c = cond("sector is_a VOCsKeyIndustry", concepts)
    values = {branch["sector"] for branch in c.durable["$or"]}
    assert {"VOCsKeyIndustry", "Petrochemical", "Chemicals", "Coating", "Printing",
            "PackagingPrinting"} <= values  # PackagingPrinting is a grandchild
    assert "Power" not in values
    assert evaluate(c.tree, {"sector": "PackagingPrinting"})
    assert not evaluate(c.tree, {"sector": "Power"})


def test_function_form_and_infix_form_are_the_same(concepts: ConceptIndex) -> None:
    a = cond("species is_a NOx and pollutants has_a VOCs", concepts)
    b = cond("is_a(species, NOx) and has_a(pollutants, VOCs)", concepts)
    assert a.durable == b.durable


def test_has_a_on_a_list_field(concepts: ConceptIndex) -> None:
    c = cond("pollutants has_a NOx", concepts)
    assert c.durable == {"$iany": {"pollutants": {"$or": [{"$i": "NO"}, {"$i": "NO2"},
                                                          {"$i": "NOx"}]}}}
    assert evaluate(c.tree, {"pollutants": ["SO2", "NO2"]})
    assert not evaluate(c.tree, {"pollutants": ["SO2"]})


def test_join_reference_to_an_earlier_block(concepts: ConceptIndex) -> None:
    c = cond("region_code == m.region_code and grade == GradeB", concepts,
             fact="enterprise_in_region", m="measure")
    assert c.joins == {"m"}
    assert {"region_code": {"m": "region_code"}} in c.durable["$and"]
    assert evaluate(c.tree, {"region_code": "330102", "grade": "GradeB"},
                    {"m": {"region_code": "330102"}})


@pytest.mark.parametrize(("text", "message", "column"), [
    ("dayz_over_200 > 1", "unknown field 'dayz_over_200' of alert_assessment; did you mean "
     "days_over_200", 1),
    ("driver == PM25", "unknown concept 'PM25'; did you mean PM2_5", 11),
    ("driver == Coating", "'Coating' is a", 11),
    ("peak_aqi > \"x\"", "'peak_aqi' is a number", 12),
    ("region_level == county", "quote it", 17),
    ("foo(1)", "unknown function 'foo'", 1),
    ("peak_aqi > 1 +", "syntax error", None),
    ("peak_aqi ** 2 > 1", "not allowed in a condition", None),
    ("__import__('os')", "unknown function", 1),
    ("a.x == 1", "unknown block 'a'", 1),
    ("driver is_a", "syntax error", None),
    ("alert_start >= \"2024-13-01\"", "not a date", 16),
    ("primary_pollutants == PM2_5", "is a list", 1),
])
def test_bad_conditions_are_refused_with_their_column(text: str, message: str,
                                                      column: int | None,
                                                      concepts: ConceptIndex) -> None:
    with pytest.raises(ExpressionError) as err:
        cond(text, concepts, fact="alert_assessment")
    assert message in err.value.reason
    if column is not None:
        assert err.value.column == column


def test_templates_are_checked_against_the_blocks() -> None:
    t = parse_template("{e.enterprise_name}：{m.level|label}", {"e": "enterprise_in_region",
                                                                "m": "measure"}, {})
    assert t.aliases == {"e", "m"}
    with pytest.raises(ExpressionError, match="unknown field 'enterprise_nme'"):
        parse_template("{e.enterprise_nme}", {"e": "enterprise_in_region"}, {})
    with pytest.raises(ExpressionError, match="unknown parameter"):
        parse_template("{param.ratio}", {"e": "enterprise_in_region"}, {})
    with pytest.raises(ExpressionError, match="unknown filter"):
        parse_template("{e.sector|upper}", {"e": "enterprise_in_region"}, {})
    with pytest.raises(ExpressionError, match="several blocks"):
        parse_template("{sector}", {"e": "enterprise_in_region", "m": "measure"}, {})


# -- the compiled condition and the reference semantics agree -------------------------------

CONDITIONS = [
    "ring == 0",
    "ring != 0",
    "not (ring == 0)",
    "0 <= ring < 1",
    "sector is_a VOCsKeyIndustry",
    "not sector is_a VOCsKeyIndustry",
    "sector in [Power, Cement] or grade == GradeD",
    "sector not in [Power, Cement]",
    "pollutants has_a NOx",
    "not pollutants has_a VOCs",
    '"VOCs" in pollutants',
    'not ("SO2" in pollutants)',
    "emits_species",
    "not emits_species",
    "emits_species == false",
    "grade == null",
    "grade != null and not (grade in [GradeA, GradeLeading])",
    "not (ring == 1 and (emits_species or online_monitoring))",
    "county_code == \"330102\" and not (sector is_a IndustrialSource or grade == GradeC)",
    "exists(grade) or key_enterprise",
    "true",
    "false or ring == 1",
]


def _random_fact(i: int, rnd: random.Random) -> dict:
    f = {"type": "hotspot_enterprise", "id": f"f{i}", "enterprise_id": f"E{i}"}
    maybe = {
        "ring": lambda: rnd.choice([0, 1]),
        "sector": lambda: rnd.choice(["Power", "Cement", "Coating", "PackagingPrinting",
                                      "Chemicals", "DieselTruck", "Petrochemical"]),
        "pollutants": lambda: rnd.sample(["NOx", "NO2", "SO2", "VOCs", "Toluene", "PM2_5"],
                                         rnd.randint(1, 3)),
        "grade": lambda: rnd.choice(["GradeA", "GradeB", "GradeC", "GradeD", "GradeLeading"]),
        "emits_species": lambda: rnd.choice([True, False]),
        "online_monitoring": lambda: rnd.choice([True, False]),
        "key_enterprise": lambda: rnd.choice([True, False]),
        "county_code": lambda: rnd.choice(["330102", "330106"]),
    }
    for k, gen in maybe.items():
        if rnd.random() < 0.8:  # some fields missing: the semantics of absence matter
            f[k] = gen()
    return f


def test_compiled_conditions_match_python_semantics(concepts: ConceptIndex) -> None:
    rnd = random.Random(7)
    facts = [_random_fact(i, rnd) for i in range(300)]
    rules = [{
        "id": f"t.cond.c{i}", "version": 1, "title": "t", "effective_from": "2020-01-01",
        "legal_basis": ["x.y"], "when": {"fact": "hotspot_enterprise", "as": "e", "if": text},
        "then": [{"task": {"subject": {"kind": "enterprise", "id": "{e.enterprise_id}"},
                           "region_code": "330102", "measure_type": "FieldPatrol",
                           "action": "x"}}]}
        for i, text in enumerate(CONDITIONS)]
    model = RuleFile.model_validate({"rules": rules})
    base = RuleBase([LoadedFile(path=None, text="", data={}, lines={}, model=model,  # type: ignore[arg-type]
                                display="generated")])
    compiled = compile_rule_base(base, date(2024, 1, 1), concepts)
    result = Engine(compiled).run(facts, decision_date=date(2024, 1, 1))
    fired: dict[str, set[str]] = {r.key: set() for r in compiled.rules.values()}
    for firing in result.firings:
        fired[firing.rule_key].add(firing.facts["e"])
    for i, text in enumerate(CONDITIONS):
        tree = compile_condition(text, Context("hotspot_enterprise", concepts=concepts)).tree
        expected = {f["id"] for f in facts if evaluate(tree, f)}
        assert fired[f"t.cond.c{i}@1"] == expected, text
    assert 0 < len(fired["t.cond.c0@1"]) < len(facts)
