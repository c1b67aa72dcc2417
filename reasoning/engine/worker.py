"""durable_rules' C engine in a process of its own, driven by
:mod:`ecobrain.reasoning.engine.runner`.

Why a process: durable_rules 2.0.28 has no memory-safe way to empty or free an engine state
once rules have fired (see ``docs/rules.md``, "How the engine runs"): retracting a fact whose
match was already dispatched walks a freed action frame and reads and writes past its 16-slot
message array (``handleDeleteMessage`` -> ``deleteMessageFromFrame``), ``delete_state`` frees
pointers it never initialised, and ``delete_ruleset`` frees no state at all. So the engine
never retracts, never deletes a state: each run gets fresh rulesets in a worker process, and
the worker is retired (its memory returned to the system) once it has grown past a limit.

Protocol (stdin -> stdout of the worker, one request, one reply): an 8-byte little-endian
length, then a pickled tuple. Requests:

* ``("open", [definition_json, ...])`` -> the new rulesets' handles;
* ``("step", [(handle, facts_json), ...], [handle, ...])`` -> ``(codes, messages, rss)``:
  assert each batch, then drain every match of the handles listed (start_action /
  complete_and_start_action until none is left), with the worker's resident memory in bytes;
* ``("close", [handle, ...])`` -> rss: delete the rulesets (their states stay: see above).

Replies are ``("ok", value)`` or ``("error", text)``. The worker ends when its stdin closes
(the parent exited or retired it); it ignores SIGINT so a Ctrl-C reaches the parent only.

    python -m ecobrain.reasoning.engine.worker   # started by the engine, not by hand
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import uuid
from typing import Any, BinaryIO

HEADER = struct.Struct("<Q")


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame's payload, or None at the end of the stream."""
    head = _read_exact(stream, HEADER.size)
    if head is None:
        return None
    body = _read_exact(stream, HEADER.unpack(head)[0])
    if body is None:
        raise EOFError("the stream ended inside a frame")
    return body


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _rss() -> int:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: no limit applies
        return 0


def _drain(dre: Any, handle: int, out: list[str]) -> None:
    while True:
        started = dre.start_action(handle)
        if not started:
            return
        _state, messages, offset = started
        while messages:
            out.append(messages)
            messages = dre.complete_and_start_action(handle, offset)


def handle(dre: Any, request: tuple[Any, ...]) -> Any:
    op = request[0]
    if op == "open":
        tag = uuid.uuid4().hex[:12]
        return [dre.create_ruleset(f"eb_{tag}_{i}", definition)
                for i, definition in enumerate(request[1])]
    if op == "step":
        codes = [dre.assert_facts(h, text)[0] for h, text in request[1]]
        messages: list[str] = []
        for h in request[2]:
            _drain(dre, h, messages)
        return codes, messages, _rss()
    if op == "close":
        for h in request[1]:
            dre.delete_ruleset(h)
        return _rss()
    raise ValueError(f"unknown request {op!r}")


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    import durable_rules_engine as dre

    while True:
        frame = read_frame(inp)
        if frame is None:
            return
        try:
            reply: tuple[str, Any] = ("ok", handle(dre, pickle.loads(frame)))
        except Exception as exc:  # reported to the parent, which raises EngineError
            reply = ("error", f"{type(exc).__name__}: {exc}")
        write_frame(out, pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the protocol
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
