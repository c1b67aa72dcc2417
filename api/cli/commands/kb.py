"""`ecobrain kb ...`: load the bundled knowledge or a user's own files; counts; reset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ecobrain.api.cli.common import console, fail, graph_store, progress, to_json
from ecobrain.kb_loaders.bundle import (
    UserFiles,
    bundled_steps,
    graph_stats,
    run_steps,
    user_steps,
)
from ecobrain.kb_loaders.errors import LoadError
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.kb_loaders.semantics.rdf_view import validate_graph
from ecobrain.ontology.graph.store import GraphStore, GraphStoreError
from ecobrain.ontology.owl_check import check_consistency

kb_app = typer.Typer(help="Knowledge: load the bundled ontology, laws and Zhejiang reference data.",
                     no_args_is_help=True)

def load_with_progress(store: GraphStore, steps: list) -> list[LoadReport]:
    """Run loader steps with a progress bar; bad input becomes one clean error."""
    with progress() as bar:
        task = bar.add_task("loading knowledge", total=len(steps))

        def on_step(name: str, report: LoadReport | None) -> None:
            if report is None:
                bar.update(task, description=f"loading {name}")
            else:
                bar.advance(task)

        try:
            return run_steps(store, steps, on_step)
        except LoadError as exc:
            raise fail(str(exc)) from exc
        except GraphStoreError as exc:
            raise fail(f"graph error while loading: {exc}") from exc

def print_reports(reports: list[LoadReport]) -> None:
    table = Table("step", "records", "nodes created", "relationships created", "seconds")
    for r in reports:
        table.add_row(r.source, str(r.records), str(r.nodes_created),
                      str(r.relationships_created), f"{r.seconds:.2f}")
    table.add_row("total", str(sum(r.records for r in reports)),
                  str(sum(r.nodes_created for r in reports)),
                  str(sum(r.relationships_created for r in reports)),
                  f"{sum(r.seconds for r in reports):.2f}", style="bold")
    console.print(table)
    for r in reports:
        for note in r.notes:
            console.print(f"[yellow]note[/] {r.source}: {note}")

@kb_app.command("load")
def load(
    enterprises: Annotated[Path | None, typer.Option(
        help="Your enterprise CSV (docs/reference-data.md).", exists=True, dir_okay=False)] = None,
    stations: Annotated[Path | None, typer.Option(
        help="Your monitoring-station CSV.", exists=True, dir_okay=False)] = None,
    regulations: Annotated[Path | None, typer.Option(
        help="A folder of statute texts with .meta.yaml sidecars (docs/regulations.md), "
        "loaded in addition to the bundled ones.",
        exists=True, file_okay=False)] = None,
    only_user_files: Annotated[bool, typer.Option(
        "--only", help="Load only the given files, not the rest of the bundle.")] = False,
) -> None:
    """Load the bundled knowledge (idempotent); given files replace their bundled counterpart."""
    files = UserFiles(enterprises=enterprises, stations=stations, regulations=regulations)
    if only_user_files and not any((enterprises, stations, regulations)):
        raise fail("--only needs at least one of --enterprises, --stations, --regulations")
    steps = user_steps(files) if only_user_files else bundled_steps(files)
    with graph_store() as store:
        reports = load_with_progress(store, steps)
        print_reports(reports)
        console.print(f"graph: {store.describe()}")

@kb_app.command("stats")
def stats(fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table"
          ) -> None:
    """Node counts per label and relationship counts per type."""
    with graph_store() as store:
        labels, rels = graph_stats(store)
    if fmt == "json":
        console.print_json(to_json({"labels": labels, "relationships": rels}))
        return
    for title, counts in (("label", labels), ("relationship", rels)):
        table = Table(title, "count")
        for k, v in counts.items():
            table.add_row(k, str(v))
        console.print(table)

@kb_app.command("reset")
def reset(yes: Annotated[bool, typer.Option("--yes", help="Really delete the graph.")] = False
          ) -> None:
    """Delete everything in the configured graph."""
    if not yes:
        raise fail("this deletes the whole graph; add --yes to confirm")
    with graph_store() as store:
        store.drop_graph()
        console.print(f"deleted {store.describe()}")


@kb_app.command("check")
def check(
    limit: Annotated[int, typer.Option(help="Show at most this many SHACL results.")] = 30,
) -> None:
    """Check the knowledge: OWL consistency of the ontology and SHACL shapes over the graph."""
    owl = check_consistency()
    mark = "[green]consistent[/]" if owl.consistent else "[red]INCONSISTENT[/]"
    console.print(f"OWL ({owl.reasoner}, {owl.seconds:.1f} s): {mark} — {owl.message}")
    with graph_store() as store:
        report = validate_graph(store)
    mark = "[green]conforms[/]" if report.conforms else "[red]does not conform[/]"
    console.print(f"SHACL over {report.nodes} nodes / {report.triples} triples "
                  f"({report.seconds:.1f} s): {mark}; {len(report.errors)} violation(s), "
                  f"{len(report.warnings)} warning(s)")
    for v in report.violations[:limit]:
        console.print(f"  {v}", highlight=False, markup=False)
    if len(report.violations) > limit:
        console.print(f"  ... and {len(report.violations) - limit} more")
    if not (owl.consistent and report.conforms):
        raise typer.Exit(1)
