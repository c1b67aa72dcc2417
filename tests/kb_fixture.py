"""Shared graphs for the decision-run, document and API tests: loaded once, not per test.

Loading the whole bundle takes ~7 s and deciding the 2-day sample run a few more, so:

- ``decided`` (session, read only): the bundled knowledge and a decision on the sample run;
- ``module_decided`` / ``module_kb`` (one per test module, writable): the same, or the
  knowledge alone, for modules whose tests write (each test there touches its own tasks or
  rules, and the module's tests run in file order); the CLI run inside those tests sees the
  module's graph (``ECOBRAIN_GRAPH_DATABASE``);
- ``module_rules_kb``: only what rules are checked against (ontology, laws, standards, concept
  links) and the bundled rules, ~1 s.

Graphs are not copied with FalkorDB's ``GRAPH.COPY``: on the bundled server version it forks
and can deadlock the whole server (FalkorDB issues #1636/#1637), which hung test sessions here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bolt_server import drop_new_graph, open_new_graph

from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.store import GraphStore


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def sample_run_dir() -> Path:
    """The 2-day sample run (written once per process; the HPC tests use the same one)."""
    from hpc_helpers import baseline_run

    return baseline_run()


@dataclass
class Decided:
    store: GraphStore
    outcome: Any  # RunOutcome
    run_dir: Path

    @property
    def decision_id(self) -> str:
        return self.outcome.decision_id


def _graph(settings: GraphSettings, prefix: str, load: str) -> GraphStore:
    store = open_new_graph(settings, _name(prefix))
    if load == "all":
        from ecobrain.kb_loaders.bundle import load_bundled

        load_bundled(store)
    elif load == "rules":
        from ecobrain.kb_loaders.bundle import load_bundled_rules
        from ecobrain.kb_loaders.legal.standards import load_standards
        from ecobrain.kb_loaders.legal.statutes import load_regulations
        from ecobrain.kb_loaders.semantics.concept_linker import link_concepts
        from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology

        for step in (load_ontology, load_regulations, load_standards, link_concepts,
                     load_bundled_rules):
            step(store)
    return store


def _decided(settings: GraphSettings, prefix: str) -> Decided:
    from ecobrain.reasoning.decisions.run_decision import decide_run

    store = _graph(settings, prefix, "all")
    run = sample_run_dir()
    return Decided(store, decide_run(store, run), run)


def _drop(store: GraphStore) -> None:
    drop_new_graph(store)


@pytest.fixture(scope="session")
def decided(graph_settings: GraphSettings) -> Iterator[Decided]:
    """The knowledge and a decision on the 2-day sample run. Read only."""
    d = _decided(graph_settings, "decided")
    try:
        yield d
    finally:
        _drop(d.store)


@pytest.fixture(scope="module")
def module_decided(graph_settings: GraphSettings) -> Iterator[Decided]:
    """A decided graph of the test module's own (writable; also the CLI's graph)."""
    d = _decided(graph_settings, "mdecided")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOBRAIN_GRAPH_DATABASE", d.store.graph_name)
        try:
            yield d
        finally:
            _drop(d.store)


@pytest.fixture(scope="module")
def module_kb(graph_settings: GraphSettings) -> Iterator[GraphStore]:
    """The bundled knowledge in a graph of the test module's own (writable)."""
    store = _graph(graph_settings, "mkb", "all")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECOBRAIN_GRAPH_DATABASE", store.graph_name)
        try:
            yield store
        finally:
            _drop(store)


@pytest.fixture(scope="module")
def module_rules_kb(graph_settings: GraphSettings) -> Iterator[GraphStore]:
    """Ontology, laws, standards, concept links and the bundled rules (writable)."""
    store = _graph(graph_settings, "mrules", "rules")
    try:
        yield store
    finally:
        _drop(store)


def issue_all(d: Decided) -> None:
    """Approve the decision (if still a draft) with every task issued: for tests of what
    happens after the commander's review (ecobrain.reasoning.decisions.review)."""
    from ecobrain.reasoning.decisions import review

    if review.review_state(d.store, d.decision_id)["review_status"] == review.DRAFT:
        review.approve(d.store, d.decision_id, by="test-fixture", override_legal_review=True,
                       reason="tests of issued tasks")


def graph_counts(store: GraphStore) -> tuple[int, int]:
    nodes = store.read_one("MATCH (n) RETURN count(n) AS n")["n"]  # type: ignore[index]
    rels = store.read_one("MATCH ()-[r]->() RETURN count(r) AS n")["n"]  # type: ignore[index]
    return nodes, rels
