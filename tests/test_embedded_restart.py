"""The embedded graph starts again from every state its own stops and crashes leave.

Each case writes the way ecobrain writes — batches of statements in one MULTI/EXEC block
(``write_all``, as every loader and decision save does) — then stops the server cleanly, kills
it mid-write, kills it and truncates the append-only file (a power cut), or damages the file,
and starts it again. What must hold: the server starts; every batch is there whole or not at
all; nothing acknowledged before a clean stop or a process kill is lost; clients that keep
knocking while it loads cannot crash it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from embedded_helpers import kill_server  # its `server` fixture: conftest.py

from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer, EmbeddedServerError

pytestmark = pytest.mark.falkordb_only  # about the embedded server itself

BATCH = 40  # statements per MULTI/EXEC block

WRITER = r"""
import sys
from pathlib import Path
from ecobrain.ontology.graph.config import GraphSettings
from ecobrain.ontology.graph.connect import open_store

data_dir, batches, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
settings = GraphSettings(None, None, None, "crash", Path(data_dir))
with open_store(settings, ensure_schema=False) as store:
    for b in range(start, start + batches):
        store.write_all([
            ("CREATE (:Probe {batch: $b, i: $i, pad: $pad})", {"b": b, "i": i, "pad": "x" * 200})
            for i in range(BATCH)])
        print(b, flush=True)
