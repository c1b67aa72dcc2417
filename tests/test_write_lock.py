"""The graph's write lock does not outlive its holder: a crashed server, a killed writer.

Found as a "flaky" restart test: a server killed while a write unit held the lock came back
with the lock in its append-only file, and the next write waited for its expiry (600 s by
default). Each case here makes the situation for real — a killed server, a killed process —
on a private embedded server, and checks who gets the lock.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis
from embedded_helpers import kill_server  # its `server` fixture: conftest.py

from ecobrain.ontology.graph import write_lock
from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer, ServerInfo

pytestmark = pytest.mark.falkordb_only  # the lock is FalkorDB's (Neo4j has transactions)

GRAPH = "locktest"
LOCK_KEY = write_lock.KEY_PREFIX + GRAPH

# takes the lock as a unit does (600 s expiry), says so, then waits to be killed
HOLDER = r"""
import sys, time, redis
from ecobrain.ontology.graph import write_lock
client = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), password=sys.argv[2])
lock = write_lock.acquire(client, sys.argv[3], expiry_s=600, wait_s=5)
print("held" if lock else "not held", flush=True)
time.sleep(600)
"""


def _client(info: ServerInfo) -> redis.Redis:
    return redis.Redis(host=info.host, port=info.port, password=info.password)


def _hold_in_a_process(info: ServerInfo, lease_s: float | None = None
                       ) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if lease_s is not None:
        env[write_lock.ENV_LEASE] = str(lease_s)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(info.port), info.password or "",
                             GRAPH], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_lock_held_when_the_server_was_killed_is_broken_after_the_restart(
        server: EmbeddedServer) -> None:
    info = server.ensure_running()
    holder = _hold_in_a_process(info)
    try:
        kill_server(info)  # the holder lives on; its connection died with the server
        info = server.ensure_running()
        client = _client(info)
        # the lock came back from the append-only file, with its holder and the old run
        held = write_lock.Holder.parse(client.get(LOCK_KEY))
        assert held is not None and held.pid == holder.pid
        assert held.run_id != write_lock.server_run_id(client)
        # the holder lives on and renews its lease on the new run too: left alone, writes would
        # wait for as long as it lives
        assert client.pttl(LOCK_KEY) > 10_000
        # a unit through the production store takes it at once (a live holder would keep it
        # for the store's write timeout: 600 s)
        settings = GraphSettings(None, None, None, GRAPH, server.data_dir)
        with open_store(settings, ensure_schema=False) as store:
            store.write_all([("CREATE (:Probe {n: 1})", {})])
            assert store.read("MATCH (p:Probe) RETURN count(p) AS n")[0]["n"] == 1
        assert client.get(LOCK_KEY) is None  # released after the unit
    finally:
        holder.kill()
        holder.wait(10)


def test_a_lock_of_a_killed_local_writer_is_broken(server: EmbeddedServer) -> None:
    info = server.ensure_running()
    holder = _hold_in_a_process(info)
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    client = _client(info)
    assert write_lock.Holder.parse(client.get(LOCK_KEY)).pid == holder.pid  # still there
    lock = write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=5)
    assert lock is not None
    assert write_lock.Holder.parse(client.get(LOCK_KEY)).pid == os.getpid()
    lock.release()


def test_a_live_holder_keeps_the_lock_until_it_lets_go(server: EmbeddedServer) -> None:
    info = server.ensure_running()
    holder = _hold_in_a_process(info)
    client = _client(info)
    try:
        assert write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=0.5) is None
        assert write_lock.Holder.parse(client.get(LOCK_KEY)).pid == holder.pid
    finally:
        holder.kill()
        holder.wait(10)
    # killed now: the next writer breaks it
    assert write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=5) is not None


def test_holders_that_cannot_be_checked_from_here_are_left_to_the_expiry(
        server: EmbeddedServer) -> None:
    info = server.ensure_running()
    client = _client(info)
    run_id = write_lock.server_run_id(client)
    # a writer on another machine, this run of the server: alive as far as we can tell
    client.set(LOCK_KEY, f"{run_id}|another-host|{os.getpid() + 1}|abc", px=600_000)
    assert write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=0.3) is None
    # a value an earlier ecobrain wrote (a bare random token): not ours to judge
    client.set(LOCK_KEY, "5f0c2a0e9d8b4c1e", px=600_000)
    assert write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=0.3) is None
    # the same holder format from an earlier run of the server: broken
    client.set(LOCK_KEY, f"0123456789abcdef|another-host|{os.getpid() + 1}|abc", px=600_000)
    assert write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=5) is not None


def test_holder_values_parse_by_hand() -> None:
    host = socket.gethostname()
    h = write_lock.Holder.parse(b"r1|" + host.encode() + b"|42|ff")
    assert h == write_lock.Holder("r1", host, 42)
    assert write_lock.Holder.parse("r1|h|notapid|ff") is None
    assert write_lock.Holder.parse("r1|h|42") is None
    assert write_lock.Holder.parse(None) is None
    assert write_lock.is_stale(write_lock.Holder("old", "elsewhere", 1), "new", host)
    assert not write_lock.is_stale(write_lock.Holder("new", "elsewhere", 1), "new", host)
    assert not write_lock.is_stale(write_lock.Holder("new", host, os.getpid()), "new", host)
    token = write_lock.Holder("r1", host, 7).token()
    assert write_lock.Holder.parse(token) == write_lock.Holder("r1", host, 7)


def test_a_live_holder_renews_its_lease_for_as_long_as_its_unit_runs(
        server: EmbeddedServer) -> None:
    """A lease of 1 s: the holder (alive, in its 600 s unit) still holds the lock after four
    leases, and the key never has more than a lease to live."""
    info = server.ensure_running()
    holder = _hold_in_a_process(info, lease_s=1.0)
    client = _client(info)
    try:
        time.sleep(4.0)
        assert write_lock.Holder.parse(client.get(LOCK_KEY)).pid == holder.pid
        assert 0 < client.pttl(LOCK_KEY) <= 1_000
        assert write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=0.5) is None
    finally:
        holder.kill()
        holder.wait(10)


def test_a_dead_holder_on_another_host_frees_the_graph_within_a_lease(
        server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen from another host a holder's pid says nothing: its lock goes when its lease runs
    out (1 s here; 30 s by default), not after the write timeout (600 s)."""
    info = server.ensure_running()
    holder = _hold_in_a_process(info, lease_s=1.0)
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    monkeypatch.setattr(write_lock.socket, "gethostname", lambda: "another-host")
    client = _client(info)
    t = time.monotonic()
    lock = write_lock.acquire(client, GRAPH, expiry_s=600, wait_s=10)
    assert lock is not None and time.monotonic() - t <= 1.5
    assert write_lock.Holder.parse(client.get(LOCK_KEY)).host == "another-host"
    lock.release()
    assert client.get(LOCK_KEY) is None


