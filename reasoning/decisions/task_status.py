"""The closed loop of a task: issued → received → in progress → done, reported by the bureaus.

The source document's loop is *discover → dispatch → feedback → evaluate*: the brain finds a
hotspot or an episode, a task list goes to each city and county, the bureau reports back.
Every task starts ``draft`` (待审核): nothing is dispatched before a commander approves the
decision (:mod:`ecobrain.reasoning.decisions.review`), which makes it ``issued`` (已下发) — or
``held``
(暂缓下发) when its legal grounds need review; a held task is issued later only with a reason.
A bureau moves an issued task one step at a time — ``received`` (we have it), ``in_progress``
(inspecting / acting), ``done`` (with what was found in the note) — and only forwards;
anything else is refused (:class:`TransitionRefused`), so the history reads as what happened.

Each change is a ``(:TaskStatusChange {id, task_id, from, to, note, by, at})`` node linked
``(:Task)-[:HAS_STATUS_CHANGE]->``; the task node carries the current ``status`` (and
``status_at``, ``status_by``, ``status_note``) for filtering. Saving a decision again only
adds to its task nodes' properties (:func:`ecobrain.reasoning.decisions.persist.save_decision`: a
task's
id is derived from its content), so statuses survive a re-run of the same decision, even one
made while a bureau is reporting.

The same write that changes a status increments ``status_version`` on the task and on its
decision: the stamps with which API processes validate the responses they keep (a task, the
decision's task pages and summary), whichever process made the change. The increments read
and write the property in one ``SET``, which both servers do under the node's write lock, so
concurrent changes are never counted once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ecobrain.reasoning.decisions.conclusions import short_hash

STATUSES = ("draft", "held", "issued", "received", "in_progress", "done")
INITIAL = "draft"
NEXT = {"held": "issued", "issued": "received", "received": "in_progress",
        "in_progress": "done"}
LABELS_ZH = {"draft": "待审核", "held": "暂缓下发", "issued": "已下发", "received": "已接收",
             "in_progress": "办理中", "done": "已办结"}


class TaskNotFound(LookupError):
    """A status report for a task the graph does not hold (a 404, not a refused step)."""


class TransitionRefused(RuntimeError):
    """Not an allowed step from the task's current status (HTTP 409)."""


def task_region(store: Any, task_id: str) -> dict[str, Any]:
    """The task's region, its city and status (for checking who may update it)."""
    row = store.read_one(
        "MATCH (t:Task {id: $id}) OPTIONAL MATCH (t)-[:ASSIGNED_TO]->(g:AdminRegion) "
        "OPTIONAL MATCH (p:AdminRegion {code: g.parent_code}) "
        "RETURN t.id AS id, t.region_code AS region_code, g.parent_code AS parent_code, "
        "p.parent_code AS grandparent_code, coalesce(t.status, $initial) AS status, "
        "t.decision_id AS decision_id", {"id": task_id, "initial": INITIAL})
    if row is None:
        raise TaskNotFound(f"no task {task_id!r}")
    row["region_chain"] = [c for c in (row.pop("parent_code"), row.pop("grandparent_code"))
                           if c]
    return row


def update_status(store: Any, task_id: str, to: str, *, by: str, note: str = "",
                  at: str | None = None) -> dict[str, Any]:
    """Move a task one step forward and record the change; returns the change."""
    if to not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES[2:])}")
    current = task_region(store, task_id)
    frm = current["status"]
    if frm == "draft":
        raise TransitionRefused(f"task {task_id} is not issued yet: its decision awaits a "
                                "commander's approval")
    if frm == "held" and to == "issued" and not note.strip():
        raise TransitionRefused(f"task {task_id} is held because its legal grounds need "
                                "review; issuing it takes a reason")
    if NEXT.get(frm) != to:
        allowed = NEXT.get(frm)
        hint = f"the next step is {allowed!r}" if allowed else f"{frm!r} is final"
        raise TransitionRefused(f"task {task_id} is {frm!r}; cannot go to {to!r} ({hint})")
    at = at or dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    change = {"id": "tsc-" + short_hash(task_id, frm, to, at, by, note), "task_id": task_id,
              "from": frm, "to": to, "note": note, "by": by, "at": at}
    # compare-and-set on the old status: two bureaus clicking at once cannot both step
    summary = store.write(
        "MATCH (t:Task {id: $id}) WHERE coalesce(t.status, $initial) = $from "
        "SET t.status = $to, t.status_at = $at, t.status_by = $by, t.status_note = $note "
        "SET t.status_version = coalesce(t.status_version, 0) + 1 "
        "MERGE (c:TaskStatusChange {id: $change.id}) SET c += $change "
        "MERGE (t)-[:HAS_STATUS_CHANGE]->(c) "
        "WITH t MATCH (d:Decision {id: t.decision_id}) "
        "SET d.status_version = coalesce(d.status_version, 0) + 1",
        {"id": task_id, "initial": INITIAL, "from": frm, "to": to, "at": at, "by": by,
         "note": note, "change": change})
    if summary.nodes_created == 0 and summary.properties_set == 0:
        raise TransitionRefused(f"task {task_id} changed meanwhile; read it again")
    return change


def history(store: Any, task_id: str) -> list[dict[str, Any]]:
    if store.read_one("MATCH (t:Task {id: $id}) RETURN t.id AS id", {"id": task_id}) is None:
        raise TaskNotFound(f"no task {task_id!r}")
    rows = store.read("MATCH (t:Task {id: $id})-[:HAS_STATUS_CHANGE]->(c:TaskStatusChange) "
                      "RETURN properties(c) AS c ORDER BY c.at, c.id", {"id": task_id})
    return [r["c"] for r in rows]
