"""Every load and every decision save lands whole or not at all (issue 14, finding 2).

FalkorDB runs each statement atomically, but a load is many statements (MULTI/EXEC blocks
and batches), and a failure in the middle used to leave the statements before it in the graph.
Here a real server-side fault — a statement the server refuses — is injected at every
statement of a load in turn, and the whole graph (every node and relationship with its
properties) must be exactly what it was before.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from graph_fingerprint import fingerprint
from kb_fixture import sample_run_dir

from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.kb_loaders.legal.statutes import bundled_statutes_dir, load_regulations
from ecobrain.kb_loaders.places.enterprises import bundled_path, load_enterprises
from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer
from ecobrain.ontology.graph.falkordb_store import FalkorStore
from ecobrain.ontology.graph.store import GraphStore, GraphStoreError, Statement, WriteSummary
from ecobrain.reasoning.decisions.run_decision import decide_run

pytestmark = pytest.mark.falkordb_only  # FalkorDB's units; Neo4j's are in test_store

REFUSED = ("UNWIND [0] AS x RETURN 1 / x", None)  # division by zero, at run time


class FaultAt(FalkorStore):
    """The production store, whose `fail_at`-th statement is swapped for one the server
    refuses (None: count the statements only)."""

    fail_at: int | None = None
    sent = 0
    dumps = 0

    def _dump(self) -> bytes | None:
        self.dumps += 1
        return super()._dump()

    def _run_block(self, statements: Sequence[Statement]) -> WriteSummary:
        block = list(statements)
        for i in range(len(block)):
            if self.sent + i == self.fail_at:
                block[i] = REFUSED
        self.sent += len(block)
        return super()._run_block(block)


def _faulty(settings: GraphSettings, graph: str, fail_at: int | None) -> FaultAt:
    info = EmbeddedServer(settings.data_dir).ensure_running()
    store = FaultAt(info.host, info.port, graph, password=info.password)
    store.fail_at = fail_at
    return store


def _every_statement(settings: GraphSettings, store: GraphStore, load) -> int:
    """Run `load` with a fault at each statement; return how many statements it has."""
    counter = _faulty(settings, store.graph_name, None)
    before = fingerprint(store)
    try:
        load(counter)
    finally:
        counter.close()
    total = counter.sent
    changed = fingerprint(store)
    assert changed != before, "the load changes nothing: the test would prove nothing"
    for k in range(total):
        faulty = _faulty(settings, store.graph_name, k)
        try:
            with pytest.raises(GraphStoreError, match="Division by zero"):
                load(faulty)
        finally:
            faulty.close()
        assert fingerprint(store) == changed, f"fault at statement {k + 1} of {total}"
    return total


def test_enterprise_load_with_a_fault_at_every_statement(
        module_kb: GraphStore, graph_settings: GraphSettings, tmp_path: Path) -> None:
    lines = bundled_path().read_text(encoding="utf-8").splitlines()
    # 1,000 renamed enterprises and 800 new ones: updates and creations in several batches
    edited = [lines[0]]
    for i, line in enumerate(lines[1:1001]):
        fields = line.split(",")
        fields[1] = f"改名企业{i}"
        edited.append(",".join(fields))
    for i, line in enumerate(lines[1:801]):
        fields = line.split(",")
        fields[0] = f"NEW-E-{i:05d}"
        edited.append(",".join(fields))
    path = tmp_path / "enterprises.csv"
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    first = fingerprint(module_kb)
    total = _every_statement(graph_settings, module_kb, lambda s: load_enterprises(s, path))
    assert total >= 3
    assert fingerprint(module_kb) != first  # the last, fault-free state is the loaded one


def test_statute_load_with_a_fault_at_every_statement(
        module_kb: GraphStore, graph_settings: GraphSettings, tmp_path: Path) -> None:
    folder = tmp_path / "statutes"
    shutil.copytree(bundled_statutes_dir(), folder)
    meta = folder / "环境保护法-2014.meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace(
        "id: cn.ep-law.2014", "id: cn.ep-law.test-copy"), encoding="utf-8")
    total = _every_statement(graph_settings, module_kb, lambda s: load_regulations(s, folder))
    assert total >= 5


def test_decision_save_with_a_fault_at_its_statements(
        module_kb: GraphStore, graph_settings: GraphSettings) -> None:
    run = sample_run_dir()
    # count the statements of a decision on a graph of its own, with the same knowledge
    scratch = open_store(graph_settings, graph=f"count_{uuid.uuid4().hex[:8]}")
    try:
        load_bundled(scratch)
        counter = _faulty(graph_settings, scratch.graph_name, None)
        try:
            decide_run(counter, run)
        finally:
            counter.close()
    finally:
        scratch.drop_graph()
        scratch.close()
    total = counter.sent
    assert total >= 5
    # a new run's first decision only adds: undone by deleting what it created, no graph copy
    assert counter.dumps == 0
    before = fingerprint(module_kb)
    for k in sorted({0, 1, total // 2, total - 2, total - 1}):
        faulty = _faulty(graph_settings, module_kb.graph_name, k)
        try:
            with pytest.raises(GraphStoreError, match="Division by zero"):
                decide_run(faulty, run)
        finally:
            faulty.close()
        assert fingerprint(module_kb) == before, f"fault at statement {k + 1} of {total}"
    # saved again over itself (nodes there already): the unit copies the graph and puts it back
    decide_run(module_kb, run)
    saved = fingerprint(module_kb)
    assert saved != before
    for k in sorted({1, total - 1}):
        faulty = _faulty(graph_settings, module_kb.graph_name, k)
        try:
            with pytest.raises(GraphStoreError, match="Division by zero"):
                decide_run(faulty, run)
            assert faulty.dumps == 1
        finally:
            faulty.close()
        assert fingerprint(module_kb) == saved, f"re-save, fault at statement {k + 1}"
