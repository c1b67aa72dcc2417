"""Rules → durable_rules JSON rulesets, checked and ready to run.

Each rule version in force becomes one durable_rules rule ``"<rule_id>@<version>": {"all":
[{alias: condition}, ...]}``: one pattern per condition block, its condition compiled by
:mod:`.expressions` (class tests already expanded to subclasses) and prefixed with the fact
type, joins expressed as durable_rules references (``{"region_code": {"a": "region_code"}}``).
Actions stay in Python, parsed into templates (:mod:`.templates`) once, here.

Rules are grouped into rulesets by the fact types they share (connected components), and the
engine routes each fact only to the rulesets that mention its type: a fact no rule mentions is
never asserted, and one that only hotspot rules read never enters the alert network.

Catch-all rules: the engine drives durable_rules' C binding directly, where an unmatched fact
is a status code, not an exception, so it needs none (a catch-all costs one action per fact).
``compile_rule_base(..., catch_all=True)`` adds them (``_catch.<type>``) for callers that load
the JSON into a ``durable.engine.Host``, where unmatched facts raise.

Compiled rule bases are cached per (rule texts, concept hierarchy, date): the same rule base
compiles once per decision date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ecobrain.reasoning.authoring.rulebase import RuleBase, RuleEntry
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.dsl import Action, TaskAction
from ecobrain.reasoning.language.errors import ExpressionError, RuleError, RuleProblem
from ecobrain.reasoning.language.expressions import Condition, Context, compile_condition
from ecobrain.reasoning.language.fact_types import FACT_TYPES, stratum
from ecobrain.reasoning.language.templates import Template, parse_template

_DEADLINE = re.compile(
    r"^\s*(?P<base>\{[^{}]+\})?\s*(?P<sign>[+-])\s*(?P<n>\d+|\{param\.\w+\})\s*d\s*$")

# Which ontology kind a concept-valued action field must have.
ACTION_CONCEPTS: dict[tuple[str, str], str] = {
    ("alert", "level"): "EmergencyLevel",
    ("alert", "driver"): "Pollutant",
    ("measure", "measure_type"): "MeasureType",
    ("measure", "level"): "EmergencyLevel",
    ("measure", "pollutants"): "Pollutant",
    ("task", "measure_type"): "MeasureType",
    ("advice", "measure_type"): "MeasureType",
    ("advice", "pollutant"): "Pollutant",
}


@dataclass(frozen=True)
class Deadline:
    offset_days: int | Template  # a number of days, or a parameter placeholder
    sign: int = 1
    base: Template | None = None  # None: the decision date
    absolute: Template | None = None  # a template that renders to a date


@dataclass(frozen=True)
class CompiledAction:
    kind: str
    index: int
    fields: dict[str, Any]  # name -> Template | constant (str, float, list, None)
    subject: dict[str, Any] | None = None  # task: kind, id, name
    deadline: Deadline | None = None
    priority: Any = None  # int | Template | None
    escalation_text: Template | None = None
    escalation_basis: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompiledRule:
    entry: RuleEntry
    aliases: tuple[str, ...]
    fact_types: tuple[str, ...]
    conditions: tuple[Condition, ...]
    definition: dict[str, Any]
    actions: tuple[CompiledAction, ...]
    params: dict[str, Any]

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def rule(self) -> Any:
        return self.entry.rule

    @property
    def in_stratum(self) -> int:
        return max(stratum(t) for t in self.fact_types)

    @property
    def out_kinds(self) -> tuple[str, ...]:
        return tuple(sorted({a.kind for a in self.actions}))


@dataclass
class CompiledRuleBase:
    on: date
    rules: dict[str, CompiledRule]
    rulesets: list[dict[str, Any]]  # durable_rules definitions (rule name -> rule)
    routing: dict[str, tuple[int, ...]]  # fact type -> ruleset indexes
    concepts: ConceptIndex
    fields_by_type: dict[str, frozenset[str]] = field(default_factory=dict)
    fingerprint: str = ""
    warnings: list[RuleProblem] = field(default_factory=list)

    @property
    def rule_keys(self) -> list[str]:
        return sorted(self.rules)

    def citations(self) -> set[str]:
        out: set[str] = set()
        for r in self.rules.values():
            out.update(r.rule.legal_basis)
            for a in r.actions:
                out.update(a.escalation_basis)
        return out


# -- one rule ----------------------------------------------------------------------------------

def compile_entry(entry: RuleEntry, concepts: ConceptIndex | None, on: date | None = None
                  ) -> tuple[CompiledRule | None, list[RuleProblem]]:
    """Compile one rule version; problems (errors and warnings) carry file, line, field."""
    rule = entry.rule
    problems: list[RuleProblem] = []
    when_day = on or rule.starts
    params = {name: p.value_on(when_day) for name, p in entry.params.items()}
    aliases = rule.aliases()
    if len(set(aliases)) != len(aliases):
        problems.append(entry.problem("two condition blocks have the same name", "when"))
        return None, problems
    types: dict[str, str] = {}
    conditions: list[Condition] = []
    patterns: list[dict[str, Any]] = []
    for i, block in enumerate(rule.when):
        alias = aliases[i]
        if block.fact not in FACT_TYPES:
            problems.append(entry.problem(
                f"unknown fact type '{block.fact}' (known: {', '.join(FACT_TYPES)})",
                "when", i, "fact"))
            return None, problems
        ctx = Context(fact_type=block.fact, aliases=dict(types), own_alias=alias,
                      params=params, concepts=concepts)
        try:
            cond = compile_condition(block.if_, ctx)
        except ExpressionError as exc:
            problems.append(entry.problem(_expr_msg(exc, block.if_), "when", i, "if"))
            return None, problems
        if i > 0 and not cond.joins:
            problems.append(entry.problem(
                f"block '{alias}' is not joined to an earlier block (no condition on "
                f"{', '.join(a + '.…' for a in types)}): every combination matches",
                "when", i, "if", severity="warning"))
        conditions.append(cond)
        types[alias] = block.fact
        parts = [{"type": block.fact}]
        if cond.durable is not None:
            parts.append(cond.durable)
        patterns.append({alias: parts[0] if len(parts) == 1 else {"$and": parts}})
    in_stratum = max(stratum(t) for t in types.values())
    actions: list[CompiledAction] = []
    default_alias = aliases[0] if len(aliases) == 1 else None
    for j, action in enumerate(rule.then):
        out = stratum(action.kind)
        if out <= in_stratum:
            read = [t for t in types.values() if stratum(t) >= out]
            problems.append(entry.problem(
                f"a rule that reads {', '.join(sorted(set(read)))} cannot conclude an "
                f"{action.kind}: conclusions chain forward only (alert → measure → task/advice)",
                "then", j))
            continue
        try:
            actions.append(_compile_action(action, j, types, params, default_alias, concepts))
        except _ActionError as exc:
            problems.append(entry.problem(exc.msg, "then", j, action.kind, *exc.path))
    if any(p.severity == "error" for p in problems):
        return None, problems
    compiled = CompiledRule(entry=entry, aliases=tuple(aliases),
                            fact_types=tuple(types[a] for a in aliases),
                            conditions=tuple(conditions), definition={"all": patterns},
                            actions=tuple(actions), params=params)
    return compiled, problems


def _expr_msg(exc: ExpressionError, text: str | None) -> str:
    msg = exc.reason
    if exc.column and text:
        msg += f" — at column {exc.column} of: {' '.join(str(text).split())}"
    return msg


class _ActionError(Exception):
    def __init__(self, msg: str, *path: str | int):
        self.msg = msg
        self.path = path


def _template(value: str, types: Mapping[str, str], params: Mapping[str, Any],
              default_alias: str | None, *path: str | int) -> Template:
    try:
        return parse_template(value, types, params, default_alias)
    except ExpressionError as exc:
        raise _ActionError(exc.reason, *path) from None


def _concept_field(kind: str, name: str, value: Any, concepts: ConceptIndex | None,
                   types: Mapping[str, str], params: Mapping[str, Any],
                   default_alias: str | None) -> Any:
    """A concept-valued field: a template, or a constant concept id (checked)."""
    wanted = ACTION_CONCEPTS[(kind, name)]
    values = value if isinstance(value, list) else [value]
    if isinstance(value, str) and "{" in value:
        return _template(value, types, params, default_alias, name)
    for v in values:
        if not isinstance(v, str):
            raise _ActionError(f"expected a {wanted} concept id, not {v!r}", name)
        if concepts is not None:
            if v not in concepts:
                raise _ActionError(f"unknown concept '{v}'" + concepts.suggest(v, [wanted]),
                                   name)
            if not concepts.has_kind(v, wanted):
                raise _ActionError(f"'{v}' is not a {wanted}", name)
    return value


def _compile_action(action: Action, index: int, types: Mapping[str, str],
                    params: Mapping[str, Any], default_alias: str | None,
                    concepts: ConceptIndex | None) -> CompiledAction:
    kind = action.kind
    spec = action.spec
    fields: dict[str, Any] = {}
    skip = {"subject", "deadline", "priority", "escalation"}
    for name in type(spec).model_fields:
        if name in skip:
            continue
        value = getattr(spec, name)
        if value is None:
            fields[name] = None
        elif (kind, name) in ACTION_CONCEPTS:
            fields[name] = _concept_field(kind, name, value, concepts, types, params,
                                          default_alias)
        elif isinstance(value, str):
            fields[name] = _template(value, types, params, default_alias, name)
        else:
            fields[name] = value
    if kind == "measure" and isinstance(fields.get("reduction_ratio"), float):
        r = fields["reduction_ratio"]
        if not 0 <= r <= 1:
            raise _ActionError(f"reduction_ratio is a share 0-1, not {r}", "reduction_ratio")
    subject = deadline = priority = esc_text = None
    esc_basis: tuple[str, ...] = ()
    if isinstance(spec, TaskAction):
        subject = {
            "kind": spec.subject.kind,
            "id": _template(spec.subject.id, types, params, default_alias, "subject", "id"),
            "name": (_template(spec.subject.name, types, params, default_alias, "subject",
                               "name") if spec.subject.name else None),
        }
        if spec.deadline:
            deadline = _deadline(spec.deadline, types, params, default_alias)
        if isinstance(spec.priority, int):
            if not 0 <= spec.priority <= 100:
                raise _ActionError(f"priority is 0-100, not {spec.priority}", "priority")
            priority = spec.priority
        elif isinstance(spec.priority, str):
            priority = _template(spec.priority, types, params, default_alias, "priority")
        if spec.escalation:
            esc_text = _template(spec.escalation.text, types, params, default_alias,
                                 "escalation", "text")
            esc_basis = tuple(spec.escalation.legal_basis)
    return CompiledAction(kind=kind, index=index, fields=fields, subject=subject,
                          deadline=deadline, priority=priority, escalation_text=esc_text,
                          escalation_basis=esc_basis)


def _deadline(text: str, types: Mapping[str, str], params: Mapping[str, Any],
              default_alias: str | None) -> Deadline:
    m = _DEADLINE.match(text)
    if m:
        n = m.group("n")
        offset: int | Template = int(n) if n.isdigit() else _template(
            n, types, params, default_alias, "deadline")
        base = (_template(m.group("base"), types, params, default_alias, "deadline")
                if m.group("base") else None)
        return Deadline(offset, -1 if m.group("sign") == "-" else 1, base=base)
    if "{" in text or re.match(r"^\d{4}-\d{2}-\d{2}$", text.strip()):
        return Deadline(0, absolute=_template(text.strip(), types, params, default_alias,
                                              "deadline"))
    raise _ActionError(f"bad deadline {text!r}: write '+2d' (from the decision date), "
                       "'{a.start}+0d' / '{a.start}-1d' (from a date field), "
                       "'+{param.days}d' or a date", "deadline")


# -- the rule base -------------------------------------------------------------------------------

_CACHE: dict[tuple[str, ...], CompiledRuleBase] = {}
_CACHE_MAX = 16


def compile_rule_base(base: RuleBase, on: date, concepts: ConceptIndex, *,
                      entries: list[RuleEntry] | None = None,
                      catch_all: bool = False) -> CompiledRuleBase:
    """Compile the versions in force on `on` (or the given entries); RuleError on any error."""
    chosen = entries if entries is not None else base.in_force(on)
    keys = tuple(sorted(e.key for e in chosen))
    cache_key = (base.fingerprint, concepts.fingerprint, on.isoformat(), str(catch_all), *keys)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    compiled: dict[str, CompiledRule] = {}
    problems: list[RuleProblem] = []
    warnings: list[RuleProblem] = []
    for e in chosen:
        rule, probs = compile_entry(e, concepts, on)
        problems += [p for p in probs if p.severity == "error"]
        warnings += [p for p in probs if p.severity != "error"]
        if rule is not None:
            compiled[rule.key] = rule
    if problems:
        raise RuleError(problems)
    rulesets, routing = _group(compiled, catch_all)
    out = CompiledRuleBase(on=on, rules=compiled, rulesets=rulesets, routing=routing,
                           concepts=concepts, fingerprint="|".join(cache_key[:3]),
                           warnings=warnings, fields_by_type=_fields_read(compiled))
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[cache_key] = out
    return out


def _fields_read(rules: Mapping[str, CompiledRule]) -> dict[str, frozenset[str]]:
    """Per fact type, the fields some condition reads (its own or through a join).

    The engine asserts only these (with ``id`` and ``type``): the Rete network never sees the
    rest, which templates read from the full fact kept in Python. Smaller facts are faster
    to serialise, send to the engine process and match.
    """
    out: dict[str, set[str]] = {}
    for r in rules.values():
        types = dict(zip(r.aliases, r.fact_types, strict=True))
        for alias, cond in zip(r.aliases, r.conditions, strict=True):
            out.setdefault(types[alias], {"id", "type"}).update(cond.reads)
            for other, name in cond.join_reads:
                out.setdefault(types[other], {"id", "type"}).add(name)
    return {t: frozenset(v) for t, v in out.items()}


def _group(rules: Mapping[str, CompiledRule], catch_all: bool
           ) -> tuple[list[dict[str, Any]], dict[str, tuple[int, ...]]]:
    """Rulesets = connected components of rules over the fact types they share."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rules.values():
        first = r.fact_types[0]
        for t in r.fact_types[1:]:
            parent[find(t)] = find(first)
        find(first)
    components: dict[str, list[str]] = {}
    for key in sorted(rules):
        components.setdefault(find(rules[key].fact_types[0]), []).append(key)
    rulesets: list[dict[str, Any]] = []
    routing: dict[str, list[int]] = {}
    for _, keys in sorted(components.items()):
        idx = len(rulesets)
        definition = {k: rules[k].definition for k in keys}
        types = sorted({t for k in keys for t in rules[k].fact_types})
        if catch_all:
            for t in types:
                definition[f"_catch.{t}"] = {"all": [{"m": {"type": t}}]}
        rulesets.append(definition)
        for t in types:
            routing.setdefault(t, []).append(idx)
    return rulesets, {t: tuple(v) for t, v in routing.items()}
