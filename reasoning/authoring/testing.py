"""Running the test cases written inside rule files (``ecobrain rules test``).

A test case gives a decision date, input facts and expectations::

    - name: 三天 >200 且一天 >300 → 红色
      on: 2024-03-01
      given: [{type: alert_assessment, region_code: "330100", longest_run_over_200: 3, ...}]
      expect: [{alert: {level: AlertRed, region_code: "330100"}}]
      forbid: [{alert: {level: AlertYellow}}]

The rules of the file (``scope: all``: of the whole folder) in force on ``on`` run on the
given facts through the real engine and the real merge, exactly as in a decision; the legal
grounds are resolved when a graph is at hand. Each ``expect`` must match at least one
conclusion, no ``forbid`` may match any.

Matching a conclusion: each expected field equals the conclusion's (a scalar expected against
a list means "contains"; two lists compare as sets); ``subject_kind``/``subject_id``/
``subject_name`` read a task's subject; ``rule`` is a rule id among the applied reasons;
``text_contains`` a substring of any of its texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecobrain.reasoning.authoring.rulebase import RuleBase, load_rule_base
from ecobrain.reasoning.decisions.conclusions import Conclusion, Decision, build_decision
from ecobrain.reasoning.decisions.legal_grounds import resolve_grounds
from ecobrain.reasoning.engine.facts import FactSet
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.dsl import LoadedFile, TestCase
from ecobrain.reasoning.language.errors import RuleError


@dataclass
class CaseResult:
    file: str
    name: str
    line: int | None
    on: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    conclusions: list[str] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def _text_of(c: Conclusion) -> str:
    d = c.model_dump()
    parts = [d.get("note") or ""]
    parts += d.get("descriptions") or []
    parts += [i["text"] for i in d.get("items") or []]
    parts += d.get("texts") or []
    parts += d.get("rationales") or []
    parts += [e["text"] for e in d.get("escalations") or []]
    return "\n".join(p for p in parts if p)


def matches(c: Conclusion, expected: dict[str, Any]) -> bool:
    data = c.model_dump()
    if c.kind == "task":
        data.update(subject_kind=data["subject"]["kind"], subject_id=data["subject"]["id"],
                    subject_name=data["subject"].get("name"))
    for k, want in (expected or {}).items():
        if k == "rule":
            if want not in {r.rule_id for r in c.reasons if r.outcome == "applied"}:
                return False
            continue
        if k == "text_contains":
            if str(want) not in _text_of(c):
                return False
            continue
        have = data.get(k)
        if isinstance(have, list):
            if isinstance(want, list):
                if sorted(map(str, have)) != sorted(map(str, want)):
                    return False
            elif want not in have and str(want) not in map(str, have):
                return False
        elif isinstance(have, float) and isinstance(want, int | float):
            if abs(have - float(want)) > 1e-9:
                return False
        elif have != want and str(have) != str(want):
            return False
    return True


def describe(c: Conclusion) -> str:
    d = c.model_dump()
    if c.kind == "alert":
        return f"alert {d['region_code']} {d['level']}"
    if c.kind == "measure":
        return f"measure {d['region_code']} {d['measure_type']} ratio={d.get('reduction_ratio')}"
    if c.kind == "task":
        return (f"task {d['subject']['kind']}:{d['subject']['id']} -> {d['region_code']} "
                f"{','.join(d['measure_types'])} p{d['priority']}")
    return f"advice {d['region_code']} {d['measure_type']} {d.get('pollutant') or ''}"


def run_case(base: RuleBase, file: LoadedFile, index: int, case: TestCase,
             concepts: ConceptIndex, store: Any = None) -> CaseResult:
    line = file.line("tests", index)
    result = CaseResult(file=file.display, name=case.name, line=line, on=case.on.isoformat(),
                        passed=False)
    scope = base if case.scope == "all" else base.for_file(file)
    entries = scope.in_force(case.on, include_drafts=True)
    try:
        compiled = compile_rule_base(scope, case.on, concepts, entries=entries)
    except RuleError as exc:
        result.failures.append(f"rules do not compile: {exc}")
        return result
    facts = []
    for i, g in enumerate(case.given):
        f = dict(g)
        f.setdefault("id", f"given.{i + 1}")
        facts.append(f)
    factset = FactSet(facts=facts)
    try:
        engine_result = Engine(compiled).run(facts, decision_date=case.on)
    except Exception as exc:  # report, do not crash the whole test run
        result.failures.append(f"engine error: {exc}")
        return result
    grounds = resolve_grounds(store, compiled.citations(), case.on) if store is not None else {}
    decision = build_decision(result=engine_result, compiled=compiled, factset=factset,
                              grounds=grounds, run_id=f"test:{file.display}:{case.name}",
                              on=case.on)
    conclusions = decision.conclusions()
    result.decision = decision
    result.conclusions = [describe(c) for c in conclusions]
    for exp in case.expect:
        kind, fields = next(iter(exp.items()))
        if not any(c.kind == kind and matches(c, fields) for c in conclusions):
            result.failures.append(f"expected {kind} {fields}, not concluded")
    for exp in case.forbid:
        kind, fields = next(iter(exp.items()))
        hits = [c for c in conclusions if c.kind == kind and matches(c, fields)]
        if hits:
            result.failures.append(f"forbidden {kind} {fields} concluded: "
                                   + "; ".join(describe(c) for c in hits))
    result.passed = not result.failures
    return result


def run_rule_tests(path: str | Path | None = None, store: Any = None, *,
                   concepts: ConceptIndex | None = None,
                   base: RuleBase | None = None) -> list[CaseResult]:
    """Every test case of every file under `path` (the bundled rules by default)."""
    if base is None:
        base, _ = load_rule_base(path, strict=True)
    concepts = concepts or ConceptIndex.for_store(store)
    results = []
    for f in base.files:
        for i, case in enumerate(f.model.tests if f.model else []):
            results.append(run_case(base, f, i, case, concepts, store))
    return results
