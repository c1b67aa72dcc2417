"""The decision-advice HTTP API (FastAPI): one app, one router module per kind of user.

`create_app()` wires the routers, the graph store and the API keys. The store is opened once
per app and shared by requests (the FalkorDB and Neo4j clients pool their connections).
Errors are JSON with a readable `message` (``http_errors``): 401/403 for keys and roles, 404 for
unknown ids, 413 for bodies over the limit (``http_limits``), 422 for bad requests (naming the
field), 503 when the graph cannot be reached.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ecobrain import __version__
from ecobrain.api.auth import KeyStore
from ecobrain.api.http import errors as http_errors
from ecobrain.api.http.cache import CachedReads, ResponseCache
from ecobrain.api.http.limits import BodyLimit, NoControlCharacters
from ecobrain.api.http.routes import (
    decisions,
    evaluations,
    evidence,
    graph,
    jobs,
    review,
    rule_tables,
    rules,
    runs,
    system,
    tasks,
    why_not,
)
from ecobrain.api.web import explorer, pages
from ecobrain.api.web import map as web_map
from ecobrain.ontology.graph.config import settings_from_env
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.store import GraphStore

# A request must not wait for a stalled graph longer than this (seconds): it gets a 503 with
# Retry-After instead (http_errors). Reads only; writes (a decision save) keep the graph's own
# bound.
API_GRAPH_TIMEOUT_ENV = "ECOBRAIN_API_GRAPH_TIMEOUT_S"
DEFAULT_API_GRAPH_TIMEOUT_S = 10.0

OPENAPI_TAGS = [
    {"name": "command centre", "description": "Runs, decisions, alerts, tasks, advice, documents."},
    {"name": "rule authoring", "description": "Rules: read, validate, dry-run, version, "
     "change impact, activate."},
    {"name": "explanations", "description": "Why a rule did not fire for a region, "
     "enterprise or hotspot."},
    {"name": "graph exploration", "description": "Read-only search, nodes, neighbourhoods, paths."},
    {"name": "bureaus", "description": "Task status updates from city and county bureaus."},
    {"name": "jobs", "description": "Model-run jobs on the HPC cluster (or locally)."},
    {"name": "system", "description": "Health and version."},
]

# The router modules, in the order they are included: each has `def include(app: FastAPI)`.
ROUTER_MODULES = (runs, decisions, why_not, review, evaluations, tasks, rules, rule_tables,
                  graph, evidence, jobs, system, web_map, explorer, pages)


def api_store() -> GraphStore:
    """The configured graph, with the API's read timeout."""
    settings = settings_from_env()
    raw = os.environ.get(API_GRAPH_TIMEOUT_ENV)
    try:
        timeout = float(raw) if raw else DEFAULT_API_GRAPH_TIMEOUT_S
    except ValueError as exc:
        raise ValueError(f"{API_GRAPH_TIMEOUT_ENV}={raw!r}: expected seconds") from exc
    return open_store(dataclasses.replace(settings, read_timeout_s=timeout))


def create_app(store_factory: Callable[[], GraphStore] | None = None,
               key_store: KeyStore | None = None) -> FastAPI:
    """The app. Tests pass a factory for their own graph and a key store in a temp dir."""
    factory = store_factory or api_store

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.store = factory()
        # Everything imported and built so far lives as long as the server: out of the cyclic
        # collector's full scans (they stalled requests for tens of ms).
        gc.freeze()
        try:
            yield
        finally:
            await app.state.store.aclose()  # this worker's async connections (cache stamps)
            app.state.store.close()

    app = FastAPI(
        title="ecobrain decision-advice API",
        version=__version__,
        description=(
            "Alerts, task lists, control advice and their legal grounds from air-quality model "
            "runs; rule authoring; read-only graph exploration. Authenticate with the "
            "`X-API-Key` header (`ecobrain api-keys create`)."
        ),
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        # /docs and /redoc come from vendored assets (http_web): FastAPI's own load from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.key_store = key_store or KeyStore()

    app.state.response_cache = ResponseCache.from_env()  # per process (uvicorn worker)
    app.add_middleware(CachedReads)

    http_errors.register(app)
    app.add_middleware(NoControlCharacters)
    app.add_middleware(BodyLimit)  # outermost: before anything reads a body

    for module in ROUTER_MODULES:
        module.include(app)
    return app
