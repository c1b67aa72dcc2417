"""`ecobrain decide RUN_DIR`: a model run → a decision in the graph (→ task-list documents).

Thin: :func:`ecobrain.reasoning.decisions.run_decision.decide_run` does the work; documents
are rendered only for ``--regions`` or ``--all-documents`` (:mod:`ecobrain.api.documents.cache`;
the others when first asked for). This module shows progress and prints what was decided, per
region, and where the documents are. ``ecobrain demo`` reuses :func:`decide_and_render` and
:func:`print_summary`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ecobrain.api.cli.common import console, fail, graph_store, progress
from ecobrain.api.documents.cache import ensure_documents
from ecobrain.api.documents.task_list import FORMATS, DocumentError, DocumentSet
from ecobrain.model_adapters import AdapterError
from ecobrain.ontology.graph.config import default_data_dir
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.run_decision import STEPS, decide_run
from ecobrain.reasoning.language.errors import RuleError

REGION_CODE = re.compile(r"\d{6}")
BANDS = ((90, "≥90"), (80, "80–89"), (70, "70–79"), (0, "<70"))


def default_documents_dir() -> Path:
    return default_data_dir() / "documents"


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise fail(f"--format {text!r}: choose from {', '.join(FORMATS)} (comma-separated)")
    return list(dict.fromkeys(formats))


def parse_regions(text: str | None) -> list[str] | None:
    """``--regions 330100,330102`` as codes (None when not given)."""
    if text is None:
        return None
    codes = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in codes if not REGION_CODE.fullmatch(c)]
    if bad or not codes:
        raise fail(f"--regions {text!r}: expected 6-digit GB/T 2260 codes, comma-separated")
    return list(dict.fromkeys(codes))


def render_with_progress(store: GraphStore, decision_id: str, out: Path, *,
                         regions: list[str] | None, formats: list[str],
                         workers: int | None = None, fresh: bool = False) -> DocumentSet:
    """The decision's documents (`regions`, or all) with a progress bar and clean errors."""
    with progress() as bar:
        doc_task = bar.add_task("task-list documents", total=None)

        def on_doc(name: str, done: int, total: int) -> None:
            bar.update(doc_task, description=f"documents: {name}", completed=done,
                       total=total)

        try:
            return ensure_documents(store, decision_id, out, regions=regions, formats=formats,
                                    workers=workers, fresh=fresh, progress=on_doc)
        except DocumentError as exc:
            raise fail(str(exc).strip("'\"")) from exc


def decide_and_render(store: GraphStore, run_dir: Path, *, out: Path | None,
                      on: dt.date | None = None, formats: list[str] | None = None,
                      regions: list[str] | None = None, all_documents: bool = False
                      ) -> tuple[Any, DocumentSet | None]:
    """decide_run with a progress bar, then the documents asked for: `regions`, every region
    with `all_documents`, none otherwise (they are rendered when first asked for)."""
    with progress() as bar:
        task = bar.add_task(STEPS[0], total=len(STEPS))

        def on_step(name: str, number: int, total: int) -> None:
            bar.update(task, description=name, completed=number - 1)

        try:
            outcome = decide_run(store, run_dir, on=on, progress=on_step)
        except AdapterError as exc:
            raise fail(str(exc), code=2) from exc
        except RuleError as exc:
            raise fail(f"the rule base does not compile:\n{exc}") from exc
        except (ValueError, OSError) as exc:
            raise fail(str(exc), code=2) from exc
        bar.update(task, description="decided", completed=len(STEPS))
    docs = None
    if all_documents or regions:
        docs = render_with_progress(store, outcome.decision_id, out or default_documents_dir(),
                                    regions=None if all_documents else regions,
                                    formats=formats or list(FORMATS))
    return outcome, docs


def _band(p: int) -> str:
    return next(label for low, label in BANDS if p >= low)


def print_warnings(d: Any) -> None:
    """The decision's warnings, before anything else a commander reads."""
    if d.incomplete:
        console.print("[bold red]INCOMPLETE DECISION[/]: the run does not cover everything "
                      "it was meant to (see the warnings)")
    for w in d.warnings:
        mark = "[red]warning (incomplete):[/]" if w.incomplete else "[yellow]warning:[/]"
        console.print(f"{mark} {escape(w.message_zh)}", highlight=False)
        console.print(f"         {escape(w.message)}", highlight=False)


