"""Why did no rule fire here? Every rule version, tested on a decision's stored facts.

For a decision and a subject — a region (GB/T 2260 code), an enterprise or a hotspot — each
rule version of the rule base (active, draft, retired; in force on the decision date or not)
is compiled for the decision date and its condition blocks are matched, in order, against the
decision's working memory (:mod:`.memory`: every fact the engine saw). The first
block that can be about the subject only takes facts about it; later blocks follow the joins.
The answer per version is one of:

- ``fired``: the engine fired it on facts about the subject (its conclusions are named);
- ``matched``: its conditions hold on the stored facts, but it did not fire — because it was
  not in force on the date, a draft, retired, or superseded by a later version;
- ``failed``: the block that failed, the first test in it that failed and the value the fact
  held (``longest_run_over_150 >= 3`` saw 1; for an ``or`` every branch with its value);
- ``no_fact``: no fact of the block's type about the subject (e.g. enterprises are facts of a
  region only once an alert covers it);
- ``not_compiled``: the version does not compile (its problem is given).

Conditions are evaluated by :func:`ecobrain.reasoning.language.expressions.evaluate`, the reference
semantics the compiler is tested against (a missing field fails every comparison), over the
facts as the engine received them. Joins hold only within one engine partition (a city, or
province-wide facts), as in the engine.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from ecobrain.reasoning.authoring.rulebase import RuleBase, RuleEntry
from ecobrain.reasoning.authoring.standing import standings
from ecobrain.reasoning.decisions.memory import Memory, NoMemory, load_memory
from ecobrain.reasoning.decisions.run_decision import rule_base_for
from ecobrain.reasoning.decisions.trace import saved_trace
from ecobrain.reasoning.engine.runner import ALL_PARTITIONS
from ecobrain.reasoning.language.compiler import CompiledRule, compile_entry
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.expressions import (
    And,
    AnyOf,
    Compare,
    Exists,
    ListHas,
    Not,
    Or,
    evaluate,
)
from ecobrain.reasoning.language.fact_types import FACT_TYPES

SubjectKind = Literal["region", "enterprise", "hotspot"]
Outcome = Literal["fired", "matched", "failed", "no_fact", "not_compiled"]
_REGION_CODE = re.compile(r"^\d{6}$")
_MAX_TRIES = 200_000
_OPS_ZH = {"==": "为", "!=": "不为", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
# The Chinese names of the alert assessment's fields, for the documents' explanation: the
# fields the alert gradings test (reasoning.language.fact_types describes them in English).
ASSESSMENT_LABELS_ZH = {
    "days_over_150": "日AQI>150的天数", "days_over_200": "日AQI>200的天数",
    "days_over_300": "日AQI>300的天数", "longest_run_over_150": "日AQI>150最长连续天数",
    "longest_run_over_200": "日AQI>200最长连续天数",
    "longest_run_over_300": "日AQI>300最长连续天数", "peak_aqi": "预测日AQI峰值",
    "driver": "首要污染物", "forecast_days": "预报天数",
}  # condition evaluations per rule version (a guard, not a limit met)
_SUBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "region": ("region_code", "county_code"),
    "enterprise": ("enterprise_id", "subject_id"),
    "hotspot": ("hotspot_id",),
}


class FailedTest(BaseModel):
    """The first test of a condition that did not hold, and what the fact held."""

    test: str = Field(description="the test, written in the condition language")
    field: str | None = Field(default=None, description="the field it read")
    saw: Any = Field(default=None, description="the value the fact held (null: missing)")
    against: Any = Field(default=None, description="for a join: the other fact's value")
    alternatives: list[FailedTest] = Field(
        default_factory=list, description="for an `or`: each branch, each failed")
    op: str | None = Field(default=None, description="a comparison's operator")
    value: Any = Field(default=None, description="the value it was compared with")

    def reader_text(self, labels: Mapping[str, str], concepts: Any = None) -> str:
        """For a document's reader: the field's Chinese name, the operator as a sign and the
        value held (a test on a field without a name keeps the condition language)."""
        if self.alternatives:
            parts = [a._reader_part(labels, concepts) for a in self.alternatives]
            if all(p is not None for p in parts):
                return "、".join(p for p in parts if p) + "均不满足"
            return self.text()
        part = self._reader_part(labels, concepts)
        return self.text() if part is None else part + "不满足"

    def _reader_part(self, labels: Mapping[str, str], concepts: Any) -> str | None:
        label = labels.get(self.field or "")
        if label is None or self.op is None or self.alternatives:
            return None

        def shown(v: Any) -> str:
            if isinstance(v, str) and concepts is not None and v in concepts:
                return str(concepts.label(v))
            return "缺失" if v is None else _show(v)

        return f"{label}{_OPS_ZH[self.op]}{shown(self.value)}（实际为{shown(self.saw)}）"

    def text(self) -> str:
        if self.alternatives:
            return "（" + "；".join(a.text() for a in self.alternatives) + "）均不成立"
        if self.field is None:
            return f"{self.test} 不成立"
        seen = "缺失" if self.saw is None else _show(self.saw)
        other = "" if self.against is None else f"，对方为 {_show(self.against)}"
        return f"{self.test} 不成立（实际 {self.field} = {seen}{other}）"


class BlockFailure(BaseModel):
    block: int = Field(description="0-based index of the condition block")
    alias: str
    fact_type: str
    condition: str = Field(description="the block's condition as written")
    fact_id: str | None = Field(default=None, description="the fact it was tested on")
    bound: dict[str, str] = Field(default_factory=dict,
                                  description="earlier blocks: alias -> fact id")
    failed: FailedTest | None = None
    candidates: int = Field(default=0, description="facts of the type tried for the block")
    reason: str = Field(default="", description="why no fact was tried, when none was")


class VersionVerdict(BaseModel):
    key: str
    rule_id: str
    version: int
    title: str
    status: str = Field(description="active, draft or retired")
    effective_from: str | None = None
    effective_to: str | None = None
    in_force: bool = Field(description="the version decisions use on the date")
    on_date: str = Field(description="its standing on the decision date, in words")
    outcome: Outcome
    matched: dict[str, str] = Field(default_factory=dict,
                                    description="alias -> fact id of a full match")
    conclusions: list[str] = Field(default_factory=list, description="fact ids it made")
    failure: BlockFailure | None = None
    problem: str | None = None

    def text(self) -> str:
        head = (f"{self.key}「{self.title}」（{self.effective_from or '—'} 至 "
                f"{self.effective_to or '—'}，{self.on_date}）")
        if self.outcome == "fired":
            return f"{head}：已触发 → {', '.join(self.conclusions) or '（结论被更高级别取代）'}"
        if self.outcome == "matched":
            return f"{head}：条件成立，但未执行（{self.on_date}）"
        if self.outcome == "not_compiled":
            return f"{head}：无法编译：{self.problem}"
        f = self.failure
        assert f is not None
        where = f"条件块 {f.alias}（{f.fact_type}）"
        if self.outcome == "no_fact":
            return f"{head}：{where}无相关事实：{f.reason}"
        assert f.failed is not None
        return (f"{head}：{where} 在事实 {f.fact_id} 上：{f.failed.text()}"
                f"；条件：{f.condition}")


class WhyNot(BaseModel):
    decision_id: str
    decision_date: str
    subject: str
    subject_kind: SubjectKind
    subject_facts: int = Field(description="facts about the subject in the working memory")
    verdicts: list[VersionVerdict]
    not_about_subject: int = Field(description="rule versions none of whose blocks can be "
                                   "about this kind of subject (left out)")
    notes: list[str] = Field(default_factory=list)

    def to_text(self) -> str:
        kind = {"region": "地区", "enterprise": "企业", "hotspot": "热点"}[self.subject_kind]
        lines = [f"为什么没有触发：{kind} {self.subject}（决策 {self.decision_id}，"
                 f"{self.decision_date}；相关事实 {self.subject_facts} 条）"]
        lines += [f"  - {v.text()}" for v in self.verdicts]
        if self.not_about_subject:
            lines.append(f"  （另有 {self.not_about_subject} 个规则版本与此类对象无关）")
        lines += [f"  注：{n}" for n in self.notes]
        return "\n".join(lines)


FailedTest.model_rebuild()


# -- rendering a condition tree ------------------------------------------------------------------

def _show(v: Any) -> str:
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


def _value_text(v: Any) -> str:
    if isinstance(v, str):
        return v if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", v) else json.dumps(v, ensure_ascii=False)
    return json.dumps(v, ensure_ascii=False)


def _list_text(values: Sequence[Any]) -> str:
    shown = [_value_text(v) for v in values[:6]]
    more = f", …（共{len(values)}项）" if len(values) > 6 else ""
    return "[" + ", ".join(shown) + more + "]"


def tree_text(tree: Any, top: bool = True) -> str:
    """A compiled condition tree written back in the condition language (is_a expanded)."""
    if isinstance(tree, Compare):
        if tree.ref is None:
            other = _value_text(tree.value)
        else:
            other = tree.ref.name if tree.ref.alias is None else f"{tree.ref.alias}.{tree.ref.name}"
        return f"{tree.field} {tree.op} {other}"
    if isinstance(tree, Exists):
        return f"exists({tree.field})" if tree.present else f"{tree.field} == null"
    if isinstance(tree, AnyOf):
        return f"{tree.field} in {_list_text(tree.values)}"
    if isinstance(tree, ListHas):
        return f"{tree.field} has_a {_list_text(tree.values)}"
    if isinstance(tree, Not):
        return f"not ({tree_text(tree.item, False)})"
    if isinstance(tree, And | Or):
        if not tree.items:
            return "true" if isinstance(tree, And) else "false"
        word = " and " if isinstance(tree, And) else " or "
        body = word.join(tree_text(i, False) for i in tree.items)
        return body if top or len(tree.items) == 1 else f"({body})"
    return str(tree)


def first_failure(tree: Any, fact: Mapping[str, Any],
                  bindings: Mapping[str, Mapping[str, Any]] | None = None) -> FailedTest | None:
    """The first test of `tree` that fails on `fact` (None: the condition holds)."""
    b = bindings or {}
    if isinstance(tree, And):
        for item in tree.items:
            failed = first_failure(item, fact, b)
            if failed is not None:
                return failed
        return None
    if evaluate(tree, fact, b):
        return None
    if isinstance(tree, Or):
        alternatives = [f for f in (first_failure(i, fact, b) for i in tree.items) if f]
        if len(alternatives) == 1:
            return alternatives[0]
        return FailedTest(test=tree_text(tree), alternatives=alternatives)
    if isinstance(tree, Not):
        return FailedTest(test=tree_text(tree), field=_field_of(tree.item),
                          saw=fact.get(_field_of(tree.item) or ""))
    field = getattr(tree, "field", None)
    against = None
    if isinstance(tree, Compare) and tree.ref is not None:
        against = (fact.get(tree.ref.name) if tree.ref.alias is None
                   else b.get(tree.ref.alias, {}).get(tree.ref.name))
    op, value = (tree.op, tree.value) if isinstance(tree, Compare) and tree.ref is None \
        else (None, None)
    return FailedTest(test=tree_text(tree), field=field, op=op, value=value,
                      saw=fact.get(field) if field else None, against=against)


def _passed_before_failing(tree: Any, fact: Mapping[str, Any],
                           bindings: Mapping[str, Mapping[str, Any]]) -> int:
    """How many leading tests of an `and` hold: the fact that got furthest is the one
    shown (a grade-B enterprise in the right region, not one in another region)."""
    if not isinstance(tree, And):
        return 0
    n = 0
    for item in tree.items:
        if not evaluate(item, fact, bindings):
            break
        n += 1
    return n


def _field_of(tree: Any) -> str | None:
    return getattr(tree, "field", None)


# -- the subject ------------------------------------------------------------------------------

def subject_kind_of(subject: str, memory: Memory) -> SubjectKind:
    """A 6-digit code is a region; an id some fact holds as hotspot_id a hotspot; else an
    enterprise."""
    if _REGION_CODE.match(subject):
        return "region"
    if any(f.get("hotspot_id") == subject for f in memory.facts.values()):
        return "hotspot"
    return "enterprise"


def _about(fact: Mapping[str, Any], subject: str, fields: Sequence[str]) -> bool:
    return any(fact.get(k) == subject for k in fields)


def _subject_fields(fact_type: str, kind: SubjectKind) -> tuple[str, ...]:
    ft = FACT_TYPES[fact_type]
    return tuple(k for k in _SUBJECT_FIELDS[kind] if k in ft.fields)


# -- one rule version --------------------------------------------------------------------------

def _standings(base: RuleBase, on: date) -> dict[str, tuple[bool, str]]:
    """key -> (decisions on `on` use it, its standing in words), one rule as the editor's list
    (:mod:`ecobrain.reasoning.authoring.standing`)."""
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for e in base.entries:
        r = e.rule
        by_rule.setdefault(r.id, []).append({
            "key": r.key, "version": r.version, "status": r.status,
            "effective_from": r.effective_from.isoformat() if r.effective_from else None,
            "effective_to": r.effective_to.isoformat() if r.effective_to else None})
    out = {}
    for versions in by_rule.values():
        for v, (standing, note) in zip(versions, standings(versions, on), strict=True):
            out[v["key"]] = (standing == "in_force", note)
    return out


def _partition_ok(fact: Mapping[str, Any], bound: Sequence[Mapping[str, Any]]) -> bool:
    sid = fact.get("sid") or ALL_PARTITIONS
    for other in bound:
        o = other.get("sid") or ALL_PARTITIONS
        if ALL_PARTITIONS not in (sid, o) and sid != o:
            return False
    return True


class _Search:
    """Depth-first matching of one rule version's blocks; keeps the deepest failure."""

    def __init__(self, rule: CompiledRule, subject: str, kind: SubjectKind,
                 by_type: Mapping[str, list[dict[str, Any]]]):
        self.rule = rule
        self.subject = subject
        self.by_type = by_type
        self.matches: list[dict[str, str]] = []
        self.best: BlockFailure | None = None
        self.best_rank: tuple[int, int] = (-1, -1)
        self.tries = 0
        # the first block that can be about the subject takes only facts about it
        self.filtered: int | None = None
        self.fields: tuple[str, ...] = ()
        for i, ftype in enumerate(rule.fact_types):
            fields = _subject_fields(ftype, kind)
            if fields:
                self.filtered, self.fields = i, fields
                break

    @property
    def relevant(self) -> bool:
        return self.filtered is not None

    def candidates(self, i: int) -> list[dict[str, Any]]:
        facts = self.by_type.get(self.rule.fact_types[i], [])
        if i == self.filtered:
            return [f for f in facts if _about(f, self.subject, self.fields)]
        return facts

    def run(self) -> None:
        self._block(0, {}, [])

    def _fail(self, failure: BlockFailure, score: int = 0) -> None:
        rank = (failure.block, score)
        if self.best is None or rank > self.best_rank:
            self.best, self.best_rank = failure, rank

    def _block(self, i: int, bound: dict[str, str], facts: list[dict[str, Any]]) -> None:
        rule = self.rule
        if i == len(rule.conditions):
            self.matches.append(dict(bound))
            return
        alias, ftype = rule.aliases[i], rule.fact_types[i]
        cond = rule.conditions[i]
        candidates = self.candidates(i)
        failure = BlockFailure(block=i, alias=alias, fact_type=ftype, condition=cond.text
                               or "（任意）", bound=dict(bound), candidates=len(candidates))
        if not candidates:
            failure.reason = self._no_fact_reason(i)
            self._fail(failure)
            return
        bindings = {a: f for a, f in zip(rule.aliases, facts, strict=False)}
        closest: tuple[int, dict[str, Any], FailedTest] | None = None
        for fact in candidates:
            if len(self.matches) >= 20 or self.tries >= _MAX_TRIES:
                return
            self.tries += 1
            if not _partition_ok(fact, facts):
                continue
            missed = first_failure(cond.tree, fact, bindings)
            if missed is None:
                bound[alias] = fact["id"]
                self._block(i + 1, bound, [*facts, fact])
                bound.pop(alias, None)
            else:
                score = _passed_before_failing(cond.tree, fact, bindings)
                if closest is None or score > closest[0]:
                    closest = (score, fact, missed)
        if closest is not None:
            failure.fact_id, failure.failed = closest[1]["id"], closest[2]
            self._fail(failure, closest[0])

    def _no_fact_reason(self, i: int) -> str:
        ftype = self.rule.fact_types[i]
        if i == self.filtered:
            about = " / ".join(f"{k} = {self.subject}" for k in self.fields)
            reason = f"没有 {about} 的 {ftype} 事实"
            if ftype == "enterprise_in_region":
                reason += "（仅在预警覆盖的地区才加入其企业）"
            return reason
        return f"本决策没有 {ftype} 事实"


