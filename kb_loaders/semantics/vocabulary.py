"""Vocabulary as data: an expert adds a measure type (or another term) without editing OWL.

The ontology file defines the seven *kinds* of concepts rules speak about (Pollutant,
SourceCategory, Sector, EmergencyLevel, MeasureType, O3Regime, PerformanceGrade) and the terms
that ship with ecobrain. A new term — a measure type a province introduces, a local sector —
is a graph node like the shipped ones, written through the API or ``ecobrain vocab add``:

- checked against the ontology's classes: the kind is one of the seven; the parent exists in
  the graph and is of that kind (the new term inherits its kind labels: a new sector is also
  a SourceCategory); the id is new, a local name the ontology could hold
  (``^[A-Z][A-Za-z0-9_]*$``, unique regardless of case), and not an ontology class;
- with what the graph's SHACL shapes require of any concept (``ontology/shapes.ttl``): an IRI
  in the ontology namespace, exactly one Chinese label with Han characters, one English label,
  the ``kind`` property and a ``SUBCLASS_OF`` parent;
- marked ``origin: "expert"`` with who and when, and audited (``AuditEvent``).

Reloading the ontology (``ecobrain kb load``) keeps these terms and their ``SUBCLASS_OF``
edge (the loader prunes only edges it wrote, :mod:`ecobrain.kb_loaders.semantics.ontology_loader`).
Rules see the term at once: the checker's and the compiler's concept index is read from the
graph (:mod:`ecobrain.reasoning.language.concept_index`), and a rule on the parent class matches it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from ecobrain.kb_loaders.semantics.ontology_loader import NODE_QUERIES
from ecobrain.ontology.concepts import EB_NS
from ecobrain.ontology.graph.store import GraphStore

KINDS = ("Pollutant", "SourceCategory", "Sector", "EmergencyLevel", "MeasureType", "O3Regime",
         "PerformanceGrade")
TERM_ID = re.compile(r"^[A-Z][A-Za-z0-9_]{1,63}$")
HAN = re.compile(r"[\u4e00-\u9fff]")


class VocabularyError(ValueError):
    """A term that cannot be added; `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewTerm:
    kind: str
    id: str
    label_zh: str
    label_en: str
    parent: str
    comment_zh: str | None = None
    aliases: tuple[str, ...] = ()


def terms(store: GraphStore, kind: str) -> list[dict[str, Any]]:
    """The terms of a kind in the graph (shipped and expert-added), with their parents."""
    _kind(kind)
    return store.read(
        "MATCH (c:Concept) WHERE c.kind = $kind OPTIONAL MATCH (c)-[:SUBCLASS_OF]->(p:Concept) "
        "RETURN c.id AS id, c.label_zh AS label_zh, c.label_en AS label_en, "
        "collect(p.id) AS parents, coalesce(c.origin, 'ontology') AS origin, "
        "c.added_by AS added_by, c.added_at AS added_at ORDER BY id", {"kind": kind})


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise VocabularyError(f"unknown kind {kind!r} (kinds of the ontology: "
                              f"{', '.join(KINDS)})", "kind")
    return kind


def validate_term(store: GraphStore, term: NewTerm) -> list[str]:
    """The parent's kind labels (what the node gets), or VocabularyError naming the field."""
    _kind(term.kind)
    if not TERM_ID.match(term.id):
        raise VocabularyError(f"id {term.id!r}: a name like RestrictShipEmissions (letters, "
                              "digits, _; starting with a capital)", "id")
    if term.id in KINDS:
        raise VocabularyError(f"{term.id} is a kind of the ontology, not a term", "id")
    same = store.read("MATCH (c:Concept) WHERE toLower(c.id) = toLower($id) "
                      "RETURN c.id AS id, c.kind AS kind", {"id": term.id})
    if same:
        raise VocabularyError(f"{same[0]['id']} exists already (a {same[0]['kind']})", "id")
    if not HAN.search(term.label_zh or ""):
        raise VocabularyError("label_zh: the Chinese name, with Han characters", "label_zh")
    if not (term.label_en or "").strip():
        raise VocabularyError("label_en: the English name", "label_en")
    parent = store.read_one("MATCH (p:Concept {id: $id}) RETURN p.kind AS kind, "
                            "labels(p) AS labels", {"id": term.parent})
    if parent is None:
        options = [r["id"] for r in terms(store, term.kind)]
        raise VocabularyError(f"no concept {term.parent!r} to put it under (terms of "
                              f"{term.kind}: {', '.join(options[:40])})", "parent")
    kinds = sorted(lb for lb in parent["labels"] if lb in KINDS)
    if term.kind not in kinds:
        raise VocabularyError(f"{term.parent} is a {'/'.join(kinds) or parent['kind']}, not a "
                              f"{term.kind}: the parent must be of the term's kind", "parent")
    if frozenset(kinds) not in NODE_QUERIES:
        raise VocabularyError(f"no concept may have the kinds {kinds}", "parent")
    return kinds


def add_term(store: GraphStore, term: NewTerm, *, by: str) -> dict[str, Any]:
    """Validate and write the term, its SUBCLASS_OF edge and an audit event (one unit)."""
    kinds = validate_term(store, term)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    props: dict[str, Any] = {
        "id": term.id, "iri": EB_NS + term.id, "label_zh": term.label_zh.strip(),
        "label_en": term.label_en.strip(), "kind": term.kind, "origin": "expert",
        "added_by": by, "added_at": at, "aliases": list(term.aliases),
    }
    if term.comment_zh:
        props["comment_zh"] = term.comment_zh
    detail = json.dumps({"kind": term.kind, "parent": term.parent, "label_zh": term.label_zh,
                         "label_en": term.label_en}, ensure_ascii=False, sort_keys=True)
    event = {"id": "audit-" + hashlib.sha256(f"{term.id}|{by}|{at}".encode()).hexdigest()[:16],
             "action": "vocabulary.add", "target": term.id, "by": by, "at": at,
             "detail": detail}
    store.write_all([
        (NODE_QUERIES[frozenset(kinds)], {"rows": [{"id": term.id, "props": props}]}),
        ("MATCH (c:Concept {id: $id}) MATCH (p:Concept {id: $parent}) "
         "MERGE (c)-[e:SUBCLASS_OF]->(p) SET e.expert = true",
         {"id": term.id, "parent": term.parent}),
        ("MERGE (a:AuditEvent {id: $e.id}) SET a += $e WITH a "
         "MATCH (c:Concept {id: $e.target}) MERGE (a)-[:ABOUT]->(c)", {"e": event}),
    ])
    return {**props, "parents": [term.parent], "labels": ["Concept", *kinds]}
