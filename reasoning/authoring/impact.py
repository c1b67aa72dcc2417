"""What a rule version would change, before it is activated: re-run on recent decisions.

``impact_report(store, rule_id, version, last=N)`` takes the stored working memory of the last
N decisions (:mod:`ecobrain.reasoning.decisions.memory`: the input facts from the model
findings, the regions and the alert scope) and runs the engine twice on each, for the
decision's date:

- **before**: the graph's rule base as it is (the active versions);
- **after**: the same with the version activated — and any other active version of the same
  rule whose days overlap it retired, since activation requires that (:mod:`.rule_store`).
  A row of a decision table is a rule version like any other: the report is about that row's
  version (``alert.heavy-pollution.yellow@3`` of a new grading table), the table's other rows
  keep their own lifecycle.

Both runs go through the same engine, merge and legal grounds as a real decision, on the same
inputs, so every difference comes from the version. Enterprises of alerted regions are read
from the graph's register as it is now (as the engine does when an alert appears), not as it
was on the decision day. Conclusions are compared by what they are about, not by id (an id
includes the rule versions): an alert by region; a measure by region and measure type; a task
by region and subject; advice by region, measure type and pollutant. Each difference is
``added``, ``removed`` or ``changed`` (with the fields that changed), and counted by region.

The report is stored as an ``(:ImpactReport)`` node about the rule version. Activation through
the API must name the version's *latest* report (:func:`check_seen`): one made before a newer
report, before another rule version was (de)activated, or before a newer decision was saved is
stale and refused with what to do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ecobrain.reasoning.authoring.rule_store import (
    RuleConflict,
    RuleNotFound,
    graph_rule_base,
    rule_version,
)
from ecobrain.reasoning.authoring.rulebase import RuleBase
from ecobrain.reasoning.decisions.conclusions import Conclusion, Decision, build_decision
from ecobrain.reasoning.decisions.legal_grounds import resolve_grounds
from ecobrain.reasoning.decisions.memory import Memory, NoMemory, load_memory
from ecobrain.reasoning.decisions.store import list_decisions
from ecobrain.reasoning.engine.facts import FactSet, GraphContext
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex

DEFAULT_LAST = 5
MAX_LAST = 50
_KINDS = ("alert", "measure", "task", "advice")


class ImpactRequired(RuntimeError):
    """Activation without (the latest) impact report of the version (HTTP 428)."""


class ImpactStale(RuleConflict):
    """The impact report named is not the latest for the version, or the world moved (409)."""


# -- the rule bases ---------------------------------------------------------------------------

def _overlaps(a: Any, b: Any) -> bool:
    a0, a1 = a.effective_from or dt.date.min, a.effective_to or dt.date.max
    b0, b1 = b.effective_from or dt.date.min, b.effective_to or dt.date.max
    return a0 <= b1 and b0 <= a1


def with_version_active(base: RuleBase, key: str) -> tuple[RuleBase, list[str]]:
    """The rule base with `key` active and the overlapping active versions of its rule retired
    (and which those were)."""
    target = base.entry(key).rule
    retired: list[str] = []

    def lifecycle(r: Any) -> Any:
        if r.key == key:
            return r.model_copy(update={"status": "active"})
        if r.id == target.id and r.status == "active" and _overlaps(r, target):
            retired.append(r.key)
            return r.model_copy(update={"status": "retired"})
        return r

    files = []
    for f in base.files:
        assert f.model is not None
        rules = [lifecycle(r) for r in f.model.rules]
        # a decision table's row is a rule version too (its own id@version, its own lifecycle)
        from_tables = [(lifecycle(r), t) for r, t in f.table_rules]
        files.append(dataclasses.replace(f, model=f.model.model_copy(update={"rules": rules}),
                                         table_rules=from_tables))
    return RuleBase(files=files, root=base.root, origin=f"{base.origin}+{key}"), sorted(retired)


# -- re-running a decision ---------------------------------------------------------------------

def rerun(store: Any, memory: Memory, base: RuleBase, concepts: ConceptIndex,
          run_id: str) -> Decision:
    """The decision the rule base makes on the memory's inputs (nothing saved)."""
    day = dt.date.fromisoformat(memory.decision_date)
    compiled = compile_rule_base(base, day, concepts)
    inputs = memory.input_facts()
    context = GraphContext(store, concepts, implicated=memory.implicated)
    result = Engine(compiled).run(inputs, decision_date=day, context=context,
                                  regions=memory.regions, partitions=memory.partitions)
    factset = FactSet(facts=inputs, regions=dict(memory.regions),
                      partitions=list(memory.partitions))
    grounds = resolve_grounds(store, compiled.citations(), day)
    return build_decision(result=result, compiled=compiled, factset=factset, grounds=grounds,
                          run_id=run_id, on=day, created_from={}, notes=[], warnings=[])


# -- comparing conclusions ---------------------------------------------------------------------

