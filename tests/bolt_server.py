"""The test Bolt server (scripts/bolt-test-server.sh): settings, and databases of the tests' own.

The second test pass (``ECOBRAIN_TEST_BACKEND=bolt``) runs every graph-touching test over Bolt
against ArcadeDB's Bolt plugin. Each graph a test asks for is a database made for it through
the server's HTTP API and dropped afterwards, so a test never wipes a database it did not
create (the server's own ``neo4j`` database is never written).
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.store import GraphStore

BACKEND = os.environ.get("ECOBRAIN_TEST_BACKEND", "falkordb")


def on_bolt() -> bool:
    return BACKEND == "bolt"


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(
            f"ECOBRAIN_TEST_BACKEND=bolt needs {name}: start the server with "
            "`scripts/bolt-test-server.sh start` and `eval \"$(scripts/bolt-test-server.sh env)\"`"
            " (./dev.sh test does both)")
    return value


def bolt_settings(data_dir: Path) -> GraphSettings:
    return GraphSettings(uri=_env("ECOBRAIN_TEST_BOLT_URI"), user=_env("ECOBRAIN_TEST_BOLT_USER"),
                         password=_env("ECOBRAIN_TEST_BOLT_PASSWORD"), database="neo4j",
                         data_dir=data_dir)


def _command(command: str) -> None:
    response = httpx.post(f"{_env('ECOBRAIN_TEST_BOLT_HTTP')}/api/v1/server",
                          json={"command": command}, timeout=60,
                          auth=(_env("ECOBRAIN_TEST_BOLT_USER"),
                                _env("ECOBRAIN_TEST_BOLT_PASSWORD")))
    if response.status_code >= 400:
        raise RuntimeError(f"bolt test server: {command!r}: {response.text[:300]}")


def create_database(name: str) -> None:
    _command(f"create database {name}")


def drop_database(name: str) -> None:
    _command(f"drop database {name}")


def open_new_graph(settings: GraphSettings, name: str) -> GraphStore:
    """A new, empty graph of the test's own (on Bolt: a new database)."""
    if settings.transport == "neo4j" and on_bolt():
        create_database(name)
    return open_store(settings, graph=name)


def drop_new_graph(store: GraphStore) -> None:
    """Delete a graph made by :func:`open_new_graph` (on Bolt: its whole database)."""
    if on_bolt() and store.dialect.name == "neo4j":
        store.close()
        drop_database(store.graph_name)
        return
    store.drop_graph()
    store.close()
