"""The graph store: one small interface, two transports (FalkorDB native, Neo4j 5 Bolt).

Everything in ecobrain that touches the graph goes through :class:`GraphStore`:

- ``read(cypher, params)`` runs a query the *server* executes read-only (FalkorDB
  ``GRAPH.RO_QUERY``, a Neo4j read transaction), so a write smuggled into a "read" fails there,
  not in a regex;
- ``aread(cypher, params)`` / ``aread_one`` are the same reads for async code (the API's event
  loop), never blocking it: native asyncio clients on both transports (each event loop gets
  its own, made on first use; ``aclose()`` releases the running loop's), and for any other
  store the blocking read in a worker thread;
- ``write(cypher, params)`` runs one write statement;
- ``write_rows(cypher, rows)`` runs an ``UNWIND $rows AS r ...`` statement over batches, the
  bulk-load path (62k nodes/s measured on FalkorDB); batches are cut by row count and by
  encoded size (:mod:`ecobrain.ontology.graph.statement_size`), so a batch fits a Bolt server's
  message limit;
- ``write_all(statements)`` runs several statements as one unit: a real transaction on Neo4j,
  a MULTI/EXEC block on FalkorDB (isolated; FalkorDB cannot roll back, which is why loaders
  validate a whole file before writing any of it).

Results come back as plain Python: lists of dicts keyed by the RETURN column names; nodes as
``{"labels": [...], "properties": {...}}``, relationships as ``{"type": ..., "properties":
{...}}``, paths as ``{"nodes": [...], "relationships": [...]}`` — the same on both servers.

:func:`ecobrain.ontology.graph.connect.open_store` picks the transport from the settings
(``ECOBRAIN_GRAPH_URI``); the transports (:mod:`.falkordb_store`, :mod:`.neo4j_store`) build on
this module, and the connecting is in :mod:`.connect`, so the dependency runs one way.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from ecobrain.ontology.graph.dialect import Dialect
from ecobrain.ontology.graph.schema import EXTRA_INDEXES, ID_LABELS, SEARCH_PROPERTIES
from ecobrain.ontology.graph.statement_size import row_batches

Row = dict[str, Any]
Statement = tuple[str, Mapping[str, Any] | None]

DEFAULT_BATCH = 5000


class GraphStoreError(RuntimeError):
    """A query failed on the server; carries the server's own message."""


class GraphUnavailable(GraphStoreError):
    """The graph server did not answer (stalled, stopped, moved): worth retrying later."""


class ReadOnlyViolation(GraphStoreError):
    """A read-only query tried to write."""


@dataclass
class WriteSummary:
    """What a write changed, summed over statements and batches."""

    nodes_created: int = 0
    nodes_deleted: int = 0
    relationships_created: int = 0
    relationships_deleted: int = 0
    properties_set: int = 0
    labels_added: int = 0
    rows: int = 0
    statements: int = 0

    def add(self, other: WriteSummary) -> WriteSummary:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def node_value(labels: Iterable[str], properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"labels": sorted(labels), "properties": dict(properties)}


