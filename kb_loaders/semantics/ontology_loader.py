"""Loader 1: the ontology into the graph — concept nodes, their hierarchy and relations.

Every concept of ``ontology/ecobrain.ttl`` becomes a node labelled ``Concept`` plus its kind
labels (``Pollutant``; ``SourceCategory`` and ``Sector`` for an industrial sector; ...), with
``id, iri, label_zh, label_en, aliases, kind, comment_zh, comment_en`` and the concept's
annotations (``molar_mass``, ``industry_code``, ``severity_rank``, ...). Edges: ``SUBCLASS_OF``
to direct parents, and the relations asserted between concepts (``PRECURSOR_OF``,
``MAINLY_EMITS``, ``PRIORITISES``, ``DEFAULT_MEASURE``, ``CONCERNS``, ``TARGETS``).

The whole file is parsed and validated (:class:`~ecobrain.ontology.concepts.Ontology`) before
anything is written; then everything is written as one unit. Loading is idempotent: nodes are
MERGEd on ``id`` and their properties replaced, each concept's kind labels are set and the
other kind labels removed, and concept-to-concept edges the file no longer asserts are deleted —
so a re-load after an edit converges to the file. Concept nodes whose concept left the file are
kept (enterprises or rules may still point at them) without their ontology edges, and reported
in the notes.

Instance classes (Enterprise, County, Article, ...) are *not* written as nodes: they are the
graph's labels already, and their Chinese/English names come from
``Ontology().schema_classes`` for whoever displays them; an extra ``OntologyClass`` node per
label would only duplicate ``db.labels()`` and give investigators one more thing to filter out.

Cypher cannot take labels or relationship types as parameters, so there is one constant query
per kind-label set and per relationship type; nothing in a query is built from data.

Parsing and validating the Turtle (rdflib) is most of a load's time, and what it yields — the
statements and the counts for the report — depends only on the file's bytes and this code: it
is kept between processes (:mod:`ecobrain.ontology.prepared`), keyed by both. A file that
does not validate is never kept, so its errors come back on every load.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.ontology import concepts
from ecobrain.ontology.concepts import Concept, Ontology, OntologyError, default_ontology_path
from ecobrain.ontology.graph.store import GraphStore, Statement, WriteSummary
from ecobrain.ontology.prepared import prepared

_ALL_KINDS = ("Pollutant", "SourceCategory", "Sector", "EmergencyLevel", "MeasureType",
              "O3Regime", "PerformanceGrade")


def _node_query(labels: str, remove: str) -> str:
    return (
        "UNWIND $rows AS r MERGE (c:Concept {id: r.id}) "
        f"SET c = r.props SET c:{labels} REMOVE c:{remove}"
    )


# One query per kind-label set a concept can have (labels cannot be query parameters).
NODE_QUERIES: dict[frozenset[str], str] = {
    frozenset({"Pollutant"}): _node_query(
        "Pollutant",
        "SourceCategory:Sector:EmergencyLevel:MeasureType:O3Regime:PerformanceGrade"),
    frozenset({"SourceCategory"}): _node_query(
        "SourceCategory",
        "Pollutant:Sector:EmergencyLevel:MeasureType:O3Regime:PerformanceGrade"),
    frozenset({"SourceCategory", "Sector"}): _node_query(
        "SourceCategory:Sector",
        "Pollutant:EmergencyLevel:MeasureType:O3Regime:PerformanceGrade"),
    frozenset({"EmergencyLevel"}): _node_query(
        "EmergencyLevel",
        "Pollutant:SourceCategory:Sector:MeasureType:O3Regime:PerformanceGrade"),
    frozenset({"MeasureType"}): _node_query(
        "MeasureType",
        "Pollutant:SourceCategory:Sector:EmergencyLevel:O3Regime:PerformanceGrade"),
    frozenset({"O3Regime"}): _node_query(
        "O3Regime",
        "Pollutant:SourceCategory:Sector:EmergencyLevel:MeasureType:PerformanceGrade"),
    frozenset({"PerformanceGrade"}): _node_query(
        "PerformanceGrade",
        "Pollutant:SourceCategory:Sector:EmergencyLevel:MeasureType:O3Regime"),
}


def _edge_queries(rel: str) -> tuple[str, str]:
    merge = (
        "UNWIND $rows AS r MATCH (a:Concept {id: r.src}) MATCH (b:Concept {id: r.dst}) "
        f"MERGE (a)-[:{rel}]->(b)"
    )
    prune = (  # an expert's term keeps its edge (kb_loaders/semantics/vocabulary.py: e.expert)
        f"MATCH (a:Concept)-[e:{rel}]->(b:Concept) "
        "WHERE NOT (a.id + '>' + b.id) IN $keys AND e.expert IS NULL DELETE e"
    )
    return merge, prune


# Relationship types between concepts this loader owns: (merge query, prune query).
EDGE_QUERIES: dict[str, tuple[str, str]] = {
    rel: _edge_queries(rel)
    for rel in ("SUBCLASS_OF", "PRECURSOR_OF", "MAINLY_EMITS", "PRIORITISES",
                "DEFAULT_MEASURE", "CONCERNS", "TARGETS")
}

# terms experts added as data (kb_loaders/semantics/vocabulary.py) are not "stale": never in it
_EXISTING = ("MATCH (c:Concept) WHERE c.origin IS NULL OR c.origin <> 'expert' "
             "RETURN c.id AS id")


def concept_props(c: Concept) -> dict[str, Any]:
    """The node's properties (None values left out: the store cannot hold null)."""
    props: dict[str, Any] = {
        "id": c.id,
        "iri": c.iri,
        "label_zh": c.label_zh,
        "label_en": c.label_en,
        "aliases": list(c.aliases),
        "kind": c.kind,
        "comment_zh": c.comment_zh,
        "comment_en": c.comment_en,
    }
    for key, value in c.properties.items():
        props.setdefault(key, value)
    return {k: v for k, v in props.items() if v is not None}


