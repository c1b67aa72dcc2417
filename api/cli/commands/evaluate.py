"""`ecobrain decisions evaluate | evaluation`, `ecobrain episodes list | analogues`: did an
approved decision's measures work, and what worked before?

``evaluate DECISION RUN_DIR`` reads the later run's inversion, compares it with the decision's
plan (:mod:`ecobrain.reasoning.evaluation.post_measure`), saves the evaluation in the graph and
prints who reduced and who did not, and where the bureaus' reports disagree with the model;
``--out DIR`` also writes every city's evaluation report. ``evaluation ID`` shows a saved one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ecobrain.api.cli.commands.review import decisions_app
from ecobrain.api.cli.common import console, fail, graph_store, to_json
from ecobrain.api.documents.evaluation import VERDICT_ZH, render_report, write_reports
from ecobrain.model_adapters import AdapterError
from ecobrain.reasoning.decisions.store import NotFound
from ecobrain.reasoning.evaluation.analogues import find_analogues
from ecobrain.reasoning.evaluation.episodes import episode, episodes_of
from ecobrain.reasoning.evaluation.evaluation_store import evaluate_decision, load_evaluation
from ecobrain.reasoning.evaluation.outcomes import Evaluation
from ecobrain.reasoning.evaluation.plan import NotApproved


def _print(ev: Evaluation) -> None:
    s = ev.summary
    console.print(f"evaluation {ev.id}: decision {ev.decision_id} on run {ev.run_id} "
                  f"({ev.run_days[0]}–{ev.run_days[-1]})")
    counts = lambda d: ", ".join(f"{VERDICT_ZH[k]} {n}" for k, n in d.items()) or "none"  # noqa: E731
    console.print(f"  counties: {counts(s.counties)}")
    console.print(f"  enterprises: {counts(s.enterprises)}")
    console.print(f"  hotspots: {s.hotspots_gone} gone, {s.hotspots_persisting} still there")
    console.print(f"  disagreements: {s.disagreements}")
    for t in ev.tasks:
        if t.disagreement:
            console.print(f"    [{t.region_code}] {escape(t.subject_name)} ({t.task_id}): "
                          f"{t.disagreement}")
    for c in ev.counties:
        a = ", ".join(f"{x.species} {'—' if x.achieved is None else f'{x.achieved:.0%}'}"
                      for x in c.emissions.species)
        target = c.emissions.species[0].target if c.emissions.species else None
        console.print(f"  {c.county_code} {escape(c.county_name or '')}: "
                      f"{VERDICT_ZH[c.emissions.verdict]} ({a}; plan "
                      f"{'—' if target is None else f'{target:.0%}'})")
    for n in ev.notes:
        console.print(f"  note: {escape(n)}")


def evaluate(
    decision_id: str,
    run_dir: Annotated[Path, typer.Argument(help="the later run (its inversion output)")],
    out: Annotated[Path | None, typer.Option(help="write every city's report here")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the evaluation as JSON")]
    = False,
) -> None:
    """Evaluate an approved decision on a later inversion run, and save the evaluation."""
    with graph_store() as store:
        try:
            ev = evaluate_decision(store, decision_id, run_dir)
        except (NotFound, NotApproved, AdapterError) as exc:
            raise fail(str(exc).strip("'\"")) from exc
    if json_out:
        console.print_json(ev.model_dump_json())
    else:
        _print(ev)
    if out is not None:
        for code, files in write_reports(ev, out).items():
            console.print(f"  report {code}: {', '.join(files.values())}")


def show(
    evaluation_id: str,
    city: Annotated[str | None, typer.Option(help="print this city's report")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md or html")] = "md",
) -> None:
    """A saved evaluation: its summary, or one city's report."""
    with graph_store() as store:
        ev = load_evaluation(store, evaluation_id)
    if ev is None:
        raise fail(f"no evaluation {evaluation_id!r}")
    if city:
        try:
            typer.echo(render_report(ev, city, fmt))
        except ValueError as exc:
            raise fail(str(exc)) from exc
        return
    _print(ev)


episodes_app = typer.Typer(help="The episode library: a decision's episodes, analogues.",
                           no_args_is_help=True)


@episodes_app.command("list")
def list_episodes(decision_id: str) -> None:
    """The decision's episodes with their signatures."""
    with graph_store() as store:
        eps = episodes_of(store, decision_id)
    if not eps:
        console.print(f"decision {decision_id}: no episode")
    for e in eps:
        console.print(f"{e.id} {e.pollutant} {e.start}–{e.end} ({e.duration_days} d), peak AQI "
                      f"{e.peak_aqi}, {len(e.counties)} counties in {', '.join(e.cities)}")


@episodes_app.command("analogues")
def show_analogues(
    episode_id: str,
    k: Annotated[int, typer.Option(help="how many", min=1, max=50)] = 5,
    json_out: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """The most similar past episodes, what was done then and how it evaluated."""
    with graph_store() as store:
        ep = episode(store, episode_id)
        if ep is None:
            raise fail(f"no episode {episode_id!r}")
        found = find_analogues(store, ep, k)
    if json_out:
        console.print_json(to_json([a.model_dump(mode="json") for a in found]))
        return
    for a in found:
        e = a.episode
        console.print(f"{a.distance:.3f}  {e.id} {e.pollutant} {e.start}–{e.end}, peak AQI "
                      f"{e.peak_aqi}, {len(e.counties)} counties")
        if a.done:
            top = ", ".join(f"{m} {n}" for m, n in list(a.done["tasks_by_measure"].items())[:4])
            console.print(f"        done: decision {a.done['decision_id']} "
                          f"({a.done['review_status']}): {escape(top)}")
        for ev in a.evaluations:
            s = ev["summary"]
            console.print(f"        evaluated {ev['id']} on {ev['run_id']}: counties "
                          f"{s['counties']}, enterprises {s['enterprises']}")


def register(app: typer.Typer) -> None:
    """The commands join the `decisions` group (which api/cli/commands/review.py adds to the
    app)."""
    decisions_app.command("evaluate")(evaluate)
    decisions_app.command("evaluation")(show)
    app.add_typer(episodes_app, name="episodes")