def _key(c: Conclusion) -> tuple[str, ...]:
    d = c.model_dump(mode="json")
    if c.kind == "alert":
        return ("alert", c.region_code)
    if c.kind == "measure":
        return ("measure", c.region_code, d["measure_type"])
    if c.kind == "task":
        return ("task", c.region_code, d["subject"]["kind"], d["subject"]["id"])
    return ("advice", c.region_code, d["measure_type"], d.get("pollutant") or "")


def _content(c: Conclusion) -> dict[str, Any]:
    """What an official reading the conclusion sees (no ids, reasons or grounds)."""
    d = c.model_dump(mode="json")
    if c.kind == "alert":
        keep = ("level", "start", "end", "driver", "note")
    elif c.kind == "measure":
        keep = ("level", "reduction_ratio", "pollutants", "start", "end", "descriptions")
    elif c.kind == "task":
        d["actions"] = [i["text"] for i in d.get("items", [])]
        d["schedule"] = [{k: s[k] for k in ("date_from", "date_to", "level", "measure_type")}
                         for s in d.get("schedule", [])]
        keep = ("measure_types", "actions", "deadline", "priority", "schedule")
    else:
        keep = ("texts",)
    return {k: d.get(k) for k in keep}


def _label(c: Conclusion) -> str:
    d = c.model_dump(mode="json")
    name = c.region_name or c.region_code
    if c.kind == "alert":
        return f"{name} {d['level_label']}"
    if c.kind == "measure":
        return f"{name} {d['measure_label']}"
    if c.kind == "task":
        s = d["subject"]
        measures = "、".join(i["measure_label"] for i in d["items"])
        return f"{name} {s.get('name') or s['id']}：{measures}"
    return f"{name} {d['measure_label']}"


def diff(before: Decision, after: Decision) -> list[dict[str, Any]]:
    old = {_key(c): c for c in before.conclusions()}
    new = {_key(c): c for c in after.conclusions()}
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        c = b or a
        assert c is not None
        entry: dict[str, Any] = {"kind": k[0], "key": list(k[1:]), "region_code": c.region_code,
                                 "region_name": c.region_name, "label": _label(c)}
        if a is None:
            out.append({**entry, "change": "added", "after": _content(b)})  # type: ignore[arg-type]
        elif b is None:
            out.append({**entry, "change": "removed", "before": _content(a)})
        else:
            ca, cb = _content(a), _content(b)
            fields = sorted(f for f in ca if ca[f] != cb[f])
            if fields:
                out.append({**entry, "change": "changed", "fields": fields,
                            "before": {f: ca[f] for f in fields},
                            "after": {f: cb[f] for f in fields}})
    return out


