"""A run's inversion as daily emission fields: what a post-measure evaluation compares.

The hotspot adapter (:mod:`.inversion`) keeps only cells over its thresholds and region totals;
an evaluation needs the posterior at any cell (an enterprise's, a past hotspot's) and any
county's total on each day, before and during a measure. Both read the files through
:func:`~ecobrain.model_adapters.inversion.species_rates`, so the numbers are the same.

Days are complete Beijing days (hourly records summed per day, as the hotspot adapter does); a
file with daily records gives one day per record. Records that do not make a whole calendar day
are left out and named in ``notes``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecobrain.model_adapters.errors import ManifestError
from ecobrain.model_adapters.files.gridfile import GriddedFile
from ecobrain.model_adapters.files.manifest import ModelRun, load_run
from ecobrain.model_adapters.files.registry import open_gridded
from ecobrain.model_adapters.inversion import (
    HotspotConfig,
    SpeciesConfig,
    load_hotspot_config,
    periods,
    species_rates,
)
from ecobrain.model_adapters.regions import RegionMapper, build_mapper
from ecobrain.ontology.grid import GridSpec


@dataclass
class SpeciesDays:
    """One species: prior and posterior, t/day per cell, shape (ndays, nrows, ncols)."""

    species: str
    config: SpeciesConfig
    prior: np.ndarray
    posterior: np.ndarray
    lower_bound: bool


@dataclass
class EmissionDays:
    run_id: str
    run_dir: str
    grid: GridSpec
    days: list[dt.date]
    species: dict[str, SpeciesDays]
    notes: list[str] = field(default_factory=list)
    _mapper: RegionMapper | None = None

    def day_index(self, day: dt.date) -> int | None:
        return self.days.index(day) if day in self.days else None

    def cell_of(self, lon: float, lat: float) -> tuple[int, int] | None:
        """The run-grid cell holding a point, or None outside the grid."""
        r, c = self.grid.lonlat_to_rowcol(lon, lat)
        r, c = int(r), int(c)
        if 0 <= r < self.grid.nrows and 0 <= c < self.grid.ncols:
            return r, c
        return None

    @property
    def mapper(self) -> RegionMapper:
        if self._mapper is None:
            self._mapper = build_mapper(self.grid, ())
        return self._mapper

    def county_totals(self, species: str, which: str = "posterior") -> dict[str, np.ndarray]:
        """county code -> t/day per day: each cell's emission in the share of its area inside
        the county, as the hotspot adapter's region totals (RegionMapper.totals)."""
        sd = self.species[species]
        field_ = sd.posterior if which == "posterior" else sd.prior
        m = self.mapper
        idx = m.indices("county")
        agg = np.stack([m.totals(day)[idx] for day in field_])
        return {m.codes[i]: agg[:, k] for k, i in enumerate(idx)}

    def county_names(self) -> dict[str, str | None]:
        m = self.mapper
        return {m.codes[i]: m.names[i] for i in m.indices("county")}


def read_emission_days(run: ModelRun | str | Path,
                       config: HotspotConfig | None = None) -> EmissionDays:
    """The run's inversion output as daily fields (one inversion output per run)."""
    if not isinstance(run, ModelRun):
        run = load_run(run)
    invs = run.outputs("inversion")
    manifest = str(run.file("run.json"))
    if not invs:
        raise ManifestError(manifest, "has no inversion output: nothing to evaluate against")
    if len(invs) > 1:
        raise ManifestError(manifest, "has more than one inversion output; an evaluation reads "
                            "one (merge them, or give each its own run)")
    out = invs[0]
    assert out.prior is not None and out.posterior is not None
    cfg = config or load_hotspot_config()
    opened: list[GriddedFile] = []
    notes: list[str] = []
    try:
        prior = open_gridded(run.file(out.prior), out.format, label=out.prior,
                             timestamp=out.timestamp or "begin")
        opened.append(prior)
        post = None
        mult = None
        if out.posterior_kind == "multiplier":
            mult = (run.file(out.posterior), out.posterior, out.posterior_group)
        else:
            post = open_gridded(run.file(out.posterior), out.format, label=out.posterior,
                                timestamp=out.timestamp or "begin", group=out.posterior_group)
            opened.append(post)
        rates = species_rates(prior, post, cfg, multipliers=mult, overrides=out.variables,
                              layer=out.layer, notes=notes)
        per = [p for p in periods(prior) if p.date is not None]
        if not per:
            raise ManifestError(manifest, f"inversion {out.prior} covers no whole Beijing day: "
                                "an evaluation compares days")
        left = max(prior.ntimes, 1) - sum(len(p.records) for p in per)
        if left:
            notes.append(f"{out.prior}: {left} record(s) outside a whole Beijing day left out")
        species = {}
        for sr in rates:
            species[sr.species] = SpeciesDays(
                sr.species, sr.config,
                np.stack([sr.prior[p.records].mean(axis=0) for p in per]),
                np.stack([sr.posterior[p.records].mean(axis=0) for p in per]),
                sr.lower_bound)
        return EmissionDays(run.id, str(run.run_dir), prior.grid,
                            [p.date for p in per if p.date is not None], species, notes)
    finally:
        for f in opened:
            f.close()
