"""Slow, pure preparations of bundled reference data, kept on disk between processes.

Loading the knowledge writes little (18k nodes, 50k relationships: about a second at the
graph's own bulk rate), but two of its inputs take longer to *prepare* than to write: the 102
region rows (parsing 5 MB of GeoJSON boundaries, simplifying them topology-preserving, an
equal-area projection for each area) and the 11,761 grid cell rows (every centre of the 3 km
grid placed in a county). Both are pure functions of bundled data and code, so each
``ecobrain kb load``, test session or API process need not redo them: the rows are kept as
JSON under the cache directory (``ECOBRAIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/ecobrain``,
else ``~/.cache/ecobrain``), named by a digest of everything they are made from — the
caller's inputs (package versions, constants, grid definition) and the source files of the
code that computes them. Change any of those and a new entry is computed; an unreadable or
damaged entry is computed again; a cache directory that cannot be written is skipped.

The same holds for the validated rows of the enterprise and station registers
(:mod:`ecobrain.kb_loaders.places.registers`): checking every row against the CSV contract and
every point against the full county boundaries is pure too — of the file's bytes, its sidecar,
the ontology file, the boundaries and the checking code — so a load of an unchanged file takes
the rows it validated before, and any change to one of those validates the file again. Only a
file that validated is kept: a bad one is checked, and refused, every time.

JSON keeps what the rows hold exactly (strings, ints, floats by their shortest repr, None).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

Rows = list[dict[str, Any]]


def cache_dir() -> Path:
    if env := os.environ.get("ECOBRAIN_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ecobrain"


def digest(inputs: Iterable[Any], sources: Iterable[str | Path]) -> str:
    """A name for what the rows are made from: the inputs and the code's source files."""
    h = hashlib.sha256()
    for value in inputs:
        h.update(json.dumps(value, sort_keys=True, default=str).encode())
        h.update(b"\0")
    for path in sorted(str(p) for p in sources):
        h.update(Path(path).read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:24]


def entry_path(name: str, inputs: Sequence[Any], sources: Sequence[str | Path]) -> Path:
    """Where the entry for these inputs and code is (or would be) kept."""
    return cache_dir() / "prepared" / f"{name}-{digest([name, *inputs], sources)}.json"


def prepared(name: str, inputs: Sequence[Any], sources: Sequence[str | Path],
             build: Callable[[], Any], *, shape: type = list) -> Any:
    """`build()`'s JSON value (of type `shape`), from the cache when an entry for the same
    inputs and code is there. When `build` raises, nothing is kept and the error goes on."""
    path = entry_path(name, inputs, sources)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(value, shape):
            return value
    except (OSError, ValueError):
        pass  # no entry yet, or a damaged one: built again below and the entry replaced
    value = build()
    # json.dumps, not json.dump: only the former has the C encoder (the first load wrote its
    # ~10 MB of entries in 0.5 s of pure-Python encoding)
    text = json.dumps(value, ensure_ascii=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: computed every time, as before
    return value


def prepared_rows(name: str, inputs: Sequence[Any], sources: Sequence[str | Path],
                  build: Callable[[], Iterable[dict[str, Any]]]) -> Rows:
    """`build()`'s rows, from the cache when an entry for the same inputs and code is there."""
    return prepared(name, inputs, sources, lambda: [dict(r) for r in build()])