""".replace("BATCH", str(BATCH))


def _settings(data_dir: Path) -> GraphSettings:
    return GraphSettings(None, None, None, "crash", data_dir)


def _write(data_dir: Path, batches: int, start: int = 0) -> list[int]:
    out = subprocess.run([sys.executable, "-c", WRITER, str(data_dir), str(batches), str(start)],
                         check=True, capture_output=True, text=True, timeout=300)
    return [int(x) for x in out.stdout.split()]


def _batches(data_dir: Path) -> dict[int, int]:
    """Batch number -> how many of its statements are in the graph."""
    with open_store(_settings(data_dir), ensure_schema=False) as store:
        rows = store.read("MATCH (p:Probe) RETURN p.batch AS b, count(p) AS n ORDER BY b")
    return {r["b"]: r["n"] for r in rows}


def _assert_whole(found: dict[int, int]) -> None:
    partial = {b: n for b, n in found.items() if n != BATCH}
    assert not partial, f"batches replayed in part: {partial}"


def _incr_aof(server: EmbeddedServer) -> Path:
    files = sorted((server.db_dir / "appendonlydir").glob("*.incr.aof"))
    assert files, "no incremental append-only file"
    return files[-1]


def test_clean_stops_and_restarts_keep_every_batch(server: EmbeddedServer) -> None:
    server.ensure_running()
    written: list[int] = []
    for cycle in range(4):
        written += _write(server.data_dir, 5, start=cycle * 5)
        assert server.stop() is True
        info = server.ensure_running()
        found = _batches(server.data_dir)
        assert sorted(found) == written
        _assert_whole(found)
    # the port survives a restart, so clients that knew it need not rediscover it
    assert server.stop() is True
    assert server.ensure_running().port == info.port


def test_restart_replays_batched_writes_after_a_kill(server: EmbeddedServer) -> None:
    """The reported failure: MULTI blocks in the append-only file, replayed at start while a
    client asks whether the server is up (redis aborted with '!server.in_exec')."""
    info = server.ensure_running()
    written = _write(server.data_dir, 30)
    kill_server(info)  # no clean stop: the next start must replay every block
    assert os.path.getsize(_incr_aof(server)) > 30 * BATCH * 200
    knocking = threading.Event()
    stop_knocking = threading.Event()

    def knock() -> None:  # a client (an API worker) retrying the old port all along
        while not stop_knocking.is_set():
            try:
                with redis.Redis(host="127.0.0.1", port=info.port, socket_timeout=0.2,
                                 socket_connect_timeout=0.2) as c:
                    c.ping()
            except (redis.RedisError, OSError):
                pass
            knocking.set()
            time.sleep(0.005)

    thread = threading.Thread(target=knock, daemon=True)
    thread.start()
    knocking.wait(5)
    try:
        info2 = server.ensure_running()
    finally:
        stop_knocking.set()
        thread.join(5)
    assert info2.pid != info.pid
    found = _batches(server.data_dir)
    assert sorted(found) == written  # a killed process loses nothing it was told was written
    _assert_whole(found)


def test_kill_mid_write_keeps_whole_batches(server: EmbeddedServer) -> None:
    info = server.ensure_running()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(server.data_dir), "100000", "0"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acknowledged = [int(proc.stdout.readline()) for _ in range(25)]
    kill_server(info)  # the writer is in the middle of its next blocks
    proc.wait(30)
    acknowledged += [int(x) for x in proc.stdout.read().split()]
    server.ensure_running()
    found = _batches(server.data_dir)
    _assert_whole(found)
    assert set(acknowledged) <= set(found)
    assert set(found) <= set(acknowledged) | {max(acknowledged) + 1}
    # and the server takes writes again, and restarts again
    _write(server.data_dir, 2, start=10_000)
    assert server.stop() is True
    server.ensure_running()
    assert _batches(server.data_dir)[10_001] == BATCH


@pytest.mark.parametrize("cut", [1, 7, 333, 5000])
def test_power_cut_truncates_the_tail(server: EmbeddedServer, cut: int) -> None:
    """A power cut loses the tail of the file mid-command or mid-block: what is left starts."""
    info = server.ensure_running()
    written = _write(server.data_dir, 20)
    kill_server(info)
    aof = _incr_aof(server)
    size = aof.stat().st_size
    with open(aof, "r+b") as fh:
        fh.truncate(size - cut)
    server.ensure_running()
    found = _batches(server.data_dir)
    _assert_whole(found)  # the unfinished block is dropped, never half-applied
    # one block is ~40 statements of ~300 bytes: a cut of at most 5000 bytes costs one block
    assert sorted(found) == written[: len(found)]
    assert len(found) >= len(written) - 1


def test_damage_in_the_middle_is_a_clear_error_and_repair_starts_it(
        server: EmbeddedServer) -> None:
    info = server.ensure_running()
    _write(server.data_dir, 10)
    kill_server(info)
    aof = _incr_aof(server)
    data = bytearray(aof.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = b"\x00garbage\x00\r\n*9x\r\n"
    aof.write_bytes(bytes(data))
    with pytest.raises(EmbeddedServerError) as exc:
        server.ensure_running()
    assert "ecobrain graph repair" in str(exc.value)
    report = server.repair()
    assert "backup" in report
    server.ensure_running()
    found = _batches(server.data_dir)
    _assert_whole(found)
    assert 0 < len(found) < 10
    assert sorted(found) == list(range(len(found)))  # the batches before the damage


def test_server_is_locked_down(server: EmbeddedServer) -> None:
    info = server.ensure_running()
    _write(server.data_dir, 1)
    assert server.stop() is True
    info = server.ensure_running()
    # no password, no graph
    with redis.Redis(host=info.host, port=info.port) as anonymous, pytest.raises(
            redis.AuthenticationError):
        anonymous.execute_command("GRAPH.LIST")
    with redis.Redis(host=info.host, port=info.port, password="wrong") as guess, pytest.raises(
            redis.AuthenticationError):
        guess.ping()
    # the secret and the data are the owner's alone
    for path in [server.data_dir, server.db_dir, *server.db_dir.rglob("*"),
                 server.data_dir / "graph.secret", server.data_dir / "server.json",
                 server.data_dir / "falkordb.conf", server.log_path]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is mode {oct(mode)}"
    assert info.password and info.password not in (server.data_dir / "server.json").read_text()
    with open_store(_settings(server.data_dir), ensure_schema=False) as store:
        assert store.read_one("MATCH (p:Probe) RETURN count(p) AS n") == {"n": BATCH}


def test_a_recycled_pid_is_not_taken_for_the_server(server: EmbeddedServer) -> None:
    info = server.ensure_running()
    assert server.stop() is True
    state = server.data_dir / "server.json"
    # a stale state file naming a live process that is not the server (this test's own)
    state.write_text(state.read_text().replace('"pid": 0', f'"pid": {os.getpid()}'))
    assert server.status() is None
    assert server.stop() is False  # and stop does not signal that process
    assert server.ensure_running().port == info.port


def test_one_query_cannot_take_the_machines_memory(server: EmbeddedServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOBRAIN_GRAPH_QUERY_MEM_MB", "64")
    info = server.ensure_running()
    with redis.Redis(host=info.host, port=info.port, password=info.password) as c:
        assert c.execute_command("GRAPH.CONFIG", "GET", "QUERY_MEM_CAPACITY")[1] == 64 * 2**20
        c.execute_command("GRAPH.QUERY", "g", "CREATE (:Probe)")
        with pytest.raises(redis.ResponseError, match="exceeded capacity"):
            c.execute_command("GRAPH.RO_QUERY", "g", "UNWIND range(1, 30000000) AS x "
                              "WITH collect(x) AS c RETURN size(c)")
