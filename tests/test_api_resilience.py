"""The API keeps serving across graph restarts and answers 503 quickly while the graph stalls.

Against a real embedded server of the test's own, through the API's own store (the one
`ecobrain serve` uses): restarted on another port, the API finds it again without being
restarted; stopped with SIGSTOP, every route answers 503 with Retry-After within the API's
graph timeout, not after the socket's own patience.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ecobrain.api.auth import KeyStore
from ecobrain.api.http.app import create_app
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer

pytestmark = pytest.mark.falkordb_only  # about the embedded server itself

TIMEOUT_S = 1.0


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[TestClient, EmbeddedServer, str]]:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("ECOBRAIN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ECOBRAIN_GRAPH_DATABASE", "resilience")
    monkeypatch.setenv("ECOBRAIN_API_GRAPH_TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("ECOBRAIN_API_CACHE_MB", "0")
    server = EmbeddedServer(data_dir)
    server.ensure_running()
    with open_store() as store:
        store.write("UNWIND range(1, 7) AS i CREATE (:Concept {id: 'c' + toString(i)})")
    keys = KeyStore(tmp_path / "keys.json")
    token = keys.create("commander", ["commander"])
    try:
        with TestClient(create_app(key_store=keys)) as client:
            yield client, server, token
    finally:
        server.stop()


def test_api_finds_the_graph_again_after_a_restart_on_another_port(
        served: tuple[TestClient, EmbeddedServer, str]) -> None:
    client, server, token = served
    first = client.get("/health")
    assert first.status_code == 200 and first.json()["nodes"] == 7
    old_port = server.status().port
    assert server.stop() is True
    down = client.get("/health")
    assert down.status_code == 503 and down.headers["retry-after"]
    assert down.json()["graph"]["state"] == "down"
    with socket.socket() as squatter:  # the old port is taken: the server must move
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        info = server.ensure_running()
    assert info.port != old_port
    back = client.get("/health")
    assert back.status_code == 200 and back.json()["nodes"] == 7
    assert client.get("/decisions", headers={"X-API-Key": token}).status_code == 200


def test_a_stalled_graph_is_a_quick_503(served: tuple[TestClient, EmbeddedServer, str]) -> None:
    client, server, token = served
    assert client.get("/health").status_code == 200
    pid = server.status().pid
    os.kill(pid, signal.SIGSTOP)
    try:
        for url, headers in [("/health", {}), ("/decisions", {"X-API-Key": token}),
                             ("/tasks/T-nothing", {"X-API-Key": token})]:
            started = time.monotonic()
            r = client.get(url, headers=headers)
            waited = time.monotonic() - started
            assert r.status_code == 503, (url, r.text)
            assert r.headers["retry-after"] == "5"
            assert "MATCH" not in r.text  # no internal query in the answer
            assert waited < TIMEOUT_S * 4, (url, waited)  # not the socket's 30 s
    finally:
        os.kill(pid, signal.SIGCONT)
    assert client.get("/health").status_code == 200
    assert client.get("/decisions", headers={"X-API-Key": token}).status_code == 200
