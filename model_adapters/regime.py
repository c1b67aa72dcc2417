"""O3 formation regime per county and day from the forecast's HCHO/NO2 ratio.

Thresholds and the averaging window are data (``knowledge/standards/o3_regime.yaml``; default
Wang et al. 2021, alternative Duncan et al. 2010, FACTS.md §5). The ratio is molar (ppbV/ppbV):
gases given as mass concentrations are converted back at the standard's reference state.
Those thresholds were derived for satellite columns; applying them to model surface mixing
ratios is an approximation, stated in the YAML and in docs/model-runs.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from ecobrain.model_adapters.aqi import StandardSet
from ecobrain.model_adapters.daily import hours_mean
from ecobrain.model_adapters.findings import O3Regime, Provenance
from ecobrain.model_adapters.forecast import ForecastSeries
from ecobrain.model_adapters.trusted import collector_paused, trusted
from ecobrain.yaml12 import load_yaml


def default_regime_path() -> Path:
    return Path(str(files("ecobrain.knowledge") / "standards" / "o3_regime.yaml"))


@dataclass(frozen=True)
class RegimeConfig:
    set_id: str
    voc_limited_below: float
    nox_limited_above: float
    hours: tuple[int, int]

    def classify(self, ratio: np.ndarray) -> np.ndarray:
        return np.where(ratio < self.voc_limited_below, "VOCLimited",
                        np.where(ratio > self.nox_limited_above, "NOxLimited", "Transitional"))


@cache
def _doc(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return load_yaml(fh)


def load_regime_config(path: str | Path | None = None, set_id: str | None = None,
                       hours: tuple[int, int] | None = None) -> RegimeConfig:
    p = str(path or default_regime_path())
    doc = _doc(p)
    sid = set_id or doc["default"]
    if sid not in doc["sets"]:
        raise ValueError(f"{p}: no threshold set {sid!r} (have: {', '.join(doc['sets'])})")
    s = doc["sets"][sid]
    lo, hi = float(s["voc_limited_below"]), float(s["nox_limited_above"])
    if not lo <= hi:
        raise ValueError(f"{p}: set {sid}: voc_limited_below must not exceed nox_limited_above")
    h = hours or tuple(doc["model_application"]["hours_beijing"])
    if not (0 <= h[0] < h[1] <= 24):
        raise ValueError(f"{p}: hours_beijing {h} must satisfy 0 <= start < end <= 24")
    return RegimeConfig(sid, lo, hi, (int(h[0]), int(h[1])))


def regime_findings(fs: ForecastSeries, standards: StandardSet, config: RegimeConfig,
                    levels: Sequence[str] = ("county",)) -> tuple[list[O3Regime], list[str]]:
    """O3Regime for each region of ``levels`` and each complete day; notes if impossible."""
    missing = [p for p in ("Formaldehyde", "NO2") if p not in fs.raw]
    if missing:
        return [], [f"{fs.label}: no O3 regime: the forecast carries no "
                    f"{' or '.join(missing)} (HCHO and NO2 are both needed)"]
    axis = fs.axis
    if axis.ndays == 0:
        return [], []
    stds = [standards.for_day(d) for d in axis.days]
    h0, h1 = config.hours
    f_h = np.array([fs.ppb_factor("Formaldehyde", s) for s in stds])[:, None]
    f_n = np.array([fs.ppb_factor("NO2", s) for s in stds])[:, None]
    hcho = hours_mean(fs.raw["Formaldehyde"], axis, h0, h1) * f_h
    no2 = hours_mean(fs.raw["NO2"], axis, h0, h1) * f_n
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(no2 > 0, hcho / no2, np.inf)
    regime = config.classify(ratio)
    m = fs.mapper
    idx = [i for i in range(m.nregions) if m.levels[i] in levels]
    variables = [fs.variables["Formaldehyde"], fs.variables["NO2"]]
    thresholds = {"voc_limited_below": float(config.voc_limited_below),
                  "nox_limited_above": float(config.nox_limited_above)}
    hours = (int(h0), int(h1))
    out: list[O3Regime] = []
    with collector_paused():
        for d, day in enumerate(axis.days):
            rec = axis.index[d]
            trange = (int(rec[h0]), int(rec[h1 - 1]))
            hcho_d, no2_d = hcho[d].tolist(), no2[d].tolist()
            ratio_d, regime_d = ratio[d].tolist(), regime[d].tolist()
            for i in idx:
                r = ratio_d[i]
                out.append(trusted(O3Regime, {
                    "run_id": fs.run_id, "region_code": m.codes[i],
                    "region_level": m.levels[i], "date": day,
                    "hcho_ppb": round(hcho_d[i], 4), "no2_ppb": round(no2_d[i], 4),
                    "ratio": round(r, 4) if math.isfinite(r) else 1e9,
                    "regime": str(regime_d[i]), "thresholds": dict(thresholds),
                    "threshold_source": config.set_id, "hours": hours,
                    "provenance": trusted(Provenance, {
                        "run_id": fs.run_id, "file": fs.label, "variables": list(variables),
                        "time_index": trange, "region_cell_count": int(m.cell_counts[i]),
                        "region_method": m.methods[i]}),
                }))
    return out, []
