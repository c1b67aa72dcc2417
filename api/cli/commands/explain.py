"""`ecobrain explain`: why a conclusion was made, or why no rule fired for a subject.

``ecobrain explain TASK_OR_ALERT_ID`` prints the rule versions, facts, evidence and legal
grounds behind a saved conclusion (from the decision's trace). ``ecobrain explain --why-not
SUBJECT [--decision ID]`` tests every rule version on the decision's stored facts about a
region (6-digit code), an enterprise or a hotspot and prints, per version, its standing on
the decision date and the first failed test with the value the fact held
(:mod:`ecobrain.reasoning.decisions.why_not`). Without ``--decision`` the latest decision is used.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from ecobrain.api.cli.common import console, fail, graph_store, to_json
from ecobrain.reasoning.decisions.memory import NoMemory
from ecobrain.reasoning.decisions.store import list_decisions
from ecobrain.reasoning.decisions.trace import NoTrace, explain_saved
from ecobrain.reasoning.decisions.why_not import why_not


def _latest_decision(store: Any) -> str:
    _, rows = list_decisions(store, limit=1)
    if not rows:
        raise fail("the graph holds no decision: run `ecobrain decide RUN_DIR` first")
    return str(rows[0]["id"])


def explain(
    target: Annotated[str, typer.Argument(help="a conclusion id (task-…, alert-…, measure-…, "
                                               "advice-…), or with --why-not the subject: a "
                                               "region code, an enterprise id or a hotspot id")],
    why_not_: Annotated[bool, typer.Option(
        "--why-not", help="why no rule (version) fired for the subject")] = False,
    decision: Annotated[str | None, typer.Option(
        help="the decision (default: the latest)")] = None,
    kind: Annotated[str | None, typer.Option(
        help="region, enterprise or hotspot (default: from the id)")] = None,
    rule: Annotated[str | None, typer.Option(help="only the versions of this rule id")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Why a conclusion was made, or (--why-not) why rules did not fire for a subject."""
    if kind not in (None, "region", "enterprise", "hotspot"):
        raise fail(f"--kind {kind}: use region, enterprise or hotspot")
    with graph_store() as store:
        if not why_not_:
            if decision or kind or rule:
                raise fail("--decision, --kind and --rule go with --why-not")
            try:
                ex = explain_saved(store, target)
            except NoTrace as exc:
                raise fail(str(exc)) from exc
            except KeyError as exc:
                raise fail(f"no conclusion {target!r} in the graph (ids look like "
                           "task-…, alert-…, measure-…, advice-…)") from exc
            console.print(to_json(ex.model_dump(mode="json")) if json_out
                          else escape(ex.to_text()), highlight=False, soft_wrap=True)
            return
        did = decision or _latest_decision(store)
        try:
            answer = why_not(store, did, target, kind=kind, rule_id=rule)  # type: ignore[arg-type]
        except NoMemory as exc:
            raise fail(str(exc)) from exc
        except KeyError as exc:
            raise fail(str(exc).strip("'\"")) from exc
    console.print(to_json(answer.model_dump(mode="json")) if json_out
                  else escape(answer.to_text()), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