def plan(onto: Ontology) -> list[Statement]:
    """The statements that write the ontology, in order (nodes, then edges, then pruning)."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for c in sorted(onto.concepts.values(), key=lambda c: c.id):
        if c.kinds not in NODE_QUERIES:
            raise LoadError(
                f"concept '{c.id}' has kinds {sorted(c.kinds)}, for which the ontology loader "
                "has no query; a new kind needs a query in "
                "kb_loaders/semantics/ontology_loader.py and a label in ontology/graph/schema.py",
                file=onto.path, line=c.line, field="rdfs:subClassOf",
            )
        groups.setdefault(c.kinds, []).append({"id": c.id, "props": concept_props(c)})
    statements: list[Statement] = [
        (NODE_QUERIES[kinds], {"rows": rows}) for kinds, rows in sorted(
            groups.items(), key=lambda kv: sorted(kv[0]))
    ]
    edges: dict[str, list[dict[str, str]]] = {rel: [] for rel in EDGE_QUERIES}
    for c in sorted(onto.concepts.values(), key=lambda c: c.id):
        for p in c.parents:
            if p in onto.concepts:  # kind roots' parent eb:Concept is a label, not a node
                edges["SUBCLASS_OF"].append({"src": c.id, "dst": p})
    for r in onto.relations():
        if r.type not in edges:
            raise LoadError(
                f"relation {r.source} {r.type} {r.target}: the ontology loader has no query "
                f"for {r.type} between concepts; add it to EDGE_QUERIES",
                file=onto.path, line=onto.concept(r.source).line, field=r.type,
            )
        edges[r.type].append({"src": r.source, "dst": r.target})
    for rel, rows in edges.items():
        merge, prune = EDGE_QUERIES[rel]
        if rows:
            statements.append((merge, {"rows": rows}))
        statements.append((prune, {"keys": [f"{e['src']}>{e['dst']}" for e in rows]}))
    return statements


def _planned(source: Path) -> dict[str, Any]:
    """What a load writes and reports, from a parsed and validated file."""
    onto = Ontology(source)
    counts: dict[str, int] = {}
    for c in onto.concepts.values():
        counts[c.kind] = counts.get(c.kind, 0) + 1
    rel_counts: dict[str, int] = {"SUBCLASS_OF": sum(
        1 for c in onto.concepts.values() for p in c.parents if p in onto.concepts)}
    for r in onto.relations():
        rel_counts[r.type] = rel_counts.get(r.type, 0) + 1
    return {"statements": [[q, p] for q, p in plan(onto)], "concepts": sorted(onto.concepts),
            "version": onto.version, "counts": counts, "rel_counts": rel_counts}


def kept_plan(source: Path) -> dict[str, Any]:
    """:func:`_planned`, kept for the same file bytes and code."""
    return prepared("ontology-plan", [], [source, __file__, concepts.__file__],
                    lambda: _planned(source), shape=dict)


def load_ontology(store: GraphStore, path: str | Path | None = None) -> LoadReport:
    """Validate the ontology file, then write its concepts and their edges (idempotent)."""
    started = time.perf_counter()
    source = Path(path) if path is not None else default_ontology_path()
    try:
        planned = kept_plan(source) if source.is_file() else _planned(source)
    except OntologyError as exc:
        raise LoadError(exc.reason, file=exc.file or source, line=exc.line,
                        field=exc.field) from exc
    statements: list[Statement] = [(q, p) for q, p in planned["statements"]]
    store.ensure_schema()
    existing = {r["id"] for r in store.read(_EXISTING)}
    written: WriteSummary = store.write_all(statements)
    stale = sorted(existing - set(planned["concepts"]))

    counts: dict[str, int] = planned["counts"]
    rel_counts: dict[str, int] = planned["rel_counts"]
    notes = [
        f"ontology {planned['version']}: " + ", ".join(f"{counts[k]} {k}" for k in _ALL_KINDS
                                                       if k in counts),
        "edges: " + ", ".join(f"{n} {t}" for t, n in sorted(rel_counts.items())),
    ]
    if stale:
        notes.append(
            f"{len(stale)} concept node(s) in the graph are no longer in the ontology; kept "
            "without their ontology edges (other nodes may point at them): "
            f"{', '.join(stale[:10])}"
            + (" ..." if len(stale) > 10 else "")
        )
    return LoadReport(
        source=str(source),
        records=len(planned["concepts"]),
        written=written,
        seconds=time.perf_counter() - started,
        notes=notes,
    )
