"""Emission inversion -> prior and posterior per species and period -> emission hotspots.

Inputs (docs/model-runs.md, "Inversion"): a prior and a posterior emission file on the same
grid — IOAPI emission files (mol/s or g/s per cell), CF files (kg/m2/s), or a CF prior with a
posterior given as *multipliers* (OpenMethane: ``posterior-multipliers.nc``, group ``emis``).
Every species is converted to **t/day per cell** (molar rates with the species' molar mass;
NOx counted as NO2; fluxes with the true cell area from the projection's areal scale).

Periods: hourly files are summed over each complete Beijing day (one finding per day); daily
records are one period each; anything else (a single average rate, a time-independent file) is
one period, reported as a mean daily mass.

Hotspots: cells where posterior − prior ≥ min_excess AND posterior / prior ≥ min_ratio
(``knowledge/config/hotspots.yaml``, per species), ranked by excess.

Region totals: each cell's emission is shared among the regions it overlaps by area
(:meth:`RegionMapper.totals`), so a cell half in a county gives it half its emission. The
per-cell period means are one dask computation over all species (threads or a cluster,
:mod:`.compute.scheduler`); only the (period, row, col) means come back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import dask.array as darray
import numpy as np
import pyproj

from ecobrain.model_adapters.attribution import grids_equal
from ecobrain.model_adapters.compute import scheduler
from ecobrain.model_adapters.daily import BEIJING, beijing_day_axis
from ecobrain.model_adapters.errors import (
    DimensionError,
    GridMismatchError,
    MissingVariableError,
    TimeAxisError,
)
from ecobrain.model_adapters.files.emission_species import (
    VariableSet,
    parse_variable_sets,
    would_match,
)
from ecobrain.model_adapters.files.gridfile import FILL_THRESHOLD, GriddedFile, open_xr
from ecobrain.model_adapters.files.units import emission_to_t_per_day_factor
from ecobrain.model_adapters.findings import (
    EmissionHotspot,
    Provenance,
    RegionEmission,
    grid_info,
)
from ecobrain.model_adapters.grids.overlap import DEFAULT_MIN_SHARE
from ecobrain.model_adapters.regions import RegionMapper
from ecobrain.model_adapters.run_warnings import WarningLog
from ecobrain.model_adapters.trusted import collector_paused, trusted
from ecobrain.ontology.geography import city_of
from ecobrain.ontology.grid import EARTH_RADIUS_M, LATGRD3, GridSpec
from ecobrain.yaml12 import load_yaml

# Candidate enterprises of a hotspot: in its cell, or within this distance of its centre.
DEFAULT_SEARCH_RADIUS_KM = 5.0


def default_hotspot_path() -> Path:
    return Path(str(files("ecobrain.knowledge") / "config" / "hotspots.yaml"))


@dataclass(frozen=True)
class SpeciesConfig:
    id: str
    alternatives: tuple[VariableSet, ...]
    molar_mass: float | None
    min_excess: float
    min_ratio: float


@dataclass(frozen=True)
class HotspotConfig:
    species: dict[str, SpeciesConfig]
    top_n: int | None
    search_radius_km: float = DEFAULT_SEARCH_RADIUS_KM
    county_min_share: float = DEFAULT_MIN_SHARE


@cache
def _hotspot_doc(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return load_yaml(fh)


def load_hotspot_config(path: str | Path | None = None,
                        overrides: Mapping[str, Mapping[str, float]] | None = None
                        ) -> HotspotConfig:
    """Thresholds from hotspots.yaml, optionally overridden per species."""
    p = str(path or default_hotspot_path())
    doc = _hotspot_doc(p)
    out = {}
    for sid, s in doc["species"].items():
        if not isinstance(sid, str):
            raise ValueError(f"{p}: species key {sid!r} is not a string (quote it)")
        o = dict((overrides or {}).get(sid, {}))
        try:
            out[sid] = SpeciesConfig(
                id=sid,
                alternatives=parse_variable_sets(s["variables"], f"{p}: species {sid}"),
                molar_mass=None if s.get("molar_mass_g_mol") is None
                else float(s["molar_mass_g_mol"]),
                min_excess=float(o.get("min_excess", s["min_excess"])),
                min_ratio=float(o.get("min_ratio", s["min_ratio"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{p}: species {sid}: {exc}") from exc
    top = doc.get("top_n")
    return HotspotConfig(
        out, None if top is None else int(top),
        search_radius_km=float(doc.get("search_radius_km", DEFAULT_SEARCH_RADIUS_KM)),
        county_min_share=float(doc.get("county_min_share", DEFAULT_MIN_SHARE)))


@cache
def cell_area_m2(grid: GridSpec) -> np.ndarray:
    """True area of every cell, (nrows, ncols), on the CMAQ sphere."""
    if grid.gdtyp == LATGRD3:
        lat_s = np.radians(grid.yorig + np.arange(grid.nrows) * grid.ycell)
        lat_n = lat_s + np.radians(grid.ycell)
        row_area = EARTH_RADIUS_M ** 2 * np.radians(grid.xcell) * (np.sin(lat_n) - np.sin(lat_s))
        return np.repeat(row_area[:, None], grid.ncols, axis=1)
    lon, lat = grid.cell_centers_lonlat()
    factors = pyproj.Proj(grid.crs).get_factors(lon, lat)
    return grid.xcell * grid.ycell / np.asarray(factors.areal_scale)


@dataclass(frozen=True)
class Period:
    records: np.ndarray
    start: dt.datetime | None  # UTC+8
    end: dt.datetime | None
    date: dt.date | None


def periods(f: GriddedFile) -> list[Period]:
    if f.times is None or f.ntimes == 0:
        return [Period(np.array([0]), None, None, None)]
    begin = f.interval_begin()
    step = np.timedelta64(int(f.step_seconds or 0), "s")

    def local(t: np.datetime64) -> dt.datetime:
        return t.astype(dt.datetime).replace(tzinfo=dt.UTC).astimezone(BEIJING)

    if f.step_seconds == 3600:
        axis = beijing_day_axis(begin, label=f.label, step_seconds=3600)
        if axis.ndays:
            return [Period(axis.index[d], local(begin[axis.index[d][0]]),
                           local(begin[axis.index[d][-1]] + step), day)
                    for d, day in enumerate(axis.days)]
    if f.step_seconds == 86400:
        out = []
        for t in range(f.ntimes):
            s = local(begin[t])
            out.append(Period(np.array([t]), s, local(begin[t] + step),
                              s.date() if (s.hour, s.minute) == (0, 0) else None))
        return out
    return [Period(np.arange(f.ntimes), local(begin[0]), local(begin[-1] + step), None)]


class _Multipliers:
    """Posterior given as posterior/prior scaling factors (OpenMethane 4D-Var solution)."""

    def __init__(self, path: Path, label: str, group: str | None, grid: GridSpec):
        self.label = label
        self.ds = open_xr(path, label, group=group)
        self.grid = grid

    def has(self, name: str) -> bool:
        return name in self.ds.data_vars

    def read(self, name: str, layer: int, nt: int) -> np.ndarray:
        v = self.ds[name]
        arr = np.asarray(v.values, dtype=np.float64)
        while arr.ndim > 3:
            arr = arr[:, layer] if arr.shape[1] > layer else arr[:, 0]
        if arr.ndim == 2:
            arr = arr[None]
        if arr.shape[1:] != (self.grid.nrows, self.grid.ncols):
            raise DimensionError(self.label, f"has shape {v.shape}; the prior grid is "
                                 f"{self.grid.nrows}x{self.grid.ncols}", name)
        if not np.isfinite(arr).all() or (np.abs(arr) > 1e30).any():
            raise DimensionError(self.label, "holds NaN or fill values", name)
        if arr.shape[0] not in (1, nt):
            raise TimeAxisError(self.label, f"has {arr.shape[0]} records; the prior has {nt}",
                                name)
        return np.broadcast_to(arr, (nt, *arr.shape[1:]))

    def close(self) -> None:
        self.ds.close()


def _choose(species: SpeciesConfig, prior: GriddedFile,
            override: str | list[str] | None) -> tuple[VariableSet, tuple] | None:
    """The first variable set the prior carries, and its members present."""
    if override is not None:
        names = tuple([override] if isinstance(override, str) else override)
        for n in names:
            prior.require(n)
        vs = VariableSet(tuple((n, None) for n in names), names)
        return vs, vs.members
    for vs in species.alternatives:
        got = vs.present(prior.has)
        if got is not None:
            return vs, got
    return None


def _open_species(
    prior: GriddedFile,
    posterior: GriddedFile | None,
    config: HotspotConfig,
    *,
    multipliers: tuple[Path, str, str | None] | None,
    overrides: Mapping[str, str | list[str]] | None,
    warnings: WarningLog | None,
    notes: list[str],
) -> tuple[_Multipliers | None, str, dict[str, tuple[VariableSet, tuple]]]:
    """The posterior's checks (grid, time axis), its label, and the configured species the
    files carry with the variables chosen for each: what every reader of an inversion's
    emissions starts from (hotspots, region totals, the post-measure evaluation)."""
    warnings = warnings if warnings is not None else WarningLog()
    overrides = overrides or {}
    grid = prior.grid
    mult = None
    if multipliers is not None:
        mult = _Multipliers(multipliers[0], multipliers[1], multipliers[2], grid)
        post_label = multipliers[1]
    else:
        assert posterior is not None
        post_label = posterior.label
        if not grids_equal(grid, posterior.grid):
            raise GridMismatchError(posterior.label, f"grid {posterior.grid.name} differs from "
                                    f"the prior {prior.label}'s grid {grid.name}")
        if prior.ntimes != posterior.ntimes or (
                prior.times is not None and posterior.times is not None
                and not np.array_equal(prior.times, posterior.times)):
            raise TimeAxisError(posterior.label, f"time records differ from the prior "
                                f"{prior.label}'s")
    try:
        chosen: dict[str, tuple[VariableSet, tuple]] = {}
        for sid, sc in config.species.items():
            picked = _choose(sc, prior, overrides.get(sid))
            if picked is None:
                continue
            vs, members = picked
            if mult is not None:
                if not any(mult.has(n) for a in sc.alternatives for n in a.names):
                    notes.append(f"{post_label}: no multiplier for {sid}; skipped")
                    continue
            else:
                assert posterior is not None
                for n, _ in members:
                    posterior.require(n)
            chosen[sid] = picked
            if vs.lower_bound:
                names = "+".join(n for n, _ in members)
                warnings.warn(
                    "lower-bound",
                    f"{prior.label}：{sid}仅由{names}反演，热点排放量为下限",
                    f"{prior.label}: {sid} inverted from {names} only: emissions and "
                    "hotspot excesses are lower bounds", file=prior.label, variable=names)
        if not chosen:
            wanted = "; ".join(f"{sid}: {' | '.join(would_match(sc.alternatives))}"
                               for sid, sc in config.species.items())
            raise MissingVariableError(
                prior.label, f"has no emission variable of a configured species. The file has: "
                f"{', '.join(prior.variables()) or 'no gridded variable'}. Names that would "
                f"match ({default_hotspot_path().name}, or the manifest's 'variables'): {wanted}")
    except BaseException:
        if mult is not None:
            mult.close()
        raise
    return mult, post_label, chosen


@dataclass(frozen=True)
class SpeciesRates:
    """One species' emissions of an inversion, t/day per cell and record (nt, nrows, ncols)."""

    species: str
    config: SpeciesConfig
    prior: np.ndarray
    posterior: np.ndarray
    posterior_label: str
    posterior_variables: list[str]
    lower_bound: bool


