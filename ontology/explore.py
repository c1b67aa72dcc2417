"""Read-only graph exploration for investigators: search, a node, its neighbourhood, paths.

These are the queries behind the API's exploration endpoints and the CLI. Everything is a
server-side read-only query with parameters; what the user types is data, never query text.
Expansion is capped (like Neo4j Browser's 100 neighbours) so a hub such as a province with
thousands of cells cannot flood a client; the cap is reported so the user knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecobrain.ontology import graph_paths
from ecobrain.ontology.graph.schema import ID_LABELS
from ecobrain.ontology.graph.store import GraphStore

MAX_DEPTH = 3
DEFAULT_LIMIT = 100
# Large properties left out of listings (fetch the node itself to see them).
BULKY_PROPERTIES = frozenset({"boundary_wkt", "yaml", "json", "request_json", "paragraphs"})

# What "search entities" looks in by default: the things investigators name. Conclusions,
# findings and audit records are reached from their decision, not by a scan of every node.
SEARCH_LABELS: tuple[str, ...] = (
    "Concept", "AdminRegion", "Enterprise", "MonitoringStation", "Regulation", "Article",
    "Rule", "Decision", "ModelRun", "GridCell",
)

# One query per label (labels cannot be parameters; they come from the schema constants), so
# each scans only its label instead of the whole graph. Each ranks as ``search`` does before
# its LIMIT: with more hits than the limit, which ones come back is the ranking's choice, not
# the server's row order (which differs between FalkorDB and Neo4j, and would drop an exact
# match behind the limit).
_SEARCH_TEMPLATE = """
MATCH (n:{label})
WHERE toLower(coalesce(n.id, '')) CONTAINS $q
   OR toLower(coalesce(n.name, '')) CONTAINS $q
   OR toLower(coalesce(n.name_zh, '')) CONTAINS $q
   OR toLower(coalesce(n.label_zh, '')) CONTAINS $q
   OR toLower(coalesce(n.label_en, '')) CONTAINS $q
   OR toLower(coalesce(n.title, '')) CONTAINS $q
   OR any(a IN coalesce(n.aliases, []) WHERE toLower(a) CONTAINS $q)
RETURN n.id AS id, labels(n) AS labels,
       coalesce(n.name, n.name_zh, n.label_zh, n.title, n.label_en, n.id) AS name,
       [x IN [n.id, n.name, n.name_zh, n.label_zh, n.label_en] WHERE toLower(x) = $q] AS exact
ORDER BY size(exact) = 0, size(toString(name)), id
LIMIT $limit
"""
_SEARCH = {label: _SEARCH_TEMPLATE.format(label=label) for label in ID_LABELS}

# lookups by id carry the node's id label (found by indexed lookups): no full scan on Neo4j
_NODE = ("MATCH (n:{label} {{id: $id}}) RETURN labels(n) AS labels, properties(n) AS properties "
         "LIMIT 1")

_DEGREE = """
MATCH (n:{label} {{id: $id}})-[r]-()
RETURN type(r) AS type, count(r) AS n ORDER BY type
"""

# shortest paths first, then by their nodes' ids: a truncated neighbourhood is the same on
# every backend
_NEIGHBOURHOOD = """
MATCH p = (n:{label} {{id: $id}})-[*1..{depth}]-(m)
WHERE ($labels IS NULL OR any(l IN labels(m) WHERE l IN $labels))
  AND ($types IS NULL OR all(r IN relationships(p) WHERE type(r) IN $types))
WITH p ORDER BY length(p), [x IN nodes(p) | x.id], [r IN relationships(p) | type(r)]
LIMIT $limit
RETURN [x IN nodes(p) | {{id: x.id, labels: labels(x),
        name: coalesce(x.name, x.name_zh, x.label_zh, x.title, x.label_en, x.id)}}] AS nodes,
       [r IN relationships(p) | {{type: type(r), source: startNode(r).id,
        target: endNode(r).id}}] AS rels
"""


@dataclass
class Neighbourhood:
    """Nodes and relationships around a centre node, de-duplicated."""

    centre: str
    depth: int
    nodes: list[dict[str, Any]] = field(default_factory=list)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    limit: int = DEFAULT_LIMIT


class NotFound(LookupError):
    """No node has that id."""


def search(
    store: GraphStore, text: str, *, labels: Sequence[str] | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Nodes whose id, name, labels or aliases contain `text` (case-insensitive), best first:
    exact matches, then shorter names. `labels` narrows (or widens) the labels searched."""
    q = text.strip().lower()
    if not q:
        return []
    wanted = list(dict.fromkeys(labels)) if labels else list(SEARCH_LABELS)
    unknown = [label for label in wanted if label not in _SEARCH]
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; searchable labels: "
                         f"{', '.join(ID_LABELS)}")
    hits: dict[str, dict[str, Any]] = {}
    for label in wanted:
        for row in store.read(_SEARCH[label], {"q": q, "limit": int(limit)}):
            hits.setdefault(row["id"], row)
    ranked = sorted(hits.values(),
                    key=lambda r: (not r["exact"], len(str(r["name"])), str(r["id"])))
    return [{"id": r["id"], "labels": sorted(r["labels"]), "name": r["name"]}
            for r in ranked[:limit]]


