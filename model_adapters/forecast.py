"""Forecast adapter: hourly gridded concentrations -> region hourly series, daily values, AQI.

One pass over the file: every pollutant is read in day-sized blocks of records (dask, on
threads or a cluster, :mod:`.compute.reductions`), checked for fill values/NaNs in the cells
that feed a region, and averaged into every county, city, the province and every station at
once (area weights, :mod:`.regions`). Everything after that works on (hours × regions) arrays.

Units stay as the file states them until the end: the conversion to µg/m³ (CO mg/m³) uses the
reference state of the AQI standard in force on each Beijing day, read from hj633.yaml.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ecobrain.model_adapters.aqi import AQIStandard, StandardSet
from ecobrain.model_adapters.compute.reductions import region_series
from ecobrain.model_adapters.daily import (
    BEIJING,
    DayAxis,
    beijing_day_axis,
    daily_max,
    daily_mean,
    mda8,
)
from ecobrain.model_adapters.errors import MissingVariableError, TimeAxisError, UnitError
from ecobrain.model_adapters.files.gridfile import GriddedFile
from ecobrain.model_adapters.files.units import (
    aqi_unit,
    quantity,
    to_aqi_units_factor,
    to_ppb_factor,
)
from ecobrain.model_adapters.findings import (
    DailyConcentrations,
    HourlyConcentration,
    Provenance,
    RegionDailyAQI,
)
from ecobrain.model_adapters.regions import STATION_METHOD, RegionMapper
from ecobrain.model_adapters.sanity import NegativeCount
from ecobrain.model_adapters.trusted import collector_paused, trusted

# Pollutant id -> variable names tried in order (CMAQ ACONC/ELMO, combine, WRF-Chem, CF).
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "PM2_5": ("PM25", "PM25_TOT", "PM25_FRM", "PM2_5", "PM2_5_DRY", "pm25", "pm2_5"),
    "PM10": ("PM10", "PM10_TOT", "pm10"),
    "O3": ("O3", "o3"),
    "NO2": ("NO2", "no2"),
    "SO2": ("SO2", "so2"),
    "CO": ("CO", "co"),
    "Formaldehyde": ("FORM", "HCHO", "form", "hcho"),
}
AQI_POLLUTANTS = ("PM2_5", "PM10", "SO2", "NO2", "CO", "O3")


def resolve_variables(gfile: GriddedFile, wanted: Sequence[str],
                      overrides: Mapping[str, str | list[str]] | None = None,
                      aliases: Mapping[str, Sequence[str]] | None = None) -> dict[str, str]:
    """pollutant id -> variable name found in the file (overrides must exist)."""
    aliases = aliases or DEFAULT_ALIASES
    have = set(gfile.variables())
    out: dict[str, str] = {}
    for p in wanted:
        if overrides and p in overrides:
            name = overrides[p]
            name = name[0] if isinstance(name, list) else name
            if name not in have:
                raise MissingVariableError(
                    gfile.label, f"is named for {p} in the manifest but is not in the file", name)
            out[p] = name
            continue
        for cand in aliases.get(p, ()):
            if cand in have:
                out[p] = cand
                break
    return out


@dataclass
class ForecastSeries:
    """Region-mean hourly series of a forecast, in the file's own units, plus its day axis."""

    run_id: str
    gfile: GriddedFile
    mapper: RegionMapper
    hour_begin_utc: np.ndarray
    axis: DayAxis
    variables: dict[str, str]  # pollutant -> variable
    units: dict[str, str]  # pollutant -> canonical unit in the file
    raw: dict[str, np.ndarray]  # pollutant -> (nt, nregions) region means, file units
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.gfile.label

    def hour_days(self) -> np.ndarray:
        """Beijing day (datetime64[D]) of each record's hour."""
        return (self.hour_begin_utc + np.timedelta64(8, "h")).astype("datetime64[D]")

    def aqi_factor(self, pollutant: str, std: AQIStandard) -> float:
        return to_aqi_units_factor(
            self.units[pollutant], pollutant, temperature_k=std.reference_temperature_k,
            pressure_pa=std.reference_pressure_pa, file=self.label,
            variable=self.variables[pollutant])

    def ppb_factor(self, pollutant: str, std: AQIStandard) -> float:
        return to_ppb_factor(
            self.units[pollutant], pollutant, temperature_k=std.reference_temperature_k,
            pressure_pa=std.reference_pressure_pa, file=self.label,
            variable=self.variables[pollutant])


