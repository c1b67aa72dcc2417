"""Where model-run files may be: inside their run directory, or inside a configured run root.

A manifest's ``path``/``prior``/``posterior`` are relative to the run directory
(docs/model-runs.md). A value like ``../../run3/x.nc`` or ``/etc/passwd`` would otherwise be
opened as written — with the API, by anyone who can post a run. Each file is resolved
(symlinks followed) and accepted only inside the run directory or one of
``ECOBRAIN_RUN_ROOTS`` (``:``-separated), the roots the API accepts run directories from: a
run may point into a shared output tree under a root, never outside.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

MAX_PATH = 4096
MAX_NAME = 255


def run_roots() -> list[Path]:
    """The configured run roots (``ECOBRAIN_RUN_ROOTS``), resolved; empty when unset."""
    return [Path(p).expanduser().resolve() for p in
            os.environ.get("ECOBRAIN_RUN_ROOTS", "").split(":") if p]


def within(path: Path, roots: Iterable[Path]) -> bool:
    """Whether `path` (resolved) is one of `roots` or inside one."""
    return any(path == r or r in path.parents for r in roots)


def confined_file(run_dir: Path, rel: str) -> Path | None:
    """The run's file `rel`, resolved, if it lies inside the run directory or a run root."""
    if "\x00" in rel:
        return None
    target = (run_dir / rel).resolve()
    return target if within(target, [run_dir.resolve(), *run_roots()]) else None


def check_path_text(text: str) -> str | None:
    """Why `text` cannot be a path on this server (None if it can): NUL, too long a path or
    name — the OS would raise instead of answering "no such file"."""
    if "\x00" in text:
        return "contains a NUL character"
    if len(text) > MAX_PATH:
        return f"is longer than {MAX_PATH} characters"
    if any(len(part.encode("utf-8")) > MAX_NAME for part in text.split("/")):
        return f"has a name longer than {MAX_NAME} bytes"
    return None
