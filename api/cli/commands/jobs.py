"""`ecobrain jobs ...`: ask for model runs, follow them, take their outputs in.

Thin: everything is done by :mod:`ecobrain.hpc_jobs` (docs/hpc-jobs.md). The executor is the
configured one (``ECOBRAIN_JOBS_EXECUTOR``: local by default, or slurm); ``--executor`` picks
another for one submission. An invalid request is a list of problems (file, field, line) on
stderr and exit code 2; a refused submission is recorded (SUBMIT_FAILED, with the scheduler's
words) and exits 1.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich import box
from rich.table import Table

from ecobrain import safe_yaml
from ecobrain.api.cli.common import console, err_console, fail, graph_store
from ecobrain.api.jobs_decide import decide_callback
from ecobrain.hpc_jobs.executors import ExecutorError
from ecobrain.hpc_jobs.request import RequestError
from ecobrain.hpc_jobs.scenario import ScenarioError, scenario_request
from ecobrain.hpc_jobs.settings import JobsConfigError, jobs_settings
from ecobrain.hpc_jobs.tracker import JobError, JobNotFound, JobTracker
from ecobrain.yaml12 import Yaml12Loader

jobs_app = typer.Typer(help="Model-run jobs on the HPC cluster (Slurm) or this machine.",
                       no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"


class ExecutorName(StrEnum):
    local = "local"
    slurm = "slurm"


def _tracker(store: Any, executor: str | None = None) -> Any:
    try:
        settings = jobs_settings()
    except JobsConfigError as exc:
        raise fail(str(exc), 2) from exc
    if executor:
        settings = settings.model_copy(update={"executor": executor})

    return JobTracker(store, settings, on_registered=decide_callback(store))


def _state_style(state: str) -> str:
    if state in ("REGISTERED", "COMPLETED"):
        return f"[green]{state}[/]"
    if state in ("PENDING", "RUNNING", "SUBMITTED", "COMPLETING", "SUSPENDED"):
        return f"[cyan]{state}[/]"
    return f"[red]{state}[/]"


def _print_record(rec: Any, *, script: bool = False) -> None:
    console.print(f"[bold]{rec.id}[/]  {rec.kind} / {rec.model}  {_state_style(rec.state)}"
                  + (f"  — {rec.reason}" if rec.reason else ""), highlight=False)
    rows = [("name", rec.name), ("request", rec.request_id),
            ("executor", f"{rec.executor} job {rec.job_id or '-'}"),
            ("scheduler state", rec.scheduler_state), ("exit code", rec.exit_code),
            ("submitted", rec.submitted_at), ("finished", rec.finished_at),
            ("work dir", rec.workdir), ("outputs", rec.output_dir if rec.registered else None),
            ("baseline", rec.baseline_run_id), ("decision", rec.decision_id),
            ("comparison", rec.comparison_id)]
    for k, v in rows:
        if v:
            console.print(f"  {k:<16}{v}", highlight=False)
    console.print("  history:")
    for h in rec.history:
        console.print(f"    {h['at'][:19]}  {h['state']:<16}{h.get('reason') or ''}",
                      highlight=False)
    if rec.followup:
        cmp = rec.followup.get("comparison")
        if cmp:
            s = cmp["summary"]
            console.print(f"  expected effect: {s['regions_improved']} of {s['regions']} regions "
                          f"improve; county-days avoided over AQI 100/150/200/300: "
                          f"{'/'.join(str(v) for v in s['days_avoided'].values())}",
                          highlight=False)
        for k in ("comparison_error", "decide_error"):
            if rec.followup.get(k):
                console.print(f"  [red]{k.replace('_', ' ')}:[/] {rec.followup[k]}",
                              highlight=False)
        if rec.followup.get("decide"):
            console.print(f"  decision: {rec.followup['decide']}", highlight=False)
    if rec.error_tail:
        console.print("  error log (tail):")
        for line in rec.error_tail.splitlines():
            console.print(f"    {line}", highlight=False, markup=False)
    if script and rec.script:
        console.print("  script:")
        console.print(rec.script, highlight=False, markup=False)


@jobs_app.command("submit")
def submit(
    request: Annotated[Path, typer.Argument(help="run request, YAML or JSON (docs/hpc-jobs.md)")],
    force: Annotated[bool, typer.Option("--force", help="run again even if already submitted")]
    = False,
    executor: Annotated[ExecutorName | None, typer.Option(help="override the configured one")]
    = None,
    wait: Annotated[bool, typer.Option("--wait", help="follow the job until it ends")] = False,
    interval: Annotated[float, typer.Option(help="seconds between polls with --wait")] = 5.0,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Validate a run request and submit it."""
    with graph_store() as store:
        tracker = _tracker(store, executor.value if executor else None)
        try:
            result = tracker.submit(request, force=force)
        except RequestError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=False)
            raise typer.Exit(2) from exc
        rec = result.record
        if wait and rec.active:
            tracker.watch(interval=interval, run_ids=[rec.id])
            rec = tracker.get(rec.id)
        if fmt == Format.json:
            sys.stdout.write(json.dumps({"created": result.created, "message": result.message,
                                         "job": rec.as_dict(with_script=False)},
                                        ensure_ascii=False, indent=2, default=str) + "\n")
        else:
            console.print(result.message, highlight=False)
            if wait or not result.created:
                _print_record(rec)
        if rec.state in ("SUBMIT_FAILED",) or (wait and not rec.registered):
            raise typer.Exit(1)