def read_forecast(gfile: GriddedFile, run_id: str, mapper: RegionMapper, *,
                  pollutants: Sequence[str] = (*AQI_POLLUTANTS, "Formaldehyde"),
                  overrides: Mapping[str, str | list[str]] | None = None,
                  aliases: Mapping[str, Sequence[str]] | None = None,
                  layer: int = 0, negatives: NegativeCount | None = None) -> ForecastSeries:
    """Read every pollutant the forecast carries and average it into the mapper's regions.

    ``negatives``: counts negative values in the cells that feed regions (sanity warnings).
    """
    variables = resolve_variables(gfile, pollutants, overrides, aliases)
    if not any(p in variables for p in AQI_POLLUTANTS):
        tried = {p: list((aliases or DEFAULT_ALIASES).get(p, ())) for p in AQI_POLLUTANTS}
        raise MissingVariableError(
            gfile.label, f"has none of the AQI pollutants. The file has: "
            f"{', '.join(gfile.variables()) or 'no gridded variable'}. Names that would match "
            f"(the manifest's 'variables' can name others): {tried}")
    # Check every unit before reading any data: an unknown unit fails fast, naming the variable.
    units = {p: gfile.units(v) for p, v in variables.items()}
    for p, u in units.items():
        q = quantity(u)
        if q not in ("mixing", "mass_conc"):
            raise UnitError(gfile.label, f"units {u} are not a concentration", variables[p])
    if gfile.times is None:
        raise TimeAxisError(gfile.label, "is time-independent; a forecast needs hourly records")
    begin = gfile.interval_begin()
    axis = beijing_day_axis(begin, label=gfile.label, step_seconds=gfile.step_seconds)
    reduced = region_series(gfile, variables, mapper, layer=layer,
                            count_negatives=negatives is not None)
    raw = {p: r.series for p, r in reduced.items()}
    if negatives is not None:
        for r in reduced.values():
            negatives.merge(r.variable, r.negative_count, r.negative_min)
    notes = [f"{gfile.label}: Beijing day {d.isoformat()} has {n} of 24 hours; no daily values"
             for d, n in axis.skipped]
    absent = [p for p in AQI_POLLUTANTS if p in pollutants and p not in variables]
    if absent:
        notes.append(f"{gfile.label}: no variable for {', '.join(absent)}; AQI computed from "
                     "the other pollutants")
    return ForecastSeries(run_id=run_id, gfile=gfile, mapper=mapper, hour_begin_utc=begin,
                          axis=axis, variables=variables, units=units, raw=raw,
                          notes=notes + list(mapper.notes))


@dataclass
class DailyMetrics:
    """Daily metrics per (day, region) in AQI units, and the standard used each day."""

    values: dict[str, np.ndarray]  # metric -> (ndays, nregions)
    standards: list[AQIStandard]


def daily_metrics(fs: ForecastSeries, standards: StandardSet) -> DailyMetrics:
    axis = fs.axis
    stds = [standards.for_day(d) for d in axis.days]
    out: dict[str, np.ndarray] = {}
    if axis.ndays == 0:
        return DailyMetrics(out, stds)

    def per_day(p: str, arr: np.ndarray) -> np.ndarray:
        f = np.array([fs.aqi_factor(p, s) for s in stds])[:, None]
        return arr * f

    for p, metric in (("PM2_5", "PM2_5_24h"), ("PM10", "PM10_24h"), ("SO2", "SO2_24h"),
                      ("NO2", "NO2_24h"), ("CO", "CO_24h")):
        if p in fs.raw:
            out[metric] = per_day(p, daily_mean(fs.raw[p], axis))
    if "O3" in fs.raw:
        m8, _ = mda8(fs.raw["O3"], axis)
        out["O3_8h"] = per_day("O3", m8)
        out["O3_1h"] = per_day("O3", daily_max(fs.raw["O3"], axis))
    return DailyMetrics(out, stds)


def _provenance_fields(fs: ForecastSeries, i: int, variables: list[str]) -> dict:
    """Provenance of region ``i`` as plain fields (the time range is added per finding)."""
    m = fs.mapper
    cells = None
    if m.methods[i] == STATION_METHOD:
        cells = [divmod(int(m.cells_of(i)[0]), m.grid.ncols)]
    return {"run_id": fs.run_id, "file": fs.label, "variables": variables, "cells": cells,
            "region_cell_count": int(m.cell_counts[i]), "region_method": m.methods[i]}




