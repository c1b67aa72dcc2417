"""How big a statement is on the wire, and batches of rows that stay under a size.

A Bolt server may refuse a message above a size: the test suite's stand-in (ArcadeDB's Bolt
plugin) refuses one over 16 MiB after chunk reassembly — and leaves the client waiting for an
answer that never comes. Batching rows by count alone does not bound a message: a decision's
rows carry their conclusion as JSON, and a 15-day run's tasks are many times larger than a
2-day run's. So every batched write is cut by count *and* by encoded size
(:func:`row_batches`), on every backend (FalkorDB gets smaller query strings too).

:func:`encoded_size` is the PackStream (Bolt's encoding) size of a value, computed from the
format's own size rules rather than by packing it, so it costs a walk over the value and no
copy. Values PackStream has no compact form for here (dates, points) are counted generously.

That walk is Python, one call per value: on a bulk load it cost more than the server's own
work for the same rows. So :func:`row_batches` first asks a cheaper question of each full
batch — :func:`size_bound`, three times its JSON length (one C call), never below its
PackStream size — and walks the rows only when that bound does not clear the limit. The
batches are the same either way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

MIB = 1024 * 1024

# Largest encoded parameters of one batched statement. Half the stand-in's 16 MiB message
# limit: the query text and the RUN message's other fields fit in the rest with room to spare.
MAX_STATEMENT_BYTES = 8 * MIB

# Bolt stand-in (ArcadeDB): the largest message it accepts.
BOLT_STAND_IN_MESSAGE_LIMIT = 16 * MIB

_GENEROUS = 64  # a temporal or spatial value: a small structure, counted high

# Sizes of map keys seen: rows repeat a few keys hundreds of thousands of times (bounded:
# maps can carry keys chosen by data).
_KEY_SIZES: dict[Any, int] = {}
_KEY_SIZES_KEPT = 4096


def _header(n: int, tiny: bool) -> int:
    """Marker plus length bytes of a string, list or map of `n` items (PackStream)."""
    if tiny and n < 16:
        return 1
    if n < 0x100:
        return 2
    if n < 0x10000:
        return 3
    return 5


def _int_size(v: int) -> int:
    if -16 <= v < 128:
        return 1
    if -128 <= v < 128:
        return 2
    if -32768 <= v < 32768:
        return 3
    if -(2**31) <= v < 2**31:
        return 5
    return 9


def _str_size(value: str) -> int:
    n = len(value) if value.isascii() else len(value.encode("utf-8"))
    return n + (1 if n < 16 else 2 if n < 0x100 else 3 if n < 0x10000 else 5)


def encoded_size(value: Any) -> int:
    """Bytes of `value` in PackStream v1 (strings by their UTF-8 length).

    Dispatched on the exact type first: a decision's save sizes ~200,000 rows of small
    strings, and a chain of ``isinstance`` tests per value was most of its cost."""
    t = type(value)
    if t is str:
        return _str_size(value)
    if t is dict:
        total = _header(len(value), tiny=True)
        for k, v in value.items():
            size = _KEY_SIZES.get(k)
            if size is None:
                size = encoded_size(str(k))
                if type(k) is str and len(_KEY_SIZES) < _KEY_SIZES_KEPT:  # 1 == True
                    _KEY_SIZES[k] = size
            if type(v) is str:  # the common case, inline
                n = len(v) if v.isascii() else len(v.encode("utf-8"))
                total += size + n + (1 if n < 16 else 2 if n < 0x100 else 3 if n < 0x10000 else 5)
            else:
                total += size + encoded_size(v)
        return total
    if t is list or t is tuple:
        total = _header(len(value), tiny=True)
        for v in value:
            total += _str_size(v) if type(v) is str else encoded_size(v)
        return total
    if value is None or t is bool:
        return 1
    if t is int:
        return _int_size(value)
    if t is float:
        return 9
    return _other_size(value)


def _other_size(value: Any) -> int:
    """Subclasses and the rarer types, by the same rules."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return _int_size(value)
    if isinstance(value, float):
        return 9
    if isinstance(value, str):
        return _str_size(value)
    if isinstance(value, (bytes, bytearray)):
        return _header(len(value), tiny=False) + len(value)
    if isinstance(value, Mapping):
        return _header(len(value), tiny=True) + sum(
            encoded_size(str(k)) + encoded_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return _header(len(value), tiny=True) + sum(encoded_size(v) for v in value)
    return _GENEROUS + len(str(value).encode("utf-8"))


def statement_size(cypher: str, params: Mapping[str, Any] | None) -> int:
    """Bytes of a statement's query text and parameters (a RUN message's bulk)."""
    return encoded_size(cypher) + encoded_size(dict(params or {}))


def _json_stand_in(value: Any) -> Any:
    """What JSON writes for a value it has no form for: at least as long as its PackStream."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return "x" * (len(value) + 5)
    return "x" * (_GENEROUS + len(str(value).encode("utf-8")))


def size_bound(value: Any) -> int | None:
    """An upper bound of ``encoded_size(value)``: 3 × its ASCII JSON length, or None when JSON
    cannot write it (map keys of other types than str, int, float, bool, None).

    Why 3×: per value JSON writes at least a third of PackStream's bytes — a string's UTF-8
    bytes at most as many characters (``\\uXXXX`` for non-ASCII) plus 2 quotes against at
    most 5 header bytes; a float at least 3 characters ("0.5") against 9 bytes; an int, None
    or bool at least 1 character against at most 9 bytes only from 10 digits up; a list or
    map at least "[]" or "{}" against at most 5 header bytes, and each key quoted.
    """
    try:
        return 3 * len(json.dumps(value, ensure_ascii=True, default=_json_stand_in))
    except (TypeError, ValueError):
        return None


def row_batches(
    rows: Sequence[Mapping[str, Any]], *, max_rows: int, max_bytes: int = MAX_STATEMENT_BYTES
) -> Iterator[list[Mapping[str, Any]]]:
    """`rows` cut into consecutive batches of at most `max_rows` rows and `max_bytes` encoded
    bytes (as one list). A single row larger than `max_bytes` is a batch of its own — it cannot
    be cut here; the store refuses it with a clear error where the server would."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, not {max_rows}")
    rows = rows if isinstance(rows, (list, tuple)) else list(rows)
    start = 0
    # Full batches whose bound clears the limit are what the walk below would cut too (it cuts
    # at max_rows when the size allows); from the first that does not, the walk decides.
    while start < len(rows):
        chunk = list(rows[start:start + max_rows])
        bound = size_bound(chunk)
        if bound is None or bound > max_bytes:
            break
        yield chunk
        start += len(chunk)
    batch: list[Mapping[str, Any]] = []
    size = 5  # the list's largest header
    for row in rows[start:]:
        row_size = encoded_size(row)
        if batch and (len(batch) >= max_rows or size + row_size > max_bytes):
            yield batch
            batch, size = [], 5
        batch.append(row)
        size += row_size
    if batch:
        yield batch
