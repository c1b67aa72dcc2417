"""A decision's trace in the graph, so any conclusion can be explained long after the run.

:func:`ecobrain.reasoning.decisions.explain.explain` answers from the whole :class:`Decision`
(rules,
facts, firings, evidence), which lives only in the process that decided. The graph keeps each
conclusion's JSON, not the trace behind it; this module stores that trace once per decision as
a ``(:DecisionTrace {id: "trace-<decision id>"})`` node (``(:Decision)-[:HAS_TRACE]->``),
gzip-compressed JSON in base64 text (a 15-day province run: ~10 MB of JSON, ~1 MB stored), and
rebuilds the explanation of one conclusion from it and the conclusion node.

What is stored: the rule versions (``RuleInfo``), the facts the firings read or made, the
firings, the fact → finding evidence and each finding's kind and provenance (the payloads
themselves are the ``(:Finding)`` nodes). It is immutable in spirit: written again only when
the same decision is saved again, with the same content.

Reading a trace costs a decompress and a parse (~0.3 s); the last few are kept in memory per
process, keyed by their checksum, with their firing indexes, so explaining tasks of one decision
is fast after the first; explanations are cached too, keyed by the trace checksum and the
conclusion's JSON (read each time), so a decision saved again with other grounds is explained
with its current grounds.
"""

from __future__ import annotations

import base64
import gc
import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ecobrain.ontology.graph.store import Statement
from ecobrain.reasoning.decisions.conclusions import (
    Advice,
    Alert,
    Decision,
    FindingRecord,
    Measure,
    Task,
)
from ecobrain.reasoning.decisions.explain import Explanation, explain

_KINDS = {"alert": Alert, "measure": Measure, "task": Task, "advice": Advice}
# conclusion ids are "<kind>-<hash>" (reasoning.conclusions): the label to look in
_LABELS = {"alert": "Alert", "measure": "Measure", "task": "Task", "advice": "Advice"}
_CACHE: OrderedDict[str, _Trace] = OrderedDict()
_CACHE_MAX = 4
_EXPLAINED: OrderedDict[tuple[str, str, int], _Explained] = OrderedDict()
_EXPLAINED_MAX = 4096
_LOCK = threading.Lock()


class _Trace:
    """A parsed trace and its firing indexes (built once, not per explanation)."""

    def __init__(self, base: Decision):
        self.base = base
        self.by_id = {f.id: f for f in base.firings}
        self.order = {fid: i for i, fid in enumerate(self.by_id)}
        self.made = {fact: f.id for f in base.firings for fact in f.conclusions}

    def firings_behind(self, firing_ids: list[str]) -> list[Any]:
        """The firings a conclusion rests on, following matched conclusions upstream."""
        seen: dict[str, Any] = {}
        todo = list(firing_ids)
        while todo:
            fid = todo.pop()
            if fid in seen or fid not in self.by_id:
                continue
            f = seen[fid] = self.by_id[fid]
            todo += [self.made[x] for x in f.facts.values() if x in self.made]
        return [seen[k] for k in sorted(seen, key=self.order.__getitem__)]


def finding_payloads(decision: Decision) -> dict[str, dict[str, Any]]:
    """Each finding's payload parsed ({} where it is not JSON): the trace and the provenance
    edges both read them, and a 15-day run has ~28,000."""
    out: dict[str, dict[str, Any]] = {}
    for fid, rec in decision.findings.items():
        try:
            payload = json.loads(rec.payload)
        except ValueError:
            payload = {}
        out[fid] = payload if isinstance(payload, dict) else {}
    return out


