"""A decision's trace in the graph, so any conclusion can be explained long after the run.

:func:`ecobrain.reasoning.explain.explain` answers from the whole :class:`Decision` (rules,
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
process, keyed by their checksum, so explaining tasks of one decision is fast after the first.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from ecobrain.ontology.store import Statement
from ecobrain.reasoning.conclusions import (
    Advice,
    Alert,
    Decision,
    FindingRecord,
    Measure,
    Task,
)
from ecobrain.reasoning.explain import Explanation, explain

_KINDS = {"alert": Alert, "measure": Measure, "task": Task, "advice": Advice}
_CACHE: OrderedDict[str, Decision] = OrderedDict()
_CACHE_MAX = 4
_LOCK = threading.Lock()


def trace_payload(decision: Decision) -> dict[str, Any]:
    findings = {}
    for fid, rec in decision.findings.items():
        try:
            prov = json.loads(rec.payload).get("provenance", {})
        except ValueError:
            prov = {}
        findings[fid] = {"kind": rec.kind, "run_id": rec.run_id, "provenance": prov}
    return {"decision_id": decision.id, "run_id": decision.run_id,
            "decision_date": decision.decision_date,
            "rules": {k: v.model_dump(mode="json") for k, v in decision.rules.items()},
            "facts": decision.facts, "firings": [f.model_dump(mode="json")
                                                 for f in decision.firings],
            "evidence": decision.evidence, "findings": findings}


def trace_statement(decision: Decision) -> Statement:
    body = json.dumps(trace_payload(decision), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    data = base64.b64encode(gzip.compress(body, 6, mtime=0)).decode("ascii")
    return ("MATCH (d:Decision {id: $did}) MERGE (t:DecisionTrace {id: $id}) "
            "SET t.decision_id = $did, t.format = 'json+gzip+base64', t.sha256 = $sha, "
            "t.bytes = $bytes, t.data = $data MERGE (d)-[:HAS_TRACE]->(t)",
            {"did": decision.id, "id": f"trace-{decision.id}", "sha": digest,
             "bytes": len(body), "data": data})


def _base_decision(store: Any, decision_id: str, sha: str) -> Decision:
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
    with _LOCK:
        _CACHE[sha] = base
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return base


class NoTrace(LookupError):
    """The conclusion's decision was saved without a trace (before traces existed)."""


def explain_saved(store: Any, conclusion_id: str) -> Explanation:
    """The explanation of a saved conclusion (alert, measure, task or advice)."""
    row = store.read_one(
        "MATCH (d:Decision)-[r]->(c {id: $id}) WHERE type(r) IN "
        "['HAS_ALERT', 'HAS_MEASURE', 'HAS_TASK', 'HAS_ADVICE'] "
        "OPTIONAL MATCH (d)-[:HAS_TRACE]->(t:DecisionTrace) "
        "RETURN c.kind AS kind, c.json AS json, d.id AS decision, t.sha256 AS sha",
        {"id": conclusion_id})
    if row is None:
        raise KeyError(conclusion_id)
    if not row["sha"]:
        raise NoTrace(f"decision {row['decision']} has no stored trace; decide the run again")
    base = _base_decision(store, row["decision"], row["sha"])
    conclusion = _KINDS[row["kind"]].model_validate_json(row["json"])
    one = base.model_copy(update={f"{row['kind']}s" if row["kind"] != "advice" else "advice":
                                  [conclusion]})
    return explain(one, conclusion_id)
