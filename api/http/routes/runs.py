"""Model runs for the command centre: register a run and decide on it, list and read runs.

``POST /runs`` runs what ``ecobrain decide`` runs (:func:`ecobrain.reasoning.decisions.run_decision.
decide_run`), synchronously — a 15-day province run takes seconds — and answers with the
decision's summary and ids (and, if asked, where its task-list documents are). The same run
posted again gives the same decision (``existed: true``), never a duplicate.

``run_dir`` is a directory on the API server (the HPC outputs are mounted there). When
``ECOBRAIN_RUN_ROOTS`` is set (paths separated by ``:``), only directories inside one of them
are accepted, and the files its run.json names must lie inside the directory (or a root).
Only keys without a region may decide: a decision covers the whole province.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.documents.cache import ensure_documents
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    Message,
    RunId,
    Store,
    documents_root,
    forbid_scoped,
    register_errors,
)
from ecobrain.model_adapters import AdapterError
from ecobrain.model_adapters.files.run_paths import check_path_text, run_roots, within
from ecobrain.reasoning.decisions import store as decision_store
from ecobrain.reasoning.decisions.run_decision import decide_run
from ecobrain.reasoning.language.errors import RuleError

router = APIRouter(tags=["command centre"], responses=ERROR_RESPONSES)
Commander = Annotated[Principal, Depends(require("commander"))]

Format = Literal["html", "md", "docx"]


class RunIn(BaseModel):
    run_dir: str = Field(min_length=1, max_length=4096,
                         description="model-run directory (with run.json) on the server")
    decision_date: dt.date | None = Field(
        default=None, description="decide as of this day (default: the run's initialisation "
        "day); rule versions and legal grounds as in force that day")
    render_documents: bool = Field(default=False,
                                   description="also render the task lists of every region")
    formats: list[Format] = Field(default_factory=lambda: ["html", "md", "docx"],
                                  min_length=1, description="document formats to render")

    model_config = {"json_schema_extra": {"examples": [
        {"run_dir": "/data/runs/zj3km-2026112512", "render_documents": True,
         "formats": ["html", "docx"]},
        {"run_dir": "/data/runs/zj3km-2026112512", "decision_date": "2026-11-25"}]}}


class DecisionSummaryOut(BaseModel):
    id: str
    run_id: str
    decision_date: str
    alerts: int
    measures: int
    tasks: int
    advice: int
    legal_review_required: bool
    rule_versions: int
    warnings: list[str] = Field(default_factory=list,
                                description="what limits the decision (Chinese, as in documents)")
    incomplete: bool = False


class DocumentOut(BaseModel):
    region_code: str
    region_name: str
    level: str
    tasks: int
    alert: str | None = None
    files: dict[str, str] = Field(description="format (or 'map', 'aqi') -> file name")
    urls: dict[str, str] = Field(default_factory=dict,
                                 description="format -> API path of the document")


class RunDecidedOut(BaseModel):
    run_id: str
    run_dir: str
    model: str | None = None
    existed: bool = Field(description="the same decision was already in the graph")
    repaired: int = Field(default=0, description="nodes and relationships of that decision "
                          "that were missing (a lost trace, say) and were restored")
    rule_source: str
    review_status: str = Field(default="draft", description="draft until a commander approves "
                               "it (POST /decisions/{id}/approve); an approved decision decided "
                               "again with the same result stays approved")
    decision: DecisionSummaryOut
    timings: dict[str, float]
    findings: dict[str, int]
    documents: list[DocumentOut] | None = None
    documents_folder: str | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "run_id": "zj3km-2026112512", "run_dir": "/data/runs/zj3km-2026112512",
        "model": "CMAQ 5.4", "existed": False, "rule_source": "graph (38 active rule versions)",
        "decision": {"id": "dec-4f47909852495af1", "run_id": "zj3km-2026112512",
                     "decision_date": "2026-11-25", "alerts": 35, "measures": 35,
                     "tasks": 1910, "advice": 351, "legal_review_required": True,
                     "rule_versions": 33},
        "timings": {"findings_s": 4.1, "decide_s": 2.7, "save_s": 2.6, "total_s": 9.4},
        "findings": {"daily_aqi": 306, "episodes": 78, "hotspots": 30}}]}}


class RunOut(BaseModel):
    id: str
    model: str | None = None
    init_time: str | None = None
    run_dir: str | None = None
    days: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    state: str | None = Field(default=None, description="job state, for runs made by a job")
    output_dir: str | None = None
    decisions: list[str] = Field(default_factory=list)

    model_config = {"json_schema_extra": {"examples": [{
        "id": "zj3km-2026112512", "model": "CMAQ 5.4", "init_time": "2026-11-25T12:00:00+08:00",
        "run_dir": "/data/runs/zj3km-2026112512", "days": ["2026-11-26", "2026-11-27"],
        "kinds": ["forecast", "inversion", "attribution", "regime"],
        "decisions": ["dec-4f47909852495af1"]}]}}


class RunPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[RunOut]


def run_directory(text: str) -> Path:
    """`run_dir` checked before it is opened: a path this server can have (422), inside the
    run roots when they are set (403), a directory (404). The run's files are confined to it
    (and the roots) by :func:`ecobrain.model_adapters.files.run_paths.confined_file`."""
    if why := check_path_text(text):
        raise HTTPException(422, f"run_dir: {why}")
    try:
        path = Path(text).expanduser().resolve()
        roots = run_roots()
        if roots and not within(path, roots):
            raise HTTPException(403, f"run_dir {path} is outside the allowed run roots "
                                     "(ECOBRAIN_RUN_ROOTS)")
        if not path.is_dir():
            raise HTTPException(404, f"run_dir: no such directory on the server: {text}")
    except OSError as exc:
        raise HTTPException(422, f"run_dir: {exc.strerror or exc}") from exc
    return path


def document_urls(decision_id: str, code: str, files: dict[str, str]) -> dict[str, str]:
    return {f: f"/decisions/{decision_id}/documents/{code}?format={f}" for f in files
            if f in ("html", "md", "docx")}


@router.post("/runs", response_model=RunDecidedOut, summary="Register a model run and decide",
             responses={404: {"model": Message, "description": "no such run directory"},
                        409: {"model": Message, "description": "the rule base does not compile"},
                        422: {"model": Message, "description": "bad body, or the run's files "
                              "are not readable model output (the file and variable named)"}})
def post_run(body: RunIn, principal: Commander, store: Store, request: Request) -> dict[str, Any]:
    """Findings → rules → a decision saved in the graph, linked to its ModelRun; the same run
    posted again gives the same decision. With `render_documents`, the task lists of every
    city and county with tasks are rendered too."""
    forbid_scoped(principal, "a decision on a model run")
    path = run_directory(body.run_dir)
    try:
        outcome = decide_run(store, path, on=body.decision_date)
    except AdapterError as exc:
        raise HTTPException(422, f"run_dir: {exc}") from exc
    except RuleError as exc:
        raise HTTPException(409, f"the rule base does not compile: {exc}") from exc
    except (ValueError, OSError) as exc:
        raise HTTPException(422, f"run_dir: {exc}") from exc
    out: dict[str, Any] = {
        "run_id": outcome.run_id, "run_dir": outcome.run_dir, "model": outcome.model,
        "existed": outcome.existed, "repaired": outcome.repaired,
        "rule_source": outcome.rule_source, "review_status": outcome.review_status,
        "decision": outcome.decision.summary(), "timings": outcome.timings,
        "findings": outcome.findings}
    if body.render_documents:
        docs = ensure_documents(store, outcome.decision_id, documents_root(request),
                                formats=body.formats, workers=1)
        out["documents_folder"] = str(docs.folder)
        out["documents"] = [{"region_code": d.code, "region_name": d.name, "level": d.level,
                             "tasks": d.tasks, "alert": d.alert, "files": d.files,
                             "urls": document_urls(outcome.decision_id, d.code, d.files)}
                            for d in docs.documents]
    return out


@router.get("/runs", response_model=RunPage, summary="List model runs (newest first)")
def list_runs(_: Commander, store: Store,
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    total, items = decision_store.list_runs(store, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


@router.get("/runs/{run_id}", response_model=RunOut, summary="A model run and its decisions",
            responses={404: {"model": Message, "description": "no such run"}})
def get_run(run_id: RunId, _: Commander, store: Store) -> dict[str, Any]:
    return decision_store.get_run(store, run_id)


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)
