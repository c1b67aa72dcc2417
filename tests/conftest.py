"""Shared test fixtures: a real graph server for the whole session.

By default the embedded FalkorDB; with ``ECOBRAIN_TEST_BACKEND=bolt`` (the second pass of
``./dev.sh test``) the Bolt server of ``scripts/bolt-test-server.sh``, through the Neo4j store,
and CLI commands run in tests see it too (``ECOBRAIN_GRAPH_URI``). See ``bolt_server``.

Every test that needs a graph gets its own empty graph on that server (``store``), through
the same store class and queries as production. The session's data directory is temporary,
and ``ECOBRAIN_DATA_DIR`` points at it, so nothing a test does touches a user's graph.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="ecobrain-tests-"))
os.environ["ECOBRAIN_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["ECOBRAIN_CACHE_DIR"] = str(_SESSION_DIR / "cache")  # prepared rows (ontology.prepared)
os.environ.pop("ECOBRAIN_GRAPH_URI", None)
# every rule-engine run of the suite checks its firings against the conditions evaluated
# directly (reasoning/engine/check.py): a lost or spurious match fails the test
os.environ.setdefault("ECOBRAIN_ENGINE_VERIFY", "1")

import bolt_server  # noqa: E402

if bolt_server.on_bolt():
    os.environ["ECOBRAIN_GRAPH_URI"] = bolt_server.bolt_settings(_SESSION_DIR).uri or ""
    os.environ["ECOBRAIN_GRAPH_USER"] = os.environ["ECOBRAIN_TEST_BOLT_USER"]
    os.environ["ECOBRAIN_GRAPH_PASSWORD"] = os.environ["ECOBRAIN_TEST_BOLT_PASSWORD"]

from ecobrain.ontology.graph.config import GraphSettings, settings_from_env  # noqa: E402
from ecobrain.ontology.graph.connect import open_store  # noqa: E402
from ecobrain.ontology.graph.embedded import EmbeddedServer  # noqa: E402
from ecobrain.ontology.graph.store import GraphStore  # noqa: E402

pytest_plugins = ["kb_fixture",  # session-wide knowledge graph and decided sample run
                  "embedded_helpers"]  # `server`: a private embedded server per test


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests using ``neo4j_store`` carry the ``neo4j`` marker (``-m neo4j`` runs just them).

    The Bolt pass (``ECOBRAIN_TEST_BACKEND=bolt``) runs the graph-touching tests only — those
    whose fixtures reach ``graph_settings`` (every graph fixture does) — less the ``neo4j``
    ones, which already ran over Bolt in the default pass; the rest do not depend on the
    backend, and running them twice would only cost time. Tests of FalkorDB or the embedded
    server itself (marked, or on a private embedded server: ``private_graph``) are skipped
    there, with that reason."""
    for item in items:
        if "neo4j_store" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.neo4j)
    if not bolt_server.on_bolt():
        return
    kept, dropped = [], []
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "graph_settings" not in names or item.get_closest_marker("neo4j"):
            dropped.append(item)
            continue
        if item.get_closest_marker("falkordb_only") or "private_graph" in names:
            item.add_marker(pytest.mark.skip(reason="about FalkorDB / the embedded server"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def graph_settings() -> Iterator[GraphSettings]:
    settings = settings_from_env()
    server = EmbeddedServer(settings.data_dir)
    if not bolt_server.on_bolt():
        server.ensure_running()
    yield settings
    server.stop()
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


def _fresh_graph_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(graph_settings: GraphSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphStore]:
    """An empty graph of its own; CLI commands run in the test see it as the default graph."""
    name = _fresh_graph_name()
    monkeypatch.setenv("ECOBRAIN_GRAPH_DATABASE", name)
    s = bolt_server.open_new_graph(graph_settings, name)
    try:
        yield s
    finally:
        bolt_server.drop_new_graph(s)


@pytest.fixture
def neo4j_store() -> Iterator[GraphStore]:
    """A Neo4j-protocol database of the test's own: a new database on the test Bolt server
    (``scripts/bolt-test-server.sh``, always in ``./dev.sh test``), else on the Neo4j 5 that
    ECOBRAIN_TEST_NEO4J_URI names — there only an empty database is used (a test never wipes
    data it did not write)."""
    if os.environ.get("ECOBRAIN_TEST_BOLT_URI"):
        name = _fresh_graph_name()
        bolt_server.create_database(name)
        s = open_store(bolt_server.bolt_settings(_SESSION_DIR), graph=name)
        try:
            yield s
        finally:
            s.close()
            bolt_server.drop_database(name)
        return
    uri = os.environ.get("ECOBRAIN_TEST_NEO4J_URI")
    if not uri:
        pytest.skip("Neo4j tests need the test Bolt server (scripts/bolt-test-server.sh start) "
                    "or ECOBRAIN_TEST_NEO4J_URI (e.g. bolt://host:7687)")
    settings = GraphSettings(
        uri=uri,
        user=os.environ.get("ECOBRAIN_TEST_NEO4J_USER", "neo4j"),
        password=os.environ.get("ECOBRAIN_TEST_NEO4J_PASSWORD"),
        database=os.environ.get("ECOBRAIN_TEST_NEO4J_DATABASE", "neo4j"),
        data_dir=_SESSION_DIR,
    )
    s = open_store(settings)
    if s.read_one("MATCH (n) RETURN count(n) AS n") != {"n": 0}:
        s.close()
        pytest.skip(f"{settings.database!r} on {uri} is not empty; the tests use only an empty "
                    "database (set ECOBRAIN_TEST_NEO4J_DATABASE)")
    try:
        yield s
    finally:
        s.drop_graph()
        s.close()
