"""Read responses kept as bytes per process, valid while the graph's stamp says so.

Reading a task or a page of tasks costs ~5 ms of CPU in an API worker, most of it in response
validation and JSON encoding of ~30 KB (pydantic), the rest in graph queries and their
parsing; the same bodies are asked for again and again (a command centre's screens, bureaus
polling their lists). A :class:`ResponseCache` keeps each serialised body (per process: each
uvicorn worker has its own) under the request's path and normalised query, with the *stamp*
it was read under, and serves it again while the stamp the graph gives now is the same one.

Stamps come from one indexed query per request (:func:`adecision_stamp`, :func:`atask_stamp` in
:mod:`ecobrain.reasoning.decisions.store`): the decision's ``revision`` (a new token with every
save of the decision, its trace and task actions) and ``status_version`` counters incremented
in the same write as each status change — so a change made through *another* worker, the
command line or a re-decision is visible to the next request, never a stale copy. The stamp is
read before the data: a body kept under a stamp is never older than the graph was when the
stamp was read. No stamp (an unknown id, a decision saved before revisions) means nothing is
kept.

The stamp is read on the event loop, so it must not block it: it goes through the store's
async read (:meth:`GraphStore.aread_one`, a native asyncio client), and it may take at most
``ECOBRAIN_API_STAMP_TIMEOUT_MS`` (default 200). A graph that is slow or stalled (saving a big
decision, say) then costs the cache, not the worker: past the bound, or on a graph error, the
request has no stamp — a miss, built by the route in the thread pool and not kept — and the
route's own reads answer, or fail with the route's own error. Meanwhile the loop serves the
worker's other requests (``/health`` reads the graph too, in the thread pool: it answers when
the graph does). The stamp was a blocking read on the loop before: one slow stamp stalled
every request of its worker. :class:`CachedReads` hands the stamp it read (or gave up on) to
the route through the request's scope, so a request reads, or waits for, one stamp at most.

Two ways in, one cache:

- a route calls :func:`cached_json` (after its dependencies checked the key and role and
  validated the parameters): a hit is answered from the bytes; a miss builds the body in the
  thread pool, validated against the route's response model, and keeps it;
- :class:`CachedReads`, a plain ASGI middleware, answers a repeated ``GET`` before FastAPI's
  routing and dependency machinery (~3/4 of a hit's CPU): only for a path and query a route
  kept a body for, only to a key that :class:`KeyStore` verifies and that holds one of the
  roles the route required, and only while the stamp is current; anything else — a miss, a
  stale stamp, a missing or wrong key, a graph error — goes on to the app, which answers
  (and explains a 401/403) as always.

Every body served either way carries an ``ETag`` (a hash of the body, so equal across
workers) and ``Cache-Control: private, no-cache``; a request whose ``If-None-Match`` names the
current ETag gets ``304 Not Modified`` without a body. A kept body must not depend on who asks
beyond the roles (true of the decision, its task pages and tasks: reads are not region-scoped).

Size: ``ECOBRAIN_API_CACHE_MB`` per process (default 256), bodies plus a rough per-entry
overhead; ``0`` turns keeping off (no stamp queries either; bodies still carry an ETag and
``If-None-Match`` still gets 304). Least recently used bodies go first.
``ECOBRAIN_API_STAMP_TIMEOUT_MS`` (default 200) bounds each stamp read, as above.

A route whose body depends on who asks — a region-scoped key's view, say — must not go
through :func:`cached_json` as it is: the key would have to include that (it is only the path
and query), and :class:`CachedReads` checks roles only. A route that only *refuses* some keys
(a task outside a scoped key's regions is 403) passes ``scoped=True``: the body is the same for
everyone allowed, and :class:`CachedReads` leaves scoped keys to the route's check.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from ecobrain.ontology.graph.store import GraphStore, GraphStoreError
from ecobrain.reasoning.decisions import store as decision_store

DEFAULT_MB = 256
DEFAULT_STAMP_TIMEOUT_MS = 200.0
MEDIA_TYPE = "application/json"
CACHE_CONTROL = "private, no-cache"

# What a kept body is stamped by: a kind of stamp and the id it is read for.
STAMPS: dict[str, Callable[[GraphStore, str], Awaitable[str | None]]] = {
    "decision": decision_store.adecision_stamp,
    "task": decision_store.atask_stamp,
}
Key = tuple[str, tuple[tuple[str, str], ...]]
# The stamp CachedReads read for a request it passed on, (stamp_of, stamp or None), for the
# route to use instead of reading (and waiting for) it again.
SCOPE_STAMP = "ecobrain.stamp"


@dataclass(frozen=True)
class Cached:
    stamp: str | None
    stamp_of: tuple[str, str]
    roles: tuple[str, ...]
    body: bytes
    etag: str
    scoped: bool = False  # the route checks a region-scoped key's regions: not replayed to one

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"etag", self.etag.encode("ascii")),
                (b"cache-control", CACHE_CONTROL.encode("ascii"))]


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def request_key(path: str, query_string: bytes) -> Key:
    """The path and the query's parameters sorted by name (same-named ones keep their order:
    which one counts depends on it), decoded — one key however a client orders or escapes
    them."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return path, tuple(sorted(pairs, key=lambda p: p[0]))


