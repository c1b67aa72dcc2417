"""A decision's working memory in the graph: every fact the engine saw, kept to ask it later.

The trace (:mod:`.decision_trace`) keeps only the facts some firing read or made, which is
enough to explain what *did* happen. "Why did no rule fire here?" and "what would this draft
rule change?" need the rest: the alert assessment of a county that got no alert, the
enterprise of an alerted county that got no task. So each decision also stores, once, a
``(:DecisionMemory {id: "memory-<decision id>"})`` node (``(:Decision)-[:HAS_MEMORY]->``):
gzip-compressed JSON in base64 text holding

- ``facts``: every fact asserted while deciding (inputs from the model findings, enterprises
  the graph added when an alert appeared, conclusions), as the engine saw them;
- ``inputs``: the ids of the input facts (what a rule version is re-run on);
- ``regions``, ``partitions`` and ``implicated``: what the engine and the alert scope need to
  run again over the same inputs (region names and levels, the cities province-wide facts
  reach, the days each county's own forecast is heavy).

Decisions saved before this module existed have no memory: callers get :class:`NoMemory`
with the remedy (decide the run again).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecobrain.ontology.graph.store import Statement
from ecobrain.reasoning.engine.runner import RegionInfo

_CACHE: OrderedDict[str, Memory] = OrderedDict()
_CACHE_MAX = 4
_LOCK = threading.Lock()


class NoMemory(LookupError):
    """The decision was saved without its working memory (before it was kept)."""


@dataclass
class Memory:
    """The engine's working memory of one decision, read back from the graph."""

    decision_id: str
    decision_date: str
    facts: dict[str, dict[str, Any]]
    inputs: list[str]
    regions: dict[str, RegionInfo] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    implicated: dict[str, set[str]] = field(default_factory=dict)

    def input_facts(self) -> list[dict[str, Any]]:
        return [self.facts[i] for i in self.inputs if i in self.facts]

    def of_type(self, fact_type: str) -> list[dict[str, Any]]:
        return [f for f in self.facts.values() if f.get("type") == fact_type]


def memory_payload(decision_id: str, decision_date: str, facts: Mapping[str, Mapping[str, Any]],
                   inputs: Sequence[str], regions: Mapping[str, RegionInfo],
                   partitions: Sequence[str], implicated: Mapping[str, set[str]]
                   ) -> dict[str, Any]:
    return {"decision_id": decision_id, "decision_date": decision_date,
            "facts": [facts[k] for k in sorted(facts)], "inputs": sorted(inputs),
            "regions": {c: [r.name, r.level, r.city_code] for c, r in sorted(regions.items())},
            "partitions": sorted(partitions),
            "implicated": {c: sorted(days) for c, days in sorted(implicated.items())}}


def memory_statement(payload: Mapping[str, Any]) -> Statement:
    # fields keep the order the engine had them in (a fact set's digest, part of the decision id,
    # depends on it: a re-run on the stored inputs gets the same id)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    data = base64.b64encode(gzip.compress(body, 6, mtime=0)).decode("ascii")
    did = payload["decision_id"]
    return ("MATCH (d:Decision {id: $did}) MERGE (m:DecisionMemory {id: $id}) "
            "SET m.decision_id = $did, m.format = 'json+gzip+base64', m.sha256 = $sha, "
            "m.bytes = $bytes, m.facts = $n, m.data = $data MERGE (d)-[:HAS_MEMORY]->(m)",
            {"did": did, "id": f"memory-{did}", "sha": digest, "bytes": len(body),
             "n": len(payload["facts"]), "data": data})


def memory_from_payload(raw: Mapping[str, Any]) -> Memory:
    return Memory(
        decision_id=raw["decision_id"], decision_date=raw["decision_date"],
        facts={f["id"]: dict(f) for f in raw["facts"]}, inputs=list(raw["inputs"]),
        regions={c: RegionInfo(c, v[0], v[1], v[2]) for c, v in raw["regions"].items()},
        partitions=list(raw["partitions"]),
        implicated={c: set(days) for c, days in raw["implicated"].items()})


def load_memory(store: Any, decision_id: str) -> Memory:
    """The decision's working memory (cached per process by its checksum)."""
    row = store.read_one(
        "MATCH (d:Decision {id: $id}) OPTIONAL MATCH (d)-[:HAS_MEMORY]->(m:DecisionMemory) "
        "RETURN d.id AS id, m.sha256 AS sha", {"id": decision_id})
    if row is None:
        raise KeyError(f"no decision {decision_id!r}")
    if not row["sha"]:
        raise NoMemory(f"decision {decision_id} was saved without its working memory; "
                       "decide the run again (ecobrain decide RUN_DIR)")
    with _LOCK:
        if row["sha"] in _CACHE:
            _CACHE.move_to_end(row["sha"])
            return _CACHE[row["sha"]]
    data = store.read_one("MATCH (m:DecisionMemory {id: $id}) RETURN m.data AS data",
                          {"id": f"memory-{decision_id}"})
    memory = memory_from_payload(json.loads(gzip.decompress(base64.b64decode(data["data"]))))
    with _LOCK:
        _CACHE[row["sha"]] = memory
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return memory
