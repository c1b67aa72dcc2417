"""Typed findings: what the model adapters saw in a run, in the project's own vocabulary.

Findings are the contract between the adapters (which read netCDF) and the rule engine (which
reasons on facts). They use the ontology ids (``PM2_5``, ``O3``, ``VOCLimited`` ...), GB/T 2260
region codes and Beijing natural days, so a rule never has to know about TSTEP, TFLAG or ppmV.

Every finding carries a :class:`Provenance` that points back to the exact bytes it came from
(run id, file, variable(s), time-record range, cells), so a decision can cite its evidence and a
modeller can check it with ``ncdump``.

Units are fixed per field and stated in the field description; the adapters convert before
building findings (see ``docs/model-runs.md``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ecobrain.model_adapters.run_warnings import RunWarning
from ecobrain.ontology.grid import GridSpec

# Ontology ids used across the project.
PollutantId = Literal["PM2_5", "PM10", "O3", "NO2", "SO2", "CO", "NOx", "VOCs", "NH3",
                      "Formaldehyde"]
RegimeId = Literal["VOCLimited", "Transitional", "NOxLimited"]
RegionLevel = Literal["province", "city", "county", "station"]
FindingKind = Literal["forecast", "inversion", "attribution", "regime"]

# The daily metrics of HJ 633 (keys of DailyConcentrations and of RegionDailyAQI.iaqi).
DailyMetric = Literal["PM2_5_24h", "PM10_24h", "SO2_24h", "NO2_24h", "CO_24h", "O3_8h", "O3_1h"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provenance(_Frozen):
    """Where a finding came from, precisely enough to re-read it from the file."""

    run_id: str
    file: str = Field(description="path of the file, relative to the run directory")
    variables: list[str] = Field(description="netCDF variable names read (as in the file)")
    time_index: tuple[int, int] | None = Field(
        default=None,
        description="first and last TSTEP record used (0-based, inclusive); None if untimed",
    )
    cells: list[tuple[int, int]] | None = Field(
        default=None, description="(row, col) of the cell(s) used, 0-based, row 0 south"
    )
    region_cell_count: int | None = Field(
        default=None, description="number of grid cells (wholly or partly inside) averaged "
        "into a region value"
    )
    region_method: str | None = Field(
        default=None,
        description="'area-weighted' (mean over every cell the region overlaps, each by the "
        "area of it inside the region) or 'station-cell' (the cell containing a station); "
        "findings saved before area weights may say 'cell-centres' or 'representative-point'",
    )


class DailyConcentrations(_Frozen):
    """Daily values by the Chinese conventions. µg/m³, except CO in mg/m³.

    Gases are at the reference state 298.15 K / 1013.25 hPa, particles at ambient conditions
    (GB 3095-2012 amendment 2018). O3_8h is the daily maximum of the 8-h moving averages whose
    windows lie inside the Beijing day (ending at hours 8..24); O3_1h the maximum 1-h value.
    None when the forecast does not carry the pollutant.
    """

    PM2_5_24h: float | None = None
    PM10_24h: float | None = None
    SO2_24h: float | None = None
    NO2_24h: float | None = None
    CO_24h: float | None = None
    O3_8h: float | None = None
    O3_1h: float | None = None


class RegionDailyAQI(_Frozen):
    """One region (county, city or station) on one Beijing natural day of a forecast."""

    kind: Literal["daily_aqi"] = "daily_aqi"
    run_id: str
    region_code: str = Field(description="GB/T 2260 code, or the station id for stations")
    region_level: RegionLevel
    region_name: str | None = None
    city_code: str | None = Field(default=None, description="the city containing the region")
    date: dt.date = Field(description="Beijing natural day (00:00-24:00 UTC+8)")
    standard: str = Field(description="AQI standard in force on that day, e.g. 'HJ633-2026'")
    concentrations: DailyConcentrations
    iaqi: dict[DailyMetric, int] = Field(
        description="IAQI of each metric that enters the daily AQI under that standard"
    )
    aqi: int
    primary_pollutants: list[PollutantId] = Field(
        description="pollutants whose IAQI equals the AQI, only when AQI > 50 (ties: all)"
    )
    exceeding_pollutants: list[PollutantId] = Field(
        default_factory=list, description="pollutants with IAQI > 100 (超标污染物)"
    )
    level: int = Field(ge=1, le=6, description="AQI level 1 (一级) .. 6 (六级)")
    category_zh: str
    category_en: str
    colour: str = Field(description="category colour as #RRGGBB")
    provenance: Provenance


class HourlyConcentration(_Frozen):
    """A region's hourly series for one pollutant (compact: arrays, not one object per hour)."""

    kind: Literal["hourly"] = "hourly"
    run_id: str
    region_code: str
    region_level: RegionLevel
    pollutant: PollutantId
    units: str = Field(description="'ug/m3' (CO: 'mg/m3') at the standard's reference state")
    start: dt.datetime = Field(description="beginning of the first averaging hour (UTC+8)")
    step_hours: float = 1.0
    values: list[float]
    provenance: Provenance


