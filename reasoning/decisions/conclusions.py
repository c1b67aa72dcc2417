"""Conclusions and the decision: alerts, measures, tasks, advice — merged, dated, explained.

What the engine concludes per rule firing is merged into what a bureau receives:

- **one alert per region**: the highest level; the rules that concluded lower levels for the
  same region stay as reasons marked ``superseded``;
- **one measure per region and measure type**; **one advice per region, measure type and
  pollutant**;
- **one task per subject** per decision: per enterprise or grid cell, and per sector, road or
  region *in the region the task is assigned to* (construction sites of one county are not
  those of the next): the reasons of every rule that asked for it, all the facts they
  matched, the union of their legal grounds, the highest priority and the earliest deadline,
  each distinct action listed.

Each conclusion carries its reasons (rule id and version, the firing, the fact of each block),
its evidence (the model findings under those facts, followed through upstream conclusions),
and its legal grounds on the decision date (:mod:`.ground_selection`): those in force that day
and applicable in its region first, in the order of the legal hierarchy, grounds no longer in
force only as history beside them; ``legal_review_required`` is true only when no cited ground
is in force that day, and its reasons say which. An escalation (what to do on a violation)
carries its own grounds and flag the same way: its penalty text is rendered from the grounds in
force, never written into the rule.

Ids are content-derived: the decision id from the run id, the decision date, the rule
versions and a digest of the input facts; a conclusion id from the decision id, its kind and
its subject. Everything is sorted, so the same inputs give byte-identical JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ecobrain.model_adapters.run_warnings import RunWarning
from ecobrain.model_adapters.trusted import trusted
from ecobrain.reasoning.decisions.explain import explain
from ecobrain.reasoning.decisions.ground_selection import Selection, select
from ecobrain.reasoning.decisions.legal_grounds import LegalGround
from ecobrain.reasoning.decisions.rule_info import RuleInfo, rule_info
from ecobrain.reasoning.engine.runner import paused_gc


def _fast(cls: Any, /, **data: Any) -> Any:
    """Build a model from trusted values without validating them (the hot path of a decision).

    Everything a decision holds was built here from the compiled rules and the engine's facts,
    so validating it again (100k facts, as many firings) would only cost time; defaults are
    filled in as pydantic would. ``Decision.model_validate_json`` validates a stored decision.
    """
    return trusted(cls, data, every_field_set=True)


def short_hash(*parts: Any, n: int = 16) -> str:
    body = _plain_json(parts)
    if body is None:
        body = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:n]


_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


def _plain_json(value: Any) -> str | None:
    """``json.dumps(value, ensure_ascii=False)`` for texts, None, booleans, integers and
    tuples/lists of them, written directly; None for anything else (floats, dicts ...).

    Every conclusion id hashes a short tuple of texts: building the encoder for each of
    them cost more than the hash (~23k per 100k-fact decision).
    """
    cls = value.__class__
    if cls is str:
        return _encode_str(value)
    if value is None:
        return "null"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return int.__repr__(value)
    if cls is tuple or cls is list:
        items = []
        for v in value:
            text = _plain_json(v)
            if text is None:
                return None
            items.append(text)
        return "[" + ", ".join(items) + "]"
    return None


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(_M):
    """One rule firing behind a conclusion."""

    rule_key: str = Field(description="<rule_id>@<version>")
    rule_id: str
    rule_version: int
    rule_title: str
    priority: int
    firing_id: str
    facts: dict[str, str] = Field(description="block name -> id of the fact it matched")
    conclusion_fact: str = Field(description="id of the engine fact this firing concluded")
    outcome: Literal["applied", "superseded"] = "applied"
    superseded_by: str | None = None
    text: str | None = Field(default=None, description="what this rule said (action text)")


class Subject(_M):
    kind: Literal["enterprise", "grid_cell", "sector", "road", "region"]
    id: str
    name: str | None = None


class TaskItem(_M):
    measure_type: str
    measure_label: str
    text: str
    rule_key: str


class Escalation(_M):
    text: str
    citation_ids: list[str]
    rule_key: str
    basis: str = Field(default="", description="依照…处理: the in-force grounds on the date")
    legal_review_required: bool = False
    legal_review_reasons: list[str] = Field(default_factory=list)


class Conclusion(_M):
    id: str
    kind: str
    region_code: str
    region_name: str | None = None
    region_level: str | None = None
    city_code: str | None = None
    priority: int = 0
    reasons: list[Reason]
    legal_grounds: list[LegalGround] = Field(default_factory=list)
    legal_review_required: bool = False
    legal_review_reasons: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="finding ids")

    @property
    def rule_keys(self) -> list[str]:
        return sorted({r.rule_key for r in self.reasons if r.outcome == "applied"})


class Alert(Conclusion):
    kind: Literal["alert"] = "alert"
    level: str
    level_label: str
    severity_rank: int
    start: str | None = None
    end: str | None = None
    driver: str | None = None
    note: str | None = None


class Measure(Conclusion):
    kind: Literal["measure"] = "measure"
    measure_type: str
    measure_label: str
    level: str | None = None
    reduction_ratio: float | None = None
    pollutants: list[str] = Field(default_factory=list)
    start: str | None = None
    end: str | None = None
    descriptions: list[str] = Field(default_factory=list)


class ScheduleEntry(_M):
    """Days on which one emergency measure is in force for the subject (inclusive)."""

    date_from: str
    date_to: str
    level: str
    level_label: str
    measure_type: str
    measure_label: str
    text: str
    rule_key: str


class Task(Conclusion):
    kind: Literal["task"] = "task"
    subject: Subject
    measure_types: list[str]
    items: list[TaskItem]
    deadline: str | None = None
    escalations: list[Escalation] = Field(default_factory=list)
    schedule: list[ScheduleEntry] = Field(
        default_factory=list, description="the emergency measure in force on each day: the "
        "highest alert level covering the subject that day (one order, never two)")


class Advice(Conclusion):
    kind: Literal["advice"] = "advice"
    measure_type: str
    measure_label: str
    pollutant: str | None = None
    texts: list[str]
    rationales: list[str] = Field(default_factory=list)


class FiringRecord(_M):
    id: str
    rule_key: str
    facts: dict[str, str]
    partition: str
    round: int
    conclusions: list[str]


class FindingRecord(_M):
    id: str
    kind: str
    run_id: str
    payload: str = Field(description="the finding as JSON (model_dump_json)")


class Decision(_M):
    """The reasoning step's result for one model run on one decision date."""

    id: str
    run_id: str
    decision_date: str
    created_from: dict[str, Any] = Field(default_factory=dict)
    rule_versions: list[str]
    facts_digest: str
    alerts: list[Alert] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    advice: list[Advice] = Field(default_factory=list)
    legal_review_required: bool = False
    rules: dict[str, RuleInfo] = Field(default_factory=dict)
    facts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    firings: list[FiringRecord] = Field(default_factory=list)
    findings: dict[str, FindingRecord] = Field(default_factory=dict)
    evidence: dict[str, list[str]] = Field(default_factory=dict,
                                           description="input fact id -> finding ids")
    notes: list[str] = Field(default_factory=list)
    warnings: list[RunWarning] = Field(
        default_factory=list, description="what limits the decision (a day left out, a lower "
        "bound, a run too short to rule out a higher alert): shown with it everywhere")
    incomplete: bool = Field(default=False, description="the decision does not cover all the "
                             "run was meant to (see the warnings marked incomplete)")
    stats: dict[str, Any] = Field(default_factory=dict)

    def conclusions(self) -> list[Conclusion]:
        return [*self.alerts, *self.measures, *self.tasks, *self.advice]

    def conclusion(self, conclusion_id: str) -> Conclusion:
        for c in self.conclusions():
            if c.id == conclusion_id:
                return c
        raise KeyError(f"no conclusion {conclusion_id!r} in decision {self.id}")

    def explain(self, conclusion_id: str) -> Any:
        """Rule, version, matched facts (and the upstream chain), evidence, article texts."""
        return explain(self, conclusion_id)

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "run_id": self.run_id, "decision_date": self.decision_date,
                "alerts": len(self.alerts), "measures": len(self.measures),
                "tasks": len(self.tasks), "advice": len(self.advice),
                "legal_review_required": self.legal_review_required,
                "rule_versions": len(self.rule_versions),
                "warnings": [w.message_zh for w in self.warnings],
                "incomplete": self.incomplete}