def node(store: GraphStore, node_id: str) -> dict[str, Any]:
    """A node with all its properties and its relationship counts by type."""
    label = graph_paths.find_label(store, node_id)
    row = None if label is None else store.read_one(_NODE.format(label=label), {"id": node_id})
    if label is None or row is None:
        raise NotFound(f"no node with id {node_id!r}")
    degree = {r["type"]: r["n"]
              for r in store.read(_DEGREE.format(label=label), {"id": node_id})}
    return {"id": node_id, "labels": sorted(row["labels"]), "properties": row["properties"],
            "relationship_counts": degree}


def neighbourhood(
    store: GraphStore,
    node_id: str,
    *,
    depth: int = 1,
    labels: Sequence[str] | None = None,
    rel_types: Sequence[str] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Neighbourhood:
    """Paths of length 1..depth from a node, optionally only to some labels / through some types.

    At most `limit` paths are expanded; `truncated` says when there were more.
    """
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}")
    _known_or_fail(store, "label", labels)
    _known_or_fail(store, "type", rel_types)
    label = graph_paths.find_label(store, node_id)
    if label is None:
        raise NotFound(f"no node with id {node_id!r}")
    rows = store.read(
        _NEIGHBOURHOOD.format(label=label, depth=int(depth)),
        {"id": node_id, "labels": list(labels) if labels else None,
         "types": list(rel_types) if rel_types else None, "limit": int(limit) + 1},
    )
    result = Neighbourhood(centre=node_id, depth=depth, limit=limit,
                           truncated=len(rows) > limit)
    seen_nodes: dict[str, dict[str, Any]] = {}
    seen_rels: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows[:limit]:
        for n in row["nodes"]:
            seen_nodes.setdefault(n["id"], {**n, "labels": sorted(n["labels"])})
        for r in row["rels"]:
            seen_rels.setdefault((r["source"], r["type"], r["target"]), r)
    result.nodes = sorted(seen_nodes.values(), key=lambda n: (n["id"] != node_id, n["id"]))
    result.relationships = sorted(seen_rels.values(),
                                  key=lambda r: (r["source"], r["type"], r["target"]))
    return result


_KNOWN = {
    "label": "CALL db.labels() YIELD label RETURN label AS name",
    "type": "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType AS name",
}


def _known_or_fail(store: GraphStore, kind: str, wanted: Sequence[str] | None) -> None:
    """ValueError naming filters the graph has no such label or type for: a typo would
    otherwise filter everything out and look like an empty neighbourhood."""
    if not wanted:
        return
    known = {r["name"] for r in store.read(_KNOWN[kind])}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise ValueError(f"unknown {kind}(s) {', '.join(unknown)}; the graph has: "
                         f"{', '.join(sorted(known))}")


def paths(store: GraphStore, from_id: str, to_id: str, *, max_depth: int = 6
          ) -> list[dict[str, Any]]:
    """A shortest path between two nodes (relationships followed either way), as node ids and
    relationship types; the same path on every backend (see :mod:`graph_paths`)."""
    found: dict[str, str] = {}
    for node_id in (from_id, to_id):
        label = graph_paths.find_label(store, node_id)
        if label is None:
            raise NotFound(f"no node with id {node_id!r}")
        found[node_id] = label
    labels: dict[str, str] = {}
    path = graph_paths.shortest_path(store, from_id, found[from_id], to_id, found[to_id],
                                     max_depth, labels)
    if path is None:
        return []
    nodes = graph_paths.describe(store, path, labels)
    return [{
        "nodes": [{"id": n["properties"].get("id"), "labels": sorted(n["labels"]),
                   "name": _display_name(n["properties"])} for n in nodes],
        "relationships": [t for _, t in path[:-1]],
        "length": len(path) - 1,
    }]


def _display_name(props: dict[str, Any]) -> str:
    for key in ("name", "name_zh", "label_zh", "title", "label_en", "id"):
        if props.get(key):
            return str(props[key])
    return ""


def compact(props: dict[str, Any]) -> dict[str, Any]:
    """Properties without the bulky ones, for listings."""
    return {k: v for k, v in props.items() if k not in BULKY_PROPERTIES}