def species_rates(
    prior: GriddedFile,
    posterior: GriddedFile | None,
    config: HotspotConfig,
    *,
    multipliers: tuple[Path, str, str | None] | None = None,
    overrides: Mapping[str, str | list[str]] | None = None,
    layer: int = 0,
    warnings: WarningLog | None = None,
    notes: list[str] | None = None,
) -> list[SpeciesRates]:
    """Prior and posterior of every configured species the files carry, in t/day per cell.

    The one place an inversion's files become emission masses: the hotspot adapter and the
    post-measure evaluation read the same numbers. ``multipliers``: (path, label, group) of a
    scaling-factor posterior instead of ``posterior``; ``warnings``: where lower bounds (NOx
    from NO2 only) are reported; ``notes``: where skipped species are listed.
    """
    notes = notes if notes is not None else []
    mult, post_label, chosen = _open_species(prior, posterior, config, multipliers=multipliers,
                                             overrides=overrides, warnings=warnings, notes=notes)
    grid = prior.grid
    try:
        nt = max(prior.ntimes, 1)
        area = None
        out: list[SpeciesRates] = []
        for sid, (vs, members) in chosen.items():
            sc = config.species[sid]
            alt = [n for n, _ in members]
            prior_t = np.zeros((nt, grid.nrows, grid.ncols))
            post_t = np.zeros_like(prior_t)
            for n, weight in members:
                molar_mass = sc.molar_mass if weight is None else weight
                canon = prior.units(n)
                if area is None and canon.startswith(("kg/m2", "g/m2", "mol/m2", "mol/km2")):
                    area = cell_area_m2(grid)
                f_prior = emission_to_t_per_day_factor(
                    canon, molar_mass=molar_mass, cell_area_m2=area, file=prior.label,
                    variable=n)
                prior_t += prior.read(n, slice(None), layer) * f_prior
                if mult is None:
                    assert posterior is not None
                    canon_post = posterior.units(n)
                    f_post = emission_to_t_per_day_factor(
                        canon_post, molar_mass=molar_mass, cell_area_m2=area,
                        file=posterior.label, variable=n)
                    post_t += posterior.read(n, slice(None), layer) * f_post
            if mult is not None:
                mname = next(n for a in sc.alternatives for n in a.names if mult.has(n))
                post_t = prior_t * mult.read(mname, layer, nt)
                post_vars = [mname]
            else:
                post_vars = list(alt)
            out.append(SpeciesRates(sid, sc, prior_t, post_t, post_label, post_vars,
                                    vs.lower_bound))
        return out
    finally:
        if mult is not None:
            mult.close()