# -- building a decision --------------------------------------------------------------------

def decision_id(run_id: str, on: date, rule_keys: list[str], facts_digest: str) -> str:
    return "dec-" + short_hash(run_id, on.isoformat(), sorted(rule_keys), facts_digest)


def _group_key(kind: str, fact: Mapping[str, Any]) -> tuple[Any, ...]:
    if kind == "alert":
        return (fact["region_code"],)
    if kind == "measure":
        return (fact["region_code"], fact.get("measure_type"))
    if kind == "task":
        # an enterprise or a grid cell is one subject wherever it is asked about; a sector,
        # a road or a region's schools are a subject *of the region* the task is assigned to
        if fact.get("subject_kind") in ("enterprise", "grid_cell"):
            return (fact.get("subject_kind"), fact.get("subject_id"))
        return (fact.get("subject_kind"), fact.get("subject_id"), fact["region_code"])
    return (fact["region_code"], fact.get("measure_type"), fact.get("pollutant") or "")


class _Builder:
    def __init__(self, result: Any, compiled: Any, grounds: Mapping[str, LegalGround],
                 evidence: Mapping[str, list[str]], dec_id: str, day: str):
        self.result = result
        self.compiled = compiled
        self.grounds = grounds
        self.fact_evidence = evidence
        self.dec_id = dec_id
        self.day = day
        self.concepts = compiled.concepts
        self.by_fact = {c.id: c for c in result.conclusions}
        self._ev_cache: dict[str, list[str]] = {}
        self.prio = {k: r.rule.priority for k, r in compiled.rules.items()}
        self._grounds_cache: dict[Any, tuple[list[LegalGround], list[str]]] = {}
        self._escalation_cache: dict[tuple[tuple[str, ...], str], Selection] = {}
        self._rule_of: dict[str, Any] = {}

    def label(self, cid: str | None) -> str:
        return self.concepts.label(cid) if cid else ""

    def evidence_of(self, fact_id: str, depth: int = 0) -> list[str]:
        if fact_id in self._ev_cache:
            return self._ev_cache[fact_id]
        if fact_id in self.fact_evidence:
            out = list(self.fact_evidence[fact_id])
        elif fact_id in self.by_fact and depth < 8:
            firing = self.by_fact[fact_id].firing
            out = sorted({e for f in firing.facts.values()
                          for e in self.evidence_of(f, depth + 1)})
        else:
            out = []
        self._ev_cache[fact_id] = out
        return out

    def reason(self, c: Any) -> Reason:
        rule = self._rule_of.get(c.rule_key)
        if rule is None:
            rule = self._rule_of[c.rule_key] = self.compiled.rules[c.rule_key].rule
        payload = c.payload
        text = payload.get("action") or payload.get("description") or \
            payload.get("text") or payload.get("note")
        # built without validation: every value comes from the compiled rules and the engine
        return _fast(Reason,
            rule_key=c.rule_key, rule_id=rule.id, rule_version=rule.version,
            rule_title=rule.title, priority=rule.priority, firing_id=c.firing.id,
            facts=_by_key(c.firing.facts), conclusion_fact=c.id,
            outcome="superseded" if c.superseded_by else "applied",
            superseded_by=c.superseded_by, text=text)

    def common(self, kind: str, key: tuple[Any, ...], items: list[Any]) -> dict[str, Any]:
        applied = [c for c in items if c.superseded_by is None] or items
        prio = self.prio
        head = max(applied, key=lambda c: (c.fact.get("priority", 0), prio[c.rule_key],
                                           c.rule_key))
        seen: set[tuple[str, str]] = set()
        reasons: list[Reason] = []
        for c in sorted(items, key=lambda c: (c.superseded_by is not None, c.rule_key, c.id)):
            if (c.rule_key, c.id) in seen:
                continue  # the same firing seen in several partitions (province-wide facts)
            seen.add((c.rule_key, c.id))
            reasons.append(self.reason(c))
        cited = tuple(sorted({(c.rule_key, tuple((c.payload.get("escalation") or {})
                                                 .get("legal_basis", ())))
                              for c in applied}))
        glist, review = self._grounds_of(cited, head.fact["region_code"])
        ev_cache = self._ev_cache
        found: set[str] = set()
        for c in items:
            for fact_id in c.firing.facts.values():
                ev = ev_cache.get(fact_id)
                found.update(ev if ev is not None else self.evidence_of(fact_id))
        evidence = sorted(found)
        f = head.fact
        return {
            "id": f"{kind}-{short_hash(self.dec_id, kind, key)}", "region_code": f["region_code"],
            "region_name": f.get("region_name"), "region_level": f.get("region_level"),
            "city_code": f.get("city_code"), "reasons": reasons, "legal_grounds": glist,
            "legal_review_required": bool(review), "legal_review_reasons": list(review),
            "evidence": evidence, "_head": head, "_applied": applied,
        }

    def _grounds_of(self, cited: tuple[tuple[str, tuple[str, ...]], ...], region_code: str
                    ) -> tuple[list[LegalGround], list[str]]:
        """The grounds of (rule, escalation citations) pairs in a region, cached: many
        conclusions share the same rules, and their grounds are the same objects.

        Basis grounds first (in force in hierarchy order, then history), then escalation
        grounds the same way; the review reasons are those of the basis only (an escalation
        carries its own, see :meth:`escalation_grounds`)."""
        key = (cited, region_code)
        hit = self._grounds_cache.get(key)
        if hit is not None:
            return hit
        grounds: dict[tuple[str, str], LegalGround] = {}
        for rule_key, escalation in cited:
            for cid in self.compiled.rules[rule_key].rule.legal_basis:
                self._add_ground(grounds, cid, "basis", rule_key)
            for cid in escalation:
                self._add_ground(grounds, cid, "escalation", rule_key)
        basis = select([g for (_, role), g in grounds.items() if role == "basis"],
                       region_code, self.day)
        esc = select([g for (_, role), g in grounds.items() if role == "escalation"],
                     region_code, self.day)
        glist = [*basis.grounds, *(esc.grounds if esc.grounds else ())]
        review = list(basis.reasons)
        self._grounds_cache[key] = (glist, review)
        return glist, review

    def escalation_grounds(self, citation_ids: tuple[str, ...], region_code: str) -> Selection:
        """The in-force grounds of one escalation (its penalty) in a region on the date."""
        key = (citation_ids, region_code)
        hit = self._escalation_cache.get(key)
        if hit is None:
            found = [self.grounds[c] for c in citation_ids if c in self.grounds]
            hit = self._escalation_cache[key] = select(found, region_code, self.day)
        return hit

    def _add_ground(self, grounds: dict[tuple[str, str], LegalGround], cid: str, role: str,
                    rule_key: str) -> None:
        k = (cid, role)
        if k not in grounds:
            base = self.grounds.get(cid)
            if base is None:
                return
            grounds[k] = base.model_copy(update={"role": role, "rules": [rule_key]})
        elif rule_key not in grounds[k].rules:
            grounds[k] = grounds[k].model_copy(
                update={"rules": sorted([*grounds[k].rules, rule_key])})

    def measure_of(self, c: Any) -> dict[str, Any] | None:
        """The leveled, dated measure behind a task conclusion (its firing matched it)."""
        for fid in c.firing.facts.values():
            f = self.result.facts.get(fid)
            if f is not None and f.get("type") == "measure" and f.get("level") \
                    and f.get("start"):
                return f
        return None

    def schedule(self, ordered: list[Any]) -> tuple[list[ScheduleEntry], set[str], bool]:
        """One emergency order per subject: each day, the measure of the highest alert level
        covering it (a county's yellow and its city's red on the same days are one red order,
        not two contradictory lines). Returns the entries, the conclusions they replace, and
        whether a single entry spans its measure's whole window (its text then says it all)."""
        leveled = [(c, m) for c in ordered if (m := self.measure_of(c)) is not None]
        if not leveled:
            return [], set(), False
        days: dict[str, tuple[int, Any, dict[str, Any]]] = {}
        for c, m in leveled:
            rank = int(self.concepts.prop(str(m["level"]), "severity_rank", 0))
            first = date.fromisoformat(m["start"])
            last = date.fromisoformat(m.get("end") or m["start"])
            for n in range((last - first).days + 1):
                day = (first + timedelta(days=n)).isoformat()
                held = days.get(day)
                # the highest level; at one level the first in priority order (ordered)
                if held is None or rank > held[0]:
                    days[day] = (rank, c, m)
        entries: list[ScheduleEntry] = []
        windows: dict[int, tuple[str, str]] = {}  # entry -> its measure's window
        for day in sorted(days):
            _, c, m = days[day]
            mt = c.fact.get("measure_type", "")
            text = c.payload.get("action") or ""
            prev = entries[-1] if entries else None
            if prev is not None and (prev.level, prev.measure_type, prev.text) == (
                    m["level"], mt, text) and \
                    date.fromisoformat(prev.date_to) + timedelta(days=1) == \
                    date.fromisoformat(day):
                prev.date_to = day
                continue
            entries.append(_fast(ScheduleEntry, date_from=day, date_to=day, level=m["level"],
                                 level_label=self.label(m["level"]), measure_type=mt,
                                 measure_label=self.label(mt), text=text, rule_key=c.rule_key))
            windows[len(entries) - 1] = (m["start"], m.get("end") or m["start"])
        whole = len(entries) == 1 and windows[0] == (entries[0].date_from, entries[0].date_to)
        return entries, {c.id for c, _ in leveled}, whole

    def build(self) -> tuple[list[Alert], list[Measure], list[Task], list[Advice]]:
        groups: dict[tuple[str, tuple[Any, ...]], list[Any]] = defaultdict(list)
        for c in self.result.conclusions:
            groups[(c.kind, _group_key(c.kind, c.fact))].append(c)
        alerts, measures, tasks, advice = [], [], [], []
        for (kind, key), items in sorted(groups.items(), key=lambda kv: (
                kv[0][0], tuple(str(x) for x in kv[0][1]))):
            base = self.common(kind, key, items)
            head = base.pop("_head")
            applied = base.pop("_applied")
            if kind == "alert":
                level = head.fact["level"]
                alerts.append(_fast(Alert, **base, priority=self.compiled.rules[head.rule_key]
                                    .rule.priority, level=level, level_label=self.label(level),
                                    severity_rank=head.fact.get("severity_rank", 0),
                                    start=head.fact.get("start"), end=head.fact.get("end"),
                                    driver=head.fact.get("driver"),
                                    note=head.payload.get("note")))
            elif kind == "measure":
                ratios = [c.fact["reduction_ratio"] for c in applied
                          if c.fact.get("reduction_ratio") is not None]
                starts = [c.fact["start"] for c in applied if c.fact.get("start")]
                ends = [c.fact["end"] for c in applied if c.fact.get("end")]
                mt = head.fact.get("measure_type")
                measures.append(_fast(Measure,
                    **base, priority=max(self.compiled.rules[c.rule_key].rule.priority
                                         for c in applied),
                    measure_type=mt, measure_label=self.label(mt), level=head.fact.get("level"),
                    reduction_ratio=max(ratios) if ratios else None,
                    pollutants=sorted({p for c in applied for p in c.fact.get("pollutants", [])}),
                    start=min(starts) if starts else None, end=max(ends) if ends else None,
                    descriptions=_distinct(c.payload.get("description") for c in applied)))
            elif kind == "task":
                ordered = sorted(applied, key=lambda c: (-c.fact.get("priority", 0), c.rule_key,
                                                         c.id))
                schedule, scheduled, whole = self.schedule(ordered)
                items_out: list[TaskItem] = []
                if schedule:
                    items_out.append(_fast(TaskItem,
                        measure_type=schedule_measure(schedule), measure_label=self.label(
                            schedule_measure(schedule)), text=schedule_text(schedule, whole),
                        rule_key=schedule[0].rule_key))
                seen: set[tuple[str, str]] = set()
                for c in ordered:
                    if c.id in scheduled:
                        continue
                    k = (c.fact.get("measure_type", ""), c.payload.get("action") or "")
                    if k in seen:
                        continue
                    seen.add(k)
                    items_out.append(_fast(TaskItem,
                        measure_type=k[0], measure_label=self.label(k[0]), text=k[1],
                        rule_key=c.rule_key))
                deadlines = [c.fact["deadline"] for c in applied if c.fact.get("deadline")]
                escalations = []
                esc_seen: set[str] = set()
                for c in ordered:
                    e = c.payload.get("escalation")
                    if e and e["text"] not in esc_seen:
                        esc_seen.add(e["text"])
                        sel = self.escalation_grounds(tuple(e["legal_basis"]),
                                                      head.fact["region_code"])
                        escalations.append(_fast(Escalation,
                            text=e["text"], citation_ids=list(e["legal_basis"]),
                            rule_key=c.rule_key, basis=escalation_basis(sel),
                            legal_review_required=sel.review_required,
                            legal_review_reasons=list(sel.reasons)))
                tasks.append(_fast(Task,
                    **base, priority=max(c.fact.get("priority", 0) for c in applied),
                    subject=_fast(Subject, kind=head.fact["subject_kind"],
                                  id=head.fact["subject_id"],
                                  name=head.fact.get("subject_name")),
                    measure_types=sorted({i.measure_type for i in items_out}
                                         | {e.measure_type for e in schedule}),
                    items=items_out, deadline=min(deadlines) if deadlines else None,
                    escalations=escalations, schedule=schedule))
            else:
                mt = head.fact.get("measure_type")
                advice.append(_fast(Advice,
                    **base, priority=max(self.compiled.rules[c.rule_key].rule.priority
                                         for c in applied),
                    measure_type=mt, measure_label=self.label(mt),
                    pollutant=head.fact.get("pollutant"),
                    texts=_distinct(c.payload.get("text") for c in applied),
                    rationales=_distinct(c.payload.get("rationale") for c in applied)))
        tasks.sort(key=lambda t: (-t.priority, t.region_code, t.subject.kind, t.subject.id))
        alerts.sort(key=lambda a: a.region_code)
        measures.sort(key=lambda m: (m.region_code, m.measure_type))
        advice.sort(key=lambda a: (a.region_code, a.measure_type, a.pollutant or ""))
        return alerts, measures, tasks, advice