_COMPILED: dict[tuple[str, str, str, str], tuple[CompiledRule | None, list[Any]]] = {}
_COMPILED_MAX = 2000
_COMPILED_LOCK = threading.Lock()


def _compiled(base: RuleBase, entry: RuleEntry, concepts: ConceptIndex, on: date
              ) -> tuple[CompiledRule | None, list[Any]]:
    """compile_entry, kept per (rule base, concepts, date, version): a document asks for each
    of its regions, the map for each county opened."""
    key = (base.fingerprint, concepts.fingerprint, on.isoformat(), entry.key)
    with _COMPILED_LOCK:
        if key in _COMPILED:
            return _COMPILED[key]
    out = compile_entry(entry, concepts, on)
    with _COMPILED_LOCK:  # the API answers in threads
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = out
    return out


def why_not_in_memory(memory: Memory, base: RuleBase, concepts: ConceptIndex, subject: str, *,
                      kind: SubjectKind | None = None,
                      firings: Sequence[Any] = (), rule_id: str | None = None,
                      rule_prefix: str | None = None, in_force_only: bool = False) -> WhyNot:
    """The why-not answer from a working memory, a rule base and the decision's firings."""
    on = date.fromisoformat(memory.decision_date)
    kind = kind or subject_kind_of(subject, memory)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for fid in sorted(memory.facts):
        f = memory.facts[fid]
        by_type.setdefault(str(f.get("type")), []).append(f)
    standing_of = _standings(base, on)
    fired: dict[tuple[str, frozenset[str]], list[str]] = {}
    for f in firings:
        fired.setdefault((f.rule_key, frozenset(f.facts.values())), []).extend(f.conclusions)
    verdicts: list[VersionVerdict] = []
    skipped = 0
    entries = sorted(base.entries, key=lambda e: (e.rule.id, e.rule.version))
    for entry in entries:
        r = entry.rule
        if (rule_id is not None and r.id != rule_id) or \
                (rule_prefix is not None and not r.id.startswith(rule_prefix)):
            continue
        active, standing = standing_of[r.key]
        if in_force_only and not active:
            continue
        common = {"key": r.key, "rule_id": r.id, "version": r.version, "title": r.title,
                  "status": r.status, "in_force": active, "on_date": standing,
                  "effective_from": r.effective_from.isoformat() if r.effective_from else None,
                  "effective_to": r.effective_to.isoformat() if r.effective_to else None}
        compiled, problems = _compiled(base, entry, concepts, on)
        if compiled is None:
            errors = [p.message for p in problems if p.severity == "error"]
            verdicts.append(VersionVerdict(**common, outcome="not_compiled",
                                           problem="; ".join(errors) or "does not compile"))
            continue
        search = _Search(compiled, subject, kind, by_type)
        if not search.relevant:
            skipped += 1
            continue
        search.run()
        if search.matches:
            made: list[str] = []
            for m in search.matches:
                made += fired.get((r.key, frozenset(m.values())), [])
            was_fired = any((r.key, frozenset(m.values())) in fired for m in search.matches)
            verdicts.append(VersionVerdict(
                **common, outcome="fired" if was_fired else "matched",
                matched=search.matches[0], conclusions=sorted(set(made))))
            continue
        failure = search.best
        assert failure is not None
        verdicts.append(VersionVerdict(
            **common, outcome="no_fact" if failure.failed is None else "failed",
            failure=failure))
    notes = []
    if rule_id is not None and not verdicts and not skipped:
        notes.append(f"no rule {rule_id!r} in the rule base")
    about = [f for f in memory.facts.values()
             if _about(f, subject, _SUBJECT_FIELDS[kind])]
    if not about:
        notes.append(f"the decision holds no fact about {subject}: check the id (a region is "
                     "a 6-digit code, an enterprise its id in the graph, a hotspot its "
                     "hotspot_id)")
    return WhyNot(decision_id=memory.decision_id, decision_date=memory.decision_date,
                  subject=subject, subject_kind=kind, subject_facts=len(about),
                  verdicts=verdicts, not_about_subject=skipped, notes=notes)


