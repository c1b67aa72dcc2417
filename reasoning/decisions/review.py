"""A commander's review: a decision is a draft until approved, and only then are its tasks issued.

The engine's output is advice to the command centre, not yet an order. Every decision is saved
as a **draft** (``review_status`` unset or ``draft``; its tasks ``draft``, 待审核). A commander
approves it (API ``POST /decisions/{id}/approve``, CLI ``ecobrain decisions approve``), which
records who, when and why, and in the same write issues its tasks: ``draft`` → ``issued``
(已下发). A task whose legal grounds need review (no ground in force on the decision date,
``legal_review_required``) is **held** (待法律审查) instead, unless the commander overrides with a
reason — recorded on the decision and in each such task's history. A held task can be issued
later, one at a time, with a reason
(:func:`ecobrain.reasoning.decisions.task_status.update_status`).

Decision ids are derived from their content: deciding the same run again with the same result
is the same decision (its approval stands); a different result is a new decision, a draft, and
:func:`changes` shows what differs from the decision last approved for the same run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.conclusions import short_hash
from ecobrain.reasoning.decisions.persist import revision_statement
from ecobrain.reasoning.decisions.store import NotFound
from ecobrain.reasoning.decisions.task_status import TransitionRefused

DRAFT = "draft"
APPROVED = "approved"


class ReviewRefused(TransitionRefused):
    """Not approvable as asked (already approved; an override without a reason): HTTP 409."""


def review_state(store: GraphStore, decision_id: str) -> dict[str, Any]:
    row = store.read_one(
        "MATCH (d:Decision {id: $id}) RETURN d.id AS id, d.run_id AS run_id, "
        "coalesce(d.review_status, $draft) AS review_status, d.approved_by AS approved_by, "
        "d.approved_at AS approved_at, d.approval_note AS approval_note, "
        "d.legal_override_reason AS legal_override_reason", {"id": decision_id, "draft": DRAFT})
    if row is None:
        raise NotFound(f"no decision {decision_id!r}")
    return row


_ISSUE = (
    "MATCH (t:Task) WHERE t.decision_id = $id AND coalesce(t.status, $draft) = $draft "
    "WITH t, CASE WHEN coalesce(t.legal_review_required, false) AND NOT $override "
    "THEN 'held' ELSE 'issued' END AS to "
    "SET t.status = to, t.status_at = $at, t.status_by = $by, "
    "t.status_note = CASE WHEN to = 'held' THEN $held_note "
    "WHEN coalesce(t.legal_review_required, false) THEN $override_note ELSE $note END, "
    "t.status_version = coalesce(t.status_version, 0) + 1 "
    "MERGE (c:TaskStatusChange {id: 'tsc-' + $key + '-' + t.id}) "
    "SET c.task_id = t.id, c.from = $draft, c.to = to, c.note = t.status_note, c.by = $by, "
    "c.at = $at "
    "MERGE (t)-[:HAS_STATUS_CHANGE]->(c)"
)
_APPROVE = (
    "MATCH (d:Decision {id: $id}) WHERE coalesce(d.review_status, $draft) = $draft "
    "SET d.review_status = $approved, d.approved_by = $by, d.approved_at = $at, "
    "d.approval_note = $note, d.legal_override_reason = $override_reason, "
    "d.status_version = coalesce(d.status_version, 0) + 1"
)


def approve(store: GraphStore, decision_id: str, *, by: str, note: str = "",
            override_legal_review: bool = False, reason: str = "",
            at: str | None = None) -> dict[str, Any]:
    """Approve a draft decision and issue its tasks (see the module docstring)."""
    state = review_state(store, decision_id)
    if state["review_status"] == APPROVED:
        raise ReviewRefused(f"decision {decision_id} was approved already by "
                            f"{state['approved_by']} at {state['approved_at']}")
    if override_legal_review and not reason.strip():
        raise ReviewRefused("issuing tasks whose legal grounds need review takes a reason")
    at = at or dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    params = {
        "id": decision_id, "draft": DRAFT, "approved": APPROVED, "by": by, "at": at,
        "note": note, "override": override_legal_review,
        "override_reason": reason if override_legal_review else None,
        "override_note": f"审批下发（法律依据待审查，经指挥人员决定下发：{reason}）",
        "held_note": "暂缓下发：法律依据待审查，须法务审查或指挥人员说明理由后下发",
        "key": short_hash(decision_id, by, at)}
    with store.atomic():
        approved = store.write(_APPROVE, params)
        if approved.properties_set == 0:
            raise ReviewRefused(f"decision {decision_id} changed meanwhile; read it again")
        store.write(_ISSUE, params)
        store.write(*revision_statement(decision_id))
    counts = {r["s"]: r["n"] for r in store.read(
        "MATCH (t:Task) WHERE t.decision_id = $id RETURN t.status AS s, count(*) AS n "
        "ORDER BY s",
        {"id": decision_id})}
    return {**review_state(store, decision_id), "tasks_by_status": counts}


_TASK_KEYS = ("MATCH (t:Task) WHERE t.decision_id = $id RETURN t.id AS id, "
              "t.subject_id AS subject, t.region_code AS region, t.measure_types AS measures, "
              "t.actions AS actions, t.deadline AS deadline")


def _keyed(store: GraphStore, decision_id: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in store.read(_TASK_KEYS, {"id": decision_id}):
        key = (r["region"] or "", r["subject"] or "", ",".join(sorted(r["measures"] or [])))
        r["action"] = "；".join(r.pop("actions") or [])
        out[key] = r
    return out


def changes(store: GraphStore, decision_id: str) -> dict[str, Any]:
    """What this decision changes against the one last approved for the same run: tasks
    added, removed and changed (same region, subject and measures; other text or deadline)."""
    state = review_state(store, decision_id)
    previous = store.read_one(
        "MATCH (d:Decision) WHERE d.run_id = $run AND d.id <> $id AND d.review_status = "
        "$approved RETURN d.id AS id, d.approved_at AS at ORDER BY d.approved_at DESC, d.id "
        "LIMIT 1", {"run": state["run_id"], "id": decision_id, "approved": APPROVED})
    if previous is None:
        return {"decision_id": decision_id, "compared_with": None, "added": [], "removed": [],
                "changed": []}
    now, before = _keyed(store, decision_id), _keyed(store, previous["id"])

    def brief(r: dict[str, Any]) -> dict[str, Any]:
        return {"task_id": r["id"], "region_code": r["region"], "subject_id": r["subject"],
                "action": r["action"], "deadline": r["deadline"]}

    changed = [{"before": brief(before[k]), "after": brief(now[k])}
               for k in sorted(now.keys() & before.keys())
               if (now[k]["action"], now[k]["deadline"]) !=
               (before[k]["action"], before[k]["deadline"])]
    return {"decision_id": decision_id, "compared_with": previous["id"],
            "added": [brief(now[k]) for k in sorted(now.keys() - before.keys())],
            "removed": [brief(before[k]) for k in sorted(before.keys() - now.keys())],
            "changed": changed}
