"""A polynomial response surface (pf-RSM) of a city's peak concentration to emission cuts.

In the spirit of ABaCAS' pf-RSM (polynomial functions fitted to a set of model runs with
emission controls, then used in place of the model): each *control* is the emission of one
species from one sector in one region (what a DESID scaling rule cuts), ``x_i`` its fractional
reduction (0 = as in the baseline, 0.3 = cut by 30 %). From scenario runs at known ``x``
(the HPC jobs' stand-in or CMAQ runs with DESID scaling), the target metric at each city —
the highest city daily O3 MDA8, or the highest city daily PM2.5, over the run's days, µg/m³ —
is fitted by least squares to every monomial of the ``x_i`` up to ``degree`` (2: constant,
linear, squares and cross terms). Held-out scenarios give the surface's error, which every
plan reports (:mod:`.least_cost`). A surface is only valid inside the range of reductions its
scenarios span: its bounds are those of the design.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field
from scipy.stats import qmc

from ecobrain.model_adapters.findings import RunFindings

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
