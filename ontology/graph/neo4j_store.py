"""Neo4j 5 through the official driver (bolt://, neo4j://, neo4j+s://): the production store.

Reads run in read transactions (``execute_read``), so the server refuses writes there; the
cluster routing of ``neo4j://`` URIs also sends them to readers. ``write_all`` is one real
transaction: a failing statement rolls the others back; so is a unit (``atomic()``): every
write and read inside it, on its thread, goes through one transaction.

Async reads (:meth:`Neo4jStore.aread`) use the driver's ``AsyncGraphDatabase``: one async
driver per event loop (it is bound to the loop it runs on), made on first use, closed by
``aclose()``; same read transaction, same rows, same errors as :meth:`Neo4jStore.read`.

Time limits: a read's limit (``timeout_ms``, else ``ECOBRAIN_GRAPH_READ_TIMEOUT_S``) goes to the
server as the transaction timeout, and the store also stops *waiting* a little after it
(:func:`client_grace`), because not every server stops the query: the test suite's Bolt
stand-in (ArcadeDB) ignores the transaction timeout, and a server can stall. A sync read runs
in a daemon thread that the caller stops waiting for; an async read is cancelled, which makes
the driver drop its connection. Either way the caller gets "timed out" in bounded time; a
server that ignores the timeout goes on computing on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from ecobrain.ontology.graph.config import DEFAULT_READ_TIMEOUT_S
from ecobrain.ontology.graph.dialect import Neo4jDialect
from ecobrain.ontology.graph.statement_size import BOLT_STAND_IN_MESSAGE_LIMIT, MIB, statement_size
from ecobrain.ontology.graph.store import (
    GraphStore,
    GraphStoreError,
    ReadOnlyViolation,
    Row,
    Statement,
    WriteSummary,
    node_value,
    rel_value,
)

T = TypeVar("T")


def client_grace(limit_s: float) -> float:
    """How long past a read's time limit the store still waits: room for the server's own
    timeout error (with its message) to arrive first where the server enforces the limit."""
    return 1.0 + 0.1 * limit_s


def _timed_out(uri: str, limit_s: float) -> GraphStoreError:
    return GraphStoreError(
        f"the query timed out: no answer from {uri} within its {limit_s:g} s limit (stopped "
        "waiting on ecobrain's side; ECOBRAIN_GRAPH_READ_TIMEOUT_S, or timeout_ms)")


class _GivenUp(Exception):
    """Ends a read's thread that its caller stopped waiting for."""


