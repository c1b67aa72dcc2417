"""The cheapest reductions meeting a target on a response surface, and the advice they make.

Minimise ``sum_i cost_i * E_i * x_i`` (cost per ton of the control's sector and species —
data, ``knowledge/config/reduction_costs.yaml`` — times its baseline emission in t/day)
subject to ``surface(city, x) <= target`` and ``x`` inside the surface's design range, with
:func:`scipy.optimize.minimize` (SLSQP) from several starts; the cheapest feasible solution
wins. An unreachable target is reported as such, never extrapolated.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field
from scipy.optimize import minimize

from ecobrain.ontology.geography import regions_by_code
from ecobrain.reasoning.evaluation.rsm import ResponseSurface
from ecobrain.yaml12 import load_yaml


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
