"""Connecting to the graph: the configured transport, as a :class:`GraphStore`.

:func:`open_store` picks the transport from the settings (``ECOBRAIN_GRAPH_URI``): none means
the embedded FalkorDB (:mod:`ecobrain.ontology.graph.embedded`), ``falkordb://host:port`` an
existing FalkorDB, ``bolt://``/``neo4j://``/``neo4j+s://`` Neo4j 5.

Apart from :mod:`.store` because the transports build on the interface there: the interface
does not know its transports, this module knows them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from ecobrain.ontology.graph.config import GraphSettings, settings_from_env
from ecobrain.ontology.graph.embedded import EmbeddedServer
from ecobrain.ontology.graph.falkordb_store import FalkorStore
from ecobrain.ontology.graph.neo4j_store import Neo4jStore
from ecobrain.ontology.graph.store import GraphStore


def open_store(
    settings: GraphSettings | None = None, *, graph: str | None = None, ensure_schema: bool = True
) -> GraphStore:
    """Connect to the configured graph (starting the embedded server if none is configured)."""
    settings = settings or settings_from_env()
    name = graph or settings.database
    transport = settings.transport
    if transport == "neo4j":
        store: GraphStore = Neo4jStore(
            settings.uri or "", settings.user, settings.password, database=name,
            read_timeout_s=settings.read_timeout_s)
    elif transport == "embedded":
        server = EmbeddedServer(settings.data_dir)
        info = server.ensure_running()
        store = FalkorStore(info.host, info.port, name, password=info.password,
                            origin=f"embedded graph ({settings.data_dir})",
                            locate=server.address, read_timeout_s=settings.read_timeout_s,
                            write_timeout_s=settings.write_timeout_s)
    else:
        host, port = parse_falkordb_uri(settings.uri or "")
        address = (host, port, settings.password)
        store = FalkorStore(host, port, name, password=settings.password,
                            origin=f"falkordb://{host}:{port}",
                            locate=lambda: address,  # same place: reconnect after a restart
                            read_timeout_s=settings.read_timeout_s,
                            write_timeout_s=settings.write_timeout_s)
    if ensure_schema:
        store.ensure_schema()
    return store


def parse_falkordb_uri(uri: str) -> tuple[str, int]:
    m = re.match(r"^falkordb://(?:[^@/]*@)?([^:/]+)(?::(\d+))?/?$", uri)
    if not m:
        raise ValueError(
            f"ECOBRAIN_GRAPH_URI={uri!r}: expected falkordb://host:port "
            "(password in ECOBRAIN_GRAPH_PASSWORD)"
        )
    return m.group(1), int(m.group(2) or 6379)


@contextmanager
def store_from_env(graph: str | None = None) -> Iterator[GraphStore]:
    store = open_store(graph=graph)
    try:
        yield store
    finally:
        store.close()
