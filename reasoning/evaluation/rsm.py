"""Least-cost reduction: a polynomial response surface (pf-RSM) and the cheapest cuts meeting a
target.

In the spirit of ABaCAS' pf-RSM (polynomial functions fitted to a set of model runs with
emission controls, then used in place of the model): each *control* is the emission of one
species from one sector in one region (what a DESID scaling rule cuts), ``x_i`` its fractional
reduction (0 = as in the baseline, 0.3 = cut by 30 %). From scenario runs at known ``x``
(the HPC jobs' stand-in or CMAQ runs with DESID scaling), the target metric at each city —
the highest city daily O3 MDA8, or the highest city daily PM2.5, over the run's days, µg/m³ —
is fitted by least squares to every monomial of the ``x_i`` up to ``degree`` (2: constant,
linear, squares and cross terms). Held-out scenarios give the surface's error, reported with
every plan.

The plan: minimise ``sum_i cost_i * E_i * x_i`` (cost per ton of the control's sector and
species, ``E_i`` its baseline emission in t/day) subject to ``surface(city, x) <= target`` and
``0 <= x_i <= max_i``, with :func:`scipy.optimize.minimize` (SLSQP) from several starts; the
cheapest feasible solution wins. A surface is only valid inside the range of reductions its
scenarios span: the bounds are those of the design, never wider.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.optimize import minimize
from scipy.stats import qmc

from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.findings import RunFindings
from ecobrain.ontology.geography import regions_by_code
from ecobrain.yaml12 import load_yaml

METRICS = {"O3": "O3_8h", "PM2_5": "PM2_5_24h"}


@dataclass(frozen=True)
class Control:
    """One emission control: species from sector in region, cut by a fraction x."""

    region: str
    sector: str
    species: str
    base_t_per_day: float
    cost_per_t: float
    max_reduction: float = 0.8

    @property
    def key(self) -> str:
        return f"{self.region}:{self.sector}:{self.species}"


# --------------------------------------------------------------------------- design and runs


def factorial_design(n: int, levels: Sequence[float]) -> np.ndarray:
    """Every combination of `levels` for n controls (rows = scenarios)."""
    return np.array(list(itertools.product(levels, repeat=n)), dtype=float)


def lhs_design(controls: Sequence[Control], n: int, seed: int) -> np.ndarray:
    """n Latin-hypercube scenarios inside each control's [0, max_reduction]."""
    sample = qmc.LatinHypercube(d=len(controls), seed=seed).random(n)
    return sample * np.array([c.max_reduction for c in controls])


def city_metric(findings: RunFindings, pollutant: str) -> dict[str, float]:
    """City code -> the highest daily value of the pollutant's metric over the run's days."""
    key = METRICS[pollutant]
    out: dict[str, float] = {}
    for d in findings.daily_aqi:
        v = getattr(d.concentrations, key)
        if d.region_level == "city" and v is not None:
            out[d.region_code] = max(out.get(d.region_code, -np.inf), float(v))
    if not out:
        raise ValueError(f"run {findings.run_id}: no city daily {key} to fit")
    return out


# --------------------------------------------------------------------------- the surface


def monomials(n: int, degree: int) -> list[tuple[int, ...]]:
    """Exponent tuples of every monomial of n variables with total degree <= degree."""
    out = []
    for d in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(n), d):
            e = [0] * n
            for i in combo:
                e[i] += 1
            out.append(tuple(e))
    return out


