"""Rule authoring for domain experts: read, validate, dry-run, save versions, (de)activate.

Rules are YAML (``docs/rules.md``); the graph holds every version (``ecobrain kb load`` stores
the bundled ones). A version, once saved, never changes: a change is a new version with its own
effective dates. Activation is what decisions use: per rule, the active version in force on the
decision date; two active versions of one rule in force on the same day are refused (409).
Every change is an audit event with who and when (``GET /rules/{id}/audit``).

Validation and dry runs write nothing. A submitted text is either one rule (it inherits the
``parameters`` of its rule's file) or a whole rule file; problem lines count in the text sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from ecobrain.api.auth import Principal, require
from ecobrain.api.http.common import (
    ERROR_RESPONSES,
    ID_PATTERN,
    Message,
    Store,
    problem_dicts,
    register_errors,
)
from ecobrain.reasoning.authoring import impact as change_impact
from ecobrain.reasoning.authoring import rule_store
from ecobrain.reasoning.authoring.legal_coverage import legal_coverage
from ecobrain.reasoning.authoring.standing import standings
from ecobrain.reasoning.decisions.run_decision import rule_base_for
from ecobrain.reasoning.language.concept_index import ConceptIndex
from ecobrain.reasoning.language.fact_types import FACT_TYPES
from ecobrain.reasoning.language.schema import rule_file_schema

router = APIRouter(prefix="/rules", tags=["rule authoring"], responses=ERROR_RESPONSES)
Expert = Annotated[Principal, Depends(require("expert"))]
RuleId = Annotated[str, Path(pattern=ID_PATTERN, description="rule id (stable across versions)",
                             examples=["task.hotspot.vocs"])]
Version = Annotated[int, Path(ge=1, description="version number")]
NOT_FOUND = {404: {"model": Message, "description": "no such rule or version"}}

EXAMPLE_RULE = """\
id: task.hotspot.vocs
version: 2
title: VOCs排放热点：核查涉VOCs企业废气收集与治理设施
effective_from: 2026-12-01
priority: 75
legal_basis: [zj.air-reg.2020.art20, cn.air-law.2018.art29, cn.air-law.2018.art45]
concerns: [VOCs]
when:
  - fact: hotspot
    as: h
    if: species is_a VOCs
  - fact: hotspot_enterprise
    as: e
    if: hotspot_id == h.hotspot_id and emits_species
then:
  - task:
      subject: {kind: enterprise, id: "{e.enterprise_id}", name: "{e.enterprise_name}"}
      region_code: "{e.county_code}"
      measure_type: VOCsSupervision
      action: "{e.enterprise_name}：现场核查VOCs废气收集与治理设施运行"
      deadline: "+{param.inspection_days}d"