class Episode(_Frozen):
    """A run of consecutive Beijing days on which a region's daily AQI passes a threshold."""

    kind: Literal["episode"] = "episode"
    run_id: str
    region_code: str
    region_level: RegionLevel
    region_name: str | None = None
    threshold: int = Field(description="200, 300 or 500 (AQI)")
    comparison: Literal[">", ">="] = Field(description="how AQI is compared to the threshold")
    start_date: dt.date
    end_date: dt.date
    days: int
    peak_aqi: int
    peak_date: dt.date
    primary_pollutants: list[PollutantId] = Field(
        description="every pollutant that was primary on some day of the episode"
    )
    days_by_primary: dict[str, int] = Field(
        description="number of episode days on which each pollutant was (co-)primary"
    )
    driver: str = Field(
        description="pollutant primary on most episode days ('PM2_5', 'O3', ...); on a tie the "
        "one primary on the peak day; 'mixed' if still tied"
    )
    open_start: bool = Field(description="the episode begins on the first complete forecast day")
    open_end: bool = Field(description="the episode reaches the last complete forecast day")
    standards: list[str] = Field(description="AQI standards in force over the episode days")
    provenance: Provenance


class GridInfo(_Frozen):
    """The run's grid, complete enough to rebuild it (:meth:`GridSpec` fields)."""

    name: str
    gdtyp: int
    ncols: int
    nrows: int
    xcell: float
    ycell: float
    p_alp: float | None = None
    p_bet: float | None = None
    p_gam: float | None = None
    xcent: float | None = None
    ycent: float | None = None
    xorig: float | None = None
    yorig: float | None = None


def grid_info(grid: GridSpec) -> GridInfo:
    """The findings' record of a grid (everything needed to rebuild it)."""
    return GridInfo(name=grid.name, gdtyp=grid.gdtyp, ncols=grid.ncols, nrows=grid.nrows,
                    xcell=grid.xcell, ycell=grid.ycell, p_alp=grid.p_alp, p_bet=grid.p_bet,
                    p_gam=grid.p_gam, xcent=grid.xcent, ycent=grid.ycent, xorig=grid.xorig,
                    yorig=grid.yorig)


def grid_spec(info: GridInfo) -> GridSpec | None:
    """The GridSpec of a complete GridInfo (None for a record without projection)."""
    if info.p_alp is None or info.xorig is None or info.yorig is None:
        return None
    return GridSpec(name=info.name, gdtyp=info.gdtyp, p_alp=info.p_alp, p_bet=info.p_bet or 0.0,
                    p_gam=info.p_gam or 0.0, xcent=info.xcent or 0.0, ycent=info.ycent or 0.0,
                    xorig=info.xorig, yorig=info.yorig, xcell=info.xcell, ycell=info.ycell,
                    ncols=info.ncols, nrows=info.nrows)


class RegionEmission(_Frozen):
    """Prior and posterior emission of one species in one region over one period."""

    kind: Literal["region_emission"] = "region_emission"
    run_id: str
    region_code: str
    region_level: RegionLevel
    species: PollutantId | str
    date: dt.date | None = Field(default=None, description="Beijing day, when the period is one")
    period_start: dt.datetime | None = Field(
        description="beginning of the period (UTC+8); None for a time-independent file")
    period_end: dt.datetime | None = Field(description="end of the period (exclusive)")
    prior: float
    posterior: float
    units: str = Field(description="'t/day' (mean daily mass over the period)")
    provenance: Provenance


