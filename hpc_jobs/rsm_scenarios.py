"""Scenario runs for a response surface: one DESID scaling namelist per design point, run by
the stand-in model here (a CMAQ site runs the same namelists as scenario jobs).

A design point gives each control — (region, sector, species) — a fractional reduction x; its
scaling factor is ``1 - x`` (:class:`~ecobrain.hpc_jobs.request.ScalingFactor`), turned into
DESID rules exactly as a scenario job's are (:func:`~ecobrain.hpc_jobs.desid.rules_for_factors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecobrain.hpc_jobs import desid
from ecobrain.hpc_jobs.request import ScalingFactor
from ecobrain.hpc_jobs.standin_model import run_standin
from ecobrain.ontology.concepts import Ontology

MECHANISM = "cb6r5_ae7_aq"


def scaling_factors(keys: Sequence[tuple[str, str, str]], x: Sequence[float]
                    ) -> list[ScalingFactor]:
    """(region, sector, species) keys and reductions -> the scenario's scaling factors."""
    return [ScalingFactor(region=r, sector=s, species=sp, factor=round(1.0 - float(xi), 6),
                          note=f"RSM design point: -{float(xi) * 100:.1f} %")
            for (r, s, sp), xi in zip(keys, x, strict=True) if xi > 0]


def namelist(keys: Sequence[tuple[str, str, str]], x: Sequence[float], title: str) -> str:
    factors = scaling_factors(keys, x)
    onto = Ontology()
    rules = desid.rules_for_factors(factors, desid.load_mapping(), MECHANISM,
                                    {f.sector: onto.descendants(f.sector) for f in factors})
    return desid.render_chem_namelist(rules, title)


def standin_scenarios(baseline: str | Path, keys: Sequence[tuple[str, str, str]],
                      design: np.ndarray, out_root: str | Path, prefix: str) -> list[Path]:
    """Run the stand-in model at every design point; the run directories, in design order."""
    root = Path(out_root)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for i, x in enumerate(np.asarray(design, dtype=float)):
        run_id = f"{prefix}-{i:03d}"
        nml = root / f"{run_id}.nml"
        nml.write_text(namelist(keys, x, f"{run_id}: " + ", ".join(
            f"{k[0]} {k[1]} {k[2]} -{v * 100:.1f}%" for k, v in zip(keys, x, strict=True))),
            encoding="utf-8")
        run_standin(baseline, nml, root / run_id, run_id, mechanism=MECHANISM)
        out.append(root / run_id)
    return out
