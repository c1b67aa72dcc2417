"""Health and version: for load balancers and operators (no key needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from ecobrain import __version__
from ecobrain.api.http_app import get_store
from ecobrain.ontology.store import GraphStore

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness and graph reachability")
def health(store: Annotated[GraphStore, Depends(get_store)]) -> dict[str, object]:
    row = store.read_one("MATCH (n) RETURN count(n) AS nodes")
    return {"status": "ok", "version": __version__, "graph": store.describe(),
            "nodes": row["nodes"] if row else 0}


def include(app: FastAPI) -> None:
    app.include_router(router)
