"""Decision tables as spreadsheets, and vocabulary as data, for domain experts.

- ``POST /rules/tables/export``: one table of a submitted rule file as CSV or XLSX;
- ``POST /rules/tables``: save a new table version (the rule versions of its rows, together,
  as drafts: each is activated after its impact report, like a single rule);
- ``POST /rules/tables/grid``: a table as the rule editor's grid (columns, rows of text
  cells, hit policy), and with the edited grid, the text with the grid's rows (and version)
  written back — nothing saved;
- ``POST /rules/tables/import``: a sheet's rows put back into the rule file's text, with the
  full check report (gaps, overlaps, rows that never match, cell types against the graph's
  concepts, cited articles). Nothing is saved: the expert saves the returned text as a new
  version (``POST /rules``) once it is clean;
- ``GET/POST /vocabulary/{kind}``: the terms of a kind; a new term (a measure type ...)
  validated against the ontology's kinds and written as graph data, audited.

The static verification of a table is also part of ``POST /rules/validate``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Response, status
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import ERROR_RESPONSES, Store, problem_dicts
from ecobrain.api.http.routes.rules import RuleVersionOut, SaveIn
from ecobrain.kb_loaders.semantics.vocabulary import (
    KINDS,
    NewTerm,
    VocabularyError,
    add_term,
    terms,
)
from ecobrain.reasoning.authoring.rule_store import RuleInvalid, save_table_version
from ecobrain.reasoning.authoring.table_edit import import_rows, load_text
from ecobrain.reasoning.authoring.table_grid import Grid, read_grid, write_grid
from ecobrain.reasoning.authoring.table_io import find_table, to_csv, to_xlsx
from ecobrain.reasoning.language.errors import RuleError

router = APIRouter(tags=["rule authoring"], responses=ERROR_RESPONSES)
Expert = Annotated[Principal, Depends(require("expert"))]
Reader = Annotated[Principal, Depends(require("expert", "investigator"))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TableIn(BaseModel):
    yaml: str = Field(min_length=1, max_length=400_000, description="the rule file's text")
    table: str = Field(description="table id, e.g. task.emergency.by-grade")
    version: int | None = Field(default=None, ge=1, description="default: the highest")


class ExportIn(TableIn):
    format: Literal["csv", "xlsx"] = "csv"

    model_config = {"json_schema_extra": {"examples": [{
        "yaml": "tables:\n  - id: task.emergency.by-grade\n    ...", "table":
        "task.emergency.by-grade", "format": "xlsx"}]}}


class ImportIn(TableIn):
    sheet_name: str = Field(description="file name of the sheet: *.csv or *.xlsx",
                            pattern=r"(?i)^[^/\\]{1,200}\.(csv|xlsx)$")
    sheet_base64: str = Field(max_length=8_000_000, description="the sheet's bytes, base64")

    model_config = {"json_schema_extra": {"examples": [{
        "yaml": "tables:\n  - id: task.emergency.by-grade\n    ...",
        "table": "task.emergency.by-grade", "sheet_name": "grades.csv",
        "sheet_base64": "77u/aWQsZ3JhZGUsbWVhc3VyZV90eXBlCg=="}]}}


class ImportOut(BaseModel):
    ok: bool
    table: str
    rows: int
    yaml: str = Field(description="the rule file with the sheet's rows (save it as a new "
                      "version when ok)")
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


class GridIn(BaseModel):
    yaml: str = Field(min_length=1, max_length=400_000,
                      description="a rule file's text, or the one table a version page shows")
    table: str | None = Field(default=None, description="table id (default: the only one)")
    version: int | None = Field(default=None, ge=1, description="default: the highest")
    columns: list[str] | None = Field(default=None, description="the grid's column names; "
                                      "with rows: write the grid back into the text")
    rows: list[list[str]] | None = Field(default=None, max_length=2000,
                                         description="the grid's rows, one text per column")
    new_version: int | None = Field(default=None, ge=1, description="the version to save as")

    model_config = {"json_schema_extra": {"examples": [{
        "yaml": "id: alert.heavy-pollution.grading\nversion: 2\n...",
        "columns": ["id", "priority", "driver", "days_over_200", "level"],
        "rows": [["alert.heavy-pollution.yellow", "70", "PM2_5", ">= 2", "AlertYellow"]],
        "new_version": 3}]}}


class GridColumn(BaseModel):
    name: str
    kind: Literal["meta", "input", "output"]
    label: str


class GridOut(BaseModel):
    table: str
    version: int
    title: str
    hit_policy: str
    fact: str
    columns: list[GridColumn]
    rows: list[list[str]]
    yaml: str = Field(description="the text with the grid's rows (validate, then save it "
                      "with POST /rules/tables)")


class TermIn(BaseModel):
    id: str = Field(description="e.g. RestrictShipEmissions")
    parent: str = Field(description="a concept of the same kind, e.g. EmergencyMeasure")
    label_zh: str
    label_en: str
    comment_zh: str | None = None
    aliases: list[str] = Field(default_factory=list)

    model_config = {"json_schema_extra": {"examples": [{
        "id": "ShoreSidePower", "parent": "EmergencyMeasure", "label_zh": "靠港船舶使用岸电",
        "label_en": "shore-side power for berthed ships"}]}}


class TermOut(BaseModel):
    id: str
    label_zh: str | None = None
    label_en: str | None = None
    parents: list[str] = Field(default_factory=list)
    origin: str = Field(default="ontology", description="ontology (the OWL file) or expert")
    added_by: str | None = None
    added_at: str | None = None
    labels: list[str] | None = None


def _loaded(body: TableIn) -> Any:
    try:
        return load_text(body.yaml, "submitted.yaml")
    except RuleError as exc:
        raise RuleInvalid(exc.problems) from None


@router.post("/rules/tables/export", summary="A decision table as a CSV or XLSX sheet",
             response_class=Response,
             responses={200: {"content": {
                 "text/csv": {"schema": {"type": "string"}},
                 XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def export_table(body: ExportIn, _: Expert) -> Response:
    try:
        _, table = find_table(_loaded(body), body.table, body.version)
    except RuleError as exc:
        raise RuleInvalid(exc.problems) from None
    name = f"{table.id}@{table.version}.{body.format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if body.format == "xlsx":
        return Response(to_xlsx(table), media_type=XLSX, headers=headers)
    return Response(to_csv(table), media_type="text/csv; charset=utf-8", headers=headers)


def _grid_out(g: Grid) -> dict[str, Any]:
    return {"table": g.table, "version": g.version, "title": g.title, "hit_policy": g.hit_policy,
            "fact": g.fact, "columns": [vars(c) for c in g.columns], "rows": g.rows,
            "yaml": g.yaml}


@router.post("/rules/tables/grid", response_model=GridOut,
             summary="A decision table as an editable grid; an edited grid back into its text")
def table_grid(body: GridIn, _: Expert) -> dict[str, Any]:
    """Without ``rows``: the table's grid. With ``columns`` and ``rows``: the table's rows
    replaced by the grid's (read like a sheet's, so a bad cell names its row and column), the
    version set to ``new_version``; the rest of the text is kept. Nothing is saved."""
    try:
        if body.rows is None:
            return _grid_out(read_grid(body.yaml, body.table, body.version))
        if not body.columns:
            raise HTTPException(422, "rows need their columns")
        return _grid_out(write_grid(body.yaml, body.columns, body.rows, table_id=body.table,
                                    version=body.version, new_version=body.new_version))
    except RuleError as exc:
        raise RuleInvalid(exc.problems) from None


@router.post("/rules/tables/import", response_model=ImportOut,
             summary="A sheet's rows into the rule file, checked (nothing saved)")
def import_table(body: ImportIn, _: Expert, store: Store) -> dict[str, Any]:
    try:
        sheet = base64.b64decode(body.sheet_base64, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422,
                            "sheet_base64 is not base64") from None
    try:
        result = import_rows(body.yaml, "submitted.yaml", body.table, body.sheet_name, sheet,
                             version=body.version, store=store)
    except RuleError as exc:
        raise RuleInvalid(exc.problems) from None
    return {"ok": result.ok, "table": result.table, "rows": result.rows, "yaml": result.text,
            "errors": problem_dicts(result.report.errors),
            "warnings": problem_dicts(result.report.warnings)}


@router.post("/rules/tables", response_model=list[RuleVersionOut],
             status_code=status.HTTP_201_CREATED,
             summary="Save a new decision-table version: the rule versions its rows make",
             responses={409: {"description": "a version of one of its rules exists"},
                        428: {"description": "activate: true (a row's version is activated "
                              "after its impact report)"}})
def save_table(body: SaveIn, principal: Expert, store: Store) -> list[dict[str, Any]]:
    """One table (a rule file with one item of ``tables:``), validated and verified, its
    test cases passing; the rows' versions are saved together as drafts, each audited. Like a
    single rule, a row's version decides only once activated after its impact report (a
    table saved active would skip that gate)."""
    if body.activate:
        raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED, (
            "a new table version is saved as a draft and its rows' versions are activated "
            "after their impact reports: save it (activate: false), POST "
            "/rules/{rule_id}/versions/{version}/impact for a row's version, review the "
            "report, then POST …/activate with {\"impact_report\": \"<its id>\"}"))
    out = save_table_version(store, body.yaml, by=principal.name, activate=False)
    for row in out:
        row.setdefault("warnings", []).append(
            "saved as a draft: activate it after reviewing its impact report "
            f"(POST /rules/{row['rule_id']}/versions/{row['version']}/impact)")
    return out


KindPath = Annotated[str, Path(description=f"one of {', '.join(KINDS)}")]


@router.get("/vocabulary/{kind}", response_model=list[TermOut],
            summary="The terms of a kind (shipped and expert-added)")
def list_terms(kind: KindPath, _: Reader, store: Store) -> list[dict[str, Any]]:
    try:
        return terms(store, kind)
    except VocabularyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.post("/vocabulary/{kind}", status_code=status.HTTP_201_CREATED, response_model=TermOut,
             summary="Add a term (e.g. a measure type) as data, validated against the ontology")
def add(kind: KindPath, body: TermIn, principal: Expert, store: Store) -> dict[str, Any]:
    term = NewTerm(kind=kind, id=body.id, label_zh=body.label_zh, label_en=body.label_en,
                   parent=body.parent, comment_zh=body.comment_zh, aliases=tuple(body.aliases))
    try:
        return add_term(store, term, by=principal.name)
    except VocabularyError as exc:
        code = status.HTTP_409_CONFLICT if "exists already" in str(exc) else \
            422
        raise HTTPException(code, {"message": str(exc), "field": exc.field}) from None


def include(app: FastAPI) -> None:
    app.include_router(router)
