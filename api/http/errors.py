"""Every error the API answers is JSON with a readable ``message`` — and says no more than it must.

- **422** (a bad body or parameter): each problem with its field and pydantic's message; the
  offending *input* is echoed only when it is short (a client that sent 10 MB does not get
  10 MB back), a body that is not JSON (any other Content-Type) says so instead of failing to
  encode the raw bytes (before: a 500, ``bytes is not JSON serializable``), and at most
  :data:`MAX_PROBLEMS` problems are listed.
- **503** (the graph failed): the first line of the store's error, without the Cypher it ran
  (the stores append ``in query: …``; the internal queries are not the client's business, and
  the full error is in the server log).
- **500** (a bug): ``internal error`` and a reference to find the traceback in the log.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ecobrain.ontology.explore import NotFound
from ecobrain.ontology.graph.store import GraphStoreError, GraphUnavailable

RETRY_AFTER_S = 5  # what a client should wait when the graph is not answering

log = logging.getLogger("ecobrain.api")

MAX_PROBLEMS = 20
MAX_ECHO = 200  # characters of an input value echoed back in a 422
MAX_MESSAGE = 2000


def _echo(value: Any) -> tuple[bool, Any]:
    """(whether to echo, the value): scalars and short strings only."""
    if value is None or isinstance(value, (bool, int, float)):
        return True, value
    if isinstance(value, str) and len(value) <= MAX_ECHO:
        return True, value
    return False, None


def _location(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ()) if p != "body")


def clean_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors as JSON-safe dicts: type, loc, msg, and the input when short."""
    out = []
    for err in errors[:MAX_PROBLEMS]:
        item: dict[str, Any] = {
            "type": str(err.get("type", "")),
            "loc": [p if isinstance(p, (str, int)) else str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "invalid"))[:MAX_ECHO * 2]}
        echo, value = _echo(err.get("input"))
        if echo:
            item["input"] = value
        out.append(item)
    return out


def readable(errors: list[dict[str, Any]], content_type: str | None) -> str:
    parts = []
    for err in errors[:MAX_PROBLEMS]:
        if isinstance(err.get("input"), (bytes, bytearray)) and tuple(err.get("loc", ())) == (
                "body",):
            parts.append(f"body: expected a JSON object with Content-Type: application/json "
                         f"(got {content_type or 'no Content-Type'})")
            continue
        parts.append(f"{_location(err) or 'request'}: {err.get('msg', 'invalid')}")
    if len(errors) > MAX_PROBLEMS:
        parts.append(f"… and {len(errors) - MAX_PROBLEMS} more")
    text = "; ".join(parts)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " …"


def graph_message(exc: Exception) -> str:
    """The store's error without the query it ran: its first line (the stores put the query
    on the next), without FalkorDB's ``errCtx`` (a piece of the query), bounded."""
    first = str(exc).split("\n", 1)[0].split(" errCtx:", 1)[0].strip()
    return first[:MAX_ECHO] or type(exc).__name__


def register(app: FastAPI) -> None:
    """The app's error handlers (validation, HTTP, not found, graph, anything else)."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        return JSONResponse(status_code=422, content={
            "message": readable(errors, request.headers.get("content-type")),
            "detail": clean_errors(errors)})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code,
                            content={"message": exc.detail, "detail": exc.detail},
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"message": str(exc)})

    @app.exception_handler(GraphStoreError)
    async def graph_error(request: Request, exc: GraphStoreError) -> JSONResponse:
        log.error("graph error on %s %s: %s", request.method, request.url.path, exc)
        if isinstance(exc, GraphUnavailable):
            return JSONResponse(status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)},
                                content={"message": "the graph is not answering; try again "
                                                    f"in {RETRY_AFTER_S} s"})
        return JSONResponse(status_code=503,
                            content={"message": f"graph error: {graph_message(exc)}"})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", ref, request.method, request.url.path)
        return JSONResponse(status_code=500, content={
            "message": f"internal error (reference {ref} in the server log)"})
