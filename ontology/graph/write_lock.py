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
a live writer is never broken.

Whether a holder on another host is alive cannot be told from here, so the lock is a
**lease**: its key expires after ``ECOBRAIN_GRAPH_LOCK_LEASE_S`` (30 s by default), and a
thread of the holder renews it while the unit runs — up to the unit's own expiry (the write
timeout), as before. A holder that dies anywhere frees the graph within one lease instead of
the write timeout (10 minutes); a live one keeps it as long as its unit lasts.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import psutil
import redis
from redis.exceptions import LockError
from redis.lock import Lock

KEY_PREFIX = "ecobrain:write-lock:"
ENV_LEASE = "ECOBRAIN_GRAPH_LOCK_LEASE_S"
DEFAULT_LEASE_S = 30.0
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


def lease_s() -> float:
    """How long the lock outlives a holder that stops renewing it (seconds)."""
    raw = os.environ.get(ENV_LEASE)
    try:
        value = float(raw) if raw else DEFAULT_LEASE_S
    except ValueError as exc:
        raise ValueError(f"{ENV_LEASE}={raw!r} is not a number of seconds") from exc
    if not value > 0:
        raise ValueError(f"{ENV_LEASE}={raw!r} must be more than 0 seconds")
    return value


class HeldLock:
    """A taken write lock whose lease a thread renews until :meth:`release`, or until the
    unit's expiry has passed (then the lease runs out as a plain expiry would)."""

    def __init__(self, lock: Lock, lease: float, expiry_s: float | None):
        self.lock = lock
        self._until = None if expiry_s is None else time.monotonic() + expiry_s
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew, args=(lease,), daemon=True,
                                         name=f"lease {lock.name!r}")
        self._renewer.start()

    def _renew(self, lease: float) -> None:
        while not self._stop.wait(lease / 3):
            if self._until is not None and time.monotonic() >= self._until:
                return
            try:
                self.lock.extend(lease, replace_ttl=True)
            except (LockError, redis.RedisError):
                return  # broken as stale, or the server gone: nothing left to renew

    def release(self) -> None:
        self._stop.set()
        self._renewer.join()
        self.lock.release()


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
            wait_s: float | None) -> HeldLock | None:
    """Take the graph's write lock, breaking a stale one; None if a live holder kept it for
    `wait_s` seconds. Held for at most `expiry_s` (None: while this process lives)."""
    name = KEY_PREFIX + graph
    lease = lease_s() if expiry_s is None else min(lease_s(), expiry_s)
    # the token is shared with the renewing thread (redis-py keeps it per thread by default)
    lock = client.lock(name, timeout=lease, thread_local=False)
    run_id = server_run_id(client)
    host = socket.gethostname()
    token = Holder(run_id, host, os.getpid()).token()
    deadline = None if wait_s is None else time.monotonic() + wait_s
    breaker = client.register_script(_BREAK_IF_SAME)
    while True:
        if lock.acquire(blocking=False, token=token):
            return HeldLock(lock, lease, expiry_s)
        value = client.get(name)
        holder = Holder.parse(value)
        if holder is not None and is_stale(holder, run_id, host):
            breaker(keys=[name], args=[value])
            continue
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(_POLL_S)