"""


class VersionSummary(BaseModel):
    key: str
    version: int
    status: str
    effective_from: str | None = None
    effective_to: str | None = None
    title: str
    origin: Literal["bundle", "api"]
    state: str | None = Field(default=None, description="on the date asked (default today): "
                              "in force, expired, not yet in force, draft or retired")
    table: str | None = Field(default=None, description="decision table it is a row of")
    standing: Literal["in_force", "draft", "not_in_force", "retired"] | None = Field(
        default=None, description="with ?on=: whether decisions on that date use it")
    standing_note: str | None = Field(default=None, description="why, in Chinese")


class RuleSummaryOut(BaseModel):
    rule_id: str
    title: str
    family: str | None = None
    versions: list[VersionSummary]

    model_config = {"json_schema_extra": {"examples": [{
        "rule_id": "alert.heavy-pollution.red", "title": "红色预警（PM2.5主导，2024年分级）",
        "family": "alert.heavy-pollution", "versions": [
            {"key": "alert.heavy-pollution.red@1", "version": 1, "status": "active",
             "effective_from": None, "effective_to": "2024-01-22",
             "title": "红色预警（2017年分级，已失效）", "origin": "bundle"},
            {"key": "alert.heavy-pollution.red@2", "version": 2, "status": "active",
             "effective_from": "2024-01-23", "effective_to": None,
             "title": "红色预警（PM2.5主导，2024年分级）", "origin": "bundle"}]}]}}


class RuleVersionOut(BaseModel):
    key: str
    rule_id: str
    version: int
    title: str
    title_en: str | None = None
    family: str | None = None
    status: str = Field(description="active, draft or retired (after its lifecycle changes)")
    declared_status: str | None = Field(default=None, description="status written in the YAML")
    effective_from: str | None = None
    effective_to: str | None = None
    priority: int | None = None
    legal_basis: list[str]
    concerns: list[str]
    targets: list[str]
    note: str | None = None
    source_quality: str | None = None
    file: str | None = None
    table: str | None = Field(default=None, description="<table id>@<version> when the "
                              "version is a row of a decision table (yaml is the table)")
    origin: Literal["bundle", "api"]
    yaml: str
    created_by: str | None = None
    created_at: str | None = None
    changed_by: str | None = None
    changed_at: str | None = None
    changed: bool | None = Field(default=None, description="activation: whether it changed")
    warnings: list[str] | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "key": "task.hotspot.vocs@2", "rule_id": "task.hotspot.vocs", "version": 2,
        "title": "VOCs排放热点：核查涉VOCs企业废气收集与治理设施", "status": "draft",
        "effective_from": "2026-12-01", "legal_basis": ["cn.air-law.2018.art29"],
        "concerns": ["VOCs"], "targets": [], "origin": "api", "yaml": EXAMPLE_RULE,
        "created_by": "expert-zhang", "created_at": "2026-11-25T10:00:00+00:00"}]}}


class RuleOut(BaseModel):
    rule_id: str
    versions: list[RuleVersionOut]


class YamlIn(BaseModel):
    yaml: str = Field(min_length=1, max_length=200_000,
                      description="one rule, or a rule file with `rules:` (docs/rules.md)")

    model_config = {"json_schema_extra": {"examples": [{"yaml": EXAMPLE_RULE}]}}


class ProblemOut(BaseModel):
    message: str
    line: int | None = None
    field: str | None = None
    severity: str


class ValidationOut(BaseModel):
    ok: bool
    rules: list[str] = Field(description="id@version of the rule versions in the text")
    errors: list[ProblemOut]
    warnings: list[ProblemOut]
    tests: list[dict[str, Any]] = Field(default_factory=list,
                                        description="results of the text's own test cases")
    inherited_parameters_from: str | None = None

    model_config = {"json_schema_extra": {"examples": [{
        "ok": False, "rules": ["task.hotspot.vocs@2"], "warnings": [], "tests": [],
        "errors": [{"message": "unknown field 'speces' of hotspot; did you mean species?",
                    "line": 11, "field": "when[0].if", "severity": "error"}]}]}}


class DryRunIn(YamlIn):
    facts: list[dict[str, Any]] = Field(
        min_length=1, max_length=10_000,
        description="input facts: each with `type` and its fields (docs/rules.md)")
    on: dt.date | None = Field(default=None, description="decision date (default: today if "
                               "the rule is in force, else its first day)")
    scope: Literal["rule", "all"] = Field(
        default="rule", description="`all`: run with the graph's active rules too")

    model_config = {"json_schema_extra": {"examples": [{
        "yaml": EXAMPLE_RULE, "on": "2026-12-02", "scope": "rule",
        "facts": [
            {"type": "hotspot", "id": "h1", "hotspot_id": "h1", "species": "VOCs",
             "cell_id": "ZJ3KM:r80c95", "county_code": "330102", "city_code": "330100",
             "excess": 1.5, "ratio": 2.5, "rank": 1},
            {"type": "hotspot_enterprise", "id": "he1", "hotspot_id": "h1",
             "enterprise_id": "E-1", "enterprise_name": "上城涂装", "county_code": "330102",
             "sector": "Coating", "emits_species": True, "ring": 0}]}]}}


class DryRunOut(BaseModel):
    on: str
    rules_in_force: list[str]
    conclusions: list[dict[str, Any]]
    summary: list[str]
    firings: int
    notes: list[str]


class SaveIn(YamlIn):
    activate: bool | None = Field(
        default=None, description="false or default: saved as a draft. A version is "
        "activated only after its impact report was seen (POST …/impact, then …/activate "
        "with the report's id); true is refused with 428 saying so")

    model_config = {"json_schema_extra": {"examples": [{"yaml": EXAMPLE_RULE,
                                                        "activate": False}]}}


class AuditEventOut(BaseModel):
    id: str
    action: str
    target: str
    by: str
    at: str
    detail: dict[str, Any]

    model_config = {"json_schema_extra": {"examples": [{
        "id": "audit-1a2b3c4d5e6f7a8b", "action": "rule.activate",
        "target": "task.hotspot.vocs@2", "by": "expert-zhang",
        "at": "2026-11-25T10:05:00+00:00", "detail": {"from": "draft", "to": "active"}}]}}


@router.get("", response_model=list[RuleSummaryOut], summary="Every rule and its versions")
def list_rules(_: Expert, store: Store,
               on: Annotated[dt.date | None, Query(description=(
                   "a date: each version's state and standing on it (in force, draft, not in "
                   "force — expired, not yet, superseded — or retired; default today)"),
                   examples=["2026-12-01"])] = None) -> list[dict[str, Any]]:
    rules = rule_store.list_rules(store, on)
    if on is not None:
        for r in rules:
            for v, (standing, note) in zip(r["versions"], standings(r["versions"], on),
                                           strict=True):
                v["standing"], v["standing_note"] = standing, note
    return rules


@router.post("/validate", response_model=ValidationOut,
             summary="Check a rule (or rule file): schema, expressions, concepts, articles")
def validate(body: YamlIn, _: Expert, store: Store) -> dict[str, Any]:
    """Every problem with its line (in the text sent) and field; the text's own test cases run
    when it has no errors. Nothing is saved."""
    v = rule_store.validate_rule_text(store, body.yaml)
    return {"ok": v.ok, "rules": v.rules, "errors": problem_dicts(v.errors),
            "warnings": problem_dicts(v.warnings), "tests": v.tests,
            "inherited_parameters_from": v.submission.inherited_from}


@router.post("/dry-run", response_model=DryRunOut,
             summary="Run a rule on given facts through the real engine (nothing saved)",
             responses={422: {"model": Message, "description": "the rule or the facts have "
                              "problems (each with line/field)"}})
def dry_run(body: DryRunIn, _: Expert, store: Store) -> dict[str, Any]:
    return rule_store.dry_run(store, body.yaml, body.facts, on=body.on, scope=body.scope)


@router.post("", response_model=RuleVersionOut, status_code=status.HTTP_201_CREATED,
             summary="Save a new rule version (validated; effective dates; audited)",
             responses={409: {"model": Message, "description": "the version exists, or an "
                              "active version of the rule is in force on the same days"},
                        422: {"model": Message, "description": "the rule has problems"}})
def save_rule(body: SaveIn, principal: Expert, store: Store) -> dict[str, Any]:
    if body.activate:
        raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED, (
            "a new version is saved as a draft and activated after its impact report: save "
            "it (activate: false), POST /rules/{rule_id}/versions/{version}/impact, review "
            "the report, then POST …/activate with {\"impact_report\": \"<its id>\"}"))
    out = rule_store.save_rule_version(store, body.yaml, by=principal.name, activate=False)
    out.setdefault("warnings", []).append(
        "saved as a draft: activate it after reviewing its impact report "
        f"(POST /rules/{out['rule_id']}/versions/{out['version']}/impact)")
    return out


class CoverageGroundOut(BaseModel):
    citation_id: str
    citation: str
    status: str
    in_force: bool
    regulation_kind: str | None = None
    jurisdiction: str | None = None
    remark_zh: str = ""


class RuleCoverageOut(BaseModel):
    rule: str
    title: str
    file: str
    covered: bool = Field(description="a ground in force on the date applies province-wide")
    grounds: list[CoverageGroundOut] = Field(description="in force first (national law, "
                                             "provincial regulation, plans), then the others")
    escalation_gaps: list[str] = Field(description="escalations with no ground in force")


class CoverageOut(BaseModel):
    on: str
    rules: int
    uncovered: list[str]
    warnings: list[str]
    coverage: list[RuleCoverageOut]


@router.get("/coverage", response_model=CoverageOut,
            summary="Legal coverage on a date: every rule version in force, its grounds' status")
def coverage(_: Expert, store: Store,
             on: Annotated[dt.date, Query(description="decision date (YYYY-MM-DD)",
                                          examples=["2026-12-01"])]) -> dict[str, Any]:
    """The rule base decisions use (the graph's, else the bundled one); a warning per rule
    version without a ground in force province-wide on that date."""
    base, _ = rule_base_for(store)
    return legal_coverage(base, store, on).as_dict()


class VocabularyOut(BaseModel):
    schema_: dict[str, Any] = Field(alias="schema", description="JSON schema of a rule file")
    fact_types: dict[str, dict[str, str]] = Field(description="fact type -> field -> meaning")
    concepts: dict[str, list[str]] = Field(description="concept id -> its kinds (ontology)")

    model_config = {"populate_by_name": True, "json_schema_extra": {"examples": [{
        "schema": {"title": "ecobrain rule file"},
        "fact_types": {"alert_assessment": {"peak_aqi": "highest daily AQI of the forecast"}},
        "concepts": {"PM2_5": ["Pollutant"]}}]}}


@router.get("/vocabulary", response_model=VocabularyOut, response_model_by_alias=True,
            summary="What a rule may name: the file schema, fact types and fields, concepts")
def vocabulary(_: Expert, store: Store) -> dict[str, Any]:
    """For editors (the workbench's rule editor completes and checks with it)."""
    concepts = ConceptIndex.for_store(store)
    return {"schema": rule_file_schema(),
            "fact_types": {name: {f: spec.description for f, spec in ft.fields.items()}
                           for name, ft in FACT_TYPES.items()},
            "concepts": {cid: sorted(c.kinds) for cid, c in sorted(concepts.concepts.items())}}


@router.get("/{rule_id}", response_model=RuleOut, summary="A rule with all its versions",
            responses=NOT_FOUND)
def get_rule(rule_id: RuleId, _: Expert, store: Store) -> dict[str, Any]:
    return {"rule_id": rule_id, "versions": rule_store.rule_versions(store, rule_id)}


@router.get("/{rule_id}/versions/{version}", response_model=RuleVersionOut,
            summary="One version of a rule, with its YAML", responses=NOT_FOUND)
def get_version(rule_id: RuleId, version: Version, _: Expert, store: Store) -> dict[str, Any]:
    return rule_store.rule_version(store, rule_id, version)


class ActivateIn(BaseModel):
    impact_report: str | None = Field(
        default=None, pattern=r"^impact-[0-9a-f]{16}$",
        description="id of the version's latest impact report (POST …/impact): activation "
        "is refused without it (428) or with an older one (409)")

    model_config = {"json_schema_extra": {"examples": [
        {"impact_report": "impact-1a2b3c4d5e6f7a8b"}]}}


class ImpactChangeOut(BaseModel):
    kind: Literal["alert", "measure", "task", "advice"]
    change: Literal["added", "removed", "changed"]
    key: list[str]
    region_code: str
    region_name: str | None = None
    label: str
    decision_id: str
    fields: list[str] | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class ImpactOut(BaseModel):
    id: str = Field(description="send it with the activation")
    rule_key: str
    rule_id: str
    version: int
    by: str
    at: str
    status_before: str
    retires: list[str] = Field(description="active versions of the rule that overlap it: "
                               "activation needs them deactivated, the report assumes so")
    last: int
    basis: str
    decisions: list[dict[str, Any]] = Field(description="per decision: conclusions before "
                                            "and after, and the counts of changes")
    counts: dict[str, dict[str, int]] = Field(description="kind -> added/removed/changed")
    by_region: list[dict[str, Any]]
    changes: list[ImpactChangeOut]
    notes: list[str]
    seconds: float


@router.post("/{rule_id}/versions/{version}/impact", response_model=ImpactOut,
             status_code=status.HTTP_201_CREATED,
             summary="Change impact: the version re-run on the last decisions' stored facts",
             responses=NOT_FOUND)
def impact(rule_id: RuleId, version: Version, principal: Expert, store: Store,
           last: Annotated[int, Query(ge=1, le=change_impact.MAX_LAST, description=(
               "how many recent decisions"))] = change_impact.DEFAULT_LAST) -> dict[str, Any]:
    """Alerts, measures, tasks and advice added, removed or changed (by region) if the
    version were active, from the same inputs as each decision; stored, and required (the
    latest one) for activation."""
    return change_impact.impact_report(store, rule_id, version, by=principal.name, last=last)


@router.get("/{rule_id}/versions/{version}/impact", response_model=ImpactOut,
            summary="The version's latest impact report", responses=NOT_FOUND)
def latest_impact(rule_id: RuleId, version: Version, _: Expert, store: Store
                  ) -> dict[str, Any]:
    rule_store.rule_version(store, rule_id, version)
    report = change_impact.latest_report(store, rule_id, version)
    if report is None:
        raise HTTPException(404, f"{rule_id}@{version} has no impact report yet")
    return report


@router.post("/{rule_id}/versions/{version}/activate", response_model=RuleVersionOut,
             summary="Activate a version after its impact report was seen",
             responses={**NOT_FOUND, 409: {"model": Message, "description": (
                 "another active version of the rule is in force on the same days, or the "
                 "impact report named is stale")},
                 428: {"model": Message, "description": "no impact report named"}})
def activate(rule_id: RuleId, version: Version, principal: Expert, store: Store,
             body: Annotated[ActivateIn | None, Body(openapi_examples={"seen": {
                 "summary": "the version's latest impact report",
                 "value": {"impact_report": "impact-1a2b3c4d5e6f7a8b"}}})] = None
             ) -> dict[str, Any]:
    """Decisions use the version on the days it is in force. The body names the version's
    latest impact report; an older one, or one made before rule versions or decisions changed,
    is refused (409) with what to do. The active versions of the rule the report said it
    would retire (overlapping days) are deactivated in the same step."""
    current = rule_store.rule_version(store, rule_id, version)
    report_id = body.impact_report if body else None
    retires: list[str] = []
    if current["status"] != "active":
        try:
            report = change_impact.check_seen(store, rule_id, version, report_id)
        except change_impact.ImpactRequired as exc:
            raise HTTPException(status.HTTP_428_PRECONDITION_REQUIRED, str(exc)) from None
        retires = list(report["retires"])
    return rule_store.set_rule_status(store, rule_id, version, True, by=principal.name,
                                      impact_report=report_id, supersede=retires)


@router.post("/{rule_id}/versions/{version}/deactivate", response_model=RuleVersionOut,
             summary="Deactivate a version (decisions stop using it)", responses=NOT_FOUND)
def deactivate(rule_id: RuleId, version: Version, principal: Expert, store: Store
               ) -> dict[str, Any]:
    return rule_store.set_rule_status(store, rule_id, version, False, by=principal.name)


@router.get("/{rule_id}/audit", response_model=list[AuditEventOut],
            summary="Who changed the rule's versions, and when", responses=NOT_FOUND)
def audit(rule_id: RuleId, _: Expert, store: Store) -> list[dict[str, Any]]:
    rule_store.rule_versions(store, rule_id)  # 404 for an unknown rule
    return rule_store.audit_events(store, rule_id)


def include(app: FastAPI) -> None:
    register_errors(app)
    app.include_router(router)
