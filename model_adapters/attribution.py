"""ISAM source attribution -> shares of PM2.5 and O3 at each receptor city and county, per day.

An SA_ACONC file holds ``<SPECIES>_<TAG>`` variables (FORMATS.md §4): the user tags of the
control file (their names truncated to ``min(7, 16 - len(species) - 1)`` characters) and the
built-in BCO (boundary), OTH (other), ICO (initial) — and BID (bidirectional NH3) when present.
The manifest maps each user tag to a source region and a sector; the adapter passes the sector
through unchanged (the rules map it to the ontology).

Receptor values follow the forecast conventions: region mean over cells, then PM2.5 as the
24-h mean of the Beijing day, O3 as the mean over the 8 hours of the *bulk* O3's MDA8 window
(so the O3 shares explain the value the AQI is computed from). The shares must close: the sum
over all tags equals the bulk concentration (the SA file's own bulk variable, or the forecast)
within 1 % for every receptor and day, otherwise :class:`AttributionClosureError` — and no
finding of the file is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ecobrain.model_adapters.aqi import StandardSet
from ecobrain.model_adapters.compute.reductions import region_series
from ecobrain.model_adapters.daily import DayAxis, beijing_day_axis, daily_mean, mda8, window_mean
from ecobrain.model_adapters.errors import (
    AttributionClosureError,
    GridMismatchError,
    ManifestError,
    MissingVariableError,
    UnitError,
)
from ecobrain.model_adapters.files.gridfile import GriddedFile
from ecobrain.model_adapters.files.manifest import TagSpec
from ecobrain.model_adapters.files.units import quantity, to_aqi_units_factor
from ecobrain.model_adapters.findings import AttributionShare, Provenance
from ecobrain.model_adapters.forecast import DEFAULT_ALIASES, ForecastSeries
from ecobrain.model_adapters.regions import RegionMapper
from ecobrain.model_adapters.trusted import collector_paused, trusted
from ecobrain.ontology.grid import GridSpec

BUILTIN_TAGS = {"BCO": "boundary", "OTH": "other", "ICO": "initial", "BID": "bidirectional"}
REQUIRED_BUILTINS = ("BCO", "OTH", "ICO")
ATTRIBUTED = ("PM2_5", "O3")
DEFAULT_TOLERANCE = 0.01


def file_tag(species: str, tag: str) -> str:
    """The tag as it appears in the variable name (op_sa.F WR_VARNAME truncation)."""
    return tag[: min(7, 16 - len(species) - 1)]


def tag_variables(gfile: GriddedFile, species: str) -> dict[str, str]:
    """Tag suffix -> variable for ``<species>_<TAG>`` (tags never contain '_')."""
    prefix = species + "_"
    out = {}
    for v in gfile.variables():
        if v.startswith(prefix):
            tag = v[len(prefix):]
            if tag and "_" not in tag:
                out[tag] = v
    return out


def grids_equal(a: GridSpec, b: GridSpec) -> bool:
    if (a.gdtyp, a.ncols, a.nrows) != (b.gdtyp, b.ncols, b.nrows):
        return False
    fa = (a.p_alp, a.p_bet, a.p_gam, a.xcent, a.ycent, a.xorig, a.yorig, a.xcell, a.ycell)
    fb = (b.p_alp, b.p_bet, b.p_gam, b.xcent, b.ycent, b.xorig, b.yorig, b.xcell, b.ycell)
    return bool(np.allclose(fa, fb, rtol=0, atol=1e-6 * max(1.0, abs(a.xcell))))


@dataclass
class _Species:
    pollutant: str
    species: str  # variable prefix in the SA file
    tags: dict[str, str]  # file tag -> variable


def _find_species(sa: GriddedFile, overrides: Mapping[str, str | list[str]]) -> list[_Species]:
    found = []
    for p in ATTRIBUTED:
        if p in overrides:
            name = overrides[p]
            candidates: tuple[str, ...] = (name[0] if isinstance(name, list) else name,)
        else:
            candidates = tuple(DEFAULT_ALIASES[p])
        best: _Species | None = None
        for sp in candidates:
            tv = tag_variables(sa, sp)
            if tv and (best is None or len(tv) > len(best.tags)):
                best = _Species(p, sp, tv)
        if best is not None:
            found.append(best)
    if not found:
        raise MissingVariableError(
            sa.label, "has no ISAM <SPECIES>_<TAG> variables for PM2.5 "
            f"({'/'.join(DEFAULT_ALIASES['PM2_5'][:3])}) or O3")
    return found


def attribution_findings(
    sa: GriddedFile,
    run_id: str,
    mapper: RegionMapper,
    tags: Mapping[str, TagSpec],
    standards: StandardSet,
    *,
    forecast: ForecastSeries | None = None,
    bulk: str = "auto",
    overrides: Mapping[str, str | list[str]] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    layer: int = 0,
) -> tuple[list[AttributionShare], list[str]]:
    """Shares per receptor (the mapper's city and county regions), day, pollutant and tag."""
    overrides = overrides or {}
    notes: list[str] = []
    species = _find_species(sa, overrides)
    receptors = mapper.subset(mapper.indices("city", "county"))
    why_no_forecast = "the run has no forecast carrying it"
    if forecast is not None and bulk != "file" and not grids_equal(sa.grid, forecast.gfile.grid):
        why_no_forecast = (f"the forecast {forecast.label} is on another grid "
                           f"({forecast.gfile.grid.name} vs {sa.grid.name})")
        if bulk == "forecast":
            raise GridMismatchError(sa.label, f"grid {sa.grid.name} differs from the forecast "
                                    f"{forecast.label}'s grid {forecast.gfile.grid.name}")
        forecast = None
    if sa.times is None:
        raise MissingVariableError(sa.label, "is time-independent; attribution needs hourly "
                                   "records", "TFLAG")
    begin = sa.interval_begin()
    axis = beijing_day_axis(begin, label=sa.label, step_seconds=sa.step_seconds)
    for d, n in axis.skipped:
        notes.append(f"{sa.label}: Beijing day {d.isoformat()} has {n} of 24 hours; no shares")
    stds = [standards.for_day(d) for d in axis.days]
    out: list[AttributionShare] = []
    pending: list[tuple] = []

    def unit_of(var: str) -> str:
        canon = sa.units(var)
        if quantity(canon) not in ("mixing", "mass_conc"):
            raise UnitError(sa.label, f"units {canon} are not a concentration", var)
        return canon

    def to_daily_units(arr_by_day: np.ndarray, canon: str, p: str, var: str) -> np.ndarray:
        f = np.array([to_aqi_units_factor(canon, p, temperature_k=s.reference_temperature_k,
                                          pressure_pa=s.reference_pressure_pa, file=sa.label,
                                          variable=var) for s in stds])
        return arr_by_day * f[:, None]

    for sp in species:
        # Which tags: every manifest tag must be present; built-ins required; others kept.
        expected = {file_tag(sp.species, t): t for t in tags}
        missing = [f"{sp.species}_{ft}" for ft in expected if ft not in sp.tags]
        if missing:
            raise MissingVariableError(sa.label, "is named by the manifest's tags but not in the "
                                       "file", ", ".join(missing))
        absent_builtin = [f"{sp.species}_{b}" for b in REQUIRED_BUILTINS if b not in sp.tags]
        if absent_builtin:
            raise MissingVariableError(
                sa.label, "is missing: CMAQ-ISAM (v5.3+) always writes the built-in tags BCO, "
                "OTH and ICO, and the shares cannot close without them", ", ".join(absent_builtin))
        unknown = [t for t in sp.tags if t not in expected and t not in BUILTIN_TAGS]
        for t in unknown:
            notes.append(f"{sa.label}: tag {t} ({sp.tags[t]}) is not described in the manifest; "
                         "kept with no source region or sector")
        if not ((bulk in ("auto", "file") and sa.has(sp.species)) or
                (bulk != "file" and forecast is not None and sp.pollutant in forecast.raw)):
            raise ManifestError(
                sa.label, f"no bulk {sp.pollutant} to check the ISAM shares against: the file has "
                f"no {sp.species} variable and {why_no_forecast}")
    # Units first (an unknown unit fails before any data is read), then every variable of every
    # species in one gridded computation.
    to_read = [v for sp in species for v in sp.tags.values()]
    if bulk in ("auto", "file"):
        to_read += [sp.species for sp in species if sa.has(sp.species)]
    for v in to_read:
        unit_of(v)
    reduced = region_series(sa, {v: v for v in to_read}, receptors, layer=layer)
    series = {v: r.series for v, r in reduced.items()}
    for sp in species:
        # Bulk series.
        bulk_var: str
        if bulk in ("auto", "file") and sa.has(sp.species):
            bulk_series, bulk_canon = series[sp.species], unit_of(sp.species)
            bulk_var, bulk_file = sp.species, sa.label
        elif bulk != "file" and forecast is not None and sp.pollutant in forecast.raw:
            idx = {c: i for i, c in enumerate(forecast.mapper.codes)}
            cols = [idx[c] for c in receptors.codes]
            pos = np.searchsorted(forecast.hour_begin_utc, begin)
            ok = (pos < len(forecast.hour_begin_utc)) & \
                (forecast.hour_begin_utc[np.minimum(pos, len(forecast.hour_begin_utc) - 1)]
                 == begin)
            if not ok.all():
                raise GridMismatchError(
                    sa.label, f"has hours the forecast {forecast.label} does not cover (first: "
                    f"{begin[np.flatnonzero(~ok)[0]]}Z), so the bulk for closure is unknown")
            bulk_series = forecast.raw[sp.pollutant][pos][:, cols]
            bulk_canon = forecast.units[sp.pollutant]
            bulk_var, bulk_file = forecast.variables[sp.pollutant], forecast.label
        else:  # excluded above
            raise AssertionError(sp.pollutant)
        tag_series = {t: (series[v], unit_of(v)) for t, v in sp.tags.items()}
        if axis.ndays == 0:
            continue
        if sp.pollutant == "O3":
            bulk_day_raw, start = mda8(bulk_series, axis)
            tag_day = {t: to_daily_units(window_mean(s, axis, start), c, "O3", sp.tags[t])
                       for t, (s, c) in tag_series.items()}
            metric = "MDA8"
        else:
            bulk_day_raw = daily_mean(bulk_series, axis)
            tag_day = {t: to_daily_units(daily_mean(s, axis), c, sp.pollutant, sp.tags[t])
                       for t, (s, c) in tag_series.items()}
            metric = "24h"
        bulk_day = to_daily_units(bulk_day_raw, bulk_canon, sp.pollutant, bulk_var)
        total = sum(tag_day.values())
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.where(bulk_day > 0, (total - bulk_day) / bulk_day,
                           np.where(np.abs(total) > 1e-9, np.inf, 0.0))
        if np.any(np.abs(gap) > tolerance):
            d, i = np.argwhere(np.abs(gap) > tolerance)[0]
            raise AttributionClosureError(
                sa.label, f"{sp.species}_* vs {bulk_var} ({bulk_file})", receptors.codes[i],
                axis.days[d].isoformat(), float(gap[d, i]), float(total[d, i]),
                float(bulk_day[d, i]), tolerance)
        pending.append((sp, metric, bulk_day, tag_day, bulk_var))

    # Closure held for every species: only now build findings — per tag, its manifest
    # description is looked up once; per (day, tag), the values come out of the arrays as
    # Python floats in one conversion.
    levels, cell_counts, methods = receptors.levels, receptors.cell_counts, receptors.methods
    counts = [int(n) for n in cell_counts]
    with collector_paused():
        _share_rows(out, pending, axis, tags, run_id, sa.label, receptors.codes, levels, counts,
                    methods)
    return out, notes


def _share_rows(out: list[AttributionShare], pending: list[tuple], axis: DayAxis,
                tags: Mapping[str, TagSpec], run_id: str, label: str, codes: list[str],
                levels: list[str], counts: list[int], methods: list[str]) -> None:
    """AttributionShare per species, day, receptor and tag (in that order), appended to out."""
    for sp, metric, bulk_day, tag_day, bulk_var in pending:
        described = []
        for t, var in sp.tags.items():
            name = _manifest_tag(t, sp.species, tags)
            spec = tags.get(name) if name is not None else None
            builtin = t in BUILTIN_TAGS and spec is None
            described.append((t, var, name or t,
                              BUILTIN_TAGS[t] if builtin else (spec.region if spec else None),
                              None if builtin or spec is None else spec.sector, builtin,
                              tag_day[t].tolist()))
        bulk_l = bulk_day.tolist()
        for d, day in enumerate(axis.days):
            trange = axis.time_range(d)
            per_tag = [(t, [var, bulk_var], tag, region, sector, builtin, conc[d])
                       for t, var, tag, region, sector, builtin, conc in described]
            for i, (code, b) in enumerate(zip(codes, bulk_l[d], strict=True)):
                level, count, method = levels[i], counts[i], methods[i]
                bulk_r = round(b, 4)
                for _t, variables, tag, region, sector, builtin, conc_d in per_tag:
                    c = conc_d[i]
                    out.append(trusted(AttributionShare, {
                        "run_id": run_id, "receptor_code": code, "receptor_level": level,
                        "date": day, "pollutant": sp.pollutant, "metric": metric, "tag": tag,
                        "source_region": region, "source_sector": sector,
                        "is_builtin": builtin, "concentration": round(c, 4),
                        "bulk_concentration": bulk_r,
                        "share": round(c / b, 6) if b > 0 else 0.0,
                        "provenance": trusted(Provenance, {
                            "run_id": run_id, "file": label, "variables": list(variables),
                            "time_index": trange, "region_cell_count": count,
                            "region_method": method}),
                    }))


def _manifest_tag(file_tag_name: str, species: str, tags: Mapping[str, TagSpec]) -> str | None:
    for t in tags:
        if file_tag(species, t) == file_tag_name:
            return t
    return None