def _features(x: np.ndarray, exps: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(x)
    return np.prod(x[:, None, :] ** exps[None, :, :], axis=2)


class FitError(BaseModel):
    scenarios: int
    rmse: float = Field(description="µg/m³, over the held-out scenarios and cities")
    max_abs: float = Field(description="µg/m³, the largest held-out error")
    by_city: dict[str, float] = Field(description="city -> max |error| on held-out scenarios")


@dataclass
class ResponseSurface:
    pollutant: str
    controls: list[Control]
    degree: int
    exponents: np.ndarray  # (nterms, ncontrols)
    coef: dict[str, np.ndarray]  # city -> (nterms,)
    lower: np.ndarray
    upper: np.ndarray
    training: int = 0
    fit_error: FitError | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def cities(self) -> list[str]:
        return sorted(self.coef)

    def predict(self, city: str, x: np.ndarray | Sequence[float]) -> np.ndarray | float:
        xa = np.asarray(x, dtype=float)
        y = _features(xa, self.exponents) @ self.coef[city]
        return float(y[0]) if xa.ndim == 1 else y

    def gradient(self, city: str, x: Sequence[float]) -> np.ndarray:
        xa = np.asarray(x, dtype=float)
        g = np.zeros(len(xa))
        for term, c in zip(self.exponents, self.coef[city], strict=True):
            for i in range(len(xa)):
                if term[i] == 0:
                    continue
                e = term.copy()
                e[i] -= 1
                g[i] += c * term[i] * float(np.prod(xa ** e))
        return g


def fit_surface(controls: Sequence[Control], x: np.ndarray, y: Sequence[Mapping[str, float]],
                pollutant: str, degree: int = 2) -> ResponseSurface:
    """Least-squares fit per city (cities every scenario reports)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(controls):
        raise ValueError(f"reductions must be (scenarios, {len(controls)}); got {x.shape}")
    exps = np.array(monomials(len(controls), degree))
    if len(x) < len(exps):
        raise ValueError(f"{len(x)} scenarios cannot fit {len(exps)} terms (degree {degree}, "
                         f"{len(controls)} controls): run more scenarios or lower the degree")
    a = _features(x, exps)
    if np.linalg.matrix_rank(a) < len(exps):
        raise ValueError("the scenarios do not determine every term (the design is "
                         "degenerate): vary each control at more than `degree` levels")
    cities = sorted(set.intersection(*(set(r) for r in y)))
    coef = {c: np.linalg.lstsq(a, np.array([r[c] for r in y]), rcond=None)[0] for c in cities}
    return ResponseSurface(pollutant, list(controls), degree, exps, coef, x.min(axis=0),
                           x.max(axis=0), training=len(x))


def held_out_error(surface: ResponseSurface, x: np.ndarray,
                   y: Sequence[Mapping[str, float]]) -> FitError:
    """The surface against scenarios it was not fitted on (kept on the surface)."""
    errs: dict[str, list[float]] = {c: [] for c in surface.cities}
    for xi, yi in zip(np.asarray(x, dtype=float), y, strict=True):
        for c in surface.cities:
            if c in yi:
                errs[c].append(float(surface.predict(c, xi)) - yi[c])
    flat = np.array([e for v in errs.values() for e in v])
    fe = FitError(scenarios=len(y), rmse=round(float(np.sqrt(np.mean(flat ** 2))), 4),
                  max_abs=round(float(np.abs(flat).max()), 4),
                  by_city={c: round(float(np.abs(v).max()), 4) for c, v in errs.items() if v})
    surface.fit_error = fe
    return fe


# --------------------------------------------------------------------------- the plan


class PlanStep(BaseModel):
    region: str
    sector: str
    species: str
    reduction: float = Field(description="fraction cut, 0-1")
    t_per_day: float = Field(description="tons per day removed")
    cost: float = Field(description="cost per day (cost_per_t x t/day)")


class LeastCostPlan(BaseModel):
    pollutant: str
    city: str
    target: float
    baseline: float = Field(description="the surface at no cut, µg/m³")
    predicted: float = Field(description="the surface at the plan, µg/m³")
    feasible: bool
    cost: float
    steps: list[PlanStep]
    error: float | None = Field(description="± held-out max |error| of the surface at the city")
    advice_zh: str
    advice_en: str


def least_cost(surface: ResponseSurface, city: str, target: float,
               starts: int = 8, seed: int = 0) -> LeastCostPlan:
    """The cheapest reductions (inside the surface's design range) bringing `city` under
    `target`; infeasible: the largest reductions' prediction, flagged."""
    if city not in surface.coef:
        raise ValueError(f"the surface has no city {city!r} (it has {', '.join(surface.cities)})")
    ctl = surface.controls
    unit = np.array([c.cost_per_t * c.base_t_per_day for c in ctl])
    lo, hi = surface.lower, surface.upper
    bounds = list(zip(lo.tolist(), hi.tolist(), strict=True))
    cons = [{"type": "ineq", "fun": lambda x: target - surface.predict(city, x),
             "jac": lambda x: -surface.gradient(city, x)}]
    rng = np.random.default_rng(seed)
    x0s = [hi.copy(), (lo + hi) / 2, lo.copy(), *(lo + (hi - lo) * rng.random(len(ctl))
                                                  for _ in range(max(0, starts - 3)))]
    best = None
    # SLSQP stalls on costs of 1e5-1e6 per unit cut ("positive directional derivative"): it
    # works on the cost in units of the dearest control's full cut
    scaled = unit / max(float(np.abs(unit).max()), 1e-300)
    for x0 in x0s:
        r = minimize(lambda x: float(scaled @ x), x0, jac=lambda _x: scaled, bounds=bounds,
                     constraints=cons, method="SLSQP", options={"ftol": 1e-12, "maxiter": 500})
        x = np.clip(r.x, lo, hi)
        ok = surface.predict(city, x) <= target + 1e-6
        if ok and (best is None or unit @ x < unit @ best - 1e-12):
            best = x
    feasible = best is not None
    x = best if feasible else hi.copy()
    steps = [PlanStep(region=c.region, sector=c.sector, species=c.species,
                      reduction=float(xi),
                      t_per_day=round(float(xi * c.base_t_per_day), 4),
                      cost=float(xi * c.base_t_per_day * c.cost_per_t))
             for c, xi in zip(ctl, x, strict=True)]
    err = surface.fit_error.by_city.get(city) if surface.fit_error else None
    predicted = round(float(surface.predict(city, x)), 2)
    baseline = round(float(surface.predict(city, np.zeros(len(ctl)))), 2)
    zh, en = advice_texts(surface.pollutant, city, target, steps, predicted, err, feasible)
    return LeastCostPlan(pollutant=surface.pollutant, city=city, target=target,
                         baseline=baseline, predicted=predicted, feasible=feasible,
                         cost=float(unit @ x), steps=steps, error=err,
                         advice_zh=zh, advice_en=en)


SPECIES_ZH = {"VOCs": "VOCs", "NOx": "NOx", "SO2": "SO2", "PM2_5": "PM2.5", "NH3": "NH3"}
POLLUTANT_ZH = {"O3": "臭氧日最大8小时浓度", "PM2_5": "PM2.5日均浓度"}


def advice_texts(pollutant: str, city: str, target: float, steps: Iterable[PlanStep],
                 predicted: float, error: float | None, feasible: bool) -> tuple[str, str]:
    regions = regions_by_code()

    def name(code: str) -> str:
        r = regions.get(code)
        return r.name_zh if r else code

    cuts = [s for s in steps if s.reduction >= 0.005]
    err_zh = f"，响应面误差±{error:.1f}微克/立方米" if error is not None else ""
    err_en = f", RSM error ±{error:.1f} µg/m³" if error is not None else ""
    zh_parts = [f"{name(s.region)}{s.sector}的{SPECIES_ZH.get(s.species, s.species)}削减"
                f"{s.reduction * 100:.0f}%（约{s.t_per_day:.2f}吨/日，费用约{s.cost:.0f}元/日）"
                for s in cuts]
    en_parts = [f"cut {s.species} of sector {s.sector} in {name(s.region)} by "
                f"{s.reduction * 100:.0f} % (≈ {s.t_per_day:.2f} t/d, cost {s.cost:.0f}/d)"
                for s in cuts]
    what = POLLUTANT_ZH.get(pollutant, pollutant)
    if not feasible:
        return (f"在已运行情景的减排范围内无法使{name(city)}{what}降至{target:g}以下"
                f"（最大减排时预计{predicted:g}）{err_zh}",
                f"no reduction inside the scenarios' range brings {pollutant} in {name(city)} "
                f"under {target:g} (≈ {predicted:g} at the largest cuts){err_en}")
    if not cuts:
        return (f"{name(city)}{what}预计不超过{target:g}，无需额外减排{err_zh}",
                f"{pollutant} in {name(city)} stays under {target:g} without cuts{err_en}")
    return ("；".join(zh_parts) + f"，可使{name(city)}{what}降至{predicted:g}（目标{target:g}）"
            + err_zh,
            "; ".join(en_parts) + f" to bring {pollutant} in {name(city)} under the target "
            f"{target:g} (≈ {predicted:g}){err_en}")


# --------------------------------------------------------------------------- costs as data


def default_costs_path() -> Path:
    return Path(str(files("ecobrain.knowledge") / "config" / "reduction_costs.yaml"))


@cache
def load_costs(path: str | None = None) -> tuple[dict[tuple[str, str], float], str]:
    """(sector, species) -> cost per ton, and the file's status (ILLUSTRATIVE until a
    deployment puts its own abatement costs in)."""
    p = path or str(default_costs_path())
    with open(p, encoding="utf-8") as fh:
        doc = load_yaml(fh)
    try:
        costs = {(str(sector), str(sp)): float(v)
                 for sector, per in doc["cost_per_t"].items() for sp, v in per.items()}
        return costs, str(doc.get("status", ""))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{p}: {type(exc).__name__}: {exc}") from exc



# --------------------------------------------------------------------------- a study from a spec


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
