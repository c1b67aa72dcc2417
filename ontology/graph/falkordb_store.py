"""FalkorDB through its native client (RESP), for the embedded graph and falkordb:// URIs.

Not FalkorDB's Bolt port: it splices parameters into the query text and crashes on payloads
over ~4 KB (STACK-NOTES.md §1). The native client sends parameters as a ``CYPHER k=v`` header
that the server parses itself, and takes megabyte-sized ``UNWIND`` batches.

Async reads (:meth:`FalkorStore.aread`, for the API's event loop) go through the client's
asyncio flavour (``falkordb.asyncio`` on ``redis.asyncio``): one client per event loop, made
on the loop's first async read and released by ``aclose()``. Its pool holds at most
``async_connections`` connections: a caller that gives up mid-read (a timeout) drops its
connection, and a graph that does not answer must not collect a socket per request.

A graph that stalls or moves must not hang or strand its clients. Every blocking call has a
socket timeout (reads ``read_timeout_s``, writes ``write_timeout_s``: a bulk load's batch may
legitimately take much longer than a page read), after which it fails as
:class:`GraphUnavailable`. A store made with a ``locate`` callable (the embedded server: it
comes back after a restart, possibly on another port) asks it again where the server is after
a lost connection, reconnects there, and tries a read once more; a write is never repeated,
because the lost one may have been applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import redis
import redis.asyncio
from falkordb import FalkorDB
from falkordb.asyncio import FalkorDB as AsyncFalkorDB
from falkordb.asyncio.graph import AsyncGraph
from falkordb.edge import Edge
from falkordb.node import Node
from falkordb.path import Path as FalkorPath

from ecobrain.ontology.graph import write_lock
from ecobrain.ontology.graph.config import DEFAULT_READ_TIMEOUT_S, DEFAULT_WRITE_TIMEOUT_S
from ecobrain.ontology.graph.cypher_params import ParameterError, params_header
from ecobrain.ontology.graph.dialect import FalkorDialect
from ecobrain.ontology.graph.store import (
    GraphStore,
    GraphStoreError,
    GraphUnavailable,
    ReadOnlyViolation,
    Row,
    Statement,
    WriteSummary,
    node_value,
    rel_value,
)

_READONLY_MARKERS = ("graph.ro_query is to be executed only on read-only queries",
                     "read-only")

# Where a moving server is now: (host, port, password), or None when it is not running.
Address = tuple[str, int, str | None]
Locate = Callable[[], Address | None]
T = TypeVar("T")

# Ids per statement when a unit looks up or deletes the nodes it creates.
_UNDO_BATCH = 5000

# Async connections per event loop (an API worker): a stamp read takes ~0.3 ms, so a few
# connections serve a worker's concurrent requests; the bound matters when the graph stalls.
ASYNC_CONNECTIONS = 16


def _plain(value: Any) -> Any:
    if isinstance(value, Node):
        return node_value(value.labels or [], value.properties or {})
    if isinstance(value, Edge):
        return rel_value(value.relation or "", value.properties or {})
    if isinstance(value, FalkorPath):
        return {
            "nodes": [_plain(n) for n in value.nodes()],
            "relationships": [_plain(e) for e in value.edges()],
        }
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _summary(result: Any) -> WriteSummary:
    return WriteSummary(
        nodes_created=int(result.nodes_created or 0),
        nodes_deleted=int(result.nodes_deleted or 0),
        relationships_created=int(result.relationships_created or 0),
        relationships_deleted=int(result.relationships_deleted or 0),
        properties_set=int(result.properties_set or 0),
        labels_added=int(result.labels_added or 0),
        statements=1,
    )


_STAT_FIELDS = {
    "nodes created": "nodes_created",
    "nodes deleted": "nodes_deleted",
    "relationships created": "relationships_created",
    "relationships deleted": "relationships_deleted",
    "properties set": "properties_set",
    "labels added": "labels_added",
}


def _stats_summary(stats: Sequence[Any]) -> WriteSummary:
    """Counters from a raw GRAPH.QUERY reply's statistics lines ("Nodes created: 1")."""
    summary = WriteSummary(statements=1)
    for line in stats:
        text = line.decode() if isinstance(line, bytes) else str(line)
        key, _, value = text.partition(":")
        name = _STAT_FIELDS.get(key.strip().lower())
        if name:
            setattr(summary, name, int(float(value.split()[0])))
    return summary


