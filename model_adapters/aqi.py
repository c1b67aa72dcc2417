"""China AQI (HJ 633) computed from dated breakpoint tables, vectorised over regions × days.

The tables, the rounding rule, the O3/SO2 special rules, the primary-pollutant rule and the
categories all come from ``knowledge/standards/hj633.yaml``; this module only knows how to
apply a table. Which table applies is decided per Beijing day by the effective dates in that
file, so a forecast that straddles 2026-03-01 is judged by HJ 633-2012 before and HJ 633-2026
from that day on.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from ecobrain.yaml12 import load_yaml

METRIC_POLLUTANT = {
    "PM2_5_24h": "PM2_5",
    "PM10_24h": "PM10",
    "SO2_24h": "SO2",
    "NO2_24h": "NO2",
    "CO_24h": "CO",
    "O3_8h": "O3",
    "O3_1h": "O3",
    "SO2_1h": "SO2",
    "NO2_1h": "NO2",
    "CO_1h": "CO",
}


def default_standards_path() -> Path:
    return Path(str(files("ecobrain.knowledge") / "standards" / "hj633.yaml"))


@dataclass(frozen=True)
class AboveTop:
    rule: str  # cap | use_metric | fixed_iaqi
    iaqi: float | None = None
    metric: str | None = None


@dataclass(frozen=True)
class Column:
    metric: str
    pollutant: str
    units: str
    breakpoints: np.ndarray  # finite prefix of the table's breakpoints
    levels: np.ndarray  # IAQI at those breakpoints
    report: str
    above_top: AboveTop

    @property
    def top(self) -> float:
        return float(self.breakpoints[-1])


@dataclass(frozen=True)
class Category:
    level: int
    aqi_min: int
    aqi_max: int | None
    level_zh: str
    category_zh: str
    category_en: str
    rgb: tuple[int, int, int]

    @property
    def colour(self) -> str:
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)


@dataclass(frozen=True)
class AQIStandard:
    """One dated version of HJ 633."""

    id: str
    effective_from: dt.date
    effective_to: dt.date | None
    columns: Mapping[str, Column]
    daily_report: tuple[str, ...]
    rounding: str
    primary_aqi_above: float
    exceeding_iaqi_above: float
    categories: tuple[Category, ...]
    reference_temperature_k: float
    reference_pressure_pa: float

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to)

    def _round(self, x: np.ndarray) -> np.ndarray:
        # Round off float noise first so that an exact breakpoint (IAQI 100.0000000001) is not
        # pushed up a whole unit by the ceiling.
        x = np.round(x, 6)
        if self.rounding == "ceiling":
            return np.ceil(x)
        if self.rounding == "half_up":
            return np.floor(x + 0.5)
        if self.rounding == "none":
            return x
        raise ValueError(f"{self.id}: unknown rounding method {self.rounding!r}")

    def raw_iaqi(self, metric: str, conc: np.ndarray) -> np.ndarray:
        """Unrounded IAQI by linear interpolation (式1); NaN where the column has no value
        (above its top under a ``use_metric`` rule, or concentration NaN)."""
        col = self.columns[metric]
        c = np.asarray(conc, dtype=float)
        out = np.interp(np.clip(c, 0.0, None), col.breakpoints, col.levels)
        above = c > col.top
        if np.any(above):
            rule = col.above_top
            if rule.rule in ("cap", "fixed_iaqi"):
                out = np.where(above, float(rule.iaqi if rule.iaqi is not None else 500), out)
            elif rule.rule == "use_metric":
                out = np.where(above, np.nan, out)
            else:
                raise ValueError(f"{self.id} {metric}: unknown above_top rule {rule.rule!r}")
        return np.where(np.isnan(c), np.nan, out)

    def daily_iaqi(self, conc: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Rounded IAQI of each daily-report metric present in ``conc`` (same-shape arrays).

        A metric whose rule says "use the IAQI of another metric" (O3 8-h > 800 under 2012)
        takes that metric's IAQI, computed from ``conc`` even when the other metric is not
        itself in the daily report.
        """
        out: dict[str, np.ndarray] = {}
        for metric in self.daily_report:
            if metric not in conc or conc[metric] is None:
                continue
            raw = self.raw_iaqi(metric, conc[metric])
            col = self.columns[metric]
            if col.above_top.rule == "use_metric":
                other = col.above_top.metric
                assert other is not None
                need = np.isnan(raw) & ~np.isnan(np.asarray(conc[metric], dtype=float))
                if np.any(need):
                    if other not in conc or conc[other] is None:
                        raise ValueError(
                            f"{self.id}: {metric} is above {col.top:g} and its IAQI must come "
                            f"from {other}, which the forecast does not provide"
                        )
                    raw = np.where(need, self.raw_iaqi(other, conc[other]), raw)
            out[metric] = self._round(raw)
        return out

    def aqi(self, iaqi: Mapping[str, np.ndarray]) -> np.ndarray:
        stack = np.stack([np.asarray(v, dtype=float) for v in iaqi.values()])
        return np.nanmax(stack, axis=0)

    def primary_pollutants(self, iaqi: Mapping[str, float], aqi: float) -> list[str]:
        """Pollutants whose IAQI equals the AQI, when AQI is above the threshold (ties: all)."""
        if not aqi > self.primary_aqi_above:
            return []
        found: list[str] = []
        for metric, value in iaqi.items():
            if value == aqi:
                p = METRIC_POLLUTANT[metric]
                if p not in found:
                    found.append(p)
        return found

    def exceeding_pollutants(self, iaqi: Mapping[str, float]) -> list[str]:
        found: list[str] = []
        for metric, value in iaqi.items():
            if value > self.exceeding_iaqi_above:
                p = METRIC_POLLUTANT[metric]
                if p not in found:
                    found.append(p)
        return found

    def category(self, aqi: float) -> Category:
        for cat in self.categories:
            if aqi >= cat.aqi_min and (cat.aqi_max is None or aqi <= cat.aqi_max):
                return cat
        # Non-integer AQI (rounding "none") between two ranges: the higher category.
        for cat in self.categories:
            if cat.aqi_max is None or aqi <= cat.aqi_max:
                return cat
        raise ValueError(f"{self.id}: AQI {aqi} fits no category")