def rel_value(rel_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": rel_type, "properties": dict(properties)}


_WRITE_CLAUSE = re.compile(
    r"\b(CREATE|MERGE|SET|DELETE|REMOVE|DROP|DETACH|FOREACH|LOAD\s+CSV)\b", re.IGNORECASE
)
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`")


def looks_like_write(cypher: str) -> bool:
    """Whether a query has a write clause (outside string literals), or calls a procedure
    named like a write (``apoc.create.node``, ``db.create.setNodeVectorProperty``)."""
    text = _STRINGS.sub("''", cypher)
    return bool(_WRITE_CLAUSE.search(text) or _WRITE_PROC.search(text))


_WRITE_PROC = re.compile(
    r"\bCALL\s+[\w.]*\b(create|merge|delete|set|remove|refactor|periodic|drop)\w*\s*\(",
    re.IGNORECASE)


def refuse_writes(cypher: str) -> None:
    """The read-only query command's and API's own check, on every backend: their safety does
    not depend on the server refusing writes in a read transaction (FalkorDB's GRAPH.RO_QUERY
    and Neo4j do; the Bolt stand-in used in tests, ArcadeDB, does not). Conservative: a query
    with a write clause anywhere outside a string literal is refused."""
    if looks_like_write(cypher):
        raise ReadOnlyViolation(
            "refused: the query writes to the graph (CREATE/MERGE/SET/DELETE/REMOVE/DROP/"
            "FOREACH/LOAD CSV or a writing procedure), and this is a read-only query")


class GraphStore(ABC):
    """A graph to read and write with parameterised openCypher."""

    dialect: Dialect
    graph_name: str

    @abstractmethod
    def read(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, timeout_ms: int | None = None
    ) -> list[Row]:
        """Run a query the server executes read-only."""

    @abstractmethod
    def write(self, cypher: str, params: Mapping[str, Any] | None = None) -> WriteSummary:
        """Run one write statement."""

    @abstractmethod
    def write_all(self, statements: Sequence[Statement], *,
                  meanwhile: Callable[[], None] | None = None) -> WriteSummary:
        """Run several write statements as one unit (see the module docstring).

        `meanwhile`, when given, is called once, when the statements are ready to go and
        before the server's answer is awaited: it starts work to overlap with the server's
        (another thread's, which the waiting one leaves the GIL to)."""

    @abstractmethod
    def _ensure_indexes(self, specs: Sequence[tuple[str, str]], unique: set[str]) -> None:
        """Create the missing indexes (label, property); `unique` labels get unique ids."""

    @abstractmethod
    def drop_graph(self) -> None:
        """Delete the whole graph (tests, `ecobrain kb reset`)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def describe(self) -> str:
        """Where this store points, for status lines (no secrets)."""

    @contextmanager
    def atomic(self, *, snapshot: bool = True) -> Iterator[None]:
        """A unit of writes that lands whole or not at all (see the FalkorDB store). This
        default does nothing more than the writes inside do on their own."""
        yield

    @contextmanager
    def additive(self, nodes: Mapping[str, Sequence[str]], *,
                 unchanged: Iterable[str] = ()) -> Iterator[None]:
        """A unit of writes that lands whole or not at all, for writes that *add* to the
        graph: they create the listed nodes (label -> ids), relationships of those nodes, and
        change no node that was there before — except nodes of the `unchanged` labels, which
        the writes leave as they are (``MERGE … ON CREATE SET``). A store may undo such a unit
        by deleting what it created instead of copying the whole graph first (FalkorDB); this
        default is :meth:`atomic`."""
        with self.atomic():
            yield

    def write_rows(
        self,
        cypher: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH,
        param: str = "rows",
        extra: Mapping[str, Any] | None = None,
    ) -> WriteSummary:
        """Run an ``UNWIND $rows`` statement over `rows` in batches (at most `batch_size` rows
        and :data:`~ecobrain.ontology.graph.statement_size.MAX_STATEMENT_BYTES` encoded bytes
        each)."""
        total = WriteSummary()
        for chunk in row_batches(rows, max_rows=batch_size):
            params = dict(extra or {})
            params[param] = chunk
            summary = self.write(cypher, params)
            summary.rows = len(chunk)
            total.add(summary)
        return total

    def read_one(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> Row | None:
        rows = self.read(cypher, params)
        return rows[0] if rows else None

    async def aread(
        self, cypher: str, params: Mapping[str, Any] | None = None, *, timeout_ms: int | None = None
    ) -> list[Row]:
        """:meth:`read` for async code: same query, same rows, same errors.

        This default runs the blocking read in a worker thread; a caller that gives up (a
        timeout, a cancelled request) stops waiting for it at once, the thread finishes the
        read on its own. The FalkorDB and Neo4j stores read natively instead."""
        return await anyio.to_thread.run_sync(
            functools.partial(self.read, cypher, params, timeout_ms=timeout_ms),
            abandon_on_cancel=True)

    async def aread_one(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> Row | None:
        rows = await self.aread(cypher, params)
        return rows[0] if rows else None

    async def aclose(self) -> None:
        """Release what :meth:`aread` holds for the running event loop (an app's shutdown);
        a later :meth:`aread` on this loop connects again. Nothing to release here."""
        return None

    def ensure_schema(self) -> None:
        """Create the indexes every MERGE relies on (idempotent, cheap when present)."""
        specs = [(label, "id") for label in ID_LABELS] + list(EXTRA_INDEXES)
        self._ensure_indexes(specs, unique=set(ID_LABELS))

    def search_properties(self) -> tuple[str, ...]:
        return SEARCH_PROPERTIES

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
