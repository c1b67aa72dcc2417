"""Everything that differs between Neo4j 5 and FalkorDB, in one place.

The application's queries are one portable openCypher set (GRAPH-STORE-NOTES.md lists what
runs on both). What does not port — index and constraint DDL, full-text search procedures,
shortest paths — is produced here. DDL text is built only from the schema constants in
:mod:`ecobrain.ontology.graph.schema` (identifiers cannot be query parameters); no data value is
ever spliced into a query.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    """Refuse anything but a plain identifier before it goes into DDL text."""
    if not _IDENT.match(name):
        raise ValueError(f"not a valid label or property name: {name!r}")
    return name


@dataclass(frozen=True)
class Dialect(ABC):
    """Base: the portable forms. Subclasses override what their server spells differently."""

    name: str = "portable"

    def create_index(self, label: str, prop: str) -> str:
        return f"CREATE INDEX FOR (n:{_ident(label)}) ON (n.{_ident(prop)})"

    @abstractmethod
    def shortest_path(self, max_depth: int) -> str:
        """Query with parameters $from and $to (node ids) returning `nodes` and `rels`."""

    @abstractmethod
    def create_fulltext_index(self, label: str, props: tuple[str, ...]) -> str:
        """DDL for a full-text index over `props` of `label`."""

    @abstractmethod
    def fulltext_query(self, label: str) -> str:
        """Query with parameters $q and $limit returning `node` and `score`."""


@dataclass(frozen=True)
class FalkorDialect(Dialect):
    name: str = "falkordb"

    def existing_indexes_query(self) -> str:
        return "CALL db.indexes() YIELD label, properties RETURN label, properties"

    def create_fulltext_index(self, label: str, props: tuple[str, ...]) -> str:
        args = ", ".join(f"'{_ident(p)}'" for p in props)
        return f"CALL db.idx.fulltext.createNodeIndex('{_ident(label)}', {args})"

    def fulltext_query(self, label: str) -> str:
        return (
            f"CALL db.idx.fulltext.queryNodes('{_ident(label)}', $q) YIELD node, score "
            "RETURN node, score ORDER BY score DESC LIMIT $limit"
        )

    def shortest_path(self, max_depth: int) -> str:
        # FalkorDB: shortestPath only in WITH/RETURN, directed only; try both directions.
        depth = int(max_depth)
        return (
            "MATCH (a {id: $from}), (b {id: $to}) "
            f"WITH a, b, shortestPath((a)-[*1..{depth}]->(b)) AS p1, "
            f"shortestPath((b)-[*1..{depth}]->(a)) AS p2 "
            "WITH CASE WHEN p1 IS NULL THEN p2 WHEN p2 IS NULL THEN p1 "
            "WHEN length(p2) < length(p1) THEN p2 ELSE p1 END AS p "
            "WHERE p IS NOT NULL "
            "RETURN [n IN nodes(p) | n] AS nodes, [r IN relationships(p) | r] AS rels"
        )


@dataclass(frozen=True)
class Neo4jDialect(Dialect):
    name: str = "neo4j"

    def create_index(self, label: str, prop: str) -> str:
        return f"CREATE INDEX IF NOT EXISTS FOR (n:{_ident(label)}) ON (n.{_ident(prop)})"

    def create_unique_constraint(self, label: str, prop: str) -> str:
        return (
            f"CREATE CONSTRAINT IF NOT EXISTS FOR (n:{_ident(label)}) "
            f"REQUIRE n.{_ident(prop)} IS UNIQUE"
        )

    def fulltext_index_name(self, label: str) -> str:
        return f"ecobrain_ft_{_ident(label).lower()}"

    def create_fulltext_index(self, label: str, props: tuple[str, ...]) -> str:
        each = ", ".join(f"n.{_ident(p)}" for p in props)
        return (
            f"CREATE FULLTEXT INDEX {self.fulltext_index_name(label)} IF NOT EXISTS "
            f"FOR (n:{_ident(label)}) ON EACH [{each}]"
        )

    def fulltext_query(self, label: str) -> str:
        return (
            f"CALL db.index.fulltext.queryNodes('{self.fulltext_index_name(label)}', $q) "
            "YIELD node, score RETURN node, score ORDER BY score DESC LIMIT $limit"
        )

    def shortest_path(self, max_depth: int) -> str:
        depth = int(max_depth)
        return (
            "MATCH (a {id: $from}), (b {id: $to}) "
            f"MATCH p = shortestPath((a)-[*1..{depth}]-(b)) "
            "RETURN nodes(p) AS nodes, relationships(p) AS rels"
        )