class EmissionHotspot(_Frozen):
    """A grid cell whose posterior emission exceeds the prior by the configured thresholds."""

    kind: Literal["emission_hotspot"] = "emission_hotspot"
    run_id: str
    species: PollutantId | str
    date: dt.date | None = Field(default=None, description="Beijing day, when the period is one")
    period_start: dt.datetime | None = Field(
        description="beginning of the period (UTC+8); None for a time-independent file")
    period_end: dt.datetime | None = Field(description="end of the period (exclusive)")
    row: int
    col: int
    cell_id: str = Field(description="GridSpec.cell_id(row, col), e.g. 'ZJ3KM:r80c95'")
    lon: float
    lat: float
    county_code: str | None
    city_code: str | None
    prior: float
    posterior: float
    excess: float = Field(description="posterior - prior")
    ratio: float | None = Field(description="posterior / prior; None when the prior is 0")
    rank: int = Field(ge=1, description="1 = largest excess among this species and period")
    units: str = Field(description="'t/day'")
    thresholds: dict[str, float] = Field(description="min_excess and min_ratio applied")
    provenance: Provenance
    counties: list[str] = Field(
        default_factory=list,
        description="every county the cell overlaps by at least the configured share of its "
        "in-province area, largest overlap first; county_code is the first")
    lower_bound: bool = Field(default=False, description="the species was inverted from part "
                              "of its variables (NOx from NO2 only): the values are lower bounds")
    grid: GridInfo | None = Field(default=None, description="the inversion's grid (to place "
                                  "enterprises into the hotspot's cell by geometry)")
    search_radius_km: float | None = Field(
        default=None, description="candidate enterprises: in the cell or within this distance "
        "of its centre (hotspots.yaml search_radius_km)")


class AttributionShare(_Frozen):
    """The part of a receptor's concentration that an ISAM tag is responsible for."""

    kind: Literal["attribution_share"] = "attribution_share"
    run_id: str
    receptor_code: str
    receptor_level: RegionLevel
    date: dt.date = Field(description="Beijing natural day")
    pollutant: Literal["PM2_5", "O3"]
    metric: Literal["24h", "MDA8"] = Field(
        description="PM2_5: daily mean; O3: mean over the 8 hours of the bulk MDA8 window"
    )
    tag: str = Field(description="ISAM tag as in the file (user tags, BCO, OTH, ICO, BID)")
    source_region: str | None = Field(
        description="GB/T 2260 code or 'outside' for user tags (from the manifest); "
        "'boundary', 'other', 'initial' or 'bidirectional' for built-in tags"
    )
    source_sector: str | None = Field(description="sector label from the manifest, passed through")
    is_builtin: bool
    concentration: float = Field(description="µg/m³ at the standard's reference state")
    bulk_concentration: float = Field(description="the receptor's bulk value for that day")
    share: float = Field(description="concentration / bulk_concentration (0-1)")
    provenance: Provenance


class O3Regime(_Frozen):
    """O3 formation regime of a county on a day, from the HCHO/NO2 ratio of the forecast."""

    kind: Literal["o3_regime"] = "o3_regime"
    run_id: str
    region_code: str
    region_level: RegionLevel
    date: dt.date
    hcho_ppb: float
    no2_ppb: float
    ratio: float = Field(description="HCHO/NO2 molar ratio over the configured daytime hours")
    regime: RegimeId
    thresholds: dict[str, float] = Field(description="voc_limited_below, nox_limited_above")
    threshold_source: str = Field(description="id of the threshold set, e.g. 'Wang2021'")
    hours: tuple[int, int] = Field(description="Beijing hours [start, end) averaged")
    provenance: Provenance


class RunFindings(BaseModel):
    """Everything the adapters found in one run, by kind, with the run's metadata."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    model: str | None = None
    init_time: dt.datetime | None = None
    run_dir: str
    kinds: list[FindingKind] = Field(description="finding kinds that were computed")
    grid: GridInfo | None = None
    days: list[dt.date] = Field(
        default_factory=list, description="complete Beijing days covered by the forecast"
    )
    standards: dict[str, str] = Field(
        default_factory=dict, description="AQI standard id per day (ISO date -> id)"
    )
    daily_aqi: list[RegionDailyAQI] = Field(default_factory=list)
    hourly: list[HourlyConcentration] = Field(default_factory=list)
    episodes: list[Episode] = Field(default_factory=list)
    region_emissions: list[RegionEmission] = Field(default_factory=list)
    hotspots: list[EmissionHotspot] = Field(default_factory=list)
    attribution: list[AttributionShare] = Field(default_factory=list)
    regimes: list[O3Regime] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list,
        description="things a modeller should know (unmapped tags...)",
    )
    warnings: list[RunWarning] = Field(
        default_factory=list,
        description="what limits the decision (a day left out, a lower bound, a short run); "
        "carried into the decision, the API and the documents")
    time_conventions: dict[str, str] = Field(
        default_factory=dict,
        description="file -> what its time stamps were taken to mean, and why")

    @property
    def incomplete(self) -> bool:
        return any(w.incomplete for w in self.warnings)
