"""`ecobrain demo`: the README's main job, end to end on the embedded default graph."""

from __future__ import annotations

import typer

from ecobrain.api.cli_common import console, graph_store
from ecobrain.api.cli_kb import load_with_progress, print_reports
from ecobrain.kb_loaders.bundle import bundled_steps, graph_stats


def demo() -> None:
    """Start the graph, load the bundled knowledge, and report what is there."""
    with graph_store() as store:
        console.print(f"[bold]graph[/]: {store.describe()}")
        reports = load_with_progress(store, bundled_steps())
        print_reports(reports)
        labels, rels = graph_stats(store)
        console.print(f"knowledge graph ready: {sum(labels.values())} label memberships, "
                      f"{sum(rels.values())} relationships")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