# Below this many decoded bytes (and when the work would run on threads anyway) the inversion
# reads its variables whole with numpy: a one-day provincial inversion decodes ~30 MB, and
# building and scheduling a dask graph of its 24 variable views cost several times the read.
EAGER_MAX_BYTES = 64 * 2**20


class _Values:
    """A variable's stored values: read once, whole, with numpy (``eager``), or as a lazy dask
    array of day blocks."""

    def __init__(self, layer: int, *, eager: bool):
        self.layer = layer
        self.eager = eager
        self._kept: dict[tuple[int, str], Any] = {}

    def __call__(self, f: GriddedFile, name: str) -> Any:
        key = (id(f), name)
        if key not in self._kept:
            self._kept[key] = (f.stored(name, self.layer) if self.eager
                               else f.lazy(name, self.layer))
        return self._kept[key]


def _reads(chosen: Mapping[str, Any], prior: GriddedFile, posterior: GriddedFile | None,
           mult: Any) -> list[tuple[GriddedFile, str]]:
    """Every (file, variable) the species read: the prior's, and the posterior's unless
    scaling factors stand in for it."""
    out: list[tuple[GriddedFile, str]] = []
    for _vs, members in chosen.values():
        for n, _weight in members:
            out.append((prior, n))
            if mult is None and posterior is not None:
                out.append((posterior, n))
    return out


