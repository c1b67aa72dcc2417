"""Health and version: for load balancers and operators (no key needed)."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ecobrain import __version__
from ecobrain.api.http.errors import RETRY_AFTER_S
from ecobrain.api.http.store_dependency import get_store
from ecobrain.ontology.graph.store import GraphStore, GraphStoreError

router = APIRouter(tags=["system"])


class GraphHealth(BaseModel):
    state: Literal["up", "down"]
    where: str
    answered_ms: float | None = None
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    graph: GraphHealth
    nodes: int | None = None


@router.get("/health", summary="Liveness and the graph's state", response_model=Health,
            responses={503: {"model": Health,
                             "description": "the graph does not answer (Retry-After set)"}})
def health(store: Annotated[GraphStore, Depends(get_store)]) -> JSONResponse:
    """200 with the graph's node count and answer time when the graph answers; 503 with
    Retry-After when it does not (stopped, stalled, moved and not found again), so a load
    balancer takes the worker out until the graph is back."""
    started = time.perf_counter()
    try:
        row = store.read_one("MATCH (n) RETURN count(n) AS nodes")
    except GraphStoreError as exc:
        return JSONResponse(
            status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
            content={"status": "unavailable", "version": __version__,
                     "graph": {"state": "down", "where": store.describe(),
                               "error": str(exc).splitlines()[0]}})
    return JSONResponse({
        "status": "ok", "version": __version__,
        "graph": {"state": "up", "where": store.describe(),
                  "answered_ms": round((time.perf_counter() - started) * 1000, 1)},
        "nodes": row["nodes"] if row else 0})


def include(app: FastAPI) -> None:
    app.include_router(router)
