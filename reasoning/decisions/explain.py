"""Why a conclusion: the rule and version, the facts it matched, the chain, the law.

``decision.explain(task_id)`` answers from the decision alone (no graph, no rule files): for
each rule firing behind the conclusion, the rule's id, version, title, note, dates and
conditions; the fact each condition block matched, with the model findings under it; for a
matched conclusion (a task matched a measure, the measure an alert), the firing that made
*that* conclusion, recursively down to the model facts; and every legal ground with its exact
text and its status on the decision date.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ecobrain.reasoning.decisions.legal_grounds import LegalGround
from ecobrain.reasoning.decisions.rule_info import RuleInfo

if TYPE_CHECKING:  # the decision calls explain(): a runtime import would be a cycle
    from ecobrain.reasoning.decisions.conclusions import Decision


class EvidenceRef(BaseModel):
    id: str
    kind: str
    provenance: dict[str, Any] = Field(default_factory=dict)


class ExplainedFact(BaseModel):
    alias: str
    id: str
    type: str
    fields: dict[str, Any]
    evidence: list[EvidenceRef] = Field(default_factory=list)
    derived_from: ExplainedFiring | None = Field(
        default=None, description="for a conclusion fact: the firing that made it")


class ExplainedFiring(BaseModel):
    firing_id: str
    rule: RuleInfo
    outcome: str = "applied"
    facts: list[ExplainedFact]


class Explanation(BaseModel):
    conclusion_id: str
    kind: str
    decision_id: str
    decision_date: str
    conclusion: dict[str, Any]
    firings: list[ExplainedFiring]
    legal_grounds: list[LegalGround]
    legal_review_required: bool
    legal_review_reasons: list[str]

    def to_text(self) -> str:
        """A plain-text explanation for a reviewer (Chinese labels, English field names)."""
        c = self.conclusion
        lines = [f"{self.kind} {self.conclusion_id}"
                 f"（决策 {self.decision_id}，{self.decision_date}）"]
        if self.kind == "task":
            s = c["subject"]
            lines.append(f"对象：{s.get('name') or s['id']}（{s['kind']}），"
                         f"承办：{c.get('region_name') or c['region_code']}，"
                         f"优先级 {c['priority']}，期限 {c.get('deadline') or '—'}")
            lines += [f"  - {i['measure_label']}：{i['text']}" for i in c["items"]]
        elif self.kind == "alert":
            lines.append(f"{c.get('region_name') or c['region_code']}：{c['level_label']}，"
                         f"{c.get('start')} 至 {c.get('end')}")
        lines.append("依据的规则与事实：")
        for f in self.firings:
            _firing_lines(f, lines, 1)
        lines.append("法律依据（决策日状态）：")
        for g in self.legal_grounds:  # in force first; history beside; missing = flagged
            flag = "" if g.in_force else f"【{g.remark_zh}】"
            role = "" if g.role == "basis" else "（升级处置）"
            prefix = "原依据" if g.shown_as == "history" else ""
            lines.append(f"  {prefix}{g.citation}{role}{flag}")
            lines.append(f"    {g.text}")
        if self.legal_review_required:
            lines.append("需法务复核：" + "；".join(self.legal_review_reasons))
        return "\n".join(lines)


def _firing_lines(f: ExplainedFiring, lines: list[str], depth: int) -> None:
    pad = "  " * depth
    r = f.rule
    until = r.effective_to or "—"
    lines.append(f"{pad}规则 {r.id} v{r.version}「{r.title}」"
                 f"（{r.effective_from or '—'} 至 {until}，{f.outcome}）")
    for cond in r.conditions:
        lines.append(f"{pad}  条件 {cond['block']}: {cond['fact']} if {cond['if'] or '（任意）'}")
    for fact in f.facts:
        shown = {k: v for k, v in fact.fields.items() if k not in ("id", "type")}
        lines.append(f"{pad}  {fact.alias} = {fact.type} {fact.id} "
                     f"{json.dumps(shown, ensure_ascii=False)[:300]}")
        if fact.evidence:
            lines.append(f"{pad}    证据：" + ", ".join(e.id for e in fact.evidence[:5])
                         + (" …" if len(fact.evidence) > 5 else ""))
        if fact.derived_from is not None:
            _firing_lines(fact.derived_from, lines, depth + 2)


def _evidence(decision: Decision, fact_id: str) -> list[EvidenceRef]:
    out = []
    for fid in decision.evidence.get(fact_id, []):
        rec = decision.findings.get(fid)
        if rec is None:
            continue
        try:
            prov = json.loads(rec.payload).get("provenance", {})
        except ValueError:
            prov = {}
        out.append(EvidenceRef(id=fid, kind=rec.kind, provenance=prov))
    return out


def _firing(decision: Decision, firing_id: str, made: dict[str, str],
            by_id: dict[str, Any], outcome: str, depth: int) -> ExplainedFiring:
    f = by_id[firing_id]
    facts = []
    for alias, fid in sorted(f.facts.items()):
        fact = decision.facts.get(fid, {"id": fid, "type": "?"})
        derived = None
        if fid in made and depth < 8:
            derived = _firing(decision, made[fid], made, by_id, "applied", depth + 1)
        facts.append(ExplainedFact(alias=alias, id=fid, type=str(fact.get("type")),
                                   fields=fact, evidence=_evidence(decision, fid),
                                   derived_from=derived))
    return ExplainedFiring(firing_id=firing_id, rule=decision.rules[f.rule_key],
                           outcome=outcome, facts=facts)


def explain(decision: Decision, conclusion_id: str) -> Explanation:
    c = decision.conclusion(conclusion_id)
    by_id = {f.id: f for f in decision.firings}
    made = {fact_id: f.id for f in decision.firings for fact_id in f.conclusions}
    firings = []
    seen: set[str] = set()
    for r in c.reasons:
        if r.firing_id in seen:
            continue
        seen.add(r.firing_id)
        firings.append(_firing(decision, r.firing_id, made, by_id, r.outcome, 0))
    return Explanation(
        conclusion_id=c.id, kind=c.kind, decision_id=decision.id,
        decision_date=decision.decision_date,
        conclusion=c.model_dump(exclude={"reasons", "legal_grounds", "evidence"}),
        firings=firings, legal_grounds=c.legal_grounds,
        legal_review_required=c.legal_review_required,
        legal_review_reasons=c.legal_review_reasons)


ExplainedFact.model_rebuild()
