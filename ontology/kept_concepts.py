"""What loaders and the rule check ask of the ontology besides its nodes — each concept's
kinds, the terms that name it, its disjoint groups — kept between processes
(:mod:`ecobrain.ontology.prepared`).

Parsing the Turtle with rdflib takes longer than the answers are worth to a loader that only
checks an id or finds a term; the answers depend on nothing but the file's bytes and the code
that reads it, so they are keyed by those two. A file that does not parse is parsed (and
refused, :class:`~ecobrain.ontology.concepts.OntologyError`) every time.
"""

from __future__ import annotations

from typing import Any

from ecobrain.ontology import concepts
from ecobrain.ontology.concepts import Ontology, default_ontology_path
from ecobrain.ontology.prepared import prepared


def _summary() -> dict[str, Any]:
    onto = Ontology()
    return {"terms": onto.terms(),
            "kind": {cid: c.kind for cid, c in onto.concepts.items()},
            "kinds": {cid: sorted(c.kinds) for cid, c in onto.concepts.items()},
            "disjoint_groups": [list(g) for g in onto.disjoint_groups()]}


def concept_summary() -> dict[str, Any]:
    """``terms`` (term -> concept id), ``kind`` (id -> its kind), ``kinds`` (id -> every kind
    label) and ``disjoint_groups`` (lists of concept ids) of the configured ontology
    (``default_ontology_path()``)."""
    source = default_ontology_path()
    if not source.is_file():
        return _summary()  # the parser names what is missing
    return prepared("ontology-concepts", [], [source, concepts.__file__, __file__], _summary,
                    shape=dict)
