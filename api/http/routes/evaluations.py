"""Evaluations of approved decisions (run one on a later inversion, list, read, the report of
a city) and the episode library (a decision's episodes, the analogues of one).

Evaluating takes an unscoped commander key (a decision covers the province); reading takes a
commander key, and a key scoped to regions sees only the tasks and counties of its regions.
The later run's directory is checked like ``POST /runs``'s (run roots, a directory).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.documents.evaluation import render_report
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    DecisionId,
    Message,
    Store,
    forbid_scoped,
    register_errors,
)
from ecobrain.api.http.routes.runs import run_directory
from ecobrain.model_adapters import AdapterError
from ecobrain.reasoning.evaluation.analogues import Analogue, find_analogues
from ecobrain.reasoning.evaluation.episodes import EpisodeSignature, episode, episodes_of
from ecobrain.reasoning.evaluation.evaluation_store import (
    evaluate_decision,
    evaluations_of,
    load_evaluation,
)
from ecobrain.reasoning.evaluation.outcomes import Evaluation, EvaluationSummary
from ecobrain.reasoning.evaluation.plan import NotApproved

router = APIRouter(tags=["command centre"], responses=ERROR_RESPONSES)
Commander = Annotated[Principal, Depends(require("commander"))]
EvaluationId = Annotated[str, PathParam(pattern=r"^eval-[0-9a-f]{16}$",
                                        examples=["eval-3f9a0c1d2b4e5f60"])]
CityCode = Annotated[str, PathParam(pattern=r"^\d{4}00$", examples=["330500"])]
ERRORS = {404: {"model": Message, "description": "unknown id or run directory"},
          409: {"model": Message, "description": "the decision is not approved"},
          422: {"model": Message, "description": "the run has no readable inversion"}}


class EvaluateIn(BaseModel):
    run_dir: str = Field(min_length=1, max_length=4096,
                         description="the later run's directory on the server (its run.json "
                                     "names an inversion output)")

    model_config = {"json_schema_extra": {"examples": [
        {"run_dir": "/data/runs/inv-2026112812"}]}}


class EvaluationListItem(BaseModel):
    id: str
    run_id: str
    days: list[str]
    disagreements: int
    summary: EvaluationSummary


def _scoped(ev: Evaluation, principal: Principal) -> Evaluation:
    if principal.may_act_for(None):
        return ev
    tasks = [t for t in ev.tasks if principal.may_act_for(
        t.region_code, [c for c in (t.city_code,) if c])]
    counties = [c for c in ev.counties if principal.may_act_for(
        c.county_code, [x for x in (c.city_code,) if x])]
    return ev.model_copy(update={"tasks": tasks, "counties": counties})


@router.post("/decisions/{decision_id}/evaluations", response_model=Evaluation,
             responses=ERRORS, summary="Evaluate an approved decision on a later inversion run")
def post_evaluation(decision_id: DecisionId, body: EvaluateIn, principal: Commander,
                    store: Store) -> Evaluation:
    forbid_scoped(principal, "evaluating a decision")
    path = run_directory(body.run_dir)
    try:
        return evaluate_decision(store, decision_id, path)
    except NotApproved as exc:
        raise HTTPException(409, str(exc)) from exc
    except (AdapterError, ValueError, OSError) as exc:
        raise HTTPException(422, f"run_dir: {exc}") from exc


@router.get("/decisions/{decision_id}/evaluations", response_model=list[EvaluationListItem],
            responses=ERRORS, summary="The decision's evaluations")
def list_evaluations(decision_id: DecisionId, _: Commander, store: Store
                     ) -> list[dict[str, Any]]:
    return [{**{k: v for k, v in e.items() if k != "summary_json"},
             "summary": EvaluationSummary.model_validate_json(e["summary_json"])}
            for e in evaluations_of(store, decision_id)]


def _get(store: Any, evaluation_id: str) -> Evaluation:
    ev = load_evaluation(store, evaluation_id)
    if ev is None:
        raise HTTPException(404, f"no evaluation {evaluation_id!r}")
    return ev


@router.get("/evaluations/{evaluation_id}", response_model=Evaluation, responses=ERRORS,
            summary="An evaluation: per task and county, the model's evidence and the reports")
def get_evaluation(evaluation_id: EvaluationId, principal: Commander, store: Store
                   ) -> Evaluation:
    return _scoped(_get(store, evaluation_id), principal)


@router.get("/evaluations/{evaluation_id}/documents/{city_code}", responses={
    **ERRORS, 200: {"content": {"text/html": {"schema": {"type": "string"}},
                                "text/markdown": {"schema": {"type": "string"}}}}},
    response_class=Response, summary="A city's evaluation report (HTML or Markdown)")
def get_report(evaluation_id: EvaluationId, city_code: CityCode, principal: Commander,
               store: Store, fmt: Annotated[Literal["html", "md"], Query(alias="format")]
               = "html") -> Response:
    if not principal.may_act_for(city_code):
        raise HTTPException(403, f"this key does not act for {city_code}")
    ev = _get(store, evaluation_id)
    text = render_report(ev, city_code, fmt)
    if fmt == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


EpisodeId = Annotated[str, PathParam(pattern=r"^ep-[0-9a-z-]{1,40}$",
                                     examples=["ep-b44b28cb21dfa558"])]


@router.get("/decisions/{decision_id}/episodes", response_model=list[EpisodeSignature],
            responses=ERRORS, summary="The decision's pollution episodes with their signatures")
def decision_episodes(decision_id: DecisionId, _: Commander, store: Store
                      ) -> list[EpisodeSignature]:
    return episodes_of(store, decision_id)


@router.get("/episodes/{episode_id}/analogues", response_model=list[Analogue],
            responses=ERRORS, summary="The most similar past episodes: what was done then and "
                                      "how it evaluated")
def analogues(episode_id: EpisodeId, _: Commander, store: Store,
              k: Annotated[int, Query(ge=1, le=50)] = 5) -> list[Analogue]:
    ep = episode(store, episode_id)
    if ep is None:
        raise HTTPException(404, f"no episode {episode_id!r}")
    return find_analogues(store, ep, k)


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)
