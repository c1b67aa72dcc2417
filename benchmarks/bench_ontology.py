"""Ontology speed figures: parse, load, OWL consistency check, SHACL validation of the bundle.

Run: ``.venv/bin/python benchmarks/bench_ontology.py [--repeat N]``. Uses an embedded FalkorDB
in a temporary directory (nothing touches a user's graph) and prints a Markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.kb_loaders.semantics.rdf_view import (
    build_rdf_view,
    shape_needs,
    shapes_graph,
    validate_view,
)
from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.graph.config import settings_from_env
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer
from ecobrain.ontology.owl_check import check_consistency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["ECOBRAIN_DATA_DIR"] = tempfile.mkdtemp(prefix="ecobrain-bench-")
    os.environ.pop("ECOBRAIN_GRAPH_URI", None)

    rows: list[tuple[str, str, str]] = []

    t = time.perf_counter()
    onto = Ontology()
    rows.append(("parse + validate ecobrain.ttl (cold)", f"{time.perf_counter() - t:.2f}",
                 f"{len(onto.concepts)} concepts, {len(onto.graph)} triples"))

    for reasoner in ("HermiT", "owlrl"):
        times, result = [], None
        for _ in range(args.repeat):
            result = check_consistency(reasoner=reasoner)
            times.append(result.seconds)
        assert result is not None
        rows.append((f"OWL check, {reasoner}", f"{statistics.median(times):.2f}",
                     f"consistent={result.consistent}, "
                     f"{result.inferred_subclass_count} entailed subclass pairs"))

    store = open_store(graph="bench_ontology")
    try:
        store.drop_graph()
        store.ensure_schema()
        first = load_ontology(store)
        again = load_ontology(store)
        rows.append(("load_ontology, first", f"{first.seconds:.2f}",
                     f"{first.nodes_created} nodes, {first.relationships_created} relationships"))
        rows.append(("load_ontology, again (idempotent)", f"{again.seconds:.2f}",
                     f"{again.nodes_created} nodes, {again.relationships_created} "
                     "relationships created"))

        load_bundled(store)
        shapes = shapes_graph()
        needs = shape_needs(shapes, onto)
        reads, validations, report = [], [], None
        for _ in range(args.repeat):
            view = build_rdf_view(store, onto, needs=needs)
            report = validate_view(view, shapes)
            reads.append(view.seconds)
            validations.append(report.validate_seconds)
        assert report is not None
        rows.append(("SHACL: read the view from the graph", f"{statistics.median(reads):.2f}",
                     f"{report.nodes} nodes, {report.triples} triples"))
        rows.append(("SHACL: pyshacl validation", f"{statistics.median(validations):.2f}",
                     f"conforms={report.conforms}, {len(report.errors)} violations, "
                     f"{len(report.warnings)} warnings"))
    finally:
        store.drop_graph()
        store.close()
        EmbeddedServer(settings_from_env().data_dir).stop()

    print(f"load average at end: {os.getloadavg()[0]:.2f} (2 cores)")
    print("| step | seconds (median) | what |")
    print("|---|---:|---|")
    for step, secs, what in rows:
        print(f"| {step} | {secs} | {what} |")


if __name__ == "__main__":
    main()