def _with_params(cypher: str, params: Mapping[str, Any] | None) -> str:
    """The parameter header (``CYPHER k=v ...``) the server parses, formatted exactly
    (:mod:`.cypher_params`); a value it cannot take is a :class:`GraphStoreError` naming
    where it is, before anything is sent."""
    if not params:
        return cypher
    try:
        header = params_header(params)
    except ParameterError as exc:
        raise GraphStoreError(f"{exc}\n  in query: {_short(cypher)}") from exc
    return f"CYPHER {header} {cypher}"


def _short(cypher: str, limit: int = 300) -> str:
    one_line = " ".join(cypher.split())
    return one_line if len(one_line) <= limit else one_line[:limit] + " ..."


def _read_error(exc: redis.RedisError, cypher: str) -> GraphStoreError | None:
    """The store's error for a failed read; None when the graph does not exist yet (reading
    it finds nothing). The sync and asyncio clients raise the same redis exceptions."""
    if isinstance(exc, redis.ResponseError):
        message = str(exc)
        if "empty key" in message:
            return None
        if any(m in message.lower() for m in _READONLY_MARKERS):
            return ReadOnlyViolation(
                f"refused: the query writes to the graph, and this is a read-only query "
                f"({message})")
        return GraphStoreError(f"{message}\n  in query: {_short(cypher)}")
    return _unavailable(exc)


def _unavailable(exc: BaseException) -> GraphStoreError:
    if isinstance(exc, redis.TimeoutError | TimeoutError):
        return GraphUnavailable(f"the graph server did not answer in time ({exc})")
    if isinstance(exc, redis.ConnectionError | OSError):
        return GraphUnavailable(f"graph server error: {exc}")
    return GraphStoreError(f"graph server error: {exc}")


def _rows(result: Any) -> list[Row]:
    header = [h[1] if isinstance(h, (list, tuple)) else h for h in (result.header or [])]
    header = [h.decode() if isinstance(h, bytes) else str(h) for h in header]
    return [dict(zip(header, (_plain(v) for v in row), strict=True))
            for row in result.result_set]