def schedule_measure(schedule: list[ScheduleEntry]) -> str:
    """The order's measure type: the one of its highest-level days (the first such)."""
    return schedule[0].measure_type if len({e.measure_type for e in schedule}) == 1 else \
        "EmergencyEmissionReduction"


def schedule_text(schedule: list[ScheduleEntry], whole: bool = False) -> str:
    """The order as one line a bureau reads: each period with its level and measure (a single
    period that is its measure's whole window: the rule's text, which names both)."""
    def period(e: ScheduleEntry) -> str:
        return e.date_from if e.date_from == e.date_to else f"{e.date_from}至{e.date_to}"
    if whole:
        return schedule[0].text
    if len(schedule) == 1:
        e = schedule[0]
        return f"{period(e)}（{e.level_label}）：{e.text}"
    return "应急减排日程：" + "；".join(f"{period(e)}（{e.level_label}）{e.text}"
                                      for e in schedule)


def escalation_basis(sel: Selection) -> str:
    """依照《…》第X条处理 from the in-force grounds; else what a reviewer must look at.

    The penalty (who fines, how much) is in the text of the cited clause, shown with it in
    the documents; nothing about it is written into a rule, so a change of law changes this.
    """
    if sel.review_required:  # the full reasons are in legal_review_reasons
        names = "、".join(g.citation for g in sel.grounds) or "（未引用适用条款）"
        return f"处理依据待法务复核：{names}在决策日均非现行有效条款"
    return "依照" + "、".join(g.citation for g in sel.in_force) + "处理"


