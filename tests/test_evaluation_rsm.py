"""Least-cost reductions from a response surface.

1. A known surface: O3 = 100 - 30 x1 - 20 x2 + 10 x1² + 10 x2², unit costs 1 and 1, target 80.
   By hand (KKT): 1 = λ(30 - 20 x1) = λ(20 - 20 x2) gives x1 = x2 + 0.5; on the constraint
   20 x2² - 40 x2 + 7.5 = 0, so x2 = 1 - sqrt(0.625), x1 = x2 + 0.5.
2. A cubic surface of three controls with unequal costs: the optimiser's cost is no more than
   the best point of a 0.01 grid (brute force) and its point meets the target.
3. Stand-in scenario runs (the HPC jobs' DESID scaling of Hangzhou industry's VOCs and NOx on
   a one-day sample baseline): a 3x3 factorial design fits the surface, three Latin-hypercube
   scenarios are held out and their error reported; the plan, run through the stand-in again,
   brings Hangzhou's O3 under the target within that error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.hpc_jobs.rsm_scenarios import standin_scenarios
from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.reasoning.evaluation.least_cost import least_cost, load_costs
from ecobrain.reasoning.evaluation.rsm import (
    Control,
    city_metric,
    factorial_design,
    fit_surface,
    held_out_error,
    lhs_design,
)


def _known(x: np.ndarray) -> float:
    x1, x2 = x
    return 100 - 30 * x1 - 20 * x2 + 10 * x1 ** 2 + 10 * x2 ** 2


def _controls(n: int, costs: list[float]) -> list[Control]:
    return [Control("330100", "IndustrialSource", sp, base_t_per_day=1.0, cost_per_t=c,
                    max_reduction=0.8) for sp, c in zip(["VOCs", "NOx", "SO2"][:n], costs,
                                                         strict=True)]


def test_least_cost_on_a_known_surface():
    ctl = _controls(2, [1.0, 1.0])
    x = factorial_design(2, [0.0, 0.4, 0.8])
    y = [{"330100": _known(xi)} for xi in x]
    s = fit_surface(ctl, x, y, "O3", degree=2)
    err = held_out_error(s, lhs_design(ctl, 5, seed=1), [{"330100": _known(xi)}
                                                         for xi in lhs_design(ctl, 5, seed=1)])
    assert err.max_abs < 1e-9
    plan = least_cost(s, "330100", 80.0)
    x2 = 1 - math.sqrt(0.625)
    x1 = x2 + 0.5
    assert plan.feasible
    assert [st.reduction for st in plan.steps] == pytest.approx([x1, x2], abs=1e-3)
    assert plan.cost == pytest.approx(x1 + x2, abs=1e-3)
    assert plan.predicted == pytest.approx(80.0, abs=1e-3)
    assert plan.baseline == pytest.approx(100.0)
    # beyond the design's range nothing is extrapolated: an unreachable target is flagged
    worse = least_cost(s, "330100", 40.0)
    assert not worse.feasible and "无法" in worse.advice_zh
    assert worse.predicted == pytest.approx(_known(np.array([0.8, 0.8])), abs=1e-6)


def test_least_cost_matches_brute_force_on_a_cubic_surface():
    def f(x: np.ndarray) -> float:
        return (160 - 40 * x[0] - 25 * x[1] - 15 * x[2] + 12 * x[0] ** 2 + 8 * x[0] * x[1]
                + 5 * x[2] ** 2 - 6 * x[0] ** 3)

    ctl = _controls(3, [3.0, 1.5, 1.0])
    x = factorial_design(3, [0.0, 0.2, 0.4, 0.6, 0.8])
    s = fit_surface(ctl, x, [{"330100": f(xi)} for xi in x], "O3", degree=3)
    plan = least_cost(s, "330100", 130.0)
    got = np.array([st.reduction for st in plan.steps])
    assert f(got) <= 130.0 + 1e-3
    grid = np.round(np.arange(0, 0.8001, 0.01), 4)
    best = min((3.0 * a + 1.5 * b + 1.0 * c for a, b, c in itertools.product(grid, grid, grid)
                if f(np.array([a, b, c])) <= 130.0))
    assert plan.cost <= best + 1e-6
    assert plan.cost >= best - 0.06  # the grid's resolution: 0.01 x the largest unit cost x 2


def test_design_errors_are_clear():
    ctl = _controls(2, [1.0, 1.0])
    with pytest.raises(ValueError, match="cannot fit 6 terms"):
        fit_surface(ctl, np.array([[0, 0], [0.5, 0.5]]), [{"c": 1.0}, {"c": 2.0}], "O3")
    with pytest.raises(ValueError, match="degenerate"):
        x = np.array([[v, v] for v in np.linspace(0, 0.8, 8)])
        fit_surface(ctl, x, [{"c": float(i)} for i in range(8)], "O3")


def test_costs_are_data_with_their_status():
    costs, status = load_costs()
    assert status == "ILLUSTRATIVE"
    assert costs[("IndustrialSource", "VOCs")] > 0


@pytest.fixture(scope="module")
def standin_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rsm")
    base = write_sample_run(root / "baseline", days=1, seed=0, start=dt.date(2026, 7, 20))
    costs, _ = load_costs()
    ctl = [Control("330100", "IndustrialSource", "VOCs", 45.0,
                   costs[("IndustrialSource", "VOCs")], 0.6),
           Control("330100", "IndustrialSource", "NOx", 30.0,
                   costs[("IndustrialSource", "NOx")], 0.6)]
    keys = [(c.region, c.sector, c.species) for c in ctl]
    train = factorial_design(2, [0.0, 0.3, 0.6])
    test = lhs_design(ctl, 3, seed=7)
    runs = standin_scenarios(base, keys, np.vstack([train, test]), root / "scn", "rsm")

    def metric(run):
        return city_metric(collect_findings(run, kinds=["forecast"], stations=[],
                                            include_hourly=False), "O3")

    y = [metric(r) for r in runs]
    return {"base": base, "ctl": ctl, "keys": keys, "train": train, "test": test,
            "y_train": y[:len(train)], "y_test": y[len(train):], "root": root,
            "metric": metric}


def test_surface_from_standin_runs_and_its_plan(standin_runs):
    r = standin_runs
    s = fit_surface(r["ctl"], r["train"], r["y_train"], "O3", degree=2)
    err = held_out_error(s, r["test"], r["y_test"])
    assert err.scenarios == 3 and set(err.by_city) == set(s.cities)
    # the stand-in is linear in the tag factors; the daily MDA8 maximum bends it a little
    assert err.max_abs < 2.0
    hz0 = r["y_train"][0]["330100"]  # no cut
    hz_max = min(y["330100"] for y in r["y_train"])
    assert hz_max < hz0 - 1.0, "Hangzhou's O3 responds to its industry's VOCs and NOx"
    target = round(hz0 - 0.5 * (hz0 - hz_max), 1)
    plan = least_cost(s, "330100", target)
    assert plan.feasible and plan.predicted <= target + 1e-6
    # O3 responds to both equally in the stand-in (half NOx, half VOCs): the cheaper cut per
    # fraction (NOx: 30 t/d x 15000 < VOCs: 45 t/d x 20000) goes first, to its bound, and VOCs
    # make up the rest: the constraint is active
    voc, nox = plan.steps
    assert nox.reduction == pytest.approx(0.6, abs=1e-4)
    assert plan.predicted == pytest.approx(target, abs=1e-3)
    assert voc.t_per_day == pytest.approx(voc.reduction * 45.0, abs=1e-4)
    assert plan.cost == pytest.approx(nox.reduction * 30.0 * 15000 + voc.reduction * 45.0 * 20000,
                                      rel=1e-3)
    grid = np.linspace(0, 0.6, 121)
    best = min(v * 45.0 * 20000 + n * 30.0 * 15000 for v in grid for n in grid
               if s.predict("330100", [v, n]) <= target)
    assert best - 0.005 * 45.0 * 20000 <= plan.cost <= best + 1e-6
    assert "RSM error ±" in plan.advice_en and "响应面误差±" in plan.advice_zh
    assert "cut NOx of sector IndustrialSource in 杭州市 by" in plan.advice_en
    # the world's answer: run the plan through the stand-in
    (check,) = standin_scenarios(r["base"], r["keys"],
                                 np.array([[st.reduction for st in plan.steps]]),
                                 r["root"] / "check", "plan")
    assert r["metric"](check)["330100"] <= target + err.by_city["330100"]


def test_cli_plan_from_runs_made(standin_runs, tmp_path):
    """`ecobrain rsm plan` on the scenario runs already made (as a CMAQ site would list its
    jobs' outputs), and a spec error named by file and field."""
    r = standin_runs
    runs = sorted((r["root"] / "scn").glob("rsm-*"))
    runs = [p for p in runs if p.is_dir()]
    xs = [*r["train"].tolist(), *r["test"].tolist()]
    spec = {"pollutant": "O3", "city": "330100", "target": 134.0, "degree": 2,
            "controls": [{"region": "330100", "sector": "IndustrialSource", "species": "VOCs",
                          "base_t_per_day": 45.0, "max_reduction": 0.6},
                         {"region": "330100", "sector": "IndustrialSource", "species": "NOx",
                          "base_t_per_day": 30.0, "max_reduction": 0.6}],
            "scenarios": [{"run_dir": str(p), "reductions": x} for p, x in
                          zip(runs[:9], xs[:9], strict=True)],
            "held_out_scenarios": [{"run_dir": str(p), "reductions": x} for p, x in
                                   zip(runs[9:], xs[9:], strict=True)]}
    f = tmp_path / "study.yaml"
    f.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    out = CliRunner().invoke(app, ["rsm", "plan", str(f)])
    assert out.exit_code == 0, out.output
    assert "held-out (3)" in out.output and "RSM error ±" in out.output
    assert "ILLUSTRATIVE" in out.output
    spec["controls"][0]["base_t_per_day"] = -1
    f.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    out = CliRunner().invoke(app, ["rsm", "plan", str(f)])
    assert out.exit_code == 1 and "study.yaml: controls.0.base_t_per_day" in out.output