def _column(metric: str, spec: Mapping[str, Any], levels: Sequence[float],
            default_above: Mapping[str, Any]) -> Column:
    bps = list(spec["breakpoints"])
    if len(bps) != len(levels):
        raise ValueError(f"{metric}: {len(bps)} breakpoints for {len(levels)} IAQI levels")
    finite = [b for b in bps if b is not None]
    if bps[: len(finite)] != finite:
        raise ValueError(f"{metric}: null breakpoints may only end the column")
    if any(b2 <= b1 for b1, b2 in itertools.pairwise(finite)):
        raise ValueError(f"{metric}: breakpoints must increase")
    at = dict(spec.get("above_top") or default_above)
    above = AboveTop(rule=at["rule"], iaqi=at.get("iaqi"), metric=at.get("metric"))
    if above.rule == "cap" and above.iaqi is None:
        above = AboveTop(rule="cap", iaqi=float(levels[len(finite) - 1]))
    return Column(
        metric=metric,
        pollutant=spec["pollutant"],
        units=spec["units"],
        breakpoints=np.array(finite, dtype=float),
        levels=np.array(levels[: len(finite)], dtype=float),
        report=spec.get("report", "daily"),
        above_top=above,
    )


def _as_date(v: Any) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def parse_standards(doc: Mapping[str, Any], origin: str = "hj633.yaml") -> tuple[AQIStandard, ...]:
    out = []
    for s in doc.get("standards", []):
        sid = s["id"]
        try:
            levels = [float(x) for x in s["iaqi_levels"]]
            default_above = s.get("above_top_default", {"rule": "cap", "iaqi": 500})
            columns = {m: _column(m, c, levels, default_above) for m, c in s["columns"].items()}
            for m in s["daily_report"]:
                if m not in columns:
                    raise ValueError(f"daily_report names {m}, which has no column")
                if m not in METRIC_POLLUTANT:
                    raise ValueError(f"unknown metric id {m}")
            for c in columns.values():
                if c.above_top.rule == "use_metric" and c.above_top.metric not in columns:
                    raise ValueError(f"{c.metric}: above_top metric {c.above_top.metric} unknown")
            ref = s["reference_state"]
            cats = tuple(
                Category(
                    level=int(c["level"]), aqi_min=int(c["aqi_min"]),
                    aqi_max=None if c["aqi_max"] is None else int(c["aqi_max"]),
                    level_zh=c["level_zh"], category_zh=c["category_zh"],
                    category_en=c["category_en"], rgb=tuple(int(v) for v in c["rgb"]),
                )
                for c in s["categories"]
            )
            out.append(
                AQIStandard(
                    id=sid,
                    effective_from=_as_date(s["effective_from"]),
                    effective_to=_as_date(s.get("effective_to")),
                    columns=columns,
                    daily_report=tuple(s["daily_report"]),
                    rounding=s["rounding"]["method"],
                    primary_aqi_above=float(s["primary_pollutant"]["aqi_above"]),
                    exceeding_iaqi_above=float(s["exceeding_pollutant"]["iaqi_above"]),
                    categories=cats,
                    reference_temperature_k=float(ref["temperature_k"]),
                    reference_pressure_pa=float(ref["pressure_hpa"]) * 100.0,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{origin}: standard {sid}: {exc}") from exc
    if not out:
        raise ValueError(f"{origin}: no standards")
    return tuple(out)


class StandardSet:
    """All versions of the AQI standard, chosen per day by effective date."""

    def __init__(self, standards: Sequence[AQIStandard]):
        self.standards = tuple(sorted(standards, key=lambda s: s.effective_from))

    @classmethod
    def load(cls, path: str | Path | None = None) -> StandardSet:
        return _load_cached(str(path or default_standards_path()))

    def for_day(self, day: dt.date) -> AQIStandard:
        found = [s for s in self.standards if s.in_force(day)]
        if not found:
            raise ValueError(f"no AQI standard in force on {day.isoformat()} (known: "
                             + ", ".join(f"{s.id} {s.effective_from}..{s.effective_to or ''}"
                                         for s in self.standards) + ")")
        return found[-1]

    def nearest(self, day: dt.date) -> AQIStandard:
        """The version in force on ``day``, else the closest one in time (for unit reference
        states of hours outside any standard's period, e.g. historical test files)."""
        try:
            return self.for_day(day)
        except ValueError:
            return min(self.standards, key=lambda s: min(
                abs((s.effective_from - day).days),
                abs(((s.effective_to or day) - day).days)))

    def by_id(self, sid: str) -> AQIStandard:
        for s in self.standards:
            if s.id == sid:
                return s
        raise KeyError(sid)


@cache
def _load_cached(path: str) -> StandardSet:
    with open(path, encoding="utf-8") as fh:
        doc = load_yaml(fh)
    return StandardSet(parse_standards(doc, origin=path))


@dataclass(frozen=True)
class DayAQI:
    """Scalar result for one region-day (used by tests and small callers)."""

    standard: str
    iaqi: dict[str, int]
    aqi: int
    primary: list[str]
    exceeding: list[str]
    category: Category


def daily_aqi(standard: AQIStandard, conc: Mapping[str, float | None]) -> DayAQI:
    """AQI of one day from its daily metrics (µg/m³, CO mg/m³); missing metrics skipped."""
    arrays = {k: np.array([v], dtype=float) for k, v in conc.items() if v is not None}
    iaqi_arr = standard.daily_iaqi(arrays)
    if not iaqi_arr:
        raise ValueError("no daily-report metric given")
    iaqi = {k: int(v[0]) for k, v in iaqi_arr.items()}
    aqi = max(iaqi.values())
    return DayAQI(
        standard=standard.id,
        iaqi=iaqi,
        aqi=aqi,
        primary=standard.primary_pollutants(iaqi, aqi),
        exceeding=standard.exceeding_pollutants(iaqi),
        category=standard.category(aqi),
    )
