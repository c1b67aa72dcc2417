"""The bundled knowledge, loaded in dependency order: what `ecobrain kb load` runs.

Order matters because loaders MATCH what earlier ones wrote: concepts before the sectors and
pollutants enterprises point to, regions before grid cells, statutes before concept links,
everything before the rules (they are checked against the concepts and articles they cite).
Each step is idempotent, so re-running the whole bundle converges to the same graph.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.legal.standards import load_standards
from ecobrain.kb_loaders.legal.statutes import load_regulations
from ecobrain.kb_loaders.places.enterprises import load_enterprises
from ecobrain.kb_loaders.places.grid_cells import load_grid
from ecobrain.kb_loaders.places.regions import load_regions
from ecobrain.kb_loaders.places.stations import load_stations
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.kb_loaders.semantics.concept_linker import link_concepts
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.ontology.graph.store import GraphStore, WriteSummary
from ecobrain.reasoning.authoring.rule_graph import load_rules_into_graph
from ecobrain.reasoning.authoring.rulebase import bundled_rules_dir
from ecobrain.reasoning.language.errors import RuleError

Step = tuple[str, Callable[[GraphStore], LoadReport]]


@dataclass(frozen=True)
class UserFiles:
    """A user's own inputs that replace the bundled ones (None = bundled)."""

    enterprises: Path | None = None
    stations: Path | None = None
    regulations: Path | None = None  # loaded in addition to the bundled statutes


def bundled_steps(files: UserFiles | None = None) -> list[Step]:
    f = files or UserFiles()
    return [
        ("ontology", load_ontology),
        ("regulations", lambda s: load_regulations(s, None)),
        *([("your regulations", lambda s: load_regulations(s, f.regulations))]
          if f.regulations else []),
        ("standards", load_standards),
        ("concept links", link_concepts),
        ("regions", load_regions),
        ("grid", load_grid),
        ("enterprises", lambda s: load_enterprises(s, f.enterprises)),
        ("stations", lambda s: load_stations(s, f.stations)),
        ("rules", load_bundled_rules),
    ]


def load_bundled_rules(store: GraphStore) -> LoadReport:
    """The bundled rule base as Rule nodes (the versions decisions use; experts add more).

    Reloading keeps what experts changed through the API: their own versions are other
    nodes, and a version's activation lives in properties the loader does not write.
    """
    try:
        counts = load_rules_into_graph(store)
    except RuleError as exc:
        raise LoadError(f"the bundled rules do not check against the graph:\n{exc}",
                        file=bundled_rules_dir()) from exc
    written = WriteSummary(**counts["written"])
    return LoadReport(source="rules", records=counts["rules"], written=written,
                      seconds=counts["seconds"])


def user_steps(files: UserFiles) -> list[Step]:
    """Only the user's files (the rest of the knowledge is assumed loaded already)."""
    steps: list[Step] = []
    if files.regulations:
        steps.append(("regulations", lambda s: load_regulations(s, files.regulations)))
        steps.append(("concept links", link_concepts))
    if files.enterprises:
        steps.append(("enterprises", lambda s: load_enterprises(s, files.enterprises)))
    if files.stations:
        steps.append(("stations", lambda s: load_stations(s, files.stations)))
    return steps


def run_steps(
    store: GraphStore,
    steps: list[Step],
    on_step: Callable[[str, LoadReport | None], None] | None = None,
) -> list[LoadReport]:
    """Run the steps in order; `on_step(name, None)` before and `(name, report)` after each."""
    reports: list[LoadReport] = []
    with cyclic_gc_paused():
        for name, step in steps:
            if on_step:
                on_step(name, None)
            started = time.perf_counter()
            report = step(store)
            if not report.seconds:
                report.seconds = time.perf_counter() - started
            reports.append(report)
            if on_step:
                on_step(name, report)
    return reports


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the steps run (reference counting still frees).

    A load makes a few hundred thousand rows, maps and strings and keeps them until it has
    written them; each time enough accumulate, Python's full collection walks every object of
    the process — the loaders' and all the libraries' — looking for cycles that these rows do
    not have. Those walks took a fifth of a whole bundle load. Collection resumes at the end
    (and was never on if the caller had turned it off)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def load_bundled(store: GraphStore, files: UserFiles | None = None,
                 on_step: Callable[[str, LoadReport | None], None] | None = None
                 ) -> list[LoadReport]:
    return run_steps(store, bundled_steps(files), on_step)


def graph_stats(store: GraphStore) -> tuple[dict[str, int], dict[str, int]]:
    """Node counts per label and relationship counts per type."""
    labels = store.read("MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n "
                        "ORDER BY label")
    rels = store.read("MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type")
    return ({r["label"]: r["n"] for r in labels}, {r["type"]: r["n"] for r in rels})
