"""The graph's write lock on FalkorDB: one writer at a time, across processes.

The lock is a redis key with an expiry, and redis persists keys in its append-only file. A
plain lock therefore outlived what it guarded: a server killed while a unit held it came back
with the lock still held by a connection that no longer existed, and every write waited until
the expiry (``ECOBRAIN_GRAPH_WRITE_TIMEOUT_S``, 10 minutes by default) — the first write
after a crash hung. Likewise a writer process killed on this machine left the lock to its
expiry.

So the lock's value says who holds it: the server's ``run_id`` (new at every start), the
holder's host and pid, and a random part. A waiting writer breaks a lock that was taken on an
earlier run of the server (its holder's connection died with that run) or by a process of this
host that no longer exists; it compares and deletes in one script, so a lock taken meanwhile by
a live writer is never broken. A holder on another host that dies still holds the lock until
its expiry: whether it is alive cannot be told from here.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

import psutil
import redis
from redis.lock import Lock

KEY_PREFIX = "ecobrain:write-lock:"
_POLL_S = 0.05

# delete the key only if it still holds the stale value we saw (atomic on the server)
_BREAK_IF_SAME = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Holder:
    """Who holds a write lock, read from the lock's value."""

    run_id: str
    host: str
    pid: int

    @classmethod
    def parse(cls, value: bytes | str | None) -> Holder | None:
        """The holder, or None for a value this version did not write (left to its expiry)."""
        if value is None:
            return None
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        parts = text.split("|")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]))

    def token(self) -> str:
        return f"{self.run_id}|{self.host}|{self.pid}|{uuid.uuid4().hex}"


def server_run_id(client: redis.Redis) -> str:
    """The server process's ``run_id``: a new one at every start."""
    return str(client.info("server")["run_id"])


def is_stale(holder: Holder, run_id: str, host: str) -> bool:
    """True when the holder cannot be holding the lock any more: it took it on an earlier run
    of the server, or it was a process of this host that has gone."""
    if holder.run_id != run_id:
        return True
    return holder.host == host and not psutil.pid_exists(holder.pid)


def acquire(client: redis.Redis, graph: str, *, expiry_s: float | None,
            wait_s: float | None) -> Lock | None:
    """Take the graph's write lock, breaking a stale one; None if a live holder kept it for
    `wait_s` seconds."""
    name = KEY_PREFIX + graph
    lock = client.lock(name, timeout=expiry_s)
    run_id = server_run_id(client)
    host = socket.gethostname()
    token = Holder(run_id, host, os.getpid()).token()
    deadline = None if wait_s is None else time.monotonic() + wait_s
    breaker = client.register_script(_BREAK_IF_SAME)
    while True:
        if lock.acquire(blocking=False, token=token):
            return lock
        value = client.get(name)
        holder = Holder.parse(value)
        if holder is not None and is_stale(holder, run_id, host):
            breaker(keys=[name], args=[value])
            continue
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(_POLL_S)
