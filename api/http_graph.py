"""Graph exploration for investigators: read-only by construction.

Search, a node, its neighbourhood, paths, and read-only Cypher. The Cypher endpoint runs on the
server's read-only path (FalkorDB GRAPH.RO_QUERY / a Neo4j read transaction) with a time limit,
so no caller-supplied query can write.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http_app import get_store
from ecobrain.ontology import explore
from ecobrain.ontology.store import GraphStore, GraphStoreError, ReadOnlyViolation

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
    query: str = Field(description="A read-only openCypher query.", min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_ms: int = Field(default=10_000, ge=1, le=60_000)

    model_config = {"json_schema_extra": {"examples": [
        {"query": "MATCH (r:Rule)-[:CITES]->(a:Article {id: $article}) RETURN r.id AS rule",
         "params": {"article": "cn.air-law.2018.art96"}}]}}


@router.get("/search", response_model=list[SearchHit], summary="Search entities by name or id")
def search(
    _: Investigator, store: Store,
    q: Annotated[str, Query(min_length=1, description="Text in an id, name, label or alias")],
    label: Annotated[list[str] | None, Query(description="Only nodes with one of these labels")]
    = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[dict[str, Any]]:
    try:
        return explore.search(store, q, labels=label, limit=limit)
    except ValueError as exc:
        raise HTTPException(422, f"label: {exc}") from exc


@router.get("/nodes/{node_id}", response_model=NodeOut, summary="A node with its properties")
def get_node(node_id: str, _: Investigator, store: Store) -> dict[str, Any]:
    return explore.node(store, node_id)


@router.get("/nodes/{node_id}/neighbourhood", response_model=NeighbourhoodOut,
            summary="The neighbourhood of a node to a depth, with type filters")
def get_neighbourhood(
    node_id: str, _: Investigator, store: Store,
    depth: Annotated[int, Query(ge=1, le=explore.MAX_DEPTH)] = 1,
    label: Annotated[list[str] | None, Query(description="Only end nodes with these labels")]
    = None,
    type: Annotated[list[str] | None, Query(description="Only through these relationship types")]
    = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = explore.DEFAULT_LIMIT,
) -> explore.Neighbourhood:
    return explore.neighbourhood(store, node_id, depth=depth, labels=label, rel_types=type,
                                 limit=limit)


@router.get("/paths", response_model=list[PathOut], summary="Shortest path between two entities")
def get_paths(
    _: Investigator, store: Store,
    source: Annotated[str, Query(alias="from", description="id of the first entity")],
    target: Annotated[str, Query(alias="to", description="id of the second entity")],
    max_depth: Annotated[int, Query(ge=1, le=10)] = 6,
) -> list[dict[str, Any]]:
    return explore.paths(store, source, target, max_depth=max_depth)


@router.post("/query", summary="Run a read-only Cypher query (writes are refused)")
def run_query(body: CypherIn, _: Investigator, store: Store) -> list[dict[str, Any]]:
    try:
        return store.read(body.query, body.params, timeout_ms=body.timeout_ms)
    except ReadOnlyViolation as exc:
        raise HTTPException(403, str(exc)) from exc
    except GraphStoreError as exc:
        raise HTTPException(422, str(exc)) from exc


def include(app: FastAPI) -> None:
    app.include_router(router)
