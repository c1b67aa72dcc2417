"""Graph exploration for investigators: read-only by construction.

Search, a node, its neighbourhood, paths, and read-only Cypher. The Cypher endpoint runs on the
server's read-only path (FalkorDB GRAPH.RO_QUERY / a Neo4j read transaction) with a time limit,
so no caller-supplied query can write, and its answer is capped in rows and bytes.
"""

from __future__ import annotations

import json
import os
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.errors import graph_message
from ecobrain.api.http.store_dependency import get_store
from ecobrain.ontology import explore
from ecobrain.ontology.graph.store import (
    GraphStore,
    GraphStoreError,
    ReadOnlyViolation,
    refuse_writes,
)

MAX_QUERY_CHARS = 20_000
NodeId = Annotated[str, PathParam(max_length=256, description="the node's id property")]
MAX_TIMEOUT_MS = 60_000
DEFAULT_ROWS = 1_000
MAX_ROWS = 10_000

router = APIRouter(prefix="/graph", tags=["graph exploration"])
Investigator = Annotated[Principal, Depends(require("investigator"))]
Store = Annotated[GraphStore, Depends(get_store)]


class SearchHit(BaseModel):
    id: str
    labels: list[str]
    name: str

    model_config = {"json_schema_extra": {"examples": [
        {"id": "330105", "labels": ["AdminRegion", "County"], "name": "拱墅区"}]}}


class NodeOut(BaseModel):
    id: str
    labels: list[str]
    properties: dict[str, Any]
    relationship_counts: dict[str, int]

    model_config = {"json_schema_extra": {"examples": [
        {"id": "O3", "labels": ["Concept", "Pollutant"],
         "properties": {"id": "O3", "label_zh": "臭氧", "label_en": "ozone"},
         "relationship_counts": {"PRECURSOR_OF": 2, "MENTIONS": 14}}]}}


class NeighbourNode(BaseModel):
    id: str
    labels: list[str]
    name: str


class NeighbourRel(BaseModel):
    source: str
    type: str
    target: str


class NeighbourhoodOut(BaseModel):
    centre: str
    depth: int
    nodes: list[NeighbourNode]
    relationships: list[NeighbourRel]
    truncated: bool = Field(description="more paths existed than `limit`; narrow the filters")
    limit: int


class PathOut(BaseModel):
    nodes: list[NeighbourNode]
    relationships: list[str]
    length: int


class CypherIn(BaseModel):
    query: str = Field(description="A read-only openCypher query.", min_length=1,
                       max_length=MAX_QUERY_CHARS)
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_ms: int = Field(default=10_000, ge=1, le=MAX_TIMEOUT_MS,
                            description="the graph server stops the query after this long")
    limit: int = Field(default=DEFAULT_ROWS, ge=1, le=MAX_ROWS,
                       description="most rows answered; a query that returns more is refused "
                       "(422): add LIMIT, or raise this")

    model_config = {"json_schema_extra": {"examples": [
        {"query": "MATCH (r:Rule)-[:CITES]->(a:Article {id: $article}) RETURN r.id AS rule",
         "params": {"article": "cn.air-law.2018.art96"}}]}}


