"""Is the ontology logically sound? A DL reasoner's verdict, for tests and `ecobrain kb check`.

The ontology declares disjoint classes (a pollutant is not a source category, a county is not a
city, ...) and domains/ranges on the relations between concepts, so a careless edit — a
pollutant used as the subject of ``mainlyEmits``, a VOC species filed under a sector — makes it
inconsistent or leaves a class that can have no members. This module asks a reasoner:

- **HermiT** (through owlready2) when ``java`` is on the PATH: complete OWL 2 DL reasoning.
  owlready2 reads RDF/XML or N-Triples, not Turtle, so the file is converted with rdflib into a
  temporary directory first.
- **owlrl** otherwise: the OWL 2 RL closure (its rules flag individuals in disjoint classes and
  members of owl:Nothing), plus a check owlrl does not make — a named class below two disjoint
  classes is unsatisfiable.

``consistent`` is True only when the ontology has a model *and* every named class is
satisfiable; ``unsatisfiable`` lists the offending classes.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.collection import Collection

from ecobrain.ontology.concepts import EB_NS, default_ontology_path, parse_turtle

REASONERS = ("HermiT", "owlrl")


@dataclass(frozen=True)
class OwlCheckResult:
    """The reasoner's verdict on one ontology file."""

    reasoner: str
    consistent: bool
    seconds: float
    inferred_subclass_count: int
    message: str
    unsatisfiable: tuple[str, ...] = ()


def _local(node: object) -> str | None:
    if isinstance(node, URIRef) and str(node).startswith(EB_NS):
        return str(node)[len(EB_NS):]
    return None


def check_consistency(
    path: str | Path | None = None, *, reasoner: str | None = None
) -> OwlCheckResult:
    """Run HermiT (when java is present) or owlrl over the ontology file.

    `reasoner` forces one ("HermiT" or "owlrl"); HermiT without java raises RuntimeError.
    A Turtle syntax error raises OntologyError (file and line) before any reasoning.
    """
    path = Path(path) if path is not None else default_ontology_path()
    graph, _ = parse_turtle(path)
    chosen = reasoner or ("HermiT" if shutil.which("java") else "owlrl")
    if chosen.lower() == "hermit":
        if not shutil.which("java"):
            raise RuntimeError("HermiT needs java on the PATH; use reasoner='owlrl'")
        return _hermit(graph)
    if chosen.lower() == "owlrl":
        return _owlrl(graph)
    raise ValueError(f"unknown reasoner {chosen!r}; use one of {', '.join(REASONERS)}")


def _hermit(graph: Graph) -> OwlCheckResult:
    import owlready2

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ecobrain-owl-") as tmp:
        nt = Path(tmp) / "ecobrain.nt"
        graph.serialize(destination=str(nt), format="nt", encoding="utf-8")
        world = owlready2.World()
        try:
            onto = world.get_ontology(nt.as_uri()).load(format="ntriples")
            # owlready2 records "C is equivalent to owl:Nothing" on the Python objects of classes
            # already loaded when the reasoner returns (not reliably on ones loaded later), so
            # load every class first, or unsatisfiable classes go unreported.
            classes = list(onto.classes())
            try:
                with onto:
                    owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
            except owlready2.OwlReadyInconsistentOntologyError:
                return OwlCheckResult(
                    reasoner="HermiT",
                    consistent=False,
                    seconds=time.perf_counter() - start,
                    inferred_subclass_count=0,
                    message="HermiT: the ontology is inconsistent (it has no model): some "
                    "individual falls into disjoint classes, typically a concept used on the "
                    "wrong side of a relation (check domains and ranges)",
                )
            unsat = sorted(
                name
                for c in classes
                if (name := _local(URIRef(c.iri))) and owlready2.Nothing in c.equivalent_to
            )
            pairs = 0
            for c in classes:
                if _local(URIRef(c.iri)) is None:
                    continue
                pairs += sum(
                    1 for a in c.ancestors(include_self=False)
                    if a is not owlready2.Thing and _local(URIRef(a.iri)) is not None
                )
        finally:
            world.close()
    seconds = time.perf_counter() - start
    return _verdict("HermiT", unsat, seconds, pairs)


def _verdict(reasoner: str, unsat: list[str], seconds: float, pairs: int,
             errors: list[str] | None = None) -> OwlCheckResult:
    if errors:
        msg = f"{reasoner}: the ontology is inconsistent: " + "; ".join(sorted(errors)[:5])
        return OwlCheckResult(reasoner, False, seconds, pairs, msg, tuple(unsat))
    if unsat:
        msg = (f"{reasoner}: unsatisfiable classes (they can have no members, usually a class "
               f"placed below two disjoint classes): {', '.join(unsat)}")
        return OwlCheckResult(reasoner, False, seconds, pairs, msg, tuple(unsat))
    msg = f"{reasoner}: consistent; every named class is satisfiable"
    return OwlCheckResult(reasoner, True, seconds, pairs, msg)


def _owlrl(graph: Graph) -> OwlCheckResult:
    import owlrl
    from owlrl.Namespaces import ERRNS

    start = time.perf_counter()
    g = Graph()
    for triple in graph:
        g.add(triple)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(g)
    errors = [str(m) for m in g.objects(None, ERRNS.error)]

    disjoint: set[tuple[URIRef, URIRef]] = set()
    for a, b in g.subject_objects(OWL.disjointWith):
        disjoint.add((a, b))
    for node in g.subjects(RDF.type, OWL.AllDisjointClasses):
        members = g.value(node, OWL.members)
        if members is not None:
            disjoint.update(combinations(list(Collection(g, members)), 2))

    named = {c for c in g.subjects(RDF.type, OWL.Class) if _local(c)}
    supers = {c: set(g.objects(c, RDFS.subClassOf)) | {c} for c in named}
    unsat = []
    for c in sorted(named):
        s = supers[c]
        if OWL.Nothing in s or (c, OWL.equivalentClass, OWL.Nothing) in g or any(
            a in s and b in s for a, b in disjoint
        ):
            unsat.append(_local(c) or str(c))
    pairs = sum(1 for c in named for sup in supers[c] if sup != c and _local(sup))
    return _verdict("owlrl", unsat, time.perf_counter() - start, pairs, errors)


def main(argv: list[str] | None = None) -> int:
    """``python -m ecobrain.ontology.owl_check [file.ttl] [--reasoner owlrl]``."""
    import argparse

    parser = argparse.ArgumentParser(description="OWL consistency check of the ontology")
    parser.add_argument("path", nargs="?", default=None)
    parser.add_argument("--reasoner", choices=REASONERS, default=None)
    args = parser.parse_args(argv)
    result = check_consistency(args.path, reasoner=args.reasoner)
    print(f"{result.message} ({result.seconds:.2f} s, "
          f"{result.inferred_subclass_count} entailed subclass pairs)")
    return 0 if result.consistent else 1


if __name__ == "__main__":
    raise SystemExit(main())
