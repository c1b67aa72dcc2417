"""Across rules: two conclusions that contradict each other for the same subject and day.

Two tasks contradict when they order measure types the ontology declares disjoint
(``owl:AllDisjointClasses``: stop production / limit production / stop part of the lines)
for the same subject. The checker reports a pair of rule versions when

- both are active and in force on some common day,
- each has a task action with the same subject (kind and id template, from the same fact type,
  e.g. ``enterprise {e.enterprise_id}`` of an ``enterprise_in_region``), whose measure types
  fall under two different members of one disjoint group, and
- one fact can satisfy both rules' conditions on that subject block: the two conditions are
  evaluated together on every class of values of the fields they test (the pieces of
  :mod:`.table_check`: the constants they compare with split each field's values), so
  ``grade == GradeB`` against ``grade == GradeC`` is no contradiction, ``grade in [GradeC,
  GradeD]`` against ``grade == GradeC`` is.

Limits: the other blocks of the two rules are assumed satisfiable together (two alerts of
different levels for one region are resolved by the engine keeping the highest, so alerts are
not compared); a condition that joins the subject's fields to another block's counts as
possibly true. A contradiction is an error: a task list must never order both.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.kept_concepts import concept_summary
from ecobrain.reasoning.authoring.rulebase import RuleBase, RuleEntry
from ecobrain.reasoning.authoring.table_check import MISSING, column_pieces
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.dsl import TableColumn, TaskAction
from ecobrain.reasoning.language.errors import ExpressionError, RuleProblem
from ecobrain.reasoning.language.expressions import (
    And,
    Compare,
    Context,
    Not,
    Or,
    compile_condition,
    evaluate,
    walk,
)
from ecobrain.reasoning.language.fact_types import field_spec

MAX_COMBINATIONS = 200_000


@dataclass(frozen=True)
class _Order:
    entry: RuleEntry
    action: int
    subject: tuple[str, str, str]  # kind, id template, fact type of the block it reads
    block: int  # index of the subject's block in the rule's `when`
    measure: str


def _subject(entry: RuleEntry, spec: TaskAction) -> tuple[tuple[str, str, str], int] | None:
    """(kind, id template, fact type) of the task's subject and its block, if it reads one."""
    template = spec.subject.id.strip()
    if not (template.startswith("{") and template.endswith("}") and "." in template):
        return None
    alias = template[1:-1].split(".", 1)[0]
    aliases = entry.rule.aliases()
    if alias not in aliases:
        return None
    i = aliases.index(alias)
    field = template[1:-1].split(".", 1)[1].split("|", 1)[0]
    return (spec.subject.kind, field, entry.rule.when[i].fact), i


def _groups(concepts: ConceptIndex, ontology: Ontology | None) -> list[tuple[str, ...]]:
    """The disjoint groups of measure types (of the configured ontology file when `ontology`
    is None: read from its kept summary, ontology/kept_concepts.py, without parsing it)."""
    disjoint = (ontology.disjoint_groups() if ontology is not None
                else [tuple(g) for g in concept_summary()["disjoint_groups"]])
    return [g for g in disjoint if all(concepts.has_kind(c, "MeasureType") for c in g)]


def _member(concepts: ConceptIndex, measure: str, group: tuple[str, ...]) -> str | None:
    return next((m for m in group if concepts.is_a(measure, m)), None)


def _tree(entry: RuleEntry, block: int, concepts: ConceptIndex) -> Any:
    b = entry.rule.when[block]
    types = {a: entry.rule.when[i].fact for i, a in enumerate(entry.rule.aliases())}
    aliases = {a: t for a, t in list(types.items())[:block]}
    params = {name: p.value_on(entry.rule.starts) for name, p in entry.params.items()}
    ctx = Context(fact_type=b.fact, aliases=aliases, own_alias=entry.rule.aliases()[block],
                  params=params, concepts=concepts)
    return compile_condition(b.if_, ctx).tree


def _own_fields(tree: Any) -> set[str]:
    out: set[str] = set()

    def visit(node: Any) -> None:
        if hasattr(node, "field") and not (isinstance(node, Compare) and node.ref is not None):
            out.add(node.field)

    walk(tree, visit)
    return out