def _wait_at_most(seconds: float, work: Callable[[], T]) -> T:
    """`work()` in a daemon thread, waited for at most `seconds` (TimeoutError after). A thread
    given up on finishes, or blocks, on its own: the driver has no public way to interrupt a
    blocking read, and a daemon thread does not hold up the process's exit."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller as is
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="neo4j-read", daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    from neo4j import graph as ng
    from neo4j import spatial, time

    if isinstance(value, ng.Node):
        return node_value(value.labels, dict(value))
    if isinstance(value, ng.Relationship):
        return rel_value(value.type, dict(value))
    if isinstance(value, ng.Path):
        return {"nodes": [_plain(n) for n in value.nodes],
                "relationships": [_plain(r) for r in value.relationships]}
    if isinstance(value, (time.Date, time.DateTime, time.Time)):
        return value.iso_format()
    if isinstance(value, time.Duration):
        return str(value)
    if isinstance(value, spatial.Point):
        return {"srid": value.srid, "coordinates": list(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _summary(counters: Any) -> WriteSummary:
    return WriteSummary(
        nodes_created=counters.nodes_created,
        nodes_deleted=counters.nodes_deleted,
        relationships_created=counters.relationships_created,
        relationships_deleted=counters.relationships_deleted,
        properties_set=counters.properties_set,
        labels_added=counters.labels_added,
        statements=1,
    )


def _missing_database(exc: Exception, database: str, uri: str) -> GraphStoreError | None:
    """The clear message for a database the server does not have (ecobrain's default name,
    ``ecobrain``, is not on a Neo4j Community server: it has exactly one standard database,
    ``neo4j``)."""
    code = getattr(exc, "code", "") or ""
    if "DatabaseNotFound" in code or "does not exist" in str(exc):
        return GraphStoreError(
            f"the Neo4j server at {uri} has no database {database!r}: set "
            "ECOBRAIN_GRAPH_DATABASE to one of its databases (Neo4j Community has exactly one "
            "standard database, 'neo4j'; on Enterprise, CREATE DATABASE it first)")
    return None


def _read_error(exc: Exception, cypher: str, uri: str, database: str = "") -> GraphStoreError:
    from neo4j.exceptions import ClientError, DriverError

    if (missing := _missing_database(exc, database, uri)) is not None:
        return missing
    if isinstance(exc, ClientError):
        if "AccessMode" in (exc.code or "") or "read access mode" in str(exc).lower():
            return ReadOnlyViolation(
                f"refused: the query writes to the graph, and this is a read-only query "
                f"({exc.message})")
        return GraphStoreError(f"{exc.message}\n  in query: {cypher[:300]}")
    if isinstance(exc, DriverError):  # no server, lost connection, session expired
        return GraphStoreError(f"cannot read from Neo4j at {uri}: {exc}")
    return GraphStoreError(str(exc))


class Neo4jStore(GraphStore):
    dialect = Neo4jDialect()

    def __init__(self, uri: str, user: str | None, password: str | None, *, database: str,
                 read_timeout_s: float = DEFAULT_READ_TIMEOUT_S):
        import neo4j

        self.graph_name = database
        self._read_timeout = read_timeout_s
        self._uri = uri
        auth = (user or "neo4j", password or "") if (user or password) else None
        self._auth = auth
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = \
            weakref.WeakKeyDictionary()
        self._async_lock = threading.Lock()
        self._unit = threading.local()  # .tx: the open unit's transaction on this thread
        try:
            # bounded waits everywhere: connecting, taking a pooled connection, retrying a
            # transaction (the driver's routing finds a cluster's new leader by itself)
            self._driver = neo4j.GraphDatabase.driver(
                uri, auth=auth, connection_timeout=read_timeout_s,
                connection_acquisition_timeout=read_timeout_s,
                max_transaction_retry_time=read_timeout_s)
            self._driver.verify_connectivity()
            agent = self._driver.get_server_info().agent or ""
        except Exception as exc:  # the driver raises many types; all mean "cannot connect"
            raise GraphStoreError(f"cannot reach Neo4j at {uri}: {exc}") from exc
        # ArcadeDB's Bolt plugin (the test suite's stand-in for Neo4j, "Neo4j/5.26.0 compatible
        # (ArcadeDB …)") re-inserts a node into a unique index when its labels change, and the
        # loaders relabel concepts: there, ids get plain indexes (docs/graph-server.md)
        self.stand_in = "arcadedb" in agent.lower()
        # the stand-in refuses a message over 16 MiB and then never answers: a statement that
        # would not fit is refused here, with a message, before it is sent (Neo4j has no such
        # limit). The room left is for the RUN message's other fields (database, metadata).
        self.message_limit: int | None = (BOLT_STAND_IN_MESSAGE_LIMIT - 64 * 1024
                                          if self.stand_in else None)

    def _check_fits(self, cypher: str, params: Mapping[str, Any] | None) -> None:
        if self.message_limit is None:
            return
        size = statement_size(cypher, params)
        if size > self.message_limit:
            raise GraphStoreError(
                f"a statement of {size / MIB:.1f} MiB does not fit one message of the Bolt server "
                f"at {self._uri} (ArcadeDB: {BOLT_STAND_IN_MESSAGE_LIMIT // MIB} MiB; it would "
                "leave the client waiting); cut its rows into smaller batches "
                f"(ontology.graph.statement_size.row_batches)\n  in query: {cypher[:300]}")

    def describe(self) -> str:
        return f"{self._uri}, database {self.graph_name!r}"

    def _session(self, read: bool = False) -> Any:
        """A session in read or write access mode: with a ``neo4j://`` URI the driver routes
        read sessions to a cluster's readers (read replicas / followers), writes to the leader."""
        import neo4j

        mode = neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS
        return self._driver.session(database=self.graph_name, default_access_mode=mode)

    @contextmanager
    def atomic(self, *, snapshot: bool = True) -> Iterator[None]:
        """A unit of writes as one Neo4j transaction (write mode: a cluster's leader): it
        commits when the block ends, rolls back if anything inside fails. Writes and reads on
        this thread inside the unit run in that transaction, so the unit's reads see its own
        writes (the decision save reads back what it wrote). Units nest; the outermost one
        commits. Async reads (:meth:`aread`) are outside it."""
        from neo4j.exceptions import DriverError, Neo4jError

        if getattr(self._unit, "tx", None) is not None:
            yield
            return
        session = self._session()
        try:
            try:
                tx = session.begin_transaction()
            except (Neo4jError, DriverError) as exc:
                missing = _missing_database(exc, self.graph_name, self._uri)
                raise (missing or GraphStoreError(str(exc))) from exc
            self._unit.tx = tx
            try:
                yield
            except BaseException:
                self._unit.tx = None
                with contextlib.suppress(Exception):  # already closed by a failed statement
                    tx.rollback()
                raise
            self._unit.tx = None
            try:
                tx.commit()
            except (Neo4jError, DriverError) as exc:
                raise GraphStoreError(f"the unit of writes was not committed: {exc}") from exc
        finally:
            self._unit.tx = None
            session.close()

    def _unit_read(self, tx: Any, cypher: str, params: Mapping[str, Any] | None) -> list[Row]:
        from neo4j.exceptions import DriverError, Neo4jError

        self._check_fits(cypher, params)
        try:
            result = tx.run(cypher, dict(params or {}))
            return [{k: _plain(v) for k, v in rec.items()} for rec in result]
        except (Neo4jError, DriverError) as exc:
            raise _read_error(exc, cypher, self._uri, self.graph_name) from exc

    def read(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, timeout_ms: int | None = None
    ) -> list[Row]:
        import neo4j
        from neo4j.exceptions import DriverError, Neo4jError

        if (unit := getattr(self._unit, "tx", None)) is not None:
            return self._unit_read(unit, cypher, params)
        self._check_fits(cypher, params)
        limit_s = timeout_ms / 1000 if timeout_ms else self._read_timeout

        # the time limit goes on the transaction function (a ``neo4j.Query`` is refused by
        # ``tx.run`` in every driver version: ValueError on 5.x, TypeError on 6.x)
        given_up = threading.Event()

        @neo4j.unit_of_work(timeout=limit_s)
        def work(tx: Any) -> list[Row]:
            if given_up.is_set():  # no retry of a read nobody waits for (the driver retries
                raise _GivenUp     # a transaction whose connection was closed under it)
            result = tx.run(cypher, dict(params or {}))
            return [{k: _plain(v) for k, v in rec.items()} for rec in result]

        def run() -> list[Row]:
            with self._session(read=True) as session:
                return session.execute_read(work)  # type: ignore[no-any-return]

        try:
            return _wait_at_most(limit_s + client_grace(limit_s), run)
        except TimeoutError:
            given_up.set()
            raise _timed_out(self._uri, limit_s) from None
        except (Neo4jError, DriverError) as exc:
            raise _read_error(exc, cypher, self._uri, self.graph_name) from exc

    async def aread(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, timeout_ms: int | None = None
    ) -> list[Row]:
        import neo4j
        from neo4j.exceptions import DriverError, Neo4jError

        self._check_fits(cypher, params)
        limit_s = timeout_ms / 1000 if timeout_ms else self._read_timeout

        @neo4j.unit_of_work(timeout=limit_s)
        async def work(tx: Any) -> list[Row]:
            result = await tx.run(cypher, dict(params or {}))
            return [{k: _plain(v) for k, v in rec.items()} async for rec in result]

        async def run() -> list[Row]:
            async with self._async_session() as session:
                return await session.execute_read(work)  # type: ignore[no-any-return]

        try:  # cancelled at the deadline: the driver then drops the connection
            return await asyncio.wait_for(run(), limit_s + client_grace(limit_s))
        except TimeoutError:
            raise _timed_out(self._uri, limit_s) from None
        except (Neo4jError, DriverError) as exc:
            raise _read_error(exc, cypher, self._uri, self.graph_name) from exc

    def _async_session(self) -> Any:
        """A read session on the running loop's driver (reads only: routed to readers)."""
        import neo4j

        return self._async_driver().session(database=self.graph_name,
                                            default_access_mode=neo4j.READ_ACCESS)

    def _async_driver(self) -> Any:
        """The running loop's async driver (it connects on first use, not here)."""
        import neo4j

        loop = asyncio.get_running_loop()
        with self._async_lock:
            driver = self._async.get(loop)
            if driver is None:
                driver = self._async[loop] = neo4j.AsyncGraphDatabase.driver(
                    self._uri, auth=self._auth, connection_timeout=self._read_timeout,
                    connection_acquisition_timeout=self._read_timeout)
        return driver

    async def aclose(self) -> None:
        with self._async_lock:
            driver = self._async.pop(asyncio.get_running_loop(), None)
        if driver is not None:
            await driver.close()

    def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> WriteSummary:
        return self.write_all([(cypher, params)])

    def write_all(self, statements: Sequence[Statement], *,
                  meanwhile: Callable[[], None] | None = None) -> WriteSummary:
        from neo4j.exceptions import Neo4jError

        for cypher, params in statements:  # before any is sent: nothing half-written
            self._check_fits(cypher, params)
        if meanwhile is not None:  # the driver packs as it sends: nothing left to prepare
            meanwhile()

        def work(tx: Any) -> WriteSummary:
            total = WriteSummary()
            for cypher, params in statements:
                summary = tx.run(cypher, dict(params or {})).consume()
                total.add(_summary(summary.counters))
            return total

        try:
            if (unit := getattr(self._unit, "tx", None)) is not None:
                return work(unit)
            with self._session() as session:
                return session.execute_write(work)
        except Neo4jError as exc:
            missing = _missing_database(exc, self.graph_name, self._uri)
            raise (missing or GraphStoreError(str(exc))) from exc

    def _ensure_indexes(self, specs: Sequence[tuple[str, str]], unique: set[str]) -> None:
        from neo4j.exceptions import Neo4jError

        try:
            with self._session() as session:
                for label, prop in specs:
                    if prop == "id" and label in unique and not self.stand_in:
                        session.run(self.dialect.create_unique_constraint(label, prop)).consume()
                    else:
                        session.run(self.dialect.create_index(label, prop)).consume()
        except Neo4jError as exc:
            missing = _missing_database(exc, self.graph_name, self._uri)
            raise (missing or GraphStoreError(str(exc))) from exc

    def drop_graph(self) -> None:
        with self._session() as session:
            session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS").consume()

    def close(self) -> None:
        self._driver.close()
        with self._async_lock:  # async drivers are closed by aclose() on their own loop
            self._async.clear()
