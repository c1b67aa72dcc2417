"""The graph's own bulk rate: the floor a load or a save is measured against, in the same run.

``bulk_floor(store, nodes, relationships, payload_bytes)`` writes, into a graph of its own on
the same server, the same number of nodes and relationships the measured write made, as plainly
as Cypher allows: ``UNWIND $rows AS r CREATE (n:FloorNode {id: r.id, p: r.p})`` in batches
(``p`` spreads the measured write's property bytes over the nodes: the server parses what it
is sent), an index on ``FloorNode.id``, then ``UNWIND $rows AS r MATCH (a:FloorNode {id: r.a})
MATCH (b:FloorNode {id: r.b}) CREATE (a)-[:FLOOR]->(b)``, each relationship between two nodes
looked up by indexed id — how any Cypher client adds relationships to nodes it has. Every
batch of one kind goes in one ``write_all`` (one round trip on FalkorDB, one transaction on
Neo4j). No MERGE, no labels to choose, no validation: what is left is the server's work per
node, relationship and byte.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.store import GraphStore

BATCH = 5000


@dataclass
class Floor:
    nodes: int
    relationships: int
    payload_bytes: int
    seconds: float

    def ratio(self, seconds: float) -> float:
        return seconds / self.seconds if self.seconds else float("inf")

    def line(self) -> str:
        return (f"floor (UNWIND … CREATE, same server): {self.nodes:,} nodes, "
                f"{self.relationships:,} relationships, {self.payload_bytes / 1e6:.1f} MB of "
                f"properties in {self.seconds:.2f} s")


def _statements(query: str, rows: list[dict]) -> list[tuple[str, dict]]:
    return [(query, {"rows": rows[i:i + BATCH]}) for i in range(0, len(rows), BATCH)]


def bulk_floor(nodes: int, relationships: int, payload_bytes: int = 0, *,
               store: GraphStore | None = None, seed: int = 0) -> Floor:
    """Time the plain bulk write of these counts in a new graph (dropped afterwards) on the
    configured server (or `store`'s graph, when given: it must be empty)."""
    own = store is None
    store = store or open_store(graph=f"bench_floor_{uuid.uuid4().hex[:10]}",
                                ensure_schema=False)
    rng = random.Random(seed)
    per = payload_bytes // max(nodes, 1)
    node_rows = [{"id": f"n{i:07d}", "p": "x" * per} for i in range(nodes)]
    rel_rows = [{"a": f"n{rng.randrange(nodes):07d}", "b": f"n{rng.randrange(nodes):07d}"}
                for _ in range(relationships)]
    try:
        store.write(store.dialect.create_index("FloorNode", "id"))
        started = time.perf_counter()
        store.write_all(_statements(
            "UNWIND $rows AS r CREATE (:FloorNode {id: r.id, p: r.p})", node_rows))
        store.write_all(_statements(
            "UNWIND $rows AS r MATCH (a:FloorNode {id: r.a}) MATCH (b:FloorNode {id: r.b}) "
            "CREATE (a)-[:FLOOR]->(b)", rel_rows))
        seconds = time.perf_counter() - started
    finally:
        if own:
            store.drop_graph()
            store.close()
    return Floor(nodes, relationships, per * nodes, seconds)


class PayloadMeter:
    """The parameter bytes a store is sent (as JSON) while the meter is on: what the floor
    must carry too. Wraps the store's write methods for the benchmark only, and keeps the
    statements to size them afterwards (:attr:`bytes`): sizing them as they go by would add
    a JSON encoding of every parameter to the write being timed."""

    def __init__(self, store: GraphStore):
        self.store = store
        self._sent: list[Any] = []
        self._depth = 0

    @property
    def bytes(self) -> int:
        return sum(len(json.dumps(p or {}, ensure_ascii=False, default=str).encode())
                   for _, p in self._sent)

    def _wrap(self, name: str) -> None:
        inner = getattr(self.store, name)

        def metered(first: Any, *args: Any, **kwargs: Any) -> Any:
            if self._depth == 0:
                self._sent.extend(first if name == "write_all" else [
                    (first, args[0] if args else kwargs.get("params"))])
            self._depth += 1
            try:
                return inner(first, *args, **kwargs)
            finally:
                self._depth -= 1

        setattr(self.store, name, metered)

    def __enter__(self) -> PayloadMeter:
        for name in ("write", "write_all"):
            self._wrap(name)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in ("write", "write_all"):
            delattr(self.store, name)
