"""Shortest paths between two nodes, either direction, the same answer on every backend.

Why not the servers' ``shortestPath``: FalkorDB's is directed only (so enterprise ← task →
article was "no path" there while Neo4j found it), Neo4j 5 refuses ``shortestPath(a, a)``
while ArcadeDB returns a one-node path, and among several shortest paths each server picks
its own. Here a bidirectional breadth-first search runs in Python over one indexed,
labelled neighbour query per label and layer (``MATCH (n:Label) WHERE n.id IN $ids``: no full
scan on Neo4j), and ties are broken by node ids, so both backends give the same path.
A path from a node to itself is that one node (length 0).
"""

from __future__ import annotations

from typing import Any

from ecobrain.ontology.graph.schema import ID_LABELS
from ecobrain.ontology.graph.store import GraphStore

# One layer of the search reads at most this many relationships: a hub (a province with
# thousands of grid cells) stops the search rather than the server.
MAX_EDGES_PER_LAYER = 200_000

_NEIGHBOURS = """
MATCH (n:{label}) WHERE n.id IN $ids
MATCH (n)-[r]-(m) WHERE m.id IS NOT NULL
RETURN n.id AS a, type(r) AS t, m.id AS b, labels(m) AS labels
"""


def id_label(labels: list[str]) -> str | None:
    """The label a node is looked up by (its first id label in schema order): index-backed."""
    for label in ID_LABELS:
        if label in labels:
            return label
    return None


def find_label(store: GraphStore, node_id: str) -> str | None:
    """The id label of the node with this id, by indexed lookups (None: no such node)."""
    for label in ID_LABELS:
        row = store.read_one(f"MATCH (n:{label} {{id: $id}}) RETURN labels(n) AS labels LIMIT 1",
                             {"id": node_id})
        if row is not None:
            return id_label(row["labels"]) or label
    return None


def _expand(store: GraphStore, frontier: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(from id, type, to id, to label) for every relationship at the frontier, sorted."""
    by_label: dict[str, list[str]] = {}
    for node_id, label in frontier.items():
        by_label.setdefault(label, []).append(node_id)
    edges = []
    for label in sorted(by_label):
        for row in store.read(_NEIGHBOURS.format(label=label), {"ids": sorted(by_label[label])}):
            to_label = id_label(row["labels"])
            if to_label is not None:
                edges.append((row["a"], row["t"], row["b"], to_label))
    return sorted(set(edges))


def shortest_path(store: GraphStore, from_id: str, from_label: str, to_id: str,
                  to_label: str, max_depth: int, labels: dict[str, str] | None = None
                  ) -> list[tuple[str, str | None]] | None:
    """The path as [(node id, type of the relationship to the next node or None)], or None;
    `labels` is filled with the id label of every node reached."""
    labels = {} if labels is None else labels
    labels.update({from_id: from_label, to_id: to_label})
    if from_id == to_id:
        return [(from_id, None)]
    # parent maps: node -> (previous node towards the side's origin, relationship type)
    sides: list[dict[str, tuple[str, str] | None]] = [{from_id: None}, {to_id: None}]
    frontiers: list[dict[str, str]] = [{from_id: from_label}, {to_id: to_label}]
    depth = 0
    while depth < max_depth and frontiers[0] and frontiers[1]:
        side = 0 if len(frontiers[0]) <= len(frontiers[1]) else 1
        edges = _expand(store, frontiers[side])
        if len(edges) > MAX_EDGES_PER_LAYER:
            return None
        depth += 1
        seen, other = sides[side], sides[1 - side]
        nxt: dict[str, str] = {}
        for a, t, b, label in edges:
            if b not in seen:
                seen[b] = (a, t)
                nxt[b] = labels[b] = label
        frontiers[side] = nxt
        meeting = sorted(n for n in nxt if n in other)
        if meeting:
            return _join(sides, meeting[0])
    return None


def _join(sides: list[dict[str, tuple[str, str] | None]], middle: str
          ) -> list[tuple[str, str | None]]:
    back: list[tuple[str, str | None]] = []  # origin side: walk back to from_id
    node, step = middle, sides[0][middle]
    while step is not None:
        back.append((step[0], step[1]))
        node = step[0]
        step = sides[0][node]
    path = list(reversed(back))
    node, step = middle, sides[1][middle]
    while step is not None:
        path.append((node, step[1]))
        node = step[0]
        step = sides[1][node]
    path.append((node, None))
    return path


def describe(store: GraphStore, path: list[tuple[str, str | None]],
             labels: dict[str, str]) -> list[dict[str, Any]]:
    """Labels and properties of the path's nodes (labelled lookups)."""
    out = []
    for node_id, _ in path:
        label = labels.get(node_id) or find_label(store, node_id)
        row = store.read_one(f"MATCH (n:{label} {{id: $id}}) RETURN labels(n) AS labels, "
                             "properties(n) AS properties LIMIT 1", {"id": node_id})
        out.append(row or {"labels": [], "properties": {"id": node_id}})
    return out
