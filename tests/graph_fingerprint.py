"""One digest of a whole graph — every node's labels and properties, every relationship's
ends, type and properties — for tests that compare two graphs (a first load with a reload, a
failed load with the graph before it)."""

from __future__ import annotations

import hashlib
import json

from ecobrain.ontology.graph.store import GraphStore


def fingerprint(store: GraphStore) -> str:
    """``<nodes>n/<relationships>r/<sha256>`` of the graph, independent of the server's order."""
    nodes = store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = store.read("MATCH (a)-[r]->(b) RETURN a.id AS a, type(r) AS t, b.id AS b, "
                      "properties(r) AS p")
    digest = hashlib.sha256()
    for row in sorted(json.dumps(r, sort_keys=True, default=str) for r in nodes + rels):
        digest.update(row.encode())
    return f"{len(nodes)}n/{len(rels)}r/{digest.hexdigest()}"