def _counts(changes: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {k: {"added": 0, "removed": 0, "changed": 0}
                                         for k in _KINDS}
    for ch in changes:
        counts[ch["kind"]][ch["change"]] += 1
    return counts


def _by_region(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    regions: dict[str, dict[str, Any]] = {}
    for ch in changes:
        r = regions.setdefault(ch["region_code"], {
            "region_code": ch["region_code"], "region_name": ch["region_name"],
            **{k: {"added": 0, "removed": 0, "changed": 0} for k in _KINDS}})
        r[ch["kind"]][ch["change"]] += 1
    return [regions[k] for k in sorted(regions)]


# -- the report --------------------------------------------------------------------------------

def _active_keys(store: Any) -> list[str]:
    rows = store.read("MATCH (n:Rule) WHERE n.yaml IS NOT NULL AND "
                      "coalesce(n.status_override, n.status) = 'active' RETURN n.id AS key")
    return sorted(r["key"] for r in rows)


def _recent(store: Any, last: int) -> list[dict[str, Any]]:
    return list_decisions(store, limit=last)[1]


def basis(store: Any, rule_key: str, last: int) -> str:
    """What a report depends on: the active versions, the version's YAML, the decisions."""
    row = store.read_one("MATCH (n:Rule {id: $key}) RETURN n.yaml AS yaml", {"key": rule_key})
    decisions = [d["id"] for d in _recent(store, last)]
    body = json.dumps([_active_keys(store), (row or {}).get("yaml"), decisions, last])
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def impact_report(store: Any, rule_id: str, version: int, *, by: str,
                  last: int = DEFAULT_LAST) -> dict[str, Any]:
    """Re-run the last `last` decisions with the version active; store and return the report."""
    if not 1 <= last <= MAX_LAST:
        raise ValueError(f"last must be 1..{MAX_LAST}")
    current = rule_version(store, rule_id, version)
    key = current["key"]
    base = graph_rule_base(store)
    if base is None:
        raise RuleNotFound("the graph holds no rules")
    after_base, retired = with_version_active(base, key)
    concepts = ConceptIndex.for_store(store)
    started = time.perf_counter()
    decisions, changes, notes = [], [], []
    if current["status"] == "active":
        notes.append(f"{key} is already active: the report compares it with itself")
    for d in _recent(store, last):
        try:
            memory = load_memory(store, d["id"])
        except NoMemory as exc:
            notes.append(str(exc))
            continue
        before = rerun(store, memory, base, concepts, d["run_id"])
        after = rerun(store, memory, after_base, concepts, d["run_id"])
        found = diff(before, after)
        for ch in found:
            ch["decision_id"] = d["id"]
        changes += found
        decisions.append({"decision_id": d["id"], "run_id": d["run_id"],
                          "decision_date": d["decision_date"],
                          "before": {k: len(getattr(before, _plural(k))) for k in _KINDS},
                          "after": {k: len(getattr(after, _plural(k))) for k in _KINDS},
                          "counts": _counts(found)})
    if not decisions:
        notes.append("no recent decision with a stored working memory: nothing to compare")
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report = {
        "id": "impact-" + hashlib.sha256(f"{key}|{at}|{time.time_ns()}".encode()
                                         ).hexdigest()[:16],
        "rule_key": key, "rule_id": rule_id, "version": version, "by": by, "at": at,
        "status_before": current["status"], "retires": retired, "last": last,
        "basis": basis(store, key, last), "decisions": decisions,
        "counts": _counts(changes), "by_region": _by_region(changes),
        "changes": changes, "notes": notes,
        "seconds": round(time.perf_counter() - started, 3),
    }
    store.write_all([(
        "MATCH (n:Rule {id: $key}) CREATE (r:ImpactReport {id: $id}) "
        "SET r.rule_key = $key, r.by = $by, r.at = $at, r.at_ns = $ns, r.basis = $basis, "
        "r.last = $last, r.json = $json MERGE (r)-[:ABOUT]->(n)",
        {"key": key, "id": report["id"], "by": by, "at": at, "ns": time.time_ns(),
         "basis": report["basis"], "last": last,
         "json": json.dumps(report, ensure_ascii=False, default=str)})])
    return report


def _plural(kind: str) -> str:
    return "advice" if kind == "advice" else f"{kind}s"


def latest_report(store: Any, rule_id: str, version: int) -> dict[str, Any] | None:
    row = store.read_one("MATCH (r:ImpactReport) WHERE r.rule_key = $key RETURN r.json AS json "
                         "ORDER BY r.at_ns DESC LIMIT 1", {"key": f"{rule_id}@{version}"})
    return json.loads(row["json"]) if row else None


def get_report(store: Any, report_id: str) -> dict[str, Any]:
    row = store.read_one("MATCH (r:ImpactReport {id: $id}) RETURN r.json AS json",
                         {"id": report_id})
    if row is None:
        raise RuleNotFound(f"no impact report {report_id!r}")
    return json.loads(row["json"])


def check_seen(store: Any, rule_id: str, version: int, report_id: str | None
               ) -> dict[str, Any]:
    """The report, if `report_id` is the version's latest and still current; else refused."""
    key = f"{rule_id}@{version}"
    how = (f"POST /rules/{rule_id}/versions/{version}/impact (or `ecobrain rules impact "
           f"{rule_id} {version}`), review it, and send its id as impact_report")
    latest = latest_report(store, rule_id, version)
    if not report_id:
        raise ImpactRequired(f"activating {key} needs its impact report first: {how}")
    if latest is None:
        raise ImpactRequired(f"{key} has no impact report (not {report_id!r}): {how}")
    if report_id != latest["id"]:
        try:
            named = get_report(store, report_id)
        except RuleNotFound:
            raise ImpactStale(f"impact report {report_id!r} does not exist: {how}") from None
        if named["rule_key"] != key:
            raise ImpactStale(f"impact report {report_id} is about {named['rule_key']}, "
                              f"not {key}")
        raise ImpactStale(f"impact report {report_id} of {key} is stale: a newer one "
                          f"({latest['id']}, {latest['at']}) exists; review it and send "
                          "its id")
    if basis(store, key, int(latest["last"])) != latest["basis"]:
        raise ImpactStale(f"impact report {report_id} of {key} is stale: rule versions were "
                          "activated or deactivated, or a decision was saved, since it was "
                          f"made; run it again: {how}")
    return latest


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The report as text lines (the CLI)."""
    lines = [f"影响评估 {report['id']}：{report['rule_key']}（{report['at']}，"
             f"最近 {len(report['decisions'])} 个决策）"]
    if report["retires"]:
        lines.append(f"  启用时需停用：{', '.join(report['retires'])}")
    names = {"alert": "预警", "measure": "措施", "task": "任务", "advice": "建议"}
    for k in _KINDS:
        c = report["counts"][k]
        lines.append(f"  {names[k]}：新增 {c['added']}，取消 {c['removed']}，变化 {c['changed']}")
    by_region: dict[str, list[str]] = defaultdict(list)
    for ch in report["changes"]:
        word = {"added": "新增", "removed": "取消", "changed": "变化"}[ch["change"]]
        extra = f"（{', '.join(ch['fields'])}）" if ch["change"] == "changed" else ""
        by_region[ch["region_name"] or ch["region_code"]].append(
            f"{word}{names[ch['kind']]} {ch['label']}{extra}")
    for region in sorted(by_region):
        lines.append(f"  {region}：")
        lines += [f"    - {x}" for x in by_region[region][:50]]
        if len(by_region[region]) > 50:
            lines.append(f"    … 另 {len(by_region[region]) - 50} 项")
    lines += [f"  注：{n}" for n in report["notes"]]
    return lines