def print_summary(outcome: Any, docs: Any) -> None:
    d = outcome.decision
    same = ""
    if outcome.repaired:
        same = f" (already in the graph: {outcome.repaired} missing parts restored)"
    elif outcome.existed:
        same = " (already in the graph: unchanged)"
    console.print(f"[bold]decision[/] {d.id}{same}", highlight=False)
    console.print(f"run {escape(outcome.run_id)} ({escape(outcome.model or '-')}), decision date "
                  f"{d.decision_date}; rules: {escape(outcome.rule_source)}", highlight=False)
    t = outcome.timings
    console.print(f"{t.get('total_s', 0):.1f} s: findings {t.get('findings_s', 0):.1f}, "
                  f"reasoning {t.get('decide_s', 0):.1f}, saving {t.get('save_s', 0):.1f}"
                  + (f", documents {docs.seconds:.1f}" if docs else ""), highlight=False)
    alerts = {a.region_code: a for a in d.alerts}
    tasks: dict[str, Counter] = defaultdict(Counter)
    review: Counter = Counter()
    names: dict[str, str] = {}
    for task in d.tasks:
        tasks[task.region_code][_band(task.priority)] += 1
        review[task.region_code] += task.legal_review_required
        names[task.region_code] = task.region_name or task.region_code
    advice = Counter(a.region_code for a in d.advice)
    for c in [*d.alerts, *d.advice]:
        names.setdefault(c.region_code, c.region_name or c.region_code)
    files = {r.code: r for r in docs.documents} if docs else {}
    table = Table(box=box.SIMPLE_HEAD, title="Decision by region (tasks by priority)",
                  pad_edge=False)
    for col in ("region", "code", "alert", *(b for _, b in BANDS), "tasks", "advice",
                "legal review", "document"):
        table.add_column(col, justify="right" if col in {b for _, b in BANDS} | {
            "tasks", "advice", "legal review"} else "left")
    shown = set(tasks) | set(alerts)
    shown |= {c[:4] + "00" for c in shown}  # each shown county's city
    codes = sorted(shown, key=lambda c: (c[:4], c[4:] != "00", c))
    for code in codes:
        a = alerts.get(code)
        doc = files.get(code)
        table.add_row(("" if code.endswith("00") else "  ") + names.get(code, code), code,
                      a.level_label if a else "",
                      *(str(tasks[code][b] or "") for _, b in BANDS),
                      str(sum(tasks[code].values()) or ""), str(advice[code] or ""),
                      str(review[code] or ""), doc.files.get("html", "") if doc else "")
    table.add_row("total", "", f"{len(d.alerts)} alerts",
                  *(str(sum(tasks[c][b] for c in tasks)) for _, b in BANDS), str(len(d.tasks)),
                  str(len(d.advice)), str(sum(review.values())),
                  f"{len(docs.documents)} documents" if docs else "", style="bold")
    console.print(table)
    print_warnings(d)
    others = sorted(set(advice) - shown)
    if others:
        console.print(f"advice without tasks or alerts for {len(others)} more regions "
                      f"({sum(advice[c] for c in others)} items)", highlight=False)
    if d.legal_review_required:
        console.print("[yellow]legal review:[/] some conclusions have no ground in force on the "
                      "decision date (marked 待法律审查 in the documents)")
    penalties = sum(1 for task in d.tasks if any(e.legal_review_required
                                                 for e in task.escalations))
    if penalties:
        console.print(f"[yellow]legal review:[/] {penalties} task(s) name a penalty with no ground "
                      "in force on the decision date (处理依据待法务复核 in the documents)",
                      highlight=False)
    if outcome.review_status == "approved":
        console.print("review: approved; the tasks are issued", highlight=False)
    else:
        console.print(f"[bold]review:[/] a draft — nothing is issued until a commander approves "
                      f"it: ecobrain decisions approve {d.id} --by NAME", highlight=False)
    if docs:
        print_documents(docs)
    else:
        console.print(f"documents: rendered when first asked for — ecobrain decisions documents "
                      f"{d.id} --regions CODE,… (or --all), or GET /decisions/{d.id}/documents/"
                      "CODE from the API", highlight=False, soft_wrap=True)


def print_documents(docs: DocumentSet) -> None:
    if docs.font_note:
        console.print(f"[yellow]note:[/] {docs.font_note}")
    console.print(f"documents: {len(docs.documents)} regions in {docs.folder} "
                  f"({docs.seconds:.1f} s, {docs.workers} processes)", highlight=False)
    console.print(f"index:     {docs.index}", highlight=False)


def decide(
    run_dir: Annotated[Path, typer.Argument(help="model-run directory with run.json",
                                            exists=True, file_okay=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="where to write the documents (default: DATA_DIR/documents); "
        "they go into OUT/<decision-id>/")] = None,
    on: Annotated[str | None, typer.Option(
        "--date", help="decision date YYYY-MM-DD (default: the run's initialisation day); "
        "rules and legal grounds as in force that day")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="document formats, comma-separated")] = "html,md,docx",
    regions: Annotated[str | None, typer.Option(
        "--regions", help="render the documents of these cities/counties now "
        "(comma-separated codes); others are rendered when first asked for")] = None,
    all_documents: Annotated[bool, typer.Option(
        "--all-documents", help="render every city's and county's document now")] = False,
    no_documents: Annotated[bool, typer.Option(
        "--no-documents", hidden=True, help="render nothing (the default now)")] = False,
) -> None:
    """Decide on a model run: findings → rules → a decision in the graph (task lists on demand)."""
    day = None
    if on:
        try:
            day = dt.date.fromisoformat(on)
        except ValueError as exc:
            raise fail(f"--date {on!r}: expected YYYY-MM-DD") from exc
    formats = parse_formats(fmt)
    codes = parse_regions(regions)
    if no_documents and (codes or all_documents):
        raise fail("--no-documents with --regions/--all-documents: choose one")
    with graph_store() as store:
        outcome, docs = decide_and_render(store, run_dir, out=out, on=day, formats=formats,
                                          regions=codes, all_documents=all_documents)
        print_summary(outcome, docs)


def register(app: typer.Typer) -> None:
    app.command("decide")(decide)
