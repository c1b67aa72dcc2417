"""Decisions for the command centre: decisions, tasks, alerts, advice, a task explained, and the
task-list documents per region and format.

Region filters take a GB/T 2260 code: a county is itself, a city (``xxxx00``) includes its
counties, the province (``330000``) everything. A task comes with its explanation — the rule
and version behind it, the facts it matched down to the model findings, and the exact text of
every legal ground with its status on the decision date — read from the decision's stored
trace (:mod:`ecobrain.reasoning.decisions.trace`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ecobrain.api.auth import Principal, require
from ecobrain.api.documents.cache import document_file, ensure_documents
from ecobrain.api.documents.task_list import MEDIA_TYPES
from ecobrain.api.http.cache import cached_json
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    REGION_PATTERN,
    DecisionId,
    Message,
    OptionalId,
    Store,
    TaskId,
    documents_root,
    forbid_other_task,
    forbid_outside,
    register_errors,
)
from ecobrain.reasoning.decisions import store as decision_store
from ecobrain.reasoning.decisions import task_status
from ecobrain.reasoning.decisions.trace import NoTrace, explain_saved_json

router = APIRouter(tags=["command centre"], responses=ERROR_RESPONSES)
COMMANDER = ("commander",)
Commander = Annotated[Principal, Depends(require(*COMMANDER))]
RegionCode = Annotated[str | None, Query(pattern=REGION_PATTERN, description=(
    "GB/T 2260 code: a county, a city (with its counties) or the province"),
    examples=["330100"])]
NOT_FOUND = {404: {"model": Message, "description": "unknown id"}}


class Subject(BaseModel):
    kind: str
    id: str
    name: str | None = None


class TaskOut(BaseModel):
    id: str
    decision_id: str
    run_id: str
    decision_date: str
    region_code: str
    region_name: str | None = None
    priority: int
    deadline: str | None = None
    subject: Subject
    measure_types: list[str]
    actions: list[str] = Field(default_factory=list)
    legal_review_required: bool
    rule_keys: list[str]
    status: Literal["draft", "held", "issued", "received", "in_progress", "done"]
    status_at: str | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "id": "task-475eebb98df26cf8", "decision_id": "dec-4f47909852495af1",
        "run_id": "zj3km-2026112512", "decision_date": "2026-11-25", "region_code": "330105",
        "region_name": "拱墅区", "priority": 90, "deadline": "2026-11-26",
        "subject": {"kind": "enterprise", "id": "SYN-E-330105-0001",
                    "name": "拱墅盛汇能源有限公司"},
        "measure_types": ["StopProduction"],
        "actions": ["拱墅盛汇能源有限公司（D级，工业锅炉）：红色预警期间停产"],
        "legal_review_required": True, "rule_keys": ["task.emergency.grade-d@1"],
        "status": "issued", "status_at": None}]}}


class TaskPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TaskOut]


class TaskDetailOut(TaskOut):
    status_by: str | None = None
    status_note: str | None = None
    conclusion: dict[str, Any] = Field(description="the task as decided: items, reasons, "
                                       "legal grounds with their text, evidence ids")
    explanation: dict[str, Any] | None = Field(
        default=None, description="rule versions and facts behind the task, down to the model "
        "findings; legal grounds with status on the decision date")
    explanation_text: str | None = Field(default=None, description="the same, as text")
    legal_texts: list[dict[str, Any]] = Field(
        description="each cited provision: citation, exact text, status, validity, shown_as "
        "(in_force first, then history: 原依据; missing only when nothing is in force)")


class RegionOut(BaseModel):
    region_code: str
    region_name: str
    alert: dict[str, Any] | None = None
    tasks: int
    tasks_by_priority: dict[str, int]
    tasks_by_status: dict[str, int]
    advice: int


class WarningOut(BaseModel):
    """What limits a decision (ecobrain.model_adapters.run_warnings.RunWarning)."""

    code: str
    message_zh: str
    message: str
    file: str | None = None
    variable: str | None = None
    incomplete: bool = False


class DecisionListItem(BaseModel):
    id: str
    run_id: str
    decision_date: str
    model: str | None = None
    alerts: int
    measures: int
    tasks: int
    advice: int
    legal_review_required: bool
    rule_versions: list[str]
    notes: list[str]
    warnings: list[WarningOut] = Field(
        default_factory=list, description="what limits the decision: a forecast day left out, "
        "a lower bound, a run too short to rule out a higher alert")
    incomplete: bool = Field(default=False, description="the decision does not cover all the "
                             "run was meant to (a warning marked incomplete)")

    model_config = {"json_schema_extra": {"examples": [{
        "id": "dec-4f47909852495af1", "run_id": "zj3km-2026112512",
        "decision_date": "2026-11-25", "model": "CMAQ 5.4", "alerts": 35, "measures": 35,
        "tasks": 1910, "advice": 351, "legal_review_required": True,
        "rule_versions": ["alert.heavy-pollution.red@2"], "notes": []}]}}


class DecisionPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DecisionListItem]


class DecisionOut(DecisionListItem):
    regions: list[RegionOut]
    tasks_by_status: dict[str, int]


class ConclusionOut(BaseModel):
    """An alert or advice as decided (its JSON), with the decision it belongs to."""

    id: str
    kind: str
    decision_id: str
    decision_date: str
    region_code: str
    region_name: str | None = None
    priority: int = 0
    legal_review_required: bool = False
    legal_grounds: list[dict[str, Any]] = Field(default_factory=list)
    reasons: list[dict[str, Any]] = Field(default_factory=list)

    model_config = {"extra": "allow", "json_schema_extra": {"examples": [{
        "id": "alert-1c2d", "kind": "alert", "decision_id": "dec-4f47909852495af1",
        "decision_date": "2026-11-25", "region_code": "330100", "region_name": "杭州市",
        "level": "AlertOrange", "level_label": "橙色预警", "start": "2026-11-26",
        "end": "2026-11-28", "driver": "PM2_5"}]}}


class DocumentListItem(BaseModel):
    region_code: str
    region_name: str
    level: str
    tasks: int
    urls: dict[str, str]


def _page(total: int, limit: int, offset: int, items: list[Any]) -> dict[str, Any]:
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/decisions", response_model=DecisionPage, summary="List decisions (newest first)")
def list_decisions(_: Commander, store: Store,
                   run_id: OptionalId = None,
                   date: Annotated[dt.date | None, Query(description="decision date")] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    total, items = decision_store.list_decisions(
        store, run_id=run_id, date=date.isoformat() if date else None, limit=limit,
        offset=offset)
    return _page(total, limit, offset, items)


# The decision, its task pages and a task are served from bytes kept per worker while the
# graph's stamp is unchanged (ecobrain.api.http.cache): they return a Response, and the
# response_model stays declared for the OpenAPI schema and the one validation on each miss.
# They are `async`: the stamp is one small indexed query, read on the event loop (a thread
# hop cost more CPU than the query); building a body on a miss goes to the thread pool.
# A repeated request is usually answered before routing, by http_cache.CachedReads.
CACHED = {200: {"description": "Successful Response",
               "headers": {"ETag": {"description": "send it back as `If-None-Match`: 304 "
                                    "while unchanged", "schema": {"type": "string"}}}},
          304: {"description": "Not Modified: the `If-None-Match` ETag is still current"}}


@router.get("/decisions/{decision_id}", response_model=DecisionOut,
            summary="A decision: counts, notes, and per region its alert, tasks and advice",
            responses={**NOT_FOUND, **CACHED})
async def get_decision(decision_id: DecisionId, _: Commander, store: Store, request: Request
                       ) -> Response:
    return await cached_json(request, ("decision", decision_id), COMMANDER, DecisionOut,
                             lambda: decision_store.get_decision(store, decision_id))


@router.get("/decisions/{decision_id}/tasks", response_model=TaskPage,
            summary="A decision's tasks, filtered by region, priority and status",
            responses={**NOT_FOUND, **CACHED})
async def decision_tasks(
    decision_id: DecisionId, _: Commander, store: Store, request: Request,
    region: RegionCode = None,
    priority: Annotated[int | None, Query(ge=0, le=100, description="exactly this")] = None,
    min_priority: Annotated[int | None, Query(ge=0, le=100, description="at least this")]
    = None,
    status: Annotated[Literal["draft", "held", "issued", "received", "in_progress", "done"]
                      | None,
                      Query(description="current status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    def page() -> dict[str, Any]:
        total, items = decision_store.decision_tasks(
            store, decision_id, region=region, priority=priority, min_priority=min_priority,
            status=status, limit=limit, offset=offset)
        return _page(total, limit, offset, items)

    return await cached_json(request, ("decision", decision_id), COMMANDER, TaskPage, page)


@router.get("/tasks/{task_id}", response_model=TaskDetailOut,
            summary="A task with its explanation and the text of its legal grounds",
            responses={**NOT_FOUND, **CACHED})
async def get_task(task_id: TaskId, principal: Commander, store: Store, request: Request,
                   explain: Annotated[bool, Query(description="include the explanation")]
                   = True) -> Response:
    """A region-scoped key reads only the tasks of its regions (as their evidence chains)."""
    if principal.regions and "admin" not in principal.roles:
        task = await run_in_threadpool(task_status.task_region, store, task_id)
        forbid_other_task(principal, task, task_id)
    return await cached_json(request, ("task", task_id), COMMANDER, TaskDetailOut,
                             lambda: _task_detail(store, task_id, explain), scoped=True)


def _task_detail(store: Any, task_id: str, explain: bool) -> dict[str, Any]:
    task = decision_store.get_task(store, task_id)
    c = task["conclusion"]
    task["actions"] = [i["text"] for i in c.get("items", [])]
    task["legal_texts"] = [{k: g.get(k) for k in (
        "citation_id", "article_id", "citation", "role", "text", "status", "in_force",
        "shown_as", "regulation_kind", "jurisdiction", "valid_from", "valid_to",
        "repealed_by_title", "repealed_from", "remark_zh", "successors")}
        for g in c.get("legal_grounds", [])]
    if explain:
        try:
            task["explanation"], task["explanation_text"] = explain_saved_json(store, task_id)
        except NoTrace as exc:
            task["explanation_text"] = str(exc)
    return task


@router.get("/alerts", response_model=list[ConclusionOut],
            summary="Alerts by region, decision date, level or decision")
def list_alerts(_: Commander, store: Store, region: RegionCode = None,
                date: Annotated[dt.date | None, Query(description="decision date")] = None,
                level: Annotated[str | None, Query(pattern=r"^[A-Za-z]{1,40}$",
                                                   description="e.g. AlertRed")] = None,
                decision_id: OptionalId = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    return decision_store.alerts(store, region=region, date=date.isoformat() if date else None,
                                 decision_id=decision_id, level=level, limit=limit)


@router.get("/advice", response_model=list[ConclusionOut],
            summary="Control advice for a region on a decision date")
def list_advice(_: Commander, store: Store,
                region: Annotated[str, Query(pattern=REGION_PATTERN, description=(
                    "GB/T 2260 code (a city includes its counties)"), examples=["330100"])],
                date: Annotated[dt.date | None, Query(
                    description="decision date (default: every date)")] = None,
                decision_id: OptionalId = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    return decision_store.advice(store, region=region, date=date.isoformat() if date else None,
                                 decision_id=decision_id, limit=limit)


@router.get("/decisions/{decision_id}/documents", response_model=list[DocumentListItem],
            summary="The task-list documents of a decision (one per city and county with "
                    "tasks)", responses=NOT_FOUND)
def list_documents(decision_id: DecisionId, _: Commander, store: Store) -> list[dict[str, Any]]:
    dec = decision_store.get_decision(store, decision_id)
    names = {r["region_code"]: r["region_name"] for r in dec["regions"]}
    counts: dict[str, int] = {}
    for r in dec["regions"]:
        if r["tasks"]:
            counts[r["region_code"]] = counts.get(r["region_code"], 0) + r["tasks"]
            if not r["region_code"].endswith("00"):
                city = r["region_code"][:4] + "00"
                counts[city] = counts.get(city, 0) + r["tasks"]
    if counts:
        for row in store.read("MATCH (g:AdminRegion) WHERE g.code IN $codes "
                              "RETURN g.code AS code, g.name_zh AS name",
                              {"codes": sorted(counts)}):
            names.setdefault(row["code"], row["name"])
    out = []
    for code in sorted(counts):
        level = "city" if code.endswith("00") else "county"
        out.append({"region_code": code, "region_name": names.get(code) or code,
                    "level": level, "tasks": counts[code],
                    "urls": {f: f"/decisions/{decision_id}/documents/{code}?format={f}"
                             for f in ("html", "md", "docx")}})
    return out


class DocumentsIn(BaseModel):
    regions: list[Annotated[str, Field(pattern=REGION_PATTERN)]] | None = Field(
        default=None, max_length=5000, description="cities and counties (GB/T 2260 codes); "
        "omitted: every city and county with tasks (a region-scoped key must name its regions)")
    formats: list[Literal["html", "md", "docx"]] = Field(
        default_factory=lambda: ["html", "md", "docx"], min_length=1)
    fresh: bool = Field(default=False, description="render again even when kept ones are "
                        "current")
    model_config = {"json_schema_extra": {"examples": [
        {"regions": ["330100", "330102"], "formats": ["html", "docx"]}]}}


class RenderedOut(DocumentListItem):
    alert: str | None = None


@router.post("/decisions/{decision_id}/documents", response_model=list[RenderedOut],
             summary="Render many regions' task lists now, in parallel (kept ones are served)",
             responses=NOT_FOUND)
def render_documents_now(decision_id: DecisionId, body: DocumentsIn, principal: Commander,
                         store: Store, request: Request) -> list[dict[str, Any]]:
    """What the download endpoint does for one region on its first request, for many at once:
    the missing or outdated documents rendered in worker processes, then their URLs."""
    if body.regions is None and principal.regions and "admin" not in principal.roles:
        forbid_outside(principal, "330000", "every region's task lists")
    for code in body.regions or []:
        forbid_outside(principal, code, f"the task list of {code}")
    docs = ensure_documents(store, decision_id, documents_root(request), regions=body.regions,
                            formats=body.formats, fresh=body.fresh, start_method="forkserver")
    return [{"region_code": d.code, "region_name": d.name, "level": d.level, "tasks": d.tasks,
             "alert": d.alert,
             "urls": {f: f"/decisions/{decision_id}/documents/{d.code}?format={f}"
                      for f in body.formats}}
            for d in docs.documents]


_MEDIA = {"html": "text/html", "md": "text/markdown",
          "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@router.get("/decisions/{decision_id}/documents/{region_code}",
            summary="A region's task list as HTML, Markdown or Word",
            response_class=FileResponse,
            responses={200: {"description": "the document",
                             "content": {m: {"schema": {"type": "string",
                                                        "format": "binary"}}
                                         for m in _MEDIA.values()}},
                       **NOT_FOUND})
def get_document(decision_id: DecisionId, region_code: Annotated[str, PathParam(
                     pattern=REGION_PATTERN, description="GB/T 2260 code of a city or county")],
                 principal: Commander, store: Store,
                 request: Request,
                 format: Annotated[Literal["html", "md", "docx"], Query(
                     description="document format")] = "html",
                 fresh: Annotated[bool, Query(description=(
                     "render again (e.g. to show task statuses updated since)"))] = False
                 ) -> FileResponse:
    """Rendered on the first request and kept (``ecobrain.api.documents.cache``): served from
    the documents folder while the decision's review state and task statuses are those it was
    rendered with, rendered again after they change or when `fresh` is set."""

    forbid_outside(principal, region_code, f"the task list of {region_code}")
    path = document_file(store, decision_id, region_code, format, documents_root(request),
                         fresh=fresh)
    return FileResponse(path, media_type=MEDIA_TYPES[format], filename=path.name,
                        content_disposition_type="attachment" if format == "docx"
                        else "inline")


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)

