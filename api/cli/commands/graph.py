"""`ecobrain graph ...`: the embedded server's life cycle and read-only queries."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ecobrain.api.cli.common import console, fail, graph_store, short_value, to_json
from ecobrain.ontology import explore
from ecobrain.ontology.graph.config import settings_from_env
from ecobrain.ontology.graph.embedded import EmbeddedServer, EmbeddedServerError
from ecobrain.ontology.graph.store import GraphStoreError, looks_like_write

graph_app = typer.Typer(
    help="The graph store: start/stop the embedded server, run read-only queries.",
    no_args_is_help=True,
)


def _embedded_or_fail() -> EmbeddedServer:
    settings = settings_from_env()
    if settings.transport != "embedded":
        raise fail(
            f"ECOBRAIN_GRAPH_URI is set ({settings.uri}); start/stop apply to the embedded graph "
            "only — the configured server is managed by its operators"
        )
    return EmbeddedServer(settings.data_dir)


@graph_app.command()
def start() -> None:
    """Start the embedded graph server (no-op if it is running)."""
    server = _embedded_or_fail()
    try:
        info = server.ensure_running()
    except EmbeddedServerError as exc:
        raise fail(str(exc)) from exc
    console.print(f"embedded graph running: {info.url} (pid {info.pid}), data in {info.data_dir}")


@graph_app.command()
def stop() -> None:
    """Save and stop the embedded graph server."""
    server = _embedded_or_fail()
    try:
        was_running = server.stop()
    except EmbeddedServerError as exc:
        raise fail(str(exc)) from exc
    console.print("embedded graph stopped" if was_running else "embedded graph was not running")


@graph_app.command()
def repair() -> None:
    """Cut a damaged append-only file at its first damage, keeping a copy (server stopped).

    A damaged tail (a power cut) needs no repair: the server drops it at start. Damage in the
    middle stops the server from starting; this keeps what comes before it."""
    server = _embedded_or_fail()
    try:
        report = server.repair()
    except EmbeddedServerError as exc:
        raise fail(str(exc)) from exc
    console.print(report)


@graph_app.command()
def status() -> None:
    """Where the graph is and whether it answers."""
    settings = settings_from_env()
    if settings.transport == "embedded":
        info = EmbeddedServer(settings.data_dir).status()
        if not info:
            console.print(f"embedded graph: not running (data dir {settings.data_dir})")
            raise typer.Exit(3)
        console.print(f"embedded graph: running at {info.url}, pid {info.pid}, "
                      f"data dir {info.data_dir}, graph {settings.database!r}")
    with graph_store() as store:
        row = store.read_one("MATCH (n) RETURN count(n) AS nodes")
        console.print(f"{store.describe()}: {row['nodes'] if row else 0} nodes")


def _parse_param(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise fail(f"--param {text!r}: expected key=value")
    try:
        value: object = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word is a string
    return key.strip(), value


@graph_app.command()
def query(
    cypher: Annotated[str, typer.Argument(help="A read-only openCypher query.")],
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="A query parameter key=value (value parsed as JSON if it can be)."
    )] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    timeout_ms: Annotated[int, typer.Option(help="Server-side time limit.")] = 30_000,
) -> None:
    """Run a read-only query; writes are refused."""
    if fmt not in ("table", "json"):
        raise fail("--format must be table or json")
    if looks_like_write(cypher):
        raise fail("refused: this command runs read-only queries, and the query writes "
                   "(CREATE/MERGE/SET/DELETE/REMOVE/DROP)", code=2)
    params = dict(_parse_param(p) for p in (param or []))
    with graph_store() as store:
        try:
            rows = store.read(cypher, params, timeout_ms=timeout_ms)
        except GraphStoreError as exc:
            raise fail(str(exc), code=2) from exc
    if fmt == "json":
        console.print_json(to_json(rows)) if rows else console.print("[]")
        return
    if not rows:
        console.print("(no rows)")
        return
    table = Table(*rows[0].keys(), show_lines=False)
    for row in rows:
        table.add_row(*(short_value(v) for v in row.values()))
    console.print(table)
    console.print(f"{len(rows)} row(s)")


@graph_app.command()
def search(
    text: Annotated[str, typer.Argument(help="Part of an id, name, label or alias.")],
    label: Annotated[list[str] | None, typer.Option("--label", "-l",
                                                    help="Only these labels.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many hits.")] = 20,
) -> None:
    """Find entities by name or id (regions, enterprises, concepts, articles, rules ...)."""
    with graph_store() as store:
        try:
            hits = explore.search(store, text, labels=label, limit=limit)
        except ValueError as exc:
            raise fail(str(exc), code=2) from exc
    table = Table("id", "labels", "name")
    for h in hits:
        table.add_row(h["id"], ":".join(h["labels"]), str(h["name"]))
    console.print(table if hits else "(no match)")


@graph_app.command()
def node(
    node_id: Annotated[str, typer.Argument(help="The node's id.")],
    depth: Annotated[int, typer.Option(help="Also show its neighbourhood to this depth (0: no).")]
    = 1,
    rel_type: Annotated[list[str] | None, typer.Option(
        "--type", "-t", help="Only through these relationship types.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """A node with its properties and, optionally, its neighbourhood."""
    with graph_store() as store:
        try:
            found = explore.node(store, node_id)
            hood = (explore.neighbourhood(store, node_id, depth=depth, rel_types=rel_type)
                    if depth else None)
        except (explore.NotFound, ValueError) as exc:
            raise fail(str(exc), code=2) from exc
    if fmt == "json":
        out = dict(found)
        if hood:
            out["neighbourhood"] = {"nodes": hood.nodes, "relationships": hood.relationships,
                                    "truncated": hood.truncated}
        console.print_json(to_json(out))
        return
    console.print(f"[bold]{node_id}[/] :{':'.join(found['labels'])}")
    props = Table("property", "value")
    for k, v in sorted(explore.compact(found["properties"]).items()):
        props.add_row(k, short_value(v))
    console.print(props)
    if hood:
        rels = Table("source", "type", "target")
        for r in hood.relationships:
            rels.add_row(r["source"], r["type"], r["target"])
        console.print(rels)
        if hood.truncated:
            console.print(f"(first {hood.limit} paths only; narrow with --type)")


@graph_app.command()
def path(
    source: Annotated[str, typer.Argument(help="id of the first entity")],
    target: Annotated[str, typer.Argument(help="id of the second entity")],
    max_depth: Annotated[int, typer.Option(help="Longest path searched.")] = 6,
) -> None:
    """A shortest path between two entities, in either direction."""
    with graph_store() as store:
        try:
            found = explore.paths(store, source, target, max_depth=max_depth)
        except explore.NotFound as exc:
            raise fail(str(exc), code=2) from exc
    if not found:
        console.print(f"no path of at most {max_depth} steps")
        raise typer.Exit(1)
    p = found[0]
    parts = [f"{p['nodes'][0]['id']} ({p['nodes'][0]['name']})"]
    for rel, n in zip(p["relationships"], p["nodes"][1:], strict=True):
        parts.append(f"-[{rel}]- {n['id']} ({n['name']})")
    console.print(" ".join(parts), highlight=False, markup=False)