def daily_aqi_findings(fs: ForecastSeries, standards: StandardSet,
                       levels: Sequence[str] = ("province", "city", "county", "station"),
                       ) -> list[RegionDailyAQI]:
    """RegionDailyAQI for every region of the given levels and every complete Beijing day."""
    dm = daily_metrics(fs, standards)
    m = fs.mapper
    regions = [i for i in range(m.nregions) if m.levels[i] in levels]
    var_names = [fs.variables[p] for p in AQI_POLLUTANTS if p in fs.variables]
    prov = {i: _provenance_fields(fs, i, var_names) for i in regions}
    with collector_paused():
        return _daily_rows(fs, dm, regions, prov)


def _daily_rows(fs: ForecastSeries, dm: DailyMetrics, regions: list[int],
                prov: dict[int, dict]) -> list[RegionDailyAQI]:
    m = fs.mapper
    out: list[RegionDailyAQI] = []
    for d, day in enumerate(fs.axis.days):
        std = dm.standards[d]
        conc = {k: v[d] for k, v in dm.values.items()}
        iaqi = std.daily_iaqi(conc)
        if not iaqi:
            continue
        aqi = std.aqi(iaqi)
        trange = fs.axis.time_range(d)
        digits = {k: 4 if k.startswith("CO") else 3 for k in conc}
        conc_l = {k: v.tolist() for k, v in conc.items()}
        iaqi_l = {k: np.asarray(v).astype(int).tolist() for k, v in iaqi.items()}
        aqi_l = np.asarray(aqi).astype(int).tolist()
        categories = {a: std.category(a) for a in set(aqi_l)}
        for i in regions:
            iaqi_i = {k: v[i] for k, v in iaqi_l.items()}
            a = aqi_l[i]
            cat = categories[a]
            out.append(trusted(RegionDailyAQI, {
                "run_id": fs.run_id, "region_code": m.codes[i], "region_level": m.levels[i],
                "region_name": m.names[i], "city_code": m.city_codes[i], "date": day,
                "standard": std.id,
                "concentrations": trusted(DailyConcentrations, {
                    k: round(v[i], digits[k]) for k, v in conc_l.items()}),
                "iaqi": iaqi_i, "aqi": a,
                "primary_pollutants": std.primary_pollutants(iaqi_i, a),
                "exceeding_pollutants": std.exceeding_pollutants(iaqi_i),
                "level": cat.level, "category_zh": cat.category_zh,
                "category_en": cat.category_en, "colour": cat.colour,
                "provenance": trusted(Provenance, {**prov[i], "time_index": trange}),
            }))
    return out


def hourly_findings(fs: ForecastSeries, standards: StandardSet,
                    levels: Sequence[str] = ("province", "city", "county", "station"),
                    ) -> list[HourlyConcentration]:
    """Hourly region series in AQI units (conversion by the reference state of each day)."""
    m = fs.mapper
    if fs.gfile.ntimes == 0:
        return []
    hour_days = fs.hour_days()
    uniq = np.unique(hour_days)
    std_of_day = {d: standards.nearest(d.astype(dt.date)) for d in uniq}
    start = fs.hour_begin_utc[0].astype(dt.datetime).replace(tzinfo=dt.UTC).astimezone(BEIJING)
    out: list[HourlyConcentration] = []
    trange = (0, fs.gfile.ntimes - 1)
    regions = [i for i in range(m.nregions) if m.levels[i] in levels]
    for p in AQI_POLLUTANTS:
        if p not in fs.raw:
            continue
        f = np.empty(len(hour_days))
        for d in uniq:
            f[hour_days == d] = fs.aqi_factor(p, std_of_day[d])
        conv = fs.raw[p] * f[:, None]
        digits = 4 if p == "CO" else 2
        with collector_paused():
            # one conversion to Python floats, region by region in memory order
            series = np.ascontiguousarray(np.round(conv, digits).T[regions]).tolist()
            for i, values in zip(regions, series, strict=True):
                out.append(trusted(HourlyConcentration, {
                    "run_id": fs.run_id, "region_code": m.codes[i],
                    "region_level": m.levels[i], "pollutant": p, "units": aqi_unit(p),
                    "start": start, "step_hours": (fs.gfile.step_seconds or 3600) / 3600.0,
                    "values": values,
                    "provenance": trusted(Provenance, {
                        **_provenance_fields(fs, i, [fs.variables[p]]),
                        "time_index": trange}),
                }))
    return out
