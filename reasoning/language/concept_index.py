"""The ontology as the rule engine sees it: concept ids, kinds, labels, the class hierarchy.

Rules match on classes (``sector is_a VOCsKeyIndustry``) and the compiler expands a class to
itself and all its descendants, so a rule on a parent applies to every subclass. The checker
refuses unknown concepts and concepts of the wrong kind. Both read this index.

The index is built from the graph (``ConceptIndex.from_store``: the concepts experts actually
loaded, including their own additions) or, where no graph is at hand, from the bundled
ontology file (``ConceptIndex.from_ontology``). Either way it is a plain in-memory snapshot:
one or two reads, then no queries while rules compile or facts are assembled.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.graph.store import GraphStore

_RELATIONS = ("MAINLY_EMITS", "PRIORITISES", "DEFAULT_MEASURE", "PRECURSOR_OF", "CONCERNS",
              "TARGETS")


@dataclass(frozen=True)
class ConceptInfo:
    id: str
    kinds: frozenset[str]
    label_zh: str
    label_en: str
    parents: tuple[str, ...]
    properties: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class ConceptIndex:
    """Concepts by id, their parents, and the concept-to-concept relations rules use."""

    concepts: dict[str, ConceptInfo]
    relations: dict[str, dict[str, tuple[str, ...]]]  # type -> source -> targets
    source: str = "graph"
    terms: dict[str, str] = field(default_factory=dict)  # label or alias -> concept id

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_store(cls, store: GraphStore) -> ConceptIndex:
        """Read every Concept node, its SUBCLASS_OF parents and relations (three queries)."""
        nodes = store.read("MATCH (c:Concept) RETURN c AS c, labels(c) AS labels")
        parents: dict[str, list[str]] = {}
        for r in store.read("MATCH (c:Concept)-[:SUBCLASS_OF]->(p:Concept) "
                            "RETURN c.id AS c, p.id AS p"):
            parents.setdefault(r["c"], []).append(r["p"])
        rels: dict[str, dict[str, list[str]]] = {t: {} for t in _RELATIONS}
        for r in store.read("MATCH (a:Concept)-[e]->(b:Concept) WHERE type(e) IN $types "
                            "RETURN a.id AS a, type(e) AS t, b.id AS b",
                            {"types": list(_RELATIONS)}):
            rels[r["t"]].setdefault(r["a"], []).append(r["b"])
        concepts: dict[str, ConceptInfo] = {}
        terms: dict[str, str] = {}
        for row in nodes:
            props = dict(row["c"]["properties"])
            cid = props.pop("id")
            kinds = frozenset(lb for lb in row["labels"] if lb != "Concept")
            info = ConceptInfo(
                id=cid, kinds=kinds, label_zh=props.pop("label_zh", cid),
                label_en=props.pop("label_en", cid),
                parents=tuple(sorted(parents.get(cid, []))), properties=props)
            concepts[cid] = info
            for t in (info.label_zh, info.label_en, *(props.get("aliases") or [])):
                terms.setdefault(str(t), cid)
        return cls(concepts, {t: {k: tuple(sorted(v)) for k, v in m.items()}
                              for t, m in rels.items()}, source="graph", terms=terms)

    @classmethod
    def from_ontology(cls, ontology: Any = None) -> ConceptIndex:
        """From the bundled ontology file (or an ``Ontology`` instance)."""
        onto = ontology or Ontology()
        concepts = {
            c.id: ConceptInfo(id=c.id, kinds=frozenset(c.kinds), label_zh=c.label_zh,
                              label_en=c.label_en,
                              parents=tuple(sorted(p for p in c.parents if p in onto.concepts)),
                              properties=dict(c.properties))
            for c in onto.concepts.values()
        }
        rels: dict[str, dict[str, list[str]]] = {t: {} for t in _RELATIONS}
        for r in onto.relations():
            if r.type in rels:
                rels[r.type].setdefault(r.source, []).append(r.target)
        return cls(concepts, {t: {k: tuple(sorted(v)) for k, v in m.items()}
                              for t, m in rels.items()}, source=f"ontology file {onto.path.name}",
                   terms=onto.terms())

    @classmethod
    def for_store(cls, store: GraphStore | None) -> ConceptIndex:
        """The graph's concepts when it holds any, else the bundled ontology file."""
        if store is not None:
            index = cls.from_store(store)
            if index.concepts:
                return index
        return cls.from_ontology()

    # -- questions -------------------------------------------------------------------------

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self.concepts

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for c in self.concepts.values():
            for p in c.parents:
                out.setdefault(p, []).append(c.id)
        return out

    @cached_property
    def fingerprint(self) -> str:
        """Changes when the hierarchy changes (compiled rules are cached per fingerprint)."""
        body = json.dumps(sorted((c.id, sorted(c.kinds), list(c.parents))
                                 for c in self.concepts.values()))
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def descendants(self, concept_id: str, include_self: bool = True) -> list[str]:
        """The concept and everything below it (all paths), sorted."""
        seen: set[str] = set()
        queue = deque([concept_id])
        while queue:
            for child in self._children.get(queue.popleft(), []):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        if include_self:
            seen.add(concept_id)
        else:
            seen.discard(concept_id)
        return sorted(seen)

    @cached_property
    def _ancestor_cache(self) -> dict[str, frozenset[str]]:
        return {}

    def ancestors(self, concept_id: str) -> frozenset[str]:
        cached = self._ancestor_cache.get(concept_id)
        if cached is not None:
            return cached
        seen: set[str] = set()
        queue = deque([concept_id])
        while queue:
            c = self.concepts.get(queue.popleft())
            if c is None:
                continue
            for p in c.parents:
                if p not in seen:
                    seen.add(p)
                    queue.append(p)
        out = frozenset(seen)
        self._ancestor_cache[concept_id] = out
        return out

    def is_a(self, concept_id: str, parent_id: str) -> bool:
        return concept_id == parent_id or parent_id in self.ancestors(concept_id)

    def related(self, concept_id: str, concept_id2: str) -> bool:
        """One lies below the other (NOx ~ NO2, VOCs ~ Benzene); used for 'emits the species'."""
        return self.is_a(concept_id, concept_id2) or self.is_a(concept_id2, concept_id)

    def has_kind(self, concept_id: str, kind: str) -> bool:
        c = self.concepts.get(concept_id)
        return c is not None and kind in c.kinds

    def label(self, concept_id: str, lang: str = "zh") -> str:
        c = self.concepts.get(concept_id)
        if c is None:
            return concept_id
        return c.label_zh if lang == "zh" else c.label_en

    def prop(self, concept_id: str, name: str, default: Any = None) -> Any:
        c = self.concepts.get(concept_id)
        return default if c is None else c.properties.get(name, default)

    def targets(self, rel_type: str, concept_id: str, *, inherited: bool = False) -> list[str]:
        """Targets of a relation from the concept (and from its ancestors if `inherited`)."""
        sources = {concept_id} | (set(self.ancestors(concept_id)) if inherited else set())
        table = self.relations.get(rel_type, {})
        return sorted({t for s in sources for t in table.get(s, ())})

    @cached_property
    def _emits_cache(self) -> dict[str, list[str]]:
        return {}

    def mainly_emits(self, sector_id: str) -> list[str]:
        if sector_id not in self._emits_cache:
            self._emits_cache[sector_id] = self.targets("MAINLY_EMITS", sector_id, inherited=True)
        return self._emits_cache[sector_id]

    @cached_property
    def grade_codes(self) -> dict[str, str]:
        """Enterprise grade code (A, B, ..., leading) -> PerformanceGrade concept id."""
        return {str(c.properties["grade_code"]): c.id for c in self.concepts.values()
                if "PerformanceGrade" in c.kinds and "grade_code" in c.properties}

    def lookup(self, term: str) -> str | None:
        """The concept an id, label or alias names (exact, then case-insensitive)."""
        if term in self.concepts:
            return term
        if term in self.terms:
            return self.terms[term]
        folded = term.casefold()
        hits = {c for t, c in self.terms.items() if t.casefold() == folded}
        hits |= {c for c in self.concepts if c.casefold() == folded}
        return hits.pop() if len(hits) == 1 else None

    def suggest(self, word: str, kinds: Iterable[str] | None = None) -> str:
        """' ; did you mean X, Y?' for an unknown concept id (or '')."""
        wanted = set(kinds or ())
        pool = [c.id for c in self.concepts.values() if not wanted or c.kinds & wanted]
        close = difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
        out = f"; did you mean {', '.join(close)}?" if close else ""
        leaves = [c for c in pool if c not in wanted]  # AlertRed, not the EmergencyLevel class
        if wanted and len(leaves) <= 40:  # a small enumeration: name every valid option
            out += f" (valid {'/'.join(sorted(wanted))}: {', '.join(sorted(leaves))})"
        return out
