"""What an evaluation says: per species, subject (an enterprise's cell, a county), hotspot and
task, and the whole evaluation of a decision on a later run (:mod:`.post_measure` computes it,
:mod:`.evaluation_store` keeps it in the graph, the API returns it as it is)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

SpeciesStatus = Literal["met", "short", "unchanged", "no_target"]
Verdict = Literal["reduced", "partly", "unchanged", "no_target"]


class SpeciesOutcome(BaseModel):
    species: str
    before: float = Field(description="t/day: mean over the reference days")
    during: float = Field(description="t/day: mean over the measure days")
    achieved: float | None = Field(description="1 - during/before; None when before is 0")
    target: float | None = Field(description="the plan's reduction ratio (mean over the days)")
    planned_during: float | None = Field(description="before x (1 - target)")
    status: SpeciesStatus


class EmissionOutcome(BaseModel):
    """One subject (an enterprise's cell, a county) before and during the measure."""

    days: list[dt.date]
    before_days: list[dt.date]
    reference: Literal["days_before", "prior"]
    species: list[SpeciesOutcome]
    verdict: Verdict


class HotspotOutcome(BaseModel):
    finding_id: str
    species: str
    cell_id: str
    found_on: dt.date | None
    found_excess: float
    days: list[dt.date]
    persisting_days: list[dt.date]
    last_excess: float | None
    last_ratio: float | None
    gone: bool


class TaskEvaluation(BaseModel):
    id: str
    task_id: str
    region_code: str
    region_name: str
    city_code: str | None
    subject_kind: str
    subject_id: str
    subject_name: str
    measure_types: list[str]
    measure_labels: list[str] = Field(default_factory=list)
    status: str
    status_note: str = Field(default="", description="the bureau's last report")
    reported_done: bool
    cell: str | None = None
    shares_cell_with: list[str] = Field(default_factory=list)
    emissions: EmissionOutcome | None = None
    hotspots: list[HotspotOutcome] = Field(default_factory=list)
    disagreement: str | None = None
    disagreement_en: str | None = None
    remark: str | None = None


class CountyEvaluation(BaseModel):
    id: str
    county_code: str
    county_name: str | None
    city_code: str | None
    levels: list[str]
    emissions: EmissionOutcome


class EvaluationSummary(BaseModel):
    enterprises: dict[str, int]
    counties: dict[str, int]
    hotspots_gone: int
    hotspots_persisting: int
    disagreements: int
    tasks_not_evaluable: int
    tasks_not_covered: int


class Evaluation(BaseModel):
    id: str
    decision_id: str
    decision_run_id: str
    run_id: str
    run_dir: str
    run_days: list[dt.date]
    species: list[str]
    unchanged_below: float
    tasks: list[TaskEvaluation]
    counties: list[CountyEvaluation]
    summary: EvaluationSummary
    notes: list[str] = Field(default_factory=list)

    def for_city(self, city_code: str) -> tuple[list[TaskEvaluation], list[CountyEvaluation]]:
        return ([t for t in self.tasks if (t.city_code or t.region_code) == city_code
                 or t.region_code == city_code],
                [c for c in self.counties if c.city_code == city_code])

    def cities(self) -> list[str]:
        return sorted({c.city_code for c in self.counties if c.city_code}
                      | {t.city_code or t.region_code for t in self.tasks})