def _joint_example(fact_type: str, a: Any, b: Any, concepts: ConceptIndex) -> str | None:
    """A description of field values satisfying both trees, or None when none can."""
    fields = sorted(_own_fields(a) | _own_fields(b))
    pieces = []
    for f in fields:
        spec = field_spec(fact_type, f)
        if spec is None:
            return None
        pieces.append(column_pieces(TableColumn(field=f, missing=True), spec, [a, b], concepts))
    total = 1
    for p in pieces:
        total *= len(p)
    if total > MAX_COMBINATIONS:
        return "(not enumerated)"
    for combo in itertools.product(*pieces):
        fact = {f: p.value for f, p in zip(fields, combo, strict=True) if p.value is not MISSING}
        if _holds(a, fact) and _holds(b, fact):
            shown = [f"{f} {p.text if p.text[:1] in '=<>[' else '= ' + p.text}"
                     for f, p in zip(fields, combo, strict=True) if p.value is not MISSING]
            return ", ".join(shown) or "any"
    return None


def _holds(tree: Any, fact: dict[str, Any]) -> bool:
    """True when the condition can hold: comparisons with other blocks count as true."""
    return evaluate(_drop_joins(tree), fact)


def _drop_joins(tree: Any) -> Any:
    if isinstance(tree, Compare) and tree.ref is not None:
        return And(())
    if isinstance(tree, And | Or):
        return type(tree)(tuple(_drop_joins(i) for i in tree.items))
    if isinstance(tree, Not):
        inner = _drop_joins(tree.item)
        return And(()) if inner == And(()) else Not(inner)
    return tree


def _overlap(a: RuleEntry, b: RuleEntry) -> date | None:
    start = max(a.rule.starts, b.rule.starts)
    end = min(a.rule.effective_to or date.max, b.rule.effective_to or date.max)
    return start if start <= end else None


def find_contradictions(base: RuleBase, concepts: ConceptIndex,
                        ontology: Ontology | None = None, *,
                        focus: Callable[[RuleEntry], bool] | None = None) -> list[RuleProblem]:
    """Located at the later rule of each pair; with `focus`, only pairs with a focused rule
    (a submitted one, checked against the graph's), located at it."""
    groups = _groups(concepts, ontology)
    if not groups:
        return []
    orders: list[_Order] = []
    for e in base.entries:
        if e.rule.status != "active":
            continue
        for j, action in enumerate(e.rule.then):
            spec = action.spec
            if not isinstance(spec, TaskAction) or "{" in spec.measure_type:
                continue
            found = _subject(e, spec)
            if found is not None:
                orders.append(_Order(e, j, found[0], found[1], spec.measure_type))
    problems: list[RuleProblem] = []
    seen: set[tuple[str, str]] = set()
    for x, y in itertools.combinations(orders, 2):
        if x.subject != y.subject or x.entry.key == y.entry.key:
            continue
        if focus is not None:
            if not (focus(x.entry) or focus(y.entry)):
                continue
            if not focus(y.entry):
                x, y = y, x
        day = _overlap(x.entry, y.entry)
        if day is None:
            continue
        group = next((g for g in groups if _member(concepts, x.measure, g)
                      and _member(concepts, y.measure, g)), None)
        if group is None or _member(concepts, x.measure, group) == \
                _member(concepts, y.measure, group):
            continue
        pair = tuple(sorted((x.entry.key, y.entry.key)))
        if pair in seen:
            continue
        try:
            example = _joint_example(x.subject[2], _tree(x.entry, x.block, concepts),
                                     _tree(y.entry, y.block, concepts), concepts)
        except ExpressionError:
            continue  # reported by the rule's own check
        if example is None:
            continue
        seen.add(pair)  # type: ignore[arg-type]
        kind, field, ftype = x.subject
        when = "the same day" if day == date.min else f"the same day (both in force on {day})"
        problems.append(y.entry.problem(
            f"contradiction: {x.entry.key} orders {x.measure} and {y.entry.key} orders "
            f"{y.measure} for the same {kind} ({field} of the {ftype} fact) on {when}, e.g. when "
            f"{example}; the ontology declares {', '.join(group)} disjoint: narrow one "
            "condition or end one version", "then", y.action))
    return problems