class FalkorStore(GraphStore):
    dialect = FalkorDialect()

    def __init__(self, host: str, port: int, graph: str, *, password: str | None = None,
                 origin: str | None = None, async_connections: int = ASYNC_CONNECTIONS,
                 locate: Locate | None = None,
                 read_timeout_s: float | None = DEFAULT_READ_TIMEOUT_S,
                 write_timeout_s: float | None = DEFAULT_WRITE_TIMEOUT_S):
        self.graph_name = graph
        self._origin = origin or f"falkordb://{host}:{port}"
        self._address: Address = (host, port, password)
        self._locate = locate
        self._read_timeout = read_timeout_s
        self._write_timeout = write_timeout_s
        self._async_connections = async_connections
        # event loop -> the task making its async client (done: (client, graph))
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Task[tuple[AsyncFalkorDB, AsyncGraph]]
        ] = weakref.WeakKeyDictionary()
        self._async_lock = threading.Lock()  # loops of several threads (tests) share a store
        self._connect_lock = threading.Lock()
        self._unit = threading.local()  # depth of the running thread's atomic() units
        try:
            self._connect(self._address)
        except (redis.RedisError, OSError) as exc:
            raise GraphStoreError(f"cannot reach FalkorDB at {host}:{port}: {exc}") from exc

    def _connect(self, address: Address) -> None:
        host, port, password = address
        reader = FalkorDB(host=host, port=port, password=password,
                          socket_timeout=self._read_timeout,
                          socket_connect_timeout=self._read_timeout)
        reader.connection.ping()
        writer = FalkorDB(host=host, port=port, password=password,
                          socket_timeout=self._write_timeout,
                          socket_connect_timeout=self._read_timeout)
        self._address = address
        self._reader_db, self._db = reader, writer
        self._reader = reader.select_graph(self.graph_name)
        self._graph = writer.select_graph(self.graph_name)

    def _relocate(self) -> bool:
        """After a lost connection: ask where the server is now; reconnect if it moved (or
        came back). True when there is a server to try again."""
        if self._locate is None:
            return False
        address = self._locate()
        if address is None:
            return False
        with self._connect_lock:
            if address != self._address:
                old = (self._reader_db, self._db)
                try:
                    self._connect(address)
                except (redis.RedisError, OSError):
                    return False
                for db in old:
                    with contextlib.suppress(redis.RedisError):
                        db.connection.close()
                with self._async_lock:
                    # async clients of the old address: each loop makes a new one on its next
                    # read (the old pools are dropped; their sockets are already dead)
                    self._async.clear()
        return True

    def _reading(self, run: Callable[[], T]) -> T:
        try:
            return run()
        except redis.ConnectionError:
            if not self._relocate():
                raise
            return run()

    def describe(self) -> str:
        return f"{self._origin}, graph {self.graph_name!r}"

    def read(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, timeout_ms: int | None = None
    ) -> list[Row]:
        try:
            result = self._reading(lambda: self._reader.ro_query(
                cypher, dict(params or {}), timeout=timeout_ms))
        except redis.RedisError as exc:
            error = _read_error(exc, cypher)
            if error is None:
                return []
            raise error from exc
        return _rows(result)

    async def aread(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, timeout_ms: int | None = None
    ) -> list[Row]:
        graph = await self._async_graph()
        try:
            try:
                result = await graph.ro_query(cypher, dict(params or {}), timeout=timeout_ms)
            except redis.ConnectionError:
                if not await anyio.to_thread.run_sync(self._relocate):
                    raise
                graph = await self._async_graph()
                result = await graph.ro_query(cypher, dict(params or {}), timeout=timeout_ms)
        except redis.RedisError as exc:
            error = _read_error(exc, cypher)
            if error is None:
                return []
            raise error from exc
        return _rows(result)

    async def _async_graph(self) -> AsyncGraph:
        """The running loop's async graph, its client made on first use (a failed attempt is
        tried again by the next read). Shielded: a caller's timeout does not cancel it for
        the others waiting."""
        loop = asyncio.get_running_loop()
        task = self._async.get(loop)
        if task is not None and task.done() and not task.cancelled() and not task.exception():
            return task.result()[1]  # the usual case: made already
        with self._async_lock:
            task = self._async.get(loop)
            if task is None or (task.done() and (task.cancelled() or task.exception())):
                task = loop.create_task(anyio.to_thread.run_sync(self._new_async_client))
                self._async[loop] = task
        try:
            return (await asyncio.shield(task))[1]
        except (redis.RedisError, OSError) as exc:
            host, port, _ = self._address
            raise GraphStoreError(f"cannot reach FalkorDB at {host}:{port}: {exc}") from exc

    def _new_async_client(self) -> tuple[AsyncFalkorDB, AsyncGraph]:
        # In a worker thread: the client's constructor asks the server (INFO, with a blocking
        # connection) whether it is a cluster; a stalled server must not stall the loop.
        host, port, password = self._address
        # No socket timeouts, as the sync client: the callers bound their waits (and a
        # socket timeout costs a task per command in redis.asyncio).
        pool = redis.asyncio.BlockingConnectionPool(
            host=host, port=port, password=password, decode_responses=True,
            socket_timeout=None, socket_connect_timeout=None,
            max_connections=self._async_connections, timeout=None)
        client = AsyncFalkorDB(connection_pool=pool)
        return client, client.select_graph(self.graph_name)

    async def aclose(self) -> None:
        with self._async_lock:
            task = self._async.pop(asyncio.get_running_loop(), None)
        if task is None:
            return
        if not task.done():
            task.cancel()  # the thread making it finishes on its own; nothing connected yet
        elif not task.cancelled() and task.exception() is None:
            await task.result()[0].aclose()

    def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> WriteSummary:
        # one statement is all-or-nothing on the server already: no snapshot, only the lock
        with self.atomic(snapshot=False):
            return self._run_block([(cypher, params)])

    def write_all(self, statements: Sequence[Statement], *,
                  meanwhile: Callable[[], None] | None = None) -> WriteSummary:
        with self.atomic():
            self._unit.meanwhile = meanwhile  # taken by _run_block once the block is formatted
            try:
                return self._run_block(statements)
            finally:
                self._unit.meanwhile = None

    def _run_block(self, statements: Sequence[Statement]) -> WriteSummary:
        """Send the statements in one MULTI/EXEC block: no other client's command runs in
        between, and a block cut off before EXEC is not run at all. A statement that fails
        inside does not undo those before it — :meth:`atomic` does."""
        pipe = self._db.connection.pipeline(transaction=True)
        for cypher, params in statements:
            pipe.execute_command("GRAPH.QUERY", self.graph_name,
                                 _with_params(cypher, params), "--compact")
        meanwhile = getattr(self._unit, "meanwhile", None)
        if meanwhile is not None:
            self._unit.meanwhile = None
            meanwhile()
        try:
            results = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            self._after_lost_write(exc)
            raise _unavailable(exc) from exc
        total = WriteSummary()
        for (cypher, _), res in zip(statements, results, strict=True):
            if isinstance(res, Exception):
                raise GraphStoreError(f"{res}\n  in query: {_short(cypher)}")
            total.add(_stats_summary(res[-1] if res else []))
        return total

    @contextlib.contextmanager
    def atomic(self, *, snapshot: bool = True) -> Iterator[None]:
        """A unit of writes that lands whole or not at all.

        FalkorDB runs each statement atomically but cannot roll back a sequence. So a unit
        takes the graph's write lock (one writer at a time, across processes: another
        writer's status update must not be rolled back with a failed load; a lock left by a
        crashed server or a dead local writer is broken, see `write_lock`), keeps a
        serialised copy of the graph (``DUMP``), and if anything inside fails puts that copy
        back (``GRAPH.DELETE`` + ``RESTORE`` in one MULTI block, so no reader sees the graph
        missing). Units nest: the outermost one holds the lock and the copy."""
        if getattr(self._unit, "depth", 0):
            self._unit.depth += 1
            try:
                yield
            finally:
                self._unit.depth -= 1
            return
        try:
            lock = write_lock.acquire(self._db.connection, self.graph_name,
                                      expiry_s=self._write_timeout, wait_s=self._write_timeout)
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        if lock is None:
            raise GraphUnavailable(
                f"another writer held graph {self.graph_name!r} for longer than "
                f"{self._write_timeout:.0f} s")
        self._unit.depth = 1
        try:
            before = self._dump() if snapshot else None
            try:
                yield
            except BaseException:
                if snapshot:
                    self._put_back(before)
                raise
        finally:
            self._unit.depth = 0
            with contextlib.suppress(redis.RedisError):
                lock.release()

    @contextlib.contextmanager
    def additive(self, nodes: Mapping[str, Sequence[str]], *,
                 unchanged: Iterable[str] = ()) -> Iterator[None]:
        """:meth:`GraphStore.additive`: the write lock, then which listed nodes exist. When
        none does (outside the `unchanged` labels) a failure is undone by deleting the listed
        nodes the unit created (their relationships go with them) — no copy of the graph,
        whose cost grows with the graph rather than with the unit. Otherwise, or inside
        another unit, it is an ordinary :meth:`atomic` unit."""
        if getattr(self._unit, "depth", 0):
            with self.atomic():
                yield
            return
        with self.atomic(snapshot=False):
            keep = set(unchanged)
            before = {label: self._existing(label, ids) for label, ids in nodes.items()}
            if any(before[label] for label in nodes if label not in keep):
                copy = self._dump()
                try:
                    yield
                except BaseException:
                    self._put_back(copy)
                    raise
                return
            created = {label: sorted(set(ids) - before[label]) for label, ids in nodes.items()}
            try:
                yield
            except BaseException:
                self._take_back(created)
                raise

    def _existing(self, label: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        wanted = sorted(set(ids))
        for i in range(0, len(wanted), _UNDO_BATCH):
            found.update(r["id"] for r in self.read(
                f"UNWIND $ids AS id MATCH (n:{label} {{id: id}}) RETURN n.id AS id",
                {"ids": wanted[i:i + _UNDO_BATCH]}))
        return found

    def _take_back(self, created: Mapping[str, Sequence[str]]) -> None:
        statements: list[Statement] = [
            (f"UNWIND $ids AS id MATCH (n:{label} {{id: id}}) DETACH DELETE n",
             {"ids": list(ids[i:i + _UNDO_BATCH])})
            for label, ids in created.items() for i in range(0, len(ids), _UNDO_BATCH)]
        try:
            self._run_block(statements)
        except GraphStoreError as exc:
            raise GraphStoreError(
                f"a write to graph {self.graph_name!r} failed and what it created could not "
                f"be deleted again ({exc}); the graph may hold part of the failed write — run "
                "it again (saves are idempotent)") from exc

    def _dump(self) -> bytes | None:
        try:
            return self._db.connection.dump(self.graph_name)  # None: no graph yet
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc

    def _put_back(self, before: bytes | None) -> None:
        pipe = self._db.connection.pipeline(transaction=True)
        pipe.execute_command("GRAPH.DELETE", self.graph_name)  # an error if there is none
        if before is not None:
            pipe.restore(self.graph_name, 0, before)  # RESTORE ... REPLACE crashes the server
        try:
            results = pipe.execute(raise_on_error=False)
            if before is not None and isinstance(results[-1], Exception):
                raise results[-1]
        except redis.RedisError as exc:
            raise GraphStoreError(
                f"a write to graph {self.graph_name!r} failed and its previous state could "
                f"not be put back ({exc}); the graph may hold part of the failed write — "
                "run the load again (loads are idempotent)") from exc

    def _after_lost_write(self, exc: redis.RedisError) -> None:
        """A write is not repeated (it may have been applied), but the next call should find
        the server where it is now."""
        if isinstance(exc, redis.ConnectionError) and not isinstance(exc, redis.TimeoutError):
            self._relocate()

    def _ensure_indexes(self, specs: Sequence[tuple[str, str]], unique: set[str]) -> None:
        existing: set[tuple[str, str]] = set()
        for row in self.read(self.dialect.existing_indexes_query()):
            for prop in row["properties"] or []:
                existing.add((row["label"], prop))
        for label, prop in specs:
            if (label, prop) not in existing:
                self.write(self.dialect.create_index(label, prop))

    def drop_graph(self) -> None:
        try:
            self._graph.delete()
        except redis.ResponseError as exc:
            if "empty key" not in str(exc).lower() and "invalid graph" not in str(exc).lower():
                raise GraphStoreError(str(exc)) from exc

    def list_graphs(self) -> list[str]:
        return list(self._reading(self._reader_db.list_graphs))

    def close(self) -> None:
        for db in (self._reader_db, self._db):
            with contextlib.suppress(redis.RedisError):
                db.connection.close()
        with self._async_lock:  # async clients are released by aclose() on their own loop
            self._async.clear()
