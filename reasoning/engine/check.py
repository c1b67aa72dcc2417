"""The engine check: what the compiled conditions select, found without durable_rules.

A decision must never lose a conclusion silently, and the C engine has lost some (docs/
rule-engine.md: fact ids whose 32-bit hashes collide). So a run can be checked
independently: for each partition, every combination of the facts asserted into it that
satisfies a rule's condition blocks — evaluated here, in Python, from the conditions' typed
trees (the language's reference semantics, :func:`.expressions.evaluate`), never from the
durable_rules JSON — must be exactly the firings the engine reported. A difference is an
:class:`~.engine.EngineError` of the run naming the rule and facts, never a smaller decision.

What it mirrors of durable_rules, on purpose: a field that is null, an empty list or an
empty text is absent (the engine asserts only present values); one fact never binds two
blocks of one rule (durable_rules' distinct frames); a rule fires once per combination.

Joins are evaluated by hash: a block's equality conditions on earlier blocks
(``hotspot_id == h.hotspot_id``) index its candidates by those fields, so the check grows
with the matches, not with the product of the blocks' sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecobrain.reasoning.language.compiler import CompiledRule, CompiledRuleBase
from ecobrain.reasoning.language.expressions import And, AnyOf, Compare, Exists, ListHas, Not, Or

Fact = Mapping[str, Any]
Bindings = Mapping[str, Fact]
Predicate = Callable[[Fact, Bindings], bool]
Match = tuple[str, tuple[str, ...]]  # rule key, the fact id of each block in order

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _present(v: Any) -> Any:
    """A field's value as the engine sees it: null, [] and "" are absent."""
    return None if v is None or v == "" or v == [] else v


def predicate(tree: Any) -> Predicate:
    """A condition tree as a Python function of (fact, earlier blocks' facts)."""
    if isinstance(tree, And):
        items = [predicate(i) for i in tree.items]
        if not items:
            return lambda f, b: True
        if len(items) == 1:
            return items[0]
        return lambda f, b: all(p(f, b) for p in items)
    if isinstance(tree, Or):
        items = [predicate(i) for i in tree.items]
        return lambda f, b: any(p(f, b) for p in items)
    if isinstance(tree, Not):
        inner = predicate(tree.item)
        return lambda f, b: not inner(f, b)
    if isinstance(tree, Exists):
        name, present = tree.field, tree.present
        return lambda f, b: (_present(f.get(name)) is not None) == present
    if isinstance(tree, Compare):
        return _compare(tree)
    if isinstance(tree, AnyOf):
        name, values = tree.field, tree.values

        def any_of(f: Fact, b: Bindings) -> bool:
            v = _present(f.get(name))
            return v is not None and v in values
        return any_of
    if isinstance(tree, ListHas):
        name, wanted = tree.field, tree.values
        return lambda f, b: any(i in wanted for i in (f.get(name) or ()))
    raise TypeError(f"unknown condition node {tree!r}")


def _compare(c: Compare) -> Predicate:
    op, name = _OPS[c.op], c.field

    def safe(a: Any, other: Any) -> bool:
        if a is None or other is None:
            return False
        try:
            return op(a, other)
        except TypeError:
            return False

    if c.ref is None:
        value = c.value
        return lambda f, b: safe(_present(f.get(name)), value)
    ref_name, alias = c.ref.name, c.ref.alias
    if alias is None:
        return lambda f, b: safe(_present(f.get(name)), _present(f.get(ref_name)))
    return lambda f, b: safe(_present(f.get(name)), _present(b[alias].get(ref_name)))


@dataclass(frozen=True)
class _Block:
    alias: str
    fact_type: str
    test: Predicate
    local: Predicate  # the conjuncts that read this block's fact only
    keys: tuple[tuple[str, str, str], ...]  # (own field, earlier alias, its field): equalities


def _conjuncts(tree: Any) -> tuple[Any, ...]:
    return tree.items if isinstance(tree, And) else (tree,)


def _reads_alias(tree: Any) -> bool:
    if isinstance(tree, Compare):
        return tree.ref is not None and tree.ref.alias is not None
    if isinstance(tree, And | Or):
        return any(_reads_alias(i) for i in tree.items)
    if isinstance(tree, Not):
        return _reads_alias(tree.item)
    return False


def _blocks(rule: CompiledRule) -> list[_Block]:
    out = []
    for alias, ftype, cond in zip(rule.aliases, rule.fact_types, rule.conditions, strict=True):
        parts = _conjuncts(cond.tree)
        keys = tuple((p.field, p.ref.alias, p.ref.name) for p in parts
                     if isinstance(p, Compare) and p.op == "==" and p.ref is not None
                     and p.ref.alias is not None)
        local = predicate(And(tuple(p for p in parts if not _reads_alias(p))))
        out.append(_Block(alias, ftype, predicate(cond.tree), local, keys))
    return out


class MatchCheck:
    """The matches a compiled rule base's conditions select among a partition's facts."""

    def __init__(self, compiled: CompiledRuleBase):
        self.rules = {key: _blocks(rule) for key, rule in sorted(compiled.rules.items())}

    def matches(self, facts: Iterable[Fact]) -> set[Match]:
        """Every (rule, fact ids) whose blocks the facts satisfy (one partition's facts)."""
        by_type: dict[str, list[Fact]] = {}
        for f in facts:
            by_type.setdefault(f["type"], []).append(f)
        out: set[Match] = set()
        for key, blocks in self.rules.items():
            out.update((key, ids) for ids in _join(blocks, by_type))
        return out


def _join(blocks: Sequence[_Block], by_type: Mapping[str, list[Fact]]
          ) -> Iterable[tuple[str, ...]]:
    first = blocks[0]
    partial: list[dict[str, Fact]] = [{first.alias: f} for f in by_type.get(first.fact_type, ())
                                      if first.test(f, {})]
    for block in blocks[1:]:
        if not partial:
            return []
        candidates = [f for f in by_type.get(block.fact_type, ()) if block.local(f, {})]
        index: dict[tuple[Any, ...], list[Fact]] | None = None
        if block.keys:
            index = {}
            for f in candidates:
                k = tuple(_present(f.get(own)) for own, _, _ in block.keys)
                if None not in k:
                    index.setdefault(k, []).append(f)
        grown: list[dict[str, Fact]] = []
        for b in partial:
            if index is not None:
                k = tuple(_present(b[alias].get(name)) for _, alias, name in block.keys)
                pool = index.get(k, ()) if None not in k else ()
            else:
                pool = candidates
            bound = {id(f) for f in b.values()}
            for f in pool:
                if id(f) not in bound and block.test(f, b):
                    grown.append({**b, block.alias: f})
        partial = grown
    aliases = [b.alias for b in blocks]
    return [tuple(str(p[a]["id"]) for a in aliases) for p in partial]


def describe(matches: Iterable[Match], limit: int = 5) -> str:
    """A few matches as text, for an error message."""
    items = sorted(matches)
    text = "; ".join(f"{rule} on {', '.join(ids)}" for rule, ids in items[:limit])
    return text + (f" … ({len(items) - limit} more)" if len(items) > limit else "")
