"""What every command shares: the console, opening the graph, turning errors into messages.

Commands report failures as one readable line on stderr and exit non-zero; a traceback is
for bugs, not for a wrong file name or a graph that will not start.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.store import GraphStore, GraphStoreError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def graph_store() -> Iterator[GraphStore]:
    """The configured graph, closed afterwards; connection problems become clean errors."""
    try:
        store = open_store()
    except Exception as exc:  # any start/connect failure is reported, not traced
        raise fail(str(exc)) from exc
    try:
        yield store
    finally:
        store.close()


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def short_value(value: Any) -> str:
    """A one-line rendering of a query value for tables: nodes as (:Label {id, name})."""
    if isinstance(value, dict) and "labels" in value and "properties" in value:
        props = value["properties"]
        keys = [k for k in ("id", "name", "name_zh", "label_zh", "title") if k in props][:2]
        inner = ", ".join(f"{k}: {props[k]}" for k in keys)
        return f"(:{':'.join(value['labels'])} {{{inner}}})"
    if isinstance(value, dict) and "type" in value and "properties" in value:
        return f"[:{value['type']}]"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def one_line(exc: BaseException) -> str:
    """An exception as one line: the graph's errors without the query they ran, others with
    their type (it is a bug, or an environment problem, either way worth naming)."""
    first = (str(exc).strip().split("\n", 1)[0] or type(exc).__name__)[:300]
    if isinstance(exc, GraphStoreError):
        return f"graph: {first}"
    return f"{type(exc).__name__}: {first}"
