"""Bounds on what a request may carry, checked before routing: a body size (``413``, before
the API reads more than it will ever need) and no control characters in the path and query
(``422``, :class:`NoControlCharacters`).

Neither uvicorn nor Starlette limits a body's size, and every route reads its whole body into
memory before validating it. The largest legitimate body is a dry run's facts (10,000 facts of
a few hundred bytes), so the default is 8 MB (``ECOBRAIN_API_MAX_BODY_MB``). A declared
``Content-Length`` over the limit is refused at once; a chunked body is counted as it arrives
and refused when it passes the limit. A plain ASGI middleware: nothing else has the body yet.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import unquote_plus

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_MB = 8.0


def max_body_bytes() -> int:
    raw = os.environ.get("ECOBRAIN_API_MAX_BODY_MB")
    try:
        mb = float(raw) if raw else DEFAULT_MAX_BODY_MB
    except ValueError:
        mb = DEFAULT_MAX_BODY_MB
    return int(mb * 1024 * 1024)


def _too_large(limit: int) -> str:
    return f"request body larger than {limit // 1024} KiB (ECOBRAIN_API_MAX_BODY_MB)"


class BodyTooLarge(HTTPException):
    """Raised from `receive` so FastAPI answers it with the app's JSON error handler."""

    def __init__(self, limit: int):
        super().__init__(413, _too_large(limit))


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int | None = None):
        self.app = app
        self.max_bytes = max_body_bytes() if max_bytes is None else max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, limit)
                    return
                has_body = has_body or declared > 0
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:  # nothing to count (most requests: the reads the screens poll)
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"message": _too_large(limit)}).encode("utf-8")
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode("ascii")),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


class NoControlCharacters:
    """``422`` for a path or query parameter with a control character (NUL above all).

    Ids and parameters reach file names and graph queries; a NUL in one made the graph client
    fail with a 503 that quoted the query. No id, code or search text needs a control
    character, so they are refused before routing, for every route at once.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = None
            if _has_control(scope.get("path", "")):
                where = "path"
            else:
                query = scope.get("query_string", b"").decode("latin-1")
                if _has_control(unquote_plus(query, errors="replace")):
                    where = "query"
            if where is not None:
                body = json.dumps({"message": f"{where}: control characters (such as NUL) are "
                                   "not accepted in ids or parameters"}).encode("utf-8")
                await send({"type": "http.response.start", "status": 422,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode("ascii"))]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
