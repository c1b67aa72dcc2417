"""The evidence chain of a task, for investigators (and the command centre): read-only.

task → decision → rule versions → cited articles → model findings → model run → grid cells →
the enterprises registered in those cells, as the nodes and edges that are in the graph, with
the read-only queries that produced them so the investigation can be replayed.

Investigators (and admins) read every chain; commanders read the chains of the tasks they
command — a key scoped to regions only those assigned to its regions (403 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    Message,
    Store,
    TaskId,
    may_act_for_task,
    register_errors,
)
from ecobrain.reasoning.decisions import store as decision_store
from ecobrain.reasoning.decisions import task_status

router = APIRouter(tags=["graph exploration"], responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require("investigator", "commander"))]


class ChainNode(BaseModel):
    id: str
    labels: list[str]
    name: str | None = None


class ChainEdge(BaseModel):
    source: str
    type: str
    target: str


class EvidenceChainOut(BaseModel):
    task_id: str
    nodes: list[ChainNode]
    edges: list[ChainEdge]
    grounds: list[dict[str, Any]]
    counts: dict[str, int] = Field(description="nodes per label")
    truncated: bool = Field(description="more enterprises sit in the cells than were listed")
    queries: dict[str, str] = Field(description="the read-only Cypher behind each part "
                                    "(parameter $id = the task id, $cells = the cell ids)")

    model_config = {"json_schema_extra": {"examples": [{
        "task_id": "task-475eebb98df26cf8",
        "nodes": [{"id": "task-475eebb98df26cf8", "labels": ["Task"], "name": None},
                  {"id": "task.emergency.grade-d@1", "labels": ["Rule"],
                   "name": "D级企业：停产"}],
        "edges": [{"source": "task-475eebb98df26cf8", "type": "MADE_BY",
                   "target": "task.emergency.grade-d@1"}],
        "grounds": [{"article_id": "cn.air-law.2018.art96", "status": "reported_repealed",
                     "citation": "cn.air-law.2018.art96", "role": "basis"}],
        "counts": {"Task": 1, "Rule": 1}, "truncated": False, "queries": {}}]}}


@router.get("/tasks/{task_id}/evidence-chain", response_model=EvidenceChainOut,
            summary="Task → rules → articles → findings → model run → cells → enterprises",
            responses={404: {"model": Message, "description": "no such task"}})
def evidence_chain(task_id: TaskId, principal: Reader, store: Store) -> dict[str, Any]:
    if "investigator" not in principal.roles and "admin" not in principal.roles:
        task = task_status.task_region(store, task_id)
        if not may_act_for_task(principal, task):
            raise HTTPException(403, f"key {principal.name!r} acts for "
                                     f"{', '.join(principal.regions)}; task {task_id} is "
                                     f"assigned to {task['region_code']}")
    return decision_store.evidence_chain(store, task_id)


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)
