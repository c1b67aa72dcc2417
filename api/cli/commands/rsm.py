"""`ecobrain rsm plan SPEC.yaml`: the least-cost reductions meeting a target, from a response
surface fitted to scenario runs (docs/closed-loop.md §3).

The spec names the controls, the city and its target, and either the scenario runs already made
(``scenarios`` and ``held_out_scenarios``, each a run directory with its reductions) or a
``baseline`` on which the stand-in model runs a factorial design (``levels``) and
``held_out`` Latin-hypercube scenarios into ``--runs-dir``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.markup import escape

from ecobrain.api.cli.common import console, fail
from ecobrain.hpc_jobs.rsm_scenarios import standin_scenarios
from ecobrain.hpc_jobs.standin_model import StandinError
from ecobrain.model_adapters import AdapterError
from ecobrain.reasoning.evaluation.least_cost import load_costs
from ecobrain.reasoning.evaluation.rsm import factorial_design, lhs_design
from ecobrain.reasoning.evaluation.rsm_study import controls_of, load_spec, run_study

rsm_app = typer.Typer(help="Least-cost reductions from a response surface (pf-RSM).",
                      no_args_is_help=True)


@rsm_app.command("plan")
def plan(
    spec_file: Annotated[Path, typer.Argument(help="the study's YAML spec")],
    runs_dir: Annotated[Path | None, typer.Option(
        help="where the stand-in writes its scenario runs (default: a temporary folder)")]
    = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the study as JSON")] = False,
) -> None:
    """Fit the surface, report its held-out error and the cheapest plan meeting the target."""
    try:
        spec = load_spec(spec_file)
        costs, status = load_costs()
        controls = controls_of(spec, costs)
        if spec.scenarios:
            train = [(s.reductions, s.run_dir) for s in spec.scenarios]
            test = [(s.reductions, s.run_dir) for s in spec.held_out_scenarios]
        else:
            assert spec.baseline is not None
            keys = [(c.region, c.sector, c.species) for c in controls]
            x_train = factorial_design(len(controls), spec.levels)
            x_train = np.minimum(x_train, [c.max_reduction for c in controls])
            x_test = lhs_design(controls, spec.held_out, spec.seed)
            root = runs_dir or Path(tempfile.mkdtemp(prefix="ecobrain-rsm-"))
            console.print(f"running {len(x_train) + len(x_test)} stand-in scenarios in {root}")
            runs = standin_scenarios(spec.baseline, keys, np.vstack([x_train, x_test]), root,
                                     "rsm")
            train = list(zip(x_train.tolist(), runs[:len(x_train)], strict=True))
            test = list(zip(x_test.tolist(), runs[len(x_train):], strict=True))
        study = run_study(spec, controls, train, test, status)
    except (ValueError, OSError, AdapterError, StandinError) as exc:
        raise fail(str(exc)) from exc
    if json_out:
        console.print_json(study.model_dump_json())
        return
    e = study.fit_error
    console.print(f"surface: degree {study.degree}, {study.training_scenarios} scenarios; "
                  f"held-out ({e.scenarios}): RMSE {e.rmse:g}, max |error| {e.max_abs:g} µg/m³")
    p = study.plan
    console.print(f"{p.city}: {p.baseline:g} → {p.predicted:g} (target {p.target:g}), cost "
                  f"{p.cost:.0f}/d{'' if p.feasible else ' — target not reachable'}")
    console.print(escape(p.advice_zh))
    console.print(escape(p.advice_en))
    if study.cost_status == "ILLUSTRATIVE":
        console.print("note: costs per ton are ILLUSTRATIVE (knowledge/config/"
                      "reduction_costs.yaml); replace them with your own")


def register(app: typer.Typer) -> None:
    app.add_typer(rsm_app, name="rsm")