class ResponseCache:
    """Serialised bodies by request key, each with its stamp."""

    def __init__(self, max_bytes: int, stamp_timeout_ms: float = DEFAULT_STAMP_TIMEOUT_MS):
        self.max_bytes = max_bytes
        self.stamp_timeout = stamp_timeout_ms / 1000
        self._items: OrderedDict[Key, Cached] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # bodies are put from the thread pool
        self.hits = self.misses = 0
        self.stamp_failures = 0  # stamps not read in time, or not read at all (graph errors)
        # bodies being built (event loop only): key -> (stamp, future of the entry or None)
        self.building: dict[Key, tuple[str | None, asyncio.Future[Cached | None]]] = {}

    @classmethod
    def from_env(cls) -> ResponseCache:
        raw = os.environ.get("ECOBRAIN_API_CACHE_MB", str(DEFAULT_MB))
        try:
            mb = float(raw)
        except ValueError as exc:
            raise ValueError(f"ECOBRAIN_API_CACHE_MB: expected a number of MB, got {raw!r}"
                             ) from exc
        raw = os.environ.get("ECOBRAIN_API_STAMP_TIMEOUT_MS", str(DEFAULT_STAMP_TIMEOUT_MS))
        try:
            timeout_ms = float(raw)
        except ValueError:
            timeout_ms = -1.0
        if not timeout_ms > 0:
            raise ValueError("ECOBRAIN_API_STAMP_TIMEOUT_MS: expected a positive number of "
                             f"milliseconds, got {raw!r}")
        return cls(int(mb * 2**20), timeout_ms)

    async def stamp(self, store: GraphStore, stamp_of: tuple[str, str]) -> str | None:
        """The graph's stamp for `stamp_of` now, or None — a miss — when it is not read within
        the bound or the graph fails (the route then reads, and answers or explains)."""
        try:
            async with asyncio.timeout(self.stamp_timeout):
                return await STAMPS[stamp_of[0]](store, stamp_of[1])
        except (TimeoutError, GraphStoreError):
            self.stamp_failures += 1
            return None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        return self._bytes

    def peek(self, key: Key) -> Cached | None:
        """The kept entry whatever its stamp (the caller checks it)."""
        return self._items.get(key) if self.max_bytes > 0 else None

    def get(self, key: Key, stamp: str | None) -> Cached | None:
        if stamp is None or self.max_bytes <= 0:
            return None
        with self._lock:
            entry = self._items.get(key)
            if entry is not None and entry.stamp == stamp:
                self._items.move_to_end(key)
                self.hits += 1
                return entry
            self.misses += 1
            return None

    def hit(self, key: Key) -> None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            self.hits += 1

    def put(self, key: Key, entry: Cached) -> None:
        cost = _cost(key, entry)
        if entry.stamp is None or self.max_bytes <= 0 or cost > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= _cost(key, old)
            self._items[key] = entry
            self._bytes += cost
            while self._bytes > self.max_bytes:
                gone_key, gone = self._items.popitem(last=False)
                self._bytes -= _cost(gone_key, gone)


# What an entry costs besides its body (key, stamp, ETag, the objects holding them), roughly:
# counted so that many small bodies (empty pages under ever new query strings) stay within
# the budget too.
ENTRY_OVERHEAD = 512


def _cost(key: Key, entry: Cached) -> int:
    return (len(entry.body) + ENTRY_OVERHEAD + len(key[0])
            + sum(len(k) + len(v) for k, v in key[1]))


@lru_cache(maxsize=64)
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def serialise(model: Any, data: Any) -> bytes:
    """`data` validated against the route's response model and encoded as FastAPI would
    (by alias), so a kept body is what the route declares in the OpenAPI schema."""
    adapter = _adapter(model)
    return adapter.dump_json(adapter.validate_python(data), by_alias=True)


