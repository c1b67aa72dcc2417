"""Task status from the bureaus: the feedback step of discover → dispatch → feedback → evaluate.

``PATCH /tasks/{id}/status`` moves a task one step: issued → received → in_progress → done,
with a note (what was found, what was done). Anything else is 409 with the allowed next step.
Command-centre keys (role ``commander``) may update any task; a key scoped to regions (a city
or county bureau, ``ecobrain api-keys create hz-bureau --role commander --region 330100``)
only the tasks assigned to its regions or to regions inside them (403 otherwise). Every change
is kept (``GET /tasks/{id}/history``) with who and when.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field, field_validator

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    Message,
    Store,
    TaskId,
    forbid_other_task,
    may_act_for_task,
    register_errors,
)
from ecobrain.reasoning.decisions import task_status

router = APIRouter(tags=["bureaus"], responses=ERROR_RESPONSES)
Bureau = Annotated[Principal, Depends(require("commander"))]


class StatusIn(BaseModel):
    status: Literal["received", "in_progress", "done"] = Field(
        description="the next step: received → in_progress → done")
    note: str = Field(default="", max_length=4000,
                      description="what the bureau found or did (kept in the history)")

    @field_validator("note")
    @classmethod
    def _printable(cls, v: str) -> str:
        # The note goes into the graph as a query parameter; a NUL broke the query (a 503).
        if any((ord(c) < 0x20 and c not in "\t\n\r") or ord(c) == 0x7F for c in v):
            raise ValueError("control characters (such as NUL) are not allowed")
        return v

    model_config = {"json_schema_extra": {"examples": [
        {"status": "received", "note": "已接收，安排执法大队现场核查"},
        {"status": "done", "note": "现场核查：VOCs收集设施未密闭，已责令整改"}]}}


class StatusChangeOut(BaseModel):
    id: str
    task_id: str
    from_: str = Field(alias="from")
    to: str
    note: str
    by: str
    at: str

    model_config = {"populate_by_name": True, "json_schema_extra": {"examples": [{
        "id": "tsc-3f0c9a1b2c3d4e5f", "task_id": "task-475eebb98df26cf8", "from": "issued",
        "to": "received", "note": "已接收", "by": "hz-bureau", "at": "2026-11-25T09:30:00+00:00"}]}}


@router.patch("/tasks/{task_id}/status", response_model=StatusChangeOut,
              response_model_by_alias=True,
              summary="Report a task's progress (received → in progress → done)",
              responses={404: {"model": Message, "description": "no such task"},
                         409: {"model": Message, "description": "not the next step"}})
def update_status(task_id: TaskId, body: StatusIn, principal: Bureau, store: Store
                  ) -> dict[str, Any]:
    task = task_status.task_region(store, task_id)
    if not may_act_for_task(principal, task):
        raise HTTPException(403, f"key {principal.name!r} acts for {', '.join(principal.regions)}"
                                 f"; task {task_id} is assigned to {task['region_code']}")
    return task_status.update_status(store, task_id, body.status, by=principal.name,
                                     note=body.note)


@router.get("/tasks/{task_id}/history", response_model=list[StatusChangeOut],
            response_model_by_alias=True, summary="Every status change of a task",
            responses={404: {"model": Message, "description": "no such task"}})
def task_history(task_id: TaskId, principal: Bureau, store: Store) -> list[dict[str, Any]]:
    forbid_other_task(principal, task_status.task_region(store, task_id), task_id)
    return task_status.history(store, task_id)


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)
