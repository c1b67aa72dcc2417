"""A commander's review: approve a draft decision (its tasks are then issued), see what changed
against the decision last approved for the same run, issue a held task with a reason.

Approving takes the ``commander`` role on a key without a region scope (a decision covers the
province; a city bureau's key cannot issue it). Issuing one held task takes a commander key
that acts for the task's region. Conflicts (already approved, an override without a reason, a
task that is not held) are 409 with the reason (:mod:`ecobrain.reasoning.decisions.review`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    DecisionId,
    Message,
    Store,
    TaskId,
    forbid_other_task,
    forbid_scoped,
    register_errors,
)
from ecobrain.reasoning.decisions import review, task_status

router = APIRouter(tags=["command centre"], responses=ERROR_RESPONSES)
Commander = Annotated[Principal, Depends(require("commander"))]
ERRORS = {404: {"model": Message, "description": "unknown id"},
          409: {"model": Message, "description": "not possible in the current state"}}


class ApproveIn(BaseModel):
    note: str = Field(default="", max_length=4000, description="the commander's remarks")
    override_legal_review: bool = Field(
        default=False, description="also issue the tasks whose legal grounds need review")
    reason: str = Field(default="", max_length=4000,
                        description="why they are issued anyway (required with the override)")

    model_config = {"json_schema_extra": {"examples": [
        {"note": "经会商同意下发"},
        {"note": "同意下发", "override_legal_review": True,
         "reason": "省条例第五十五条为现行依据，法务已口头确认"}]}}


class ReviewOut(BaseModel):
    id: str
    run_id: str | None = None
    review_status: str
    approved_by: str | None = None
    approved_at: str | None = None
    approval_note: str | None = None
    legal_override_reason: str | None = None
    tasks_by_status: dict[str, int] = Field(default_factory=dict)

    model_config = {"json_schema_extra": {"examples": [{
        "id": "dec-4f47909852495af1", "run_id": "zj3km-2026112512",
        "review_status": "approved", "approved_by": "duty-commander",
        "approved_at": "2026-11-25T08:10:00+00:00", "approval_note": "经会商同意下发",
        "legal_override_reason": None, "tasks_by_status": {"issued": 1890, "held": 20}}]}}


class TaskChange(BaseModel):
    task_id: str
    region_code: str | None = None
    subject_id: str | None = None
    action: str | None = None
    deadline: str | None = None


class ChangedTask(BaseModel):
    before: TaskChange
    after: TaskChange


class ChangesOut(BaseModel):
    decision_id: str
    compared_with: str | None = Field(
        description="the decision last approved for the same run (None: there is none)")
    added: list[TaskChange]
    removed: list[TaskChange]
    changed: list[ChangedTask]

    model_config = {"json_schema_extra": {"examples": [{
        "decision_id": "dec-5a1b", "compared_with": "dec-4f47909852495af1",
        "added": [], "removed": [], "changed": []}]}}


class IssueIn(BaseModel):
    reason: str = Field(min_length=1, max_length=4000,
                        description="why the held task is issued although its grounds need "
                                    "review")

    model_config = {"json_schema_extra": {"examples": [
        {"reason": "法务审查：省条例第五十五条可作依据"}]}}


@router.post("/decisions/{decision_id}/approve", response_model=ReviewOut, responses=ERRORS,
             summary="Approve a draft decision: its tasks are issued (held if their grounds "
                     "need review)")
def approve(decision_id: DecisionId, body: ApproveIn, principal: Commander, store: Store
            ) -> dict[str, Any]:
    forbid_scoped(principal, "approving a decision")
    return review.approve(store, decision_id, by=principal.name, note=body.note,
                          override_legal_review=body.override_legal_review, reason=body.reason)


@router.get("/decisions/{decision_id}/review", response_model=ReviewOut, responses=ERRORS,
            summary="The decision's review state: draft or approved, by whom and when")
def review_state(decision_id: DecisionId, _: Commander, store: Store) -> dict[str, Any]:
    state = review.review_state(store, decision_id)
    counts = {r["s"]: r["n"] for r in store.read(
        "MATCH (t:Task) WHERE t.decision_id = $id RETURN coalesce(t.status, $draft) AS s, "
        "count(*) AS n ORDER BY s", {"id": decision_id, "draft": review.DRAFT})}
    return {**state, "tasks_by_status": counts}


@router.get("/decisions/{decision_id}/changes", response_model=ChangesOut, responses=ERRORS,
            summary="What changed against the decision last approved for the same run")
def changes(decision_id: DecisionId, _: Commander, store: Store) -> dict[str, Any]:
    return review.changes(store, decision_id)


@router.post("/tasks/{task_id}/issue", responses=ERRORS,
             summary="Issue a held task (its legal grounds need review) with a reason")
def issue_held(task_id: TaskId, body: IssueIn, principal: Commander, store: Store
               ) -> dict[str, Any]:
    forbid_other_task(principal, task_status.task_region(store, task_id), task_id)
    return task_status.update_status(store, task_id, "issued", by=principal.name,
                                     note=body.reason)


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)
