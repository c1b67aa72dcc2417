"""Model-run jobs over HTTP: create, list, read and cancel (commander and admin keys).

Thin: :class:`ecobrain.hpc_jobs.tracker.JobTracker` does the work, on the app's graph, with the
jobs configuration of the server (``ECOBRAIN_JOBS_*``; docs/hpc-jobs.md). A request body is a
run request as JSON (the same document ``ecobrain jobs submit`` reads). An invalid request is a
422 listing every problem by field; the same request twice answers 200 with the existing job
(201 when a job is created; ``?force=true`` runs it again). A key scoped to regions may only
ask for scenarios whose factors lie in its regions.

Registration of finished runs is done by ``ecobrain jobs watch`` (a service next to the API);
``GET /jobs/{id}?refresh=true`` polls the scheduler for that job once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import ID_PATTERN
from ecobrain.api.http.store_dependency import get_store
from ecobrain.api.jobs_decide import decide_callback
from ecobrain.hpc_jobs.executors import ExecutorError
from ecobrain.hpc_jobs.request import RequestError, RunRequest
from ecobrain.hpc_jobs.settings import JobsConfigError, jobs_settings
from ecobrain.hpc_jobs.tracker import JobError, JobNotFound, JobTracker
from ecobrain.ontology.geography import regions_by_code
from ecobrain.ontology.graph.store import GraphStore

router = APIRouter(prefix="/jobs", tags=["jobs"])
Commander = Annotated[Principal, Depends(require("commander"))]
Store = Annotated[GraphStore, Depends(get_store)]
JobId = Annotated[str, PathParam(pattern=ID_PATTERN, description="job (= run) id")]


class Problem(BaseModel):
    field: str
    message: str
    line: int | None = None


class JobOut(BaseModel):
    id: str
    kind: str
    model: str
    state: str
    active: bool
    reason: str | None = None
    request_id: str
    request: dict[str, Any]
    executor: str
    job_id: str | None = None
    scheduler_state: str | None = None
    exit_code: str | None = None
    name: str | None = None
    workdir: str | None = None
    output_dir: str | None = None
    submitted_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    error_tail: str | None = None
    outputs_checked: bool = False
    registered: bool = False
    attempt: int = 1
    baseline_run_id: str | None = None
    decision_id: str | None = None
    comparison_id: str | None = None
    followup: dict[str, Any] = Field(default_factory=dict)
    script: str | None = None


class SubmitOut(BaseModel):
    created: bool
    message: str
    job: JobOut


def _tracker(request: Request, store: GraphStore) -> Any:
    settings = getattr(request.app.state, "jobs_settings", None)
    if settings is None:
        try:
            settings = jobs_settings()
        except JobsConfigError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"jobs configuration: {exc}") from exc
    return JobTracker(store, settings, on_registered=decide_callback(store))


def _out(rec: Any, *, script: bool = False) -> JobOut:
    return JobOut(**rec.as_dict(with_script=script))


def _check_scope(principal: Principal, req: RunRequest, doing: str = "ask for") -> None:
    """A region-scoped key may only ask for (or cancel) scenarios whose factors all lie in
    its regions; a run without a scenario is province-wide (and is decided when it finishes),
    so it needs an unscoped key."""
    if not principal.regions or "admin" in principal.roles:
        return
    if req.scenario is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"key {principal.name!r} acts only for "
                            f"{', '.join(principal.regions)}; a {req.kind} run without a "
                            f"scenario is province-wide (needs a key without --region)")

    regions = regions_by_code()
    for f in req.scenario.factors:
        chain, code = [], f.region
        while code in regions and regions[code].parent_code:
            code = regions[code].parent_code  # type: ignore[assignment]
            chain.append(code)
        if not principal.may_act_for(f.region, chain):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"key {principal.name!r} may not {doing} scenarios in region "
                                f"{f.region} (its regions: {', '.join(principal.regions)})")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubmitOut,
             responses={200: {"description": "already submitted: the existing job"},
                        422: {"description": "invalid run request (every problem listed)"}})
def create_job(body: RunRequest, principal: Commander, store: Store, request: Request,
               response: Response,
               force: Annotated[bool, Query(description="run again if already submitted")]
               = False) -> SubmitOut | JSONResponse:
    """Validate a run request and submit it to the configured executor."""
    _check_scope(principal, body)
    tracker = _tracker(request, store)
    try:
        result = tracker.submit(body, source="request body", force=force)
    except RequestError as exc:
        problems = [Problem(field=f or "(request)", message=m, line=line).model_dump()
                    for f, m, line in exc.problems]
        return JSONResponse(status_code=422, content={
            "message": "invalid run request: " + "; ".join(
                f"{p['field']}: {p['message']}" for p in problems),
            "problems": problems})
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return SubmitOut(created=result.created, message=result.message, job=_out(result.record))


@router.get("", response_model=list[JobOut])
def list_jobs(_: Commander, store: Store, request: Request,
              state: Annotated[list[str] | None, Query()] = None,
              kind: str | None = None,
              active: bool | None = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[JobOut]:
    """Jobs, newest first (without their scripts)."""
    recs = _tracker(request, store).list(state=state or None, kind=kind, active=active,
                                         limit=limit)
    return [_out(r) for r in recs]


@router.get("/{job_id}", response_model=JobOut)
def read_job(job_id: JobId, _: Commander, store: Store, request: Request,
             refresh: Annotated[bool, Query(description="poll the scheduler first")] = False
             ) -> JobOut:
    """One job with its request, script, state history and error-log tail."""
    tracker = _tracker(request, store)
    try:
        if refresh:
            tracker.refresh([job_id])
        return _out(tracker.get(job_id), script=True)
    except JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/{job_id}/cancel", response_model=JobOut,
             responses={409: {"description": "the job has already ended"}})
def cancel_job(job_id: JobId, principal: Commander, store: Store, request: Request) -> JobOut:
    """Cancel a pending or running job (scancel, or TERM to a local job); a region-scoped
    key only the scenario jobs of its regions."""
    tracker = _tracker(request, store)
    try:
        _check_scope(principal, tracker.get(job_id).run_request(), "cancel")
        return _out(tracker.cancel(job_id))
    except JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except JobError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ExecutorError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the scheduler: {exc}") from exc


def include(app: FastAPI) -> None:
    app.include_router(router)
