"""`ecobrain decisions review | approve | changes | documents`: a commander's review from the
command line, and a decision's task-list documents.

The same steps as the API's (:mod:`ecobrain.reasoning.decisions.review`): a decision is a
draft until approved; approving issues its tasks (those whose legal grounds need review are
held unless overridden with a reason); ``changes`` compares with the decision last approved for
the run.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ecobrain.api.cli.commands.decide import (
    default_documents_dir,
    parse_formats,
    parse_regions,
    print_documents,
    render_with_progress,
)
from ecobrain.api.cli.common import console, fail, graph_store, to_json
from ecobrain.reasoning.decisions import review
from ecobrain.reasoning.decisions.store import NotFound
from ecobrain.reasoning.decisions.task_status import LABELS_ZH

decisions_app = typer.Typer(help="A commander's review of decisions: approve, see changes; "
                            "their task-list documents.",
                            no_args_is_help=True)


@decisions_app.command("review")
def show_review(decision_id: str) -> None:
    """Whether the decision is a draft or approved, by whom and when, and its tasks' statuses."""
    with graph_store() as store:
        try:
            state = review.review_state(store, decision_id)
        except NotFound as exc:
            raise fail(str(exc).strip("'\"")) from exc
        counts = store.read("MATCH (t:Task) WHERE t.decision_id = $id RETURN coalesce("
                            "t.status, $draft) AS s, count(*) AS n ORDER BY s",
                            {"id": decision_id, "draft": review.DRAFT})
    who = (f", approved by {state['approved_by']} at {state['approved_at']}"
           if state["review_status"] == review.APPROVED else "")
    console.print(f"decision {decision_id}: {state['review_status']}{escape(who)}")
    for r in counts:
        console.print(f"  {LABELS_ZH.get(r['s'], r['s'])} ({r['s']}): {r['n']}")


@decisions_app.command("approve")
def approve(
    decision_id: str,
    by: Annotated[str, typer.Option(help="who approves (recorded)")] = "",
    note: Annotated[str, typer.Option(help="the commander's remarks")] = "",
    override_legal_review: Annotated[bool, typer.Option(
        "--override-legal-review", help="also issue tasks whose legal grounds need review")
    ] = False,
    reason: Annotated[str, typer.Option(help="why (required with --override-legal-review)")]
    = "",
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Approve a draft decision: its tasks are issued (held where grounds need review)."""
    who = by or getpass.getuser()
    with graph_store() as store:
        try:
            result = review.approve(store, decision_id, by=who, note=note,
                                    override_legal_review=override_legal_review, reason=reason)
        except NotFound as exc:
            raise fail(str(exc).strip("'\"")) from exc
        except review.ReviewRefused as exc:
            raise fail(str(exc)) from exc
    if json_out:
        console.print_json(to_json(result))
        return
    counts = ", ".join(f"{LABELS_ZH.get(s, s)} {n}" for s, n in
                       sorted(result["tasks_by_status"].items()))
    console.print(f"decision {decision_id} approved by {escape(who)} at "
                  f"{result['approved_at']}: {counts}")


@decisions_app.command("changes")
def show_changes(
    decision_id: str,
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Tasks added, removed and changed against the decision last approved for the run."""
    with graph_store() as store:
        try:
            result = review.changes(store, decision_id)
        except NotFound as exc:
            raise fail(str(exc).strip("'\"")) from exc
    if json_out:
        console.print_json(to_json(result))
        return
    if result["compared_with"] is None:
        console.print(f"decision {decision_id}: no approved decision of the same run to "
                      "compare with")
        return
    console.print(f"decision {decision_id} against {result['compared_with']}: "
                  f"{len(result['added'])} added, {len(result['removed'])} removed, "
                  f"{len(result['changed'])} changed")
    for kind in ("added", "removed"):
        for t in result[kind][:20]:
            console.print(f"  {kind}: [{t['region_code']}] {escape(t['action'] or '')}")
    for c in result["changed"][:20]:
        console.print(f"  changed: [{c['after']['region_code']}] "
                      f"{escape(c['before']['action'] or '')} → "
                      f"{escape(c['after']['action'] or '')}")


@decisions_app.command("documents")
def documents(
    decision_id: str,
    regions: Annotated[str | None, typer.Option(
        "--regions", help="cities/counties, comma-separated codes")] = None,
    everything: Annotated[bool, typer.Option(
        "--all", help="every city and county with tasks")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="document formats, comma-separated")] = "html,md,docx",
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="documents folder (default: DATA_DIR/documents); they go into "
        "OUT/<decision-id>/")] = None,
    workers: Annotated[int | None, typer.Option(
        help="rendering processes (default: one per core, up to 4)")] = None,
    fresh: Annotated[bool, typer.Option(help="render again even when kept ones are current")]
    = False,
) -> None:
    """A decision's task-list documents: kept ones while current, the others rendered now
    (in parallel)."""
    codes = parse_regions(regions)
    if (codes is None) == (not everything):
        raise fail("name the regions (--regions 330100,330102) or ask for --all")
    formats = parse_formats(fmt)
    with graph_store() as store:
        docs = render_with_progress(store, decision_id, out or default_documents_dir(),
                                    regions=codes, formats=formats, workers=workers,
                                    fresh=fresh)
    for d in docs.documents:
        console.print(f"{d.code} {escape(d.name)}: " + ", ".join(
            str(docs.folder / d.files[f]) for f in formats), highlight=False, soft_wrap=True)
    print_documents(docs)


def register(app: typer.Typer) -> None:
    app.add_typer(decisions_app, name="decisions")