def _by_key(d: Mapping[str, str]) -> dict[str, str]:
    """A copy sorted by key (one per reason and firing: most have one or two entries)."""
    if len(d) < 2:
        return dict(d)
    return dict(sorted(d.items()))


def _distinct(values: Any) -> list[str]:
    out: list[str] = []
    for v in values:
        if v and v not in out:
            out.append(str(v))
    return out


def build_decision(*, result: Any, compiled: Any, factset: Any,
                   grounds: Mapping[str, LegalGround], run_id: str, on: date,
                   created_from: Mapping[str, Any] | None = None,
                   notes: list[str] | None = None,
                   warnings: list[RunWarning] | None = None) -> Decision:
    """Merge the engine's conclusions into a decision with ids, grounds and the trace."""
    with paused_gc():
        return _build_decision(result=result, compiled=compiled, factset=factset,
                               grounds=grounds, run_id=run_id, on=on,
                               created_from=created_from, notes=notes,
                               warnings=list(warnings or []))


_CONCLUSION_FACT_TYPES = frozenset({"alert", "measure", "task", "advice"})


def _knowledge_digest(result: Any, factset: Any) -> str:
    """The input facts plus the graph context the engine pulled in while running.

    Enterprises of alerted regions are asserted lazily, so they are not in the input facts; a
    changed register (a new grade, a moved enterprise) must give a different decision, not the
    old id with other tasks. Conclusions are left out: they follow from the rest.
    """
    inputs = {f["id"] for f in factset.facts}
    facts = result.facts
    context = [facts[fid] for fid in sorted(
        fid for fid, f in facts.items()
        if fid not in inputs and f.get("type") not in _CONCLUSION_FACT_TYPES)]
    return factset.digest if not context else short_hash(factset.digest, context)


