"""Model output sanity: what would otherwise pass as an all-clear.

A forecast that lacks PM2.5, holds negative concentrations or covers only part of the province
still yields daily AQI — for what it carries, where it reaches — and the rules would see no
alert where nothing was forecast. Each of these becomes a warning that marks the decision
incomplete (:mod:`.run_warnings`), with the figure that matters (which pollutant, how many
values and the smallest, the fraction of the province covered).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ecobrain.model_adapters.grids.overlap import province_coverage
from ecobrain.model_adapters.run_warnings import WarningLog
from ecobrain.ontology.grid import GridSpec

# The pollutants the alert grading turns on (PM2.5-driven alerts, O3 health advice): a forecast
# without them cannot rule out an alert. The others missing is a note (AQI from the rest).
KEY_POLLUTANTS = ("PM2_5", "O3")
POLLUTANT_ZH = {"PM2_5": "PM2.5", "O3": "臭氧(O3)"}
# Full coverage, allowing for the densified outline's approximation of the grid's edges.
FULL_COVERAGE = 0.999


def warn_missing_key_pollutants(log: WarningLog, label: str, present: Iterable[str]) -> None:
    missing = [p for p in KEY_POLLUTANTS if p not in set(present)]
    for p in missing:
        log.warn("missing-pollutant",
                 f"{label}：预报缺少{POLLUTANT_ZH[p]}，AQI与预警研判未包含该污染物",
                 f"{label}: the forecast has no {p}: AQI and alerts leave it out",
                 file=label, variable=p, incomplete=True)


class NegativeCount:
    """Counts negative values per variable as blocks are read (cells that feed regions)."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.minimum: dict[str, float] = {}

    def add(self, variable: str, block: np.ndarray) -> None:
        neg = block < 0
        n = int(neg.sum())
        if n:
            self.count[variable] = self.count.get(variable, 0) + n
            self.minimum[variable] = min(self.minimum.get(variable, 0.0), float(block[neg].min()))

    def merge(self, variable: str, count: int, minimum: float) -> None:
        """Add a count and minimum found elsewhere (a dask worker's block)."""
        if count:
            self.count[variable] = self.count.get(variable, 0) + count
            self.minimum[variable] = min(self.minimum.get(variable, 0.0), minimum)

    def warn(self, log: WarningLog, label: str) -> None:
        for v in sorted(self.count):
            log.warn("negative-values",
                     f"{label}：{v}有{self.count[v]}个负值（最小{self.minimum[v]:.4g}），"
                     "模型输出异常，相关日均值与预警研判不可靠",
                     f"{label}: {v} has {self.count[v]} negative values (smallest "
                     f"{self.minimum[v]:.4g}) in cells that feed regions: the daily values "
                     "built on them are not reliable", file=label, variable=v,
                     incomplete=True)


def warn_coverage(log: WarningLog, label: str, grid: GridSpec,
                  covered: float | None = None) -> float:
    """The fraction of the province's area the grid covers; a warning when not all.
    ``covered``: that fraction when already known (the region weights give it)."""
    covered = province_coverage(grid) if covered is None else covered
    if covered < FULL_COVERAGE:
        log.warn("coverage",
                 f"{label}：网格{grid.name}仅覆盖全省面积的{covered:.0%}，未覆盖地区未研判",
                 f"{label}: grid {grid.name} covers {covered:.1%} of the province's area; "
                 "regions outside it are not assessed", file=label, incomplete=True)
    return covered