@router.get("/search", response_model=list[SearchHit], summary="Search entities by name or id")
def search(
    _: Investigator, store: Store,
    q: Annotated[str, Query(min_length=1, max_length=200,
                            description="Text in an id, name, label or alias")],
    label: Annotated[list[str] | None, Query(description="Only nodes with one of these labels")]
    = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[dict[str, Any]]:
    try:
        return explore.search(store, q, labels=label, limit=limit)
    except ValueError as exc:
        raise HTTPException(422, f"label: {exc}") from exc


@router.get("/nodes/{node_id}", response_model=NodeOut, summary="A node with its properties")
def get_node(node_id: NodeId, _: Investigator, store: Store) -> dict[str, Any]:
    return explore.node(store, node_id)


@router.get("/nodes/{node_id}/neighbourhood", response_model=NeighbourhoodOut,
            summary="The neighbourhood of a node to a depth, with type filters")
def get_neighbourhood(
    node_id: NodeId, _: Investigator, store: Store,
    depth: Annotated[int, Query(ge=1, le=explore.MAX_DEPTH)] = 1,
    label: Annotated[list[str] | None, Query(description="Only end nodes with these labels")]
    = None,
    type: Annotated[list[str] | None, Query(description="Only through these relationship types")]
    = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = explore.DEFAULT_LIMIT,
) -> explore.Neighbourhood:
    try:
        return explore.neighbourhood(store, node_id, depth=depth, labels=label,
                                     rel_types=type, limit=limit)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/paths", response_model=list[PathOut], summary="Shortest path between two entities")
def get_paths(
    _: Investigator, store: Store,
    source: Annotated[str, Query(alias="from", max_length=256,
                                 description="id of the first entity")],
    target: Annotated[str, Query(alias="to", max_length=256,
                                 description="id of the second entity")],
    max_depth: Annotated[int, Query(ge=1, le=10)] = 6,
) -> list[dict[str, Any]]:
    return explore.paths(store, source, target, max_depth=max_depth)


@router.post("/query", summary="Run a read-only Cypher query (writes are refused)",
             response_model=list[dict[str, Any]],
             responses={422: {"description": "bad query, timed out, or more rows or bytes "
                              "than the caps"}})
def run_query(body: CypherIn, _: Investigator, store: Store) -> Response:
    """Capped in time (`timeout_ms`, enforced by the graph server), rows (`limit`) and
    encoded size (`ECOBRAIN_API_QUERY_MAX_MB`, default 16): a query over a cap is refused
    with the reason rather than answered in part, so no caller mistakes a cut for the whole."""
    try:
        rows = _read_capped(store, body)
    except ReadOnlyViolation as exc:
        raise HTTPException(403, graph_message(exc)) from exc
    except GraphStoreError as exc:
        raise HTTPException(422, f"query: {graph_message(exc)}") from exc
    if len(rows) > body.limit:
        raise HTTPException(422, f"the query returns more than limit={body.limit} rows; add "
                                 f"LIMIT to it (or raise limit, at most {MAX_ROWS})")
    encoded = json.dumps(jsonable_encoder(rows), ensure_ascii=False).encode("utf-8")
    cap = max_query_bytes()
    if len(encoded) > cap:
        raise HTTPException(422, f"the result is {len(encoded) // 1024} KiB, more than "
                                 f"{cap // 1024} KiB (ECOBRAIN_API_QUERY_MAX_MB); return fewer "
                                 "or smaller values")
    return Response(encoded, media_type="application/json")


def _read_capped(store: GraphStore, body: CypherIn) -> list[dict[str, Any]]:
    """The caller's query, with at most `limit` + 1 rows sent by the graph server.

    The query runs as a subquery, ``CALL { … } RETURN * LIMIT n`` (FalkorDB and Neo4j 5), so a
    ``MATCH (n) RETURN n`` over a million nodes never reaches this process whole; columns then
    come in the server's order for ``RETURN *`` (rows are objects keyed by column either way).
    A query that cannot be a subquery (a bare ``CALL proc()``, ``EXPLAIN``) runs as written and
    is capped after reading; one that timed out or tried to write is not run again.
    """
    refuse_writes(body.query)
    query = body.query.strip().rstrip(";")
    wrapped = f"CALL {{\n{query}\n}}\nRETURN * LIMIT {body.limit + 1}"
    try:
        return store.read(wrapped, body.params, timeout_ms=body.timeout_ms)
    except ReadOnlyViolation:
        raise
    except GraphStoreError as exc:
        if _TIMED_OUT.search(str(exc)):
            raise
    return store.read(body.query, body.params, timeout_ms=body.timeout_ms)


_TIMED_OUT = re.compile(r"timed? ?out", re.IGNORECASE)


def max_query_bytes() -> int:
    try:
        return int(float(os.environ.get("ECOBRAIN_API_QUERY_MAX_MB") or 16) * 1024 * 1024)
    except ValueError:
        return 16 * 1024 * 1024


def include(app: FastAPI) -> None:
    app.include_router(router)
