"""The adapters' public entry points: load a run directory, collect its findings.

``load_run(run_dir)`` checks the manifest and that every file it names exists;
``collect_findings(run, kinds, stations)`` opens the files, runs the adapters and returns one
:class:`RunFindings`. Nothing here touches the knowledge graph: regions come from the shared
offline geography and stations from the caller (or ``knowledge/reference/stations.csv``), so the
rule engine, the CLI and batch scripts can all call this without a graph running.

All or nothing: any bad input raises an :class:`AdapterError` naming the file and variable,
and no findings are returned for the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ecobrain.model_adapters.aqi import StandardSet
from ecobrain.model_adapters.attribution import DEFAULT_TOLERANCE, attribution_findings, grids_equal
from ecobrain.model_adapters.episodes import DEFAULT_THRESHOLDS, detect_episodes
from ecobrain.model_adapters.errors import ManifestError
from ecobrain.model_adapters.files.gridfile import GriddedFile
from ecobrain.model_adapters.files.manifest import ModelRun, OutputSpec, load_run
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.model_adapters.findings import (
    AttributionShare,
    FindingKind,
    RunFindings,
    grid_info,
)
from ecobrain.model_adapters.forecast import (
    AQI_POLLUTANTS,
    ForecastSeries,
    daily_aqi_findings,
    hourly_findings,
    read_forecast,
)
from ecobrain.model_adapters.inversion import HotspotConfig, inversion_findings, load_hotspot_config
from ecobrain.model_adapters.regime import RegimeConfig, load_regime_config, regime_findings
from ecobrain.model_adapters.regions import RegionMapper, Station, build_mapper, default_stations
from ecobrain.model_adapters.run_warnings import WarningLog, warn_partial_days
from ecobrain.model_adapters.sanity import (
    NegativeCount,
    warn_coverage,
    warn_missing_key_pollutants,
)

ALL_KINDS: tuple[FindingKind, ...] = ("forecast", "inversion", "attribution", "regime")

__all__ = ["ALL_KINDS", "collect_findings", "load_run"]


def _open(run: ModelRun, out: OutputSpec, rel: str, opened: list[GriddedFile]) -> GriddedFile:
    f = open_gridded(run.file(rel), out.format, label=rel, timestamp=out.timestamp)
    opened.append(f)
    return f


def collect_findings(
    run: ModelRun | str | Path,
    kinds: Iterable[str] | None = None,
    stations: Sequence[Station] | None = None,
    *,
    standards: StandardSet | None = None,
    hotspot_config: HotspotConfig | None = None,
    regime_config: RegimeConfig | None = None,
    include_hourly: bool = True,
    episode_thresholds: Sequence[tuple[int, str]] = DEFAULT_THRESHOLDS,
    episode_levels: Sequence[str] = ("province", "city", "county"),
    closure_tolerance: float = DEFAULT_TOLERANCE,
) -> RunFindings:
    """Run the adapters on a model run and return everything they found.

    ``kinds``: any of forecast, inversion, attribution, regime (default: all the run supports).
    ``stations``: stations to report forecasts for; None reads the bundled stations.csv if it
    exists, ``[]`` means none.
    """
    if not isinstance(run, ModelRun):
        run = load_run(run)
    requested = list(ALL_KINDS if kinds is None else kinds)
    bad = [k for k in requested if k not in ALL_KINDS]
    if bad:
        raise ValueError(f"unknown finding kind(s) {bad}; choose from {', '.join(ALL_KINDS)}")
    explicit = kinds is not None
    if standards is None and any(k in requested for k in ("forecast", "regime", "attribution")):
        standards = StandardSet.load()  # dated AQI standards: what the inversion never needs
    stations = default_stations() if stations is None else list(stations)
    m = run.manifest
    forecasts = run.outputs("forecast")
    if len(forecasts) > 1:
        raise ManifestError(str(run.file("run.json")), "more than one forecast output; merge them "
                            "into one file (e.g. with CMAQ combine) — one forecast per run")
    result = RunFindings(run_id=m.id, model=m.model, init_time=m.init_time,
                         run_dir=str(run.run_dir), kinds=[])
    notes: list[str] = []
    log = WarningLog()
    opened: list[GriddedFile] = []
    try:
        fs: ForecastSeries | None = None
        mapper: RegionMapper | None = None
        need_forecast = any(k in requested for k in ("forecast", "regime", "attribution"))
        if forecasts and need_forecast:
            out = forecasts[0]
            assert out.path is not None
            f = _open(run, out, out.path, opened)
            mapper = build_mapper(f.grid, stations)
            # Read only what the requested kinds need (attribution: the bulk PM2.5 and O3).
            wanted: tuple[str, ...] = ()
            if "forecast" in requested:
                wanted = (*AQI_POLLUTANTS, "Formaldehyde")
            else:
                if "attribution" in requested:
                    wanted += ("PM2_5", "O3")
                if "regime" in requested:
                    wanted += ("NO2", "Formaldehyde")
            negatives = NegativeCount()
            fs = read_forecast(f, m.id, mapper, pollutants=wanted, overrides=out.variables,
                               layer=out.layer, negatives=negatives)
            notes.extend(fs.notes)
            negatives.warn(log, f.label)
            warn_coverage(log, f.label, f.grid, mapper.coverage())
            if "forecast" in requested:
                warn_missing_key_pollutants(log, f.label, fs.variables)
            result.time_conventions[f.label] = f"{f.timestamp}: {f.timestamp_reason}"
            warn_partial_days(log, f.label, fs.axis, fs.hour_begin_utc)
            result.grid = grid_info(f.grid)
            result.days = list(fs.axis.days)
            result.standards = {d.isoformat(): standards.for_day(d).id for d in fs.axis.days}
        elif explicit and any(k in requested for k in ("forecast", "regime")):
            raise ManifestError(str(run.file("run.json")),
                                "has no forecast output; forecast and regime findings need one")

        if fs is not None and "forecast" in requested:
            result.daily_aqi = daily_aqi_findings(fs, standards)
            if include_hourly:
                result.hourly = hourly_findings(fs, standards)
            result.episodes = detect_episodes(result.daily_aqi, fs.axis.days,
                                              thresholds=episode_thresholds,
                                              levels=episode_levels)
            result.kinds.append("forecast")

        if "inversion" in requested:
            invs = run.outputs("inversion")
            if not invs and explicit:
                raise ManifestError(str(run.file("run.json")), "has no inversion output")
            cfg = hotspot_config or load_hotspot_config()
            for out in invs:
                assert out.prior is not None and out.posterior is not None
                # Emission rates stamped at an hour apply from that hour on (SMOKE/CMAQ
                # emission files), unless the manifest says otherwise.
                prior = open_gridded(run.file(out.prior), out.format, label=out.prior,
                                     timestamp=out.timestamp or "begin")
                opened.append(prior)
                result.time_conventions[out.prior] = (
                    f"{prior.timestamp}: " + (prior.timestamp_reason if out.timestamp else
                                              "emission rates apply from their stamp on"))
                inv_mapper = build_mapper(prior.grid, ())
                if out.posterior_kind == "multiplier":
                    hs, tot, n = inversion_findings(
                        prior, None, m.id, inv_mapper, cfg, overrides=out.variables,
                        layer=out.layer, warnings=log,
                        multipliers=(run.file(out.posterior), out.posterior, out.posterior_group))
                else:
                    post = open_gridded(run.file(out.posterior), out.format,
                                        label=out.posterior,
                                        timestamp=out.timestamp or "begin",
                                        group=out.posterior_group)
                    opened.append(post)
                    hs, tot, n = inversion_findings(prior, post, m.id, inv_mapper, cfg,
                                                    overrides=out.variables, layer=out.layer,
                                                    warnings=log)
                result.hotspots.extend(hs)
                result.region_emissions.extend(tot)
                notes.extend(n)
                if result.grid is None:
                    result.grid = grid_info(prior.grid)
            if invs:
                result.kinds.append("inversion")

        if "attribution" in requested:
            shares, n, found = _attribution(run, fs, mapper, standards, explicit,
                                            closure_tolerance, opened)
            result.attribution.extend(shares)
            notes.extend(n)
            for label, convention in found:
                result.time_conventions[label] = convention
            if found:
                result.kinds.append("attribution")

        if "regime" in requested and fs is not None:
            regs, n = regime_findings(fs, standards, regime_config or load_regime_config())
            result.regimes = regs
            notes.extend(n)
            result.kinds.append("regime")
    finally:
        for f in opened:
            f.close()
    result.notes = list(dict.fromkeys(notes))
    result.warnings = log.items
    return result


def _attribution(run: ModelRun, fs: ForecastSeries | None, mapper: RegionMapper | None,
                 standards: StandardSet, explicit: bool, tolerance: float,
                 opened: list[GriddedFile],
                 ) -> tuple[list[AttributionShare], list[str], list[tuple[str, str]]]:
    """The attribution findings of every attribution output of the run, their notes and
    each file's time convention."""
    atts = run.outputs("attribution")
    if not atts and explicit:
        raise ManifestError(str(run.file("run.json")), "has no attribution output")
    shares: list[AttributionShare] = []
    notes: list[str] = []
    conventions: list[tuple[str, str]] = []
    for out in atts:
        assert out.path is not None
        sa = _open(run, out, out.path, opened)
        conventions.append((sa.label, f"{sa.timestamp}: {sa.timestamp_reason}"))
        sa_mapper = mapper if (mapper is not None and fs is not None
                               and grids_equal(sa.grid, fs.gfile.grid)) \
            else build_mapper(sa.grid, ())
        found, n = attribution_findings(
            sa, run.manifest.id, sa_mapper, out.tags, standards, forecast=fs, bulk=out.bulk,
            overrides=out.variables, tolerance=tolerance, layer=out.layer)
        shares.extend(found)
        notes.extend(n)
    return shares, notes, conventions


def findings_of_kind(result: RunFindings, kind: str) -> Mapping[str, list]:
    """The finding lists that belong to one kind (for printing and filtering)."""
    return {
        "forecast": {"daily_aqi": result.daily_aqi, "hourly": result.hourly,
                     "episodes": result.episodes},
        "inversion": {"hotspots": result.hotspots, "region_emissions": result.region_emissions},
        "attribution": {"attribution": result.attribution},
        "regime": {"regimes": result.regimes},
    }[kind]
