"""The `ecobrain` command line: one Typer app, each area in its own module."""

from __future__ import annotations

import typer

from ecobrain.api.cli_graph import graph_app

app = typer.Typer(
    name="ecobrain",
    help="ecobrain: knowledge graph, model findings, rules and task lists for air quality.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(graph_app, name="graph")


def main() -> None:  # pragma: no cover - console entry point
    app()
