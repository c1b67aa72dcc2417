"""Scale-out: the API's reads go through routing-capable read transactions.

On a Neo4j cluster (docs/graph-server.md, "Production on a Neo4j cluster") the API talks to
``neo4j://`` URIs; the driver sends read-mode sessions to readers and write-mode sessions to
the leader. This test runs the API against the test Bolt server through a ``neo4j://`` URI
(the driver asks it for a routing table, as it would a cluster) and records the access mode of
every session the API's exploration and query endpoints open: all reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bolt_server
import neo4j
import pytest
from api_helpers import api_client

from ecobrain.ontology.graph.neo4j_store import Neo4jStore
from ecobrain.ontology.graph.store import GraphStore

pytestmark = pytest.mark.neo4j


class _RecordingStore(Neo4jStore):
    """The production store, recording the access mode of each session it opens."""

    modes: list[str]

    def _session(self, read: bool = False) -> Any:
        self.modes.append("read" if read else "write")
        return super()._session(read)

    def _async_session(self) -> Any:
        self.modes.append("read")
        return super()._async_session()


@pytest.fixture
def routed(neo4j_store: GraphStore) -> Iterator[_RecordingStore]:
    if not os.environ.get("ECOBRAIN_TEST_BOLT_URI"):
        pytest.skip("needs the test Bolt server (scripts/bolt-test-server.sh start)")
    neo4j_store.write(
        "MERGE (a:Concept {id: 'NOx', label_zh: '氮氧化物'}) "
        "MERGE (b:Concept {id: 'O3', label_zh: '臭氧'}) MERGE (a)-[:PRECURSOR_OF]->(b)")
    settings = bolt_server.bolt_settings(Path("."))
    uri = (settings.uri or "").replace("bolt://", "neo4j://", 1)
    store = _RecordingStore(uri, settings.user, settings.password,
                            database=neo4j_store.graph_name)
    store.modes = []
    try:
        yield store
    finally:
        store.close()


def test_api_reads_use_routing_read_sessions(routed: _RecordingStore, tmp_path: Path) -> None:
    assert isinstance(routed._driver, neo4j.Neo4jDriver)  # routing driver, not a direct one
    with api_client(routed, tmp_path) as api:
        routed.modes.clear()
        hits = api.get("/graph/search", "investigator", params={"q": "臭氧"}).json()
        assert hits[0]["id"] == "O3"
        assert api.get("/graph/nodes/O3", "investigator").status_code == 200
        assert api.get("/graph/nodes/O3/neighbourhood", "investigator").status_code == 200
        path = api.get("/graph/paths", "investigator", params={"from": "O3", "to": "NOx"}).json()
        assert path[0]["length"] == 1
        rows = api.post("/graph/query", "investigator",
                        json={"query": "MATCH (c:Concept) RETURN c.id AS id ORDER BY id"}).json()
        assert rows == [{"id": "NOx"}, {"id": "O3"}]
    assert routed.modes and set(routed.modes) == {"read"}, routed.modes
