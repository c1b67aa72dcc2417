"""Shared test fixtures: a real embedded FalkorDB server for the whole session.

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
os.environ.pop("ECOBRAIN_GRAPH_URI", None)

from ecobrain.ontology.config import GraphSettings, settings_from_env  # noqa: E402
from ecobrain.ontology.embedded import EmbeddedServer  # noqa: E402
from ecobrain.ontology.store import GraphStore, open_store  # noqa: E402

pytest_plugins = ["kb_fixture"]  # session-wide knowledge graph and decided sample run


@pytest.fixture(scope="session")
def graph_settings() -> Iterator[GraphSettings]:
    settings = settings_from_env()
    server = EmbeddedServer(settings.data_dir)
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
    s = open_store(graph_settings, graph=name)
    try:
        yield s
    finally:
        s.drop_graph()
        s.close()


@pytest.fixture
def neo4j_store() -> Iterator[GraphStore]:
    """A real Neo4j 5 database, when ECOBRAIN_TEST_NEO4J_URI names one."""
    uri = os.environ.get("ECOBRAIN_TEST_NEO4J_URI")
    if not uri:
        pytest.skip("Neo4j integration tests need ECOBRAIN_TEST_NEO4J_URI (e.g. bolt://host:7687)")
    settings = GraphSettings(
        uri=uri,
        user=os.environ.get("ECOBRAIN_TEST_NEO4J_USER", "neo4j"),
        password=os.environ.get("ECOBRAIN_TEST_NEO4J_PASSWORD"),
        database=os.environ.get("ECOBRAIN_TEST_NEO4J_DATABASE", "neo4j"),
        data_dir=_SESSION_DIR,
    )
    s = open_store(settings)
    s.drop_graph()
    try:
        yield s
    finally:
        s.drop_graph()
        s.close()