def inversion_findings(
    prior: GriddedFile,
    posterior: GriddedFile | None,
    run_id: str,
    mapper: RegionMapper,
    config: HotspotConfig,
    *,
    multipliers: tuple[Path, str, str | None] | None = None,
    overrides: Mapping[str, str | list[str]] | None = None,
    layer: int = 0,
    warnings: WarningLog | None = None,
) -> tuple[list[EmissionHotspot], list[RegionEmission], list[str]]:
    """Hotspots and region totals of every configured species the files carry.

    ``multipliers``: (path, label, group) of a scaling-factor posterior instead of ``posterior``.
    ``warnings``: where lower bounds (NOx from NO2 only) are reported.
    """
    notes: list[str] = []
    mult, post_label, chosen = _open_species(prior, posterior, config, multipliers=multipliers,
                                             overrides=overrides, warnings=warnings, notes=notes)
    grid = prior.grid
    try:
        nt = max(prior.ntimes, 1)
        area = None
        lon, lat = grid.cell_centers_lonlat()
        per = periods(prior)
        hotspots: list[EmissionHotspot] = []
        totals: list[RegionEmission] = []
        region_idx = [i for i in range(mapper.nregions)
                      if mapper.levels[i] in ("province", "city", "county")]
        # Per species, the per-period mean rate of every cell (t/day), prior and posterior, as
        # one lazy computation for all species; NaN/fill counts of every variable read beside.
        lazy: dict[str, tuple[Any, Any]] = {}
        post_vars_of: dict[str, list[str]] = {}
        checks = _reads(chosen, prior, posterior, mult)  # every variable read, checked below
        nbytes = sum(f.decoded_bytes(n, layer) for f, n in checks)
        values = _Values(layer, eager=scheduler.choose(nbytes) == "threads"
                         and nbytes <= EAGER_MAX_BYTES)
        xp = np if values.eager else darray
        for sid, (_vs, members) in chosen.items():
            sc = config.species[sid]
            prior_t: Any = 0.0
            post_t: Any = 0.0
            for n, weight in members:
                molar_mass = sc.molar_mass if weight is None else weight
                canon = prior.units(n)
                if area is None and canon.startswith(("kg/m2", "g/m2", "mol/m2", "mol/km2")):
                    area = cell_area_m2(grid)
                f_prior = emission_to_t_per_day_factor(
                    canon, molar_mass=molar_mass, cell_area_m2=area, file=prior.label,
                    variable=n)
                prior_t = prior_t + values(prior, n).astype(np.float64) * f_prior
                if mult is None:
                    assert posterior is not None
                    canon_post = posterior.units(n)
                    f_post = emission_to_t_per_day_factor(
                        canon_post, molar_mass=molar_mass, cell_area_m2=area,
                        file=posterior.label, variable=n)
                    post_t = post_t + values(posterior, n).astype(np.float64) * f_post
            if mult is not None:
                mname = next(n for a in sc.alternatives for n in a.names if mult.has(n))
                post_t = prior_t * mult.read(mname, layer, nt)
                post_vars_of[sid] = [mname]
            else:
                post_vars_of[sid] = [n for n, _ in members]
            lazy[sid] = (xp.stack([prior_t[p.records].mean(axis=0) for p in per]),
                         xp.stack([post_t[p.records].mean(axis=0) for p in per]))
        bad_counts = [xp.count_nonzero(~xp.isfinite(values(f, n))
                                       | (abs(values(f, n)) > FILL_THRESHOLD))
                      for f, n in checks]
        computed = scheduler.compute([*lazy.values(), *bad_counts], nbytes)
        for (f, n), count in zip(checks, computed[len(lazy):], strict=True):
            if count:
                f.read(n, slice(None), layer)  # raises the error naming the first bad value
        for (sid, (vs, _members)), (prior_p, post_p) in zip(chosen.items(), computed[:len(lazy)],
                                                              strict=True):
            sc = config.species[sid]
            post_vars = post_vars_of[sid]
            for k, period in enumerate(per):
                recs = period.records
                pr = prior_p[k]
                po = post_p[k]
                trange = (int(recs.min()), int(recs.max())) if prior.times is not None else None
                hotspots.extend(_hotspots(run_id, sid, sc, config, period, pr, po, mapper,
                                          lon, lat, post_label, post_vars, trange,
                                          vs.lower_bound))
                agg_p = mapper.totals(pr).tolist()
                agg_q = mapper.totals(po).tolist()
                with collector_paused():
                    for i in region_idx:
                        totals.append(trusted(RegionEmission, {
                            "run_id": run_id, "region_code": mapper.codes[i],
                            "region_level": mapper.levels[i], "species": sid,
                            "date": period.date, "period_start": period.start,
                            "period_end": period.end, "prior": round(agg_p[i], 4),
                            "posterior": round(agg_q[i], 4), "units": "t/day",
                            "provenance": trusted(Provenance, {
                                "run_id": run_id, "file": post_label,
                                "variables": list(post_vars), "time_index": trange,
                                "region_cell_count": int(mapper.cell_counts[i]),
                                "region_method": mapper.methods[i]}),
                        }))
        return hotspots, totals, notes
    finally:
        if mult is not None:
            mult.close()