def _matches(header: str | bytes | None, etag: str) -> bool:
    if not header:
        return False
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == etag for t in header.split(","))


def respond(request: Request, entry: Cached) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match"), entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=entry.body, media_type=MEDIA_TYPE, headers=headers)


async def cached_json(request: Request, stamp_of: tuple[str, str], roles: Sequence[str],
                      model: Any, produce: Callable[[], Any], *, scoped: bool = False
                      ) -> Response:
    """The body kept for this request if its stamp is current, else `produce()` encoded
    (validated against `model`) and kept.

    `stamp_of` names the stamp (``("task", task_id)``, ``("decision", decision_id)``), read
    here (or already by :class:`CachedReads` for this request) before `produce` reads the
    data; `roles` are those the route's dependency required,
    checked again by :class:`CachedReads` before it replays the body. `scoped`: the route
    checked a region-scoped key's regions before calling; :class:`CachedReads` then leaves
    such keys to the route (unscoped keys are replayed as before). A hit is answered on
    the event loop; a miss runs in the thread pool, as a plain ``def`` route would (reading a
    trace the first time takes ~0.3 s: the loop must not wait for it).
    """
    cache: ResponseCache = request.app.state.response_cache
    key = request_key(request.scope["path"], request.scope.get("query_string", b""))
    # No stamp when nothing is kept: the body is built as without a cache (plus its ETag).
    stamp = None
    if cache.max_bytes > 0:
        seen = request.scope.get(SCOPE_STAMP)
        stamp = seen[1] if seen is not None and seen[0] == stamp_of \
            else await cache.stamp(request.app.state.store, stamp_of)
    entry = cache.get(key, stamp)
    if entry is not None:
        return respond(request, entry)
    # One build per key and stamp at a time: after a status change every worker's pages are
    # stale at once, and 20 clients asking for the same page must not build it 20 times.
    # A build that failed or was given up (its client went away) leaves each waiter to build
    # its own: the waiter then answers with its own result or its own error.
    pending = cache.building.get(key)
    if stamp is not None and pending is not None and pending[0] == stamp:
        shared = await asyncio.shield(pending[1])
        if shared is not None:
            return respond(request, shared)
    future: asyncio.Future[Cached | None] = asyncio.get_running_loop().create_future()
    if stamp is not None:
        cache.building[key] = (stamp, future)
    try:
        body = await run_in_threadpool(lambda: serialise(model, produce()))
        entry = Cached(stamp, stamp_of, tuple(roles), body, _etag(body), scoped)
        cache.put(key, entry)
    finally:
        if not future.done():
            future.set_result(entry)  # None unless the body was built
        if cache.building.get(key, (None, None))[1] is future:
            del cache.building[key]
    return respond(request, entry)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for k, v in scope["headers"]:
        if k == name:
            return v
    return None


class CachedReads:
    """Replays a kept body for a repeated ``GET`` without routing it (see the module doc)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            entry = await self._current(scope)
            if entry is not None:
                status, body = 200, entry.body
                if _matches(_header(scope, b"if-none-match"), entry.etag):
                    status, body = 304, b""
                headers = entry.headers()
                if status == 200:
                    headers += [(b"content-type", MEDIA_TYPE.encode("ascii")),
                                (b"content-length", str(len(body)).encode("ascii"))]
                await send({"type": "http.response.start", "status": status,
                            "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _current(scope: Scope) -> Cached | None:
        state = scope["app"].state
        cache: ResponseCache | None = getattr(state, "response_cache", None)
        if cache is None:
            return None
        key = request_key(scope["path"], scope.get("query_string", b""))
        entry = cache.peek(key)
        if entry is None:
            return None
        token = _header(scope, b"x-api-key")
        if not token:
            return None
        try:
            principal = state.key_store.verify(token.decode("latin-1"))
            if principal is None or not principal.has_any(entry.roles):
                return None
            if entry.scoped and principal.regions and "admin" not in principal.roles:
                return None  # the route checks the key's regions
            stamp = await cache.stamp(state.store, entry.stamp_of)
            scope[SCOPE_STAMP] = (entry.stamp_of, stamp)  # read before the route's data
            if stamp != entry.stamp:
                return None
        except Exception:  # the app answers, with its own error handling
            return None
        cache.hit(key)
        return entry