@jobs_app.command("list")
def list_jobs(
    state: Annotated[list[str] | None, typer.Option(help="only these states")] = None,
    kind: Annotated[str | None, typer.Option(help="forecast, attribution, inversion, scenario")]
    = None,
    active: Annotated[bool, typer.Option("--active", help="only jobs still running")] = False,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """The jobs, newest first."""
    with graph_store() as store:
        recs = _tracker(store).list(state=state or None, kind=kind,
                                    active=True if active else None, limit=limit)
    if fmt == Format.json:
        sys.stdout.write(json.dumps([r.as_dict(with_script=False) for r in recs],
                                    ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if not recs:
        console.print("no jobs")
        return
    t = Table(box=box.SIMPLE)
    for col in ("id", "kind", "model", "state", "executor / job", "submitted", "reason"):
        t.add_column(col)
    for r in recs:
        t.add_row(r.id, r.kind, r.model, _state_style(r.state),
                  f"{r.executor} {r.job_id or '-'}", (r.submitted_at or "")[:19],
                  (r.reason or "")[:60])
    console.print(t)


@jobs_app.command("show")
def show(
    job: Annotated[str, typer.Argument(help="the job's run id")],
    script: Annotated[bool, typer.Option("--script", help="print the batch script")] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """One job: state, history, reason, error log tail, expected effect."""
    with graph_store() as store:
        try:
            rec = _tracker(store).get(job)
        except JobNotFound as exc:
            raise fail(str(exc)) from exc
    if fmt == Format.json:
        sys.stdout.write(json.dumps(rec.as_dict(with_script=script), ensure_ascii=False,
                                    indent=2, default=str) + "\n")
    else:
        _print_record(rec, script=script)


@jobs_app.command("cancel")
def cancel(job: Annotated[str, typer.Argument(help="the job's run id")]) -> None:
    """Cancel a pending or running job."""
    with graph_store() as store:
        try:
            rec = _tracker(store).cancel(job)
        except (JobNotFound, JobError, ExecutorError) as exc:
            raise fail(str(exc)) from exc
    _print_record(rec)


@jobs_app.command("watch")
def watch(
    jobs: Annotated[list[str] | None, typer.Argument(help="only these jobs (default: all)")]
    = None,
    interval: Annotated[float | None, typer.Option(help="seconds between polls")] = None,
    timeout: Annotated[float | None, typer.Option(help="stop after this many seconds")] = None,
    once: Annotated[bool, typer.Option("--once", help="poll once and stop")] = False,
) -> None:
    """Poll the active jobs, register finished runs, until none is active."""
    def report(rec: Any) -> None:
        console.print(f"{rec.id}: {_state_style(rec.state)}"
                      + (f" — {rec.reason}" if rec.reason else ""), highlight=False)

    with graph_store() as store:
        tracker = _tracker(store)
        try:
            for j in jobs or []:
                tracker.get(j)
        except JobNotFound as exc:
            raise fail(str(exc)) from exc
        if once:
            for rec in tracker.refresh(jobs or None):
                report(rec)
        else:
            tracker.watch(interval=interval, timeout=timeout, run_ids=jobs or None,
                          on_change=report)
        left = [r for r in (tracker.list(active=True) if not jobs
                            else [tracker.get(j) for j in jobs]) if r.active]
    console.print(f"{len(left)} job(s) still active" if left else "no active jobs")


@jobs_app.command("scenario")
def scenario(
    advice: Annotated[Path, typer.Argument(help="advice items (YAML/JSON list: region, "
                                           "pollutant, sector, reduction_pct, measure)")],
    baseline: Annotated[str, typer.Option(help="baseline run directory or ModelRun id")],
    model: Annotated[str, typer.Option(help="standin or cmaq")] = "standin",
    decision: Annotated[str | None, typer.Option(help="the decision the advice comes from")]
    = None,
    default_reduction: Annotated[float | None, typer.Option(
        help="reduction %% for items without one")] = None,
    out: Annotated[Path | None, typer.Option(help="write the request here")] = None,
    do_submit: Annotated[bool, typer.Option("--submit", help="submit it too")] = False,
) -> None:
    """Turn advice into a scenario request (and optionally submit it)."""
    try:
        items = safe_yaml.load(advice.read_text(encoding="utf-8"), Yaml12Loader)
    except (OSError, yaml.YAMLError) as exc:
        raise fail(f"{advice}: {exc}", 2) from exc
    if isinstance(items, dict):
        items = items.get("advice", [items])
    try:
        req = scenario_request(items or [], baseline, model=model, decision_id=decision,
                               default_reduction_pct=default_reduction)
    except (ScenarioError, ValueError) as exc:
        raise fail(f"{advice}: {exc}", 2) from exc
    text = yaml.safe_dump(req.model_dump(mode="json", exclude_none=True), allow_unicode=True,
                          sort_keys=False)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")
    elif not do_submit:
        sys.stdout.write(text)
    if do_submit:
        with graph_store() as store:
            try:
                result = _tracker(store).submit(req, source=str(advice))
            except RequestError as exc:
                err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=False)
                raise typer.Exit(2) from exc
        console.print(result.message, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
