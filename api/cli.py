"""The `ecobrain` command line: one Typer app, each area in its own module."""

from __future__ import annotations

import typer

from ecobrain.api import (
    cli_decide,
    cli_demo,
    cli_findings,
    cli_jobs,
    cli_review,
    cli_rules,
    cli_serve,
)
from ecobrain.api.cli_graph import graph_app
from ecobrain.api.cli_kb import kb_app

app = typer.Typer(
    name="ecobrain",
    help="ecobrain: knowledge graph, model findings, rules and task lists for air quality.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(graph_app, name="graph")
app.add_typer(kb_app, name="kb")
cli_demo.register(app)
cli_decide.register(app)
cli_review.register(app)
cli_findings.register(app)
cli_rules.register(app)
cli_jobs.register(app)
cli_serve.register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
