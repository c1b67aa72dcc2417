""""Why not" over HTTP: which rule versions a decision considered for a region, enterprise or
hotspot, and for each the first test that failed with the value the fact held.

The answer is computed from the decision's stored working memory (every fact the engine saw)
and the graph's current rule base, so it also shows drafts and versions not in force on the
decision date with their standing. Commanders and experts may ask; a region-scoped key asks
about regions it acts for (enterprises and hotspots are answered to unscoped keys).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from pydantic import ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    ID_PATTERN,
    DecisionId,
    Message,
    Store,
    forbid_outside,
    forbid_scoped,
)
from ecobrain.reasoning.decisions.memory import NoMemory
from ecobrain.reasoning.decisions.why_not import SubjectKind, WhyNot, why_not

router = APIRouter(tags=["explanations"], responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require("commander", "expert"))]


class WhyNotOut(WhyNot):
    text: str = Field(description="the same answer as plain text (Chinese)")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "decision_id": "dec-92b66d0aaffa3048", "decision_date": "2026-01-10",
        "subject": "330106", "subject_kind": "region", "subject_facts": 6,
        "not_about_subject": 0, "notes": [], "text": "为什么没有触发：地区 330106 …",
        "verdicts": [{
            "key": "alert.heavy-pollution.orange@2", "rule_id": "alert.heavy-pollution.orange",
            "version": 2, "title": "橙色预警（PM2.5主导，2024年分级）", "status": "active",
            "effective_from": "2024-01-23", "effective_to": None, "in_force": True,
            "on_date": "当日生效", "outcome": "failed", "matched": {}, "conclusions": [],
            "failure": {"block": 0, "alias": "a", "fact_type": "alert_assessment",
                        "condition": "(longest_run_over_200 >= 2 or longest_run_over_150 >= 3)"
                                     " and driver == PM2_5",
                        "fact_id": "aa.run-test-001.330106", "bound": {}, "candidates": 1,
                        "reason": "", "failed": {
                            "test": "longest_run_over_200 >= 2 or longest_run_over_150 >= 3",
                            "alternatives": [
                                {"test": "longest_run_over_200 >= 2",
                                 "field": "longest_run_over_200", "saw": 0},
                                {"test": "longest_run_over_150 >= 3",
                                 "field": "longest_run_over_150", "saw": 0}]}}}]}]})


@router.get("/decisions/{decision_id}/why-not", response_model=WhyNotOut,
            summary="Why no rule (version) fired for a region, enterprise or hotspot",
            responses={404: {"model": Message, "description": "no such decision"},
                       409: {"model": Message, "description": "the decision was saved "
                             "without its working memory (decide the run again)"}})
async def get_why_not(
        decision_id: DecisionId, principal: Reader, store: Store,
        subject: Annotated[str, Query(pattern=ID_PATTERN, description=(
            "a region code (330106), an enterprise id or a hotspot id"),
            examples=["330106"])],
        kind: Annotated[SubjectKind | None, Query(description=(
            "what the subject is (default: a 6-digit code is a region, an id held as a "
            "hotspot_id a hotspot, else an enterprise)"))] = None,
        rule: Annotated[str | None, Query(pattern=ID_PATTERN, description=(
            "only the versions of this rule id"))] = None) -> dict[str, Any]:
    if kind == "region" or (kind is None and subject.isdigit() and len(subject) == 6):
        forbid_outside(principal, subject, f"region {subject}")
    else:
        forbid_scoped(principal, "an answer about an enterprise or hotspot")
    try:
        answer = await run_in_threadpool(why_not, store, decision_id, subject, kind=kind,
                                         rule_id=rule)
    except NoMemory as exc:
        raise HTTPException(409, str(exc)) from None
    except KeyError as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    return {**answer.model_dump(mode="json"), "text": answer.to_text()}


def include(app: FastAPI) -> None:
    app.include_router(router)