def test_the_units_expiry_still_bounds_a_renewed_lease(server: EmbeddedServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Renewal stops at the unit's expiry (the write timeout): a holder stuck past it loses
    the lock one lease later, as a plain expiry would have let it go."""
    monkeypatch.setenv(write_lock.ENV_LEASE, "1")
    info = server.ensure_running()
    client = _client(info)
    stuck = write_lock.acquire(client, GRAPH, expiry_s=1.5, wait_s=1)
    assert stuck is not None
    other = redis.Redis(host=info.host, port=info.port, password=info.password)
    assert write_lock.acquire(other, GRAPH, expiry_s=600, wait_s=0.5) is None  # renewed
    time.sleep(2.6)  # past 1.5 s of unit + 1 s of lease
    taken = write_lock.acquire(other, GRAPH, expiry_s=600, wait_s=0.5)
    assert taken is not None
    taken.release()
    with pytest.raises(redis.exceptions.LockError):
        stuck.release()  # no longer its lock: said, not silently deleting another's


def test_a_lease_that_is_not_a_positive_number_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(write_lock.ENV_LEASE, "soon")
    with pytest.raises(ValueError, match="ECOBRAIN_GRAPH_LOCK_LEASE_S='soon'"):
        write_lock.lease_s()
    monkeypatch.setenv(write_lock.ENV_LEASE, "0")
    with pytest.raises(ValueError, match="more than 0"):
        write_lock.lease_s()
    monkeypatch.delenv(write_lock.ENV_LEASE)
    assert write_lock.lease_s() == write_lock.DEFAULT_LEASE_S == 30.0