def _hotspots(run_id: str, sid: str, sc: SpeciesConfig, config: HotspotConfig,
              period: Period, prior: np.ndarray, post: np.ndarray, mapper: RegionMapper,
              lon: np.ndarray, lat: np.ndarray, label: str, variables: list[str],
              trange: tuple[int, int] | None, lower_bound: bool) -> list[EmissionHotspot]:
    excess = post - prior
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(prior > 0, post / prior, np.inf)
    hit = (excess >= sc.min_excess) & (ratio >= sc.min_ratio)
    rows, cols = np.nonzero(hit)
    if len(rows) == 0:
        return []
    order = np.lexsort((cols, rows, -excess[rows, cols]))
    rows, cols = rows[order], cols[order]
    if config.top_n is not None:
        rows, cols = rows[:config.top_n], cols[:config.top_n]
    grid = mapper.grid
    info = grid_info(grid)
    out = []
    for rank, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True), start=1):
        # the county the cell overlaps most, by area (not the one holding its centre)
        shares = mapper.county_shares(r * grid.ncols + c, config.county_min_share)
        cc = shares[0].county_code if shares else None
        rt = ratio[r, c]
        out.append(EmissionHotspot(
            run_id=run_id, species=sid, date=period.date, period_start=period.start,
            period_end=period.end, row=r, col=c, cell_id=grid.cell_id(r, c),
            lon=round(float(lon[r, c]), 5), lat=round(float(lat[r, c]), 5),
            county_code=cc, city_code=city_of(cc) if cc else None,
            prior=round(float(prior[r, c]), 4), posterior=round(float(post[r, c]), 4),
            excess=round(float(excess[r, c]), 4),
            ratio=round(float(rt), 4) if np.isfinite(rt) else None, rank=rank, units="t/day",
            thresholds={"min_excess": sc.min_excess, "min_ratio": sc.min_ratio},
            provenance=Provenance(run_id=run_id, file=label, variables=variables,
                                  time_index=trange, cells=[(r, c)]),
            counties=[s.county_code for s in shares], lower_bound=lower_bound,
            grid=info, search_radius_km=config.search_radius_km,
        ))
    return out