def why_not(store: Any, decision_id: str, subject: str, *, kind: SubjectKind | None = None,
            rule_id: str | None = None, base: RuleBase | None = None) -> WhyNot:
    """The why-not answer for a saved decision (the graph's rule base unless one is given)."""
    memory = load_memory(store, decision_id)
    trace = saved_trace(store, decision_id)
    if base is None:
        base, _ = rule_base_for(store)
    return why_not_in_memory(memory, base, ConceptIndex.for_store(store), subject, kind=kind,
                             firings=trace.firings if trace is not None else (),
                             rule_id=rule_id)


def alert_grading_notes(store: Any, decision_id: str, regions: Sequence[tuple[str, str]]
                        ) -> list[str]:
    """For a document's explanation: per region (code, name), each alert grading in force on
    the decision date that did not fire, and the first test that failed with its value.
    Empty for a decision saved without its working memory."""
    try:
        memory = load_memory(store, decision_id)
    except NoMemory:
        return []
    base, _ = rule_base_for(store)
    concepts = ConceptIndex.for_store(store)
    trace = saved_trace(store, decision_id)
    firings = trace.firings if trace is not None else ()
    out = []
    for code, name in regions:
        answer = why_not_in_memory(memory, base, concepts, code, kind="region",
                                   firings=firings, rule_prefix="alert.", in_force_only=True)
        missed = []
        for v in answer.verdicts:
            if v.outcome == "failed" and v.failure is not None and v.failure.failed is not None:
                why = v.failure.failed.reader_text(ASSESSMENT_LABELS_ZH, concepts)
                missed.append(f"{v.title}：{why}")
            elif v.outcome == "no_fact":
                missed.append(f"{v.title}：无预警研判事实")
        if missed:
            out.append(f"预警研判（{name}，为何未达以下级别）：" + "；".join(missed) + "。")
    return out