def _build_decision(*, result: Any, compiled: Any, factset: Any,
                    grounds: Mapping[str, LegalGround], run_id: str, on: date,
                    created_from: Mapping[str, Any] | None,
                    notes: list[str] | None, warnings: list[RunWarning]) -> Decision:
    keys = compiled.rule_keys
    digest = _knowledge_digest(result, factset)
    dec_id = decision_id(run_id, on, keys, digest)
    builder = _Builder(result, compiled, grounds, factset.evidence, dec_id, on.isoformat())
    alerts, measures, tasks, advice = builder.build()
    referenced: set[str] = set()
    for f in result.firings:
        referenced.update(f.facts.values())
        referenced.update(f.conclusions)
    facts = {fid: result.facts[fid] for fid in sorted(referenced) if fid in result.facts}
    evidence = {fid: factset.evidence[fid] for fid in facts if fid in factset.evidence}
    used_findings = sorted({e for ev in evidence.values() for e in ev})
    findings = {fid: FindingRecord(**factset.findings[fid]) for fid in used_findings
                if fid in factset.findings}
    firings = sorted((_fast(FiringRecord,
        id=f.id, rule_key=f.rule_key, facts=_by_key(f.facts), partition=f.partition,
        round=f.round, conclusions=sorted(f.conclusions) if len(f.conclusions) > 1
        else list(f.conclusions)) for f in result.firings),
        key=lambda f: (f.round, f.rule_key, f.id, f.partition))
    rules = {k: rule_info(compiled.rules[k].entry, compiled.rules[k]) for k in keys}
    # timings are not content: two runs of the same inputs must give the same JSON
    stats = {k: v for k, v in result.stats.items() if not k.endswith(("_s", "seconds"))}
    everything = [*alerts, *measures, *tasks, *advice]
    return _fast(
        Decision, id=dec_id, run_id=run_id, decision_date=on.isoformat(),
        created_from=dict(created_from or {}), rule_versions=keys,
        facts_digest=digest, alerts=alerts, measures=measures, tasks=tasks,
        advice=advice, legal_review_required=any(c.legal_review_required for c in everything),
        rules=rules, facts=facts, firings=firings, findings=findings, evidence=evidence,
        notes=sorted(set(notes or [])), warnings=warnings,
        incomplete=any(w.incomplete for w in warnings), stats=stats)