def trace_payload(decision: Decision,
                  payloads: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    payloads = finding_payloads(decision) if payloads is None else payloads
    findings = {}
    for fid, rec in decision.findings.items():
        prov = payloads.get(fid, {}).get("provenance", {})
        findings[fid] = {"kind": rec.kind, "run_id": rec.run_id, "provenance": prov}
    return {"decision_id": decision.id, "run_id": decision.run_id,
            "decision_date": decision.decision_date,
            "rules": {k: v.model_dump(mode="json") for k, v in decision.rules.items()},
            "facts": decision.facts, "firings": [f.model_dump(mode="json")
                                                 for f in decision.firings],
            "evidence": decision.evidence, "findings": findings}


def trace_statement(decision: Decision,
                    payloads: dict[str, dict[str, Any]] | None = None) -> Statement:
    """`payloads`: :func:`finding_payloads` of the decision, when the caller has them."""
    body = json.dumps(trace_payload(decision, payloads), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    data = base64.b64encode(gzip.compress(body, 6, mtime=0)).decode("ascii")
    return ("MATCH (d:Decision {id: $did}) MERGE (t:DecisionTrace {id: $id}) "
            "SET t.decision_id = $did, t.format = 'json+gzip+base64', t.sha256 = $sha, "
            "t.bytes = $bytes, t.data = $data MERGE (d)-[:HAS_TRACE]->(t)",
            {"did": decision.id, "id": f"trace-{decision.id}", "sha": digest,
             "bytes": len(body), "data": data})


def _base_decision(store: Any, decision_id: str, sha: str) -> _Trace:
    with _LOCK:
        if sha in _CACHE:
            _CACHE.move_to_end(sha)
            return _CACHE[sha]
    row = store.read_one("MATCH (t:DecisionTrace {id: $id}) RETURN t.data AS data",
                         {"id": f"trace-{decision_id}"})
    raw = json.loads(gzip.decompress(base64.b64decode(row["data"])))
    findings = {fid: FindingRecord.model_construct(
        id=fid, kind=f["kind"], run_id=f["run_id"],
        payload=json.dumps({"provenance": f["provenance"]}, ensure_ascii=False))
        for fid, f in raw["findings"].items()}
    base = Decision.model_validate({
        "id": raw["decision_id"], "run_id": raw["run_id"],
        "decision_date": raw["decision_date"], "rule_versions": sorted(raw["rules"]),
        "facts_digest": "", "rules": raw["rules"], "facts": raw["facts"],
        "firings": raw["firings"], "evidence": raw["evidence"]})
    base.findings = findings
    trace = _Trace(base)
    with _LOCK:
        _CACHE[sha] = trace
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    # A trace is ~100k long-lived objects: keep them out of the cyclic collector's full scans
    # (each took ~75 ms, the API's tail latency). Frozen objects are still freed by reference
    # counting when the cache lets them go.
    gc.freeze()
    return trace


class NoTrace(LookupError):
    """The conclusion's decision was saved without a trace (before traces existed)."""


def explain_saved_json(store: Any, conclusion_id: str) -> tuple[dict[str, Any], str]:
    """The explanation as JSON-ready data and as text (what the API returns), cached."""
    entry = _explained(store, conclusion_id)
    if entry.rendered is None:
        entry.rendered = (entry.explanation.model_dump(mode="json"), entry.explanation.to_text())
    return entry.rendered


@dataclass
class _Explained:
    explanation: Explanation
    rendered: tuple[dict[str, Any], str] | None = None


def explain_saved(store: Any, conclusion_id: str) -> Explanation:
    """The explanation of a saved conclusion (alert, measure, task or advice)."""
    return _explained(store, conclusion_id).explanation


def _explained(store: Any, conclusion_id: str) -> _Explained:
    label = _LABELS.get(conclusion_id.split("-", 1)[0])
    if label is None:
        raise KeyError(conclusion_id)
    row = store.read_one(
        f"MATCH (c:{label} {{id: $id}}) MATCH (d:Decision {{id: c.decision_id}}) "
        "OPTIONAL MATCH (d)-[:HAS_TRACE]->(t:DecisionTrace) "
        "RETURN c.kind AS kind, c.json AS json, d.id AS decision, t.sha256 AS sha",
        {"id": conclusion_id})
    if row is None:
        raise KeyError(conclusion_id)
    if not row["sha"]:
        raise NoTrace(f"decision {row['decision']} has no stored trace; decide the run again")
    key = (row["sha"], conclusion_id, hash(row["json"]))
    with _LOCK:
        if key in _EXPLAINED:
            _EXPLAINED.move_to_end(key)
            return _EXPLAINED[key]
    trace = _base_decision(store, row["decision"], row["sha"])
    conclusion = _KINDS[row["kind"]].model_validate_json(row["json"])
    kind = f"{row['kind']}s" if row["kind"] != "advice" else "advice"
    one = trace.base.model_copy(update={
        kind: [conclusion],
        "firings": trace.firings_behind([r.firing_id for r in conclusion.reasons])})
    out = _Explained(explain(one, conclusion_id))
    with _LOCK:
        _EXPLAINED[key] = out
        while len(_EXPLAINED) > _EXPLAINED_MAX:
            _EXPLAINED.popitem(last=False)
    return out


def saved_trace(store: Any, decision_id: str) -> Decision | None:
    """The stored trace of a decision (rules, facts read, every firing), or None."""
    row = store.read_one("MATCH (t:DecisionTrace {id: $id}) RETURN t.sha256 AS sha",
                         {"id": f"trace-{decision_id}"})
    if row is None or not row["sha"]:
        return None
    return _base_decision(store, decision_id, row["sha"]).base
