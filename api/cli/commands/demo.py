"""`ecobrain demo`: the README's main job, end to end on the embedded default graph.

Load the bundled knowledge (ontology, laws, standards, Zhejiang reference data, rules), write
a deterministic sample model run (synthetic CMAQ-style files: a PM2.5 episode in the north, an
O3 episode in the south-west, emission hotspots), decide on it, render the task lists of every
city and county that has tasks, and print where they are. Running it again reuses the sample
run of the same day and gives the same decision (nothing is duplicated in the graph).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from ecobrain.api.cli.commands.decide import (
    decide_and_render,
    default_documents_dir,
    parse_formats,
    print_summary,
)
from ecobrain.api.cli.commands.kb import load_with_progress, print_reports
from ecobrain.api.cli.common import console, err_console, fail, graph_store, progress
from ecobrain.kb_loaders.bundle import bundled_steps, graph_stats
from ecobrain.model_adapters.sample_run import default_start, write_sample_run
from ecobrain.ontology.graph.config import default_data_dir


def _sample_run(run_dir: Path, days: int, seed: int, start: dt.date) -> Path:
    """The sample run in `run_dir`, written unless the same one is already there."""
    truth = run_dir / "sample-truth.json"
    if truth.exists() and (run_dir / "run.json").exists():
        try:
            t = json.loads(truth.read_text(encoding="utf-8"))
        except ValueError:
            t = {}
        if (t.get("days"), t.get("seed"), t.get("start")) == (days, seed, start.isoformat()):
            err_console.print(f"sample run {t.get('run_id')} already in {run_dir}: reused")
            return run_dir
    with progress() as bar:
        task = bar.add_task("writing the sample run (forecast, ISAM, inversion)", total=days)
        write_sample_run(run_dir, days=days, seed=seed, start=start,
                         progress=lambda done, _t: bar.update(task, completed=done))
    return run_dir


def demo(
    days: Annotated[int, typer.Option(min=1, max=60, help="days of the sample forecast")] = 7,
    seed: Annotated[int, typer.Option(help="seed of the sample run")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="folder for the sample run and the documents (default: the data "
        "directory: DATA_DIR/demo-run and DATA_DIR/documents)")] = None,
    start: Annotated[str | None, typer.Option(
        help="first forecast day YYYY-MM-DD (default: tomorrow, Beijing time)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="document formats, comma-separated")] = "html,md,docx",
) -> None:
    """Load the knowledge, write a sample model run, decide on it and render the task lists."""
    try:
        first = dt.date.fromisoformat(start) if start else default_start()
    except ValueError as exc:
        raise fail(f"--start {start!r}: expected YYYY-MM-DD") from exc
    formats = parse_formats(fmt)
    run_dir = (out / "sample-run") if out else default_data_dir() / "demo-run"
    docs_dir = (out / "task-lists") if out else default_documents_dir()
    with graph_store() as store:
        console.print(f"[bold]graph[/]: {store.describe()}", highlight=False)
        reports = load_with_progress(store, bundled_steps())
        print_reports(reports)
        labels, rels = graph_stats(store)
        console.print(f"knowledge graph ready: {sum(labels.values())} label memberships, "
                      f"{sum(rels.values())} relationships")
        _sample_run(run_dir, days, seed, first)
        outcome, docs = decide_and_render(store, run_dir, out=docs_dir, formats=formats,
                                          all_documents=True)
        print_summary(outcome, docs)
    console.print()
    console.print(f"[bold green]done.[/] The task lists are in {docs.folder}", highlight=False)
    console.print(f"open {docs.index} in a browser, or serve them: "
                  "`ecobrain api-keys create me --role commander` then `ecobrain serve` "
                  f"(GET /decisions/{outcome.decision_id}/documents/<region>?format=docx)",
                  highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
