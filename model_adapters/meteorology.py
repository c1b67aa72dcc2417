"""The meteorology a run carries (MCIP METCRO2D/METCRO3D, or WRF-derived CF), for episode
signatures: boundary-layer height, 10 m wind speed and near-surface temperature, averaged over
the cells of given regions and the records of given Beijing days.

Variables are looked up by their MCIP names first (``PBL`` m; ``WSPD10`` m/s or the pair
``U10``/``V10``; ``TEMP2`` K, else the lowest layer of METCRO3D's ``TA``); a run names its
files in run.json as ``{"kind": "meteorology", "format": "ioapi", "path": "METCRO2D_..."}``
(several files may be given; the first that holds a quantity is used). MCIP stamps are
instants, so a day's mean is the mean of the records stamped on that Beijing day — partial
days count as far as they go (meteorology describes the weather pattern, not a standard's
daily value).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ecobrain.model_adapters.files.gridfile import GriddedFile
from ecobrain.model_adapters.files.manifest import ModelRun
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.ontology.geography import RegionIndex

QUANTITIES = ("pbl_m", "wind_m_s", "temp_k")
_CELSIUS = {"c", "degc", "deg c", "celsius", "°c"}


@dataclass
class Meteorology:
    values: dict[str, float] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # quantity -> file:variable
    notes: list[str] = field(default_factory=list)


def _records_on(f: GriddedFile, days: set[dt.date]) -> np.ndarray:
    if f.times is None:
        return np.arange(1)
    local = (f.times.astype("datetime64[s]") + np.timedelta64(8, "h")).astype("datetime64[D]")
    dates = [d.astype(dt.date) for d in local]
    return np.array([i for i, d in enumerate(dates) if not days or d in days], dtype=int)


def _mean(f: GriddedFile, name: str, recs: np.ndarray, cells: np.ndarray | None) -> float:
    arr = f.read(name, slice(int(recs.min()), int(recs.max()) + 1), 0, check=False)
    arr = arr[recs - recs.min()].reshape(len(recs), -1).astype(np.float64)
    sub = arr if cells is None else arr[:, cells]
    ok = np.isfinite(sub) & (np.abs(sub) < 1e30)
    return float(sub[ok].mean()) if ok.any() else float("nan")


def _cells(f: GriddedFile, counties: Iterable[str] | None) -> np.ndarray | None:
    if counties is None:
        return None
    wanted = set(counties)
    lon, lat = f.grid.cell_centers_lonlat()
    where = RegionIndex.counties().locate(lon, lat).ravel()
    return np.array([i for i, c in enumerate(where) if c in wanted], dtype=int)


def file_meteorology(f: GriddedFile, days: Iterable[dt.date],
                     counties: Iterable[str] | None = None) -> Meteorology:
    """Means over the counties' cells (None: every cell) and the records on `days` (empty:
    all records)."""
    out = Meteorology()
    recs = _records_on(f, set(days))
    if len(recs) == 0:
        out.notes.append(f"{f.label}: no record on the episode days")
        return out
    cells = _cells(f, counties)
    if cells is not None and len(cells) == 0:
        out.notes.append(f"{f.label}: the grid holds no cell of the episode's counties")
        return out
    if f.has("PBL"):
        out.values["pbl_m"] = _mean(f, "PBL", recs, cells)
        out.sources["pbl_m"] = f"{f.label}:PBL"
    if f.has("WSPD10"):
        out.values["wind_m_s"] = _mean(f, "WSPD10", recs, cells)
        out.sources["wind_m_s"] = f"{f.label}:WSPD10"
    elif f.has("U10") and f.has("V10"):
        u = f.read("U10", check=False)[recs].reshape(len(recs), -1).astype(np.float64)
        v = f.read("V10", check=False)[recs].reshape(len(recs), -1).astype(np.float64)
        speed = np.hypot(u, v)
        out.values["wind_m_s"] = float((speed if cells is None else speed[:, cells]).mean())
        out.sources["wind_m_s"] = f"{f.label}:U10,V10"
    for name in ("TEMP2", "TA"):
        if f.has(name):
            t = _mean(f, name, recs, cells)
            if (f.raw_units(name) or "").strip().lower() in _CELSIUS:
                t += 273.15
            out.values["temp_k"] = t
            out.sources["temp_k"] = f"{f.label}:{name}" + (" (layer 1)" if name == "TA" else "")
            break
    out.values = {k: round(v, 3) for k, v in out.values.items() if np.isfinite(v)}
    return out


def run_meteorology(run: ModelRun, days: Iterable[dt.date],
                    counties: Iterable[str] | None = None) -> Meteorology | None:
    """The run's meteorology over the episode (None when the run names no meteorology)."""
    outs = run.outputs("meteorology")
    if not outs:
        return None
    days = list(days)
    merged = Meteorology()
    for o in outs:
        assert o.path is not None
        with open_gridded(run.file(o.path), o.format, label=o.path,
                          timestamp=o.timestamp or "instant") as f:
            m = file_meteorology(f, days, counties)
        for k, v in m.values.items():
            if k not in merged.values:
                merged.values[k] = v
                merged.sources[k] = m.sources[k]
        merged.notes.extend(m.notes)
    return merged
