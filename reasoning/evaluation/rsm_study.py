"""A least-cost study from a spec: controls, scenario runs, the fit, its error and the plan
(what ``ecobrain rsm plan SPEC.yaml`` runs; docs/closed-loop.md §3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ecobrain.model_adapters import collect_findings
from ecobrain.reasoning.evaluation.least_cost import (
    LeastCostPlan,
    default_costs_path,
    least_cost,
)
from ecobrain.reasoning.evaluation.rsm import (
    Control,
    FitError,
    city_metric,
    fit_surface,
    held_out_error,
)
from ecobrain.yaml12 import load_yaml


class ControlSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = Field(pattern=r"^\d{6}$")
    sector: str
    species: str
    base_t_per_day: float = Field(gt=0, description="baseline emission, t/day (inventory)")
    cost_per_t: float | None = Field(default=None, ge=0,
                                     description="default: reduction_costs.yaml")
    max_reduction: float = Field(default=0.6, gt=0, le=1)


class ScenarioRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_dir: str
    reductions: list[float] = Field(description="one fraction per control, in order")


class RsmSpec(BaseModel):
    """What `ecobrain rsm plan SPEC.yaml` reads: the controls, where the scenarios come from
    (runs already made, or a stand-in baseline and a design), the city and its target."""

    model_config = ConfigDict(extra="forbid")

    pollutant: Literal["O3", "PM2_5"]
    controls: list[ControlSpec] = Field(min_length=1)
    city: str = Field(pattern=r"^\d{4}00$")
    target: float = Field(gt=0, description="µg/m³")
    degree: int = Field(default=2, ge=1, le=4)
    baseline: str | None = Field(default=None, description="stand-in baseline run directory")
    levels: list[float] = Field(default_factory=lambda: [0.0, 0.3, 0.6])
    held_out: int = Field(default=3, ge=1)
    seed: int = 0
    scenarios: list[ScenarioRun] = Field(default_factory=list)
    held_out_scenarios: list[ScenarioRun] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source(self) -> RsmSpec:
        if not self.scenarios and not self.baseline:
            raise ValueError("give 'scenarios' (runs made) or a 'baseline' to run the stand-in on")
        if self.scenarios and not self.held_out_scenarios:
            raise ValueError("'scenarios' need 'held_out_scenarios' to report the fit error")
        n = len(self.controls)
        for name in ("scenarios", "held_out_scenarios"):
            for i, s in enumerate(getattr(self, name)):
                if len(s.reductions) != n:
                    raise ValueError(f"{name}[{i}].reductions: {len(s.reductions)} values for "
                                     f"{n} controls")
        return self


def load_spec(path: str | Path) -> RsmSpec:
    p = Path(path)
    try:
        with open(p, encoding="utf-8") as fh:
            return RsmSpec.model_validate(load_yaml(fh))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ValueError(f"{p}: {where or 'spec'}: {first['msg']}") from exc


def controls_of(spec: RsmSpec, costs: Mapping[tuple[str, str], float]) -> list[Control]:
    out = []
    for i, c in enumerate(spec.controls):
        cost = c.cost_per_t if c.cost_per_t is not None else costs.get((c.sector, c.species))
        if cost is None:
            raise ValueError(f"controls[{i}]: no cost per ton for {c.sector} {c.species} (give "
                             f"cost_per_t, or add it to {default_costs_path().name})")
        out.append(Control(c.region, c.sector, c.species, c.base_t_per_day, cost,
                           c.max_reduction))
    return out


class Study(BaseModel):
    pollutant: str
    degree: int
    training_scenarios: int
    fit_error: FitError
    plan: LeastCostPlan
    cost_status: str


def run_study(spec: RsmSpec, controls: Sequence[Control],
              train: Sequence[tuple[Sequence[float], str | Path]],
              test: Sequence[tuple[Sequence[float], str | Path]], cost_status: str) -> Study:
    """Fit on `train` (reductions, run directory), measure on `test`, plan for the city."""

    def metric(run: str | Path) -> dict[str, float]:
        return city_metric(collect_findings(run, kinds=["forecast"], stations=[],
                                            include_hourly=False), spec.pollutant)

    s = fit_surface(controls, np.array([x for x, _ in train]), [metric(r) for _, r in train],
                    spec.pollutant, spec.degree)
    err = held_out_error(s, np.array([x for x, _ in test]), [metric(r) for _, r in test])
    return Study(pollutant=spec.pollutant, degree=spec.degree, training_scenarios=len(train),
                 fit_error=err, plan=least_cost(s, spec.city, spec.target),
                 cost_status=cost_status)
