"""What the decision-advice routers share: the graph dependency, error mapping, documents folder.

Errors of the layers below become readable JSON (``{"message": ...}``) with the right status:
unknown ids 404, rule problems 422 (each with line and field), state conflicts 409 (a rule
version that would overlap an active one, a task status step that is not allowed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal
from ecobrain.api.documents.task_list import DocumentError
from ecobrain.api.http.errors import MAX_ECHO
from ecobrain.api.http.store_dependency import get_store
from ecobrain.ontology.graph.config import default_data_dir
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.authoring.rule_store import RuleConflict, RuleInvalid, RuleNotFound
from ecobrain.reasoning.decisions.store import NotFound
from ecobrain.reasoning.decisions.task_status import TaskNotFound, TransitionRefused

Store = Annotated[GraphStore, Depends(get_store)]

# Ids are checked by pattern before any file or graph access: they name folders (documents)
# and go into queries. Every id ecobrain makes fits (dec-…, task-…, run ids, rule ids,
# id@version keys); nothing with a slash, a leading dot or a control character does.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,199}$"
REGION_PATTERN = r"^\d{6}$"
DecisionId = Annotated[str, PathParam(pattern=ID_PATTERN, description="decision id",
                                 examples=["dec-4f47909852495af1"])]
TaskId = Annotated[str, PathParam(pattern=ID_PATTERN, description="task id",
                             examples=["task-475eebb98df26cf8"])]
RunId = Annotated[str, PathParam(pattern=ID_PATTERN, description="model-run id",
                            examples=["zj3km-2026112512"])]
OptionalId = Annotated[str | None, Query(pattern=ID_PATTERN)]


RULE_PROBLEMS = 100


class Message(BaseModel):
    message: str
    problems: list[dict[str, Any]] = Field(default_factory=list)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Message, "description": "missing or unknown API key"},
    403: {"model": Message, "description": "the key's role (or region) does not allow this"},
}


def documents_root(request: Request) -> Path:
    """Where rendered documents are kept: ``app.state.documents_dir``, else
    ``ECOBRAIN_DOCUMENTS_DIR``, else ``DATA_DIR/documents`` (where ``ecobrain decide`` writes)."""
    configured = getattr(request.app.state, "documents_dir", None)
    if configured:
        return Path(configured)
    if env := os.environ.get("ECOBRAIN_DOCUMENTS_DIR"):
        return Path(env)

    return default_data_dir() / "documents"


def problem_dicts(problems: Any) -> list[dict[str, Any]]:
    return [{"message": p.message, "line": p.line, "field": p.field,
             "severity": p.severity} for p in problems]


def _json(status: int, message: str, problems: list[dict[str, Any]] | None = None
          ) -> JSONResponse:
    body: dict[str, Any] = {"message": message}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(status_code=status, content=body)


def register_errors(app: FastAPI) -> None:
    """Exception handlers for the reasoning and document errors (idempotent)."""
    if getattr(app.state, "_decision_errors", False):
        return
    app.state._decision_errors = True

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return _json(404, str(exc).strip("'\""))

    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        return _json(409, str(exc))

    async def invalid(request: Request, exc: RuleInvalid) -> JSONResponse:  # type: ignore[override]
        # Bounded like every 422 (http_errors): a 200 kB rule text with a problem per line
        # gets the first RULE_PROBLEMS, each message cut at MAX_ECHO * 2 characters
        # (/rules/validate lists them all).
        probs = [{**p, "message": p["message"][:MAX_ECHO * 2]}
                 for p in problem_dicts(exc.problems)]
        first = "; ".join(_line(p) for p in probs[:5])
        return _json(422, f"{len(probs)} problem(s): {first}", probs[:RULE_PROBLEMS])

    for cls in (NotFound, DocumentError, RuleNotFound, TaskNotFound):
        app.add_exception_handler(cls, not_found)
    for cls in (RuleConflict, TransitionRefused):
        app.add_exception_handler(cls, conflict)
    app.add_exception_handler(RuleInvalid, invalid)  # type: ignore[arg-type]


def _line(p: dict[str, Any]) -> str:
    where = "line " + str(p["line"]) if p.get("line") else ""
    if p.get("field"):
        where += (" " if where else "") + f"[{p['field']}]"
    return f"{where}: {p['message']}" if where else p["message"]


def may_act_for_task(principal: Principal, task: dict[str, Any]) -> bool:
    return principal.may_act_for(task["region_code"], task.get("region_chain", ()))


def region_chain(code: str) -> list[str]:
    """The regions a GB/T 2260 code lies in, from its digits: a county's city and province."""
    return [c for c in (code[:4] + "00", code[:2] + "0000") if c != code]


def forbid_outside(principal: Principal, region_code: str, what: str,
                   chain: Any = None) -> None:
    """403 unless the key acts for `region_code` (or a region it lies in); `what` names the
    thing asked for in the message."""
    if not principal.may_act_for(region_code, region_chain(region_code) if chain is None
                                 else chain):
        raise HTTPException(403, f"key {principal.name!r} acts for "
                                 f"{', '.join(principal.regions)}, not for {what}")


def forbid_other_task(principal: Principal, task: dict[str, Any], task_id: str) -> None:
    """403 unless the key acts for the task's region (`task` from task_status.task_region)."""
    forbid_outside(principal, task["region_code"],
                   f"task {task_id} (assigned to {task['region_code']})",
                   task.get("region_chain", ()))


def forbid_scoped(principal: Principal, what: str) -> None:
    """403 for a region-scoped key: `what` is province-wide."""
    if principal.regions and "admin" not in principal.roles:
        raise HTTPException(403, f"key {principal.name!r} acts only for "
                                 f"{', '.join(principal.regions)}; {what} is province-wide "
                                 "(needs a key without --region)")
