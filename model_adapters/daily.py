"""Hourly series -> Beijing natural days: 24-h means, O3 MDA8 and maximum 1-h values.

Conventions (docs/model-runs.md, "Daily values"):

* A record stands for the hour that *begins* at ``interval_begin`` (ACONC stamps are the
  beginning of the averaging hour; an instantaneous CONC value stands for the hour it closes).
  The hour belongs to the Beijing (UTC+8) day in which it begins, so 16:00Z-17:00Z is 00-01 h
  Beijing time of the next calendar day.
* Only **complete** days — all 24 hours present — get daily values; partial days at the ends
  of a run are reported as skipped, never averaged over fewer hours.
* O3 MDA8: the maximum of the 17 eight-hour moving averages whose windows lie inside the
  Beijing day (hours 0-8 ... 16-24, i.e. ending at hours 8..24).
* Region daily values are computed from the region-mean hourly series (the mean of cell 24-h
  means equals the 24-h mean of cell means; MDA8 and the 1-h maximum are taken of the region's
  hourly mean series, which is what a region-average forecast means).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from ecobrain.model_adapters.errors import TimeAxisError

BEIJING = dt.timezone(dt.timedelta(hours=8), name="UTC+08:00")
HOUR = np.timedelta64(3600, "s")
MDA8_WINDOWS = 17


@dataclass(frozen=True)
class DayAxis:
    """Complete Beijing days and, for each, the record index of each of its 24 hours."""

    days: list[dt.date]
    index: np.ndarray  # (ndays, 24) record indices
    skipped: list[tuple[dt.date, int]] = field(default_factory=list)  # (day, hours present)

    @property
    def ndays(self) -> int:
        return len(self.days)

    def time_range(self, d: int) -> tuple[int, int]:
        return int(self.index[d].min()), int(self.index[d].max())


def beijing_day_axis(hour_begin_utc: np.ndarray, *, label: str | None = None,
                     step_seconds: int | None = 3600) -> DayAxis:
    """Group hourly records (by the UTC beginning of their hour) into Beijing days."""
    if step_seconds != 3600:
        raise TimeAxisError(label, f"daily values need hourly records; TSTEP is "
                            f"{step_seconds} s")
    t = np.asarray(hour_begin_utc).astype("datetime64[s]")
    if len(t) == 0:
        return DayAxis([], np.zeros((0, 24), dtype=int))
    if len(t) > 1 and np.any(np.diff(t) != HOUR):
        bad = int(np.flatnonzero(np.diff(t) != HOUR)[0])
        raise TimeAxisError(label, f"records are not consecutive hours (between record {bad} "
                            f"{t[bad]} and {t[bad + 1]})")
    local = t + np.timedelta64(8, "h")
    day = local.astype("datetime64[D]")
    hour = ((local - day) // HOUR).astype(int)
    days: list[dt.date] = []
    rows: list[np.ndarray] = []
    skipped: list[tuple[dt.date, int]] = []
    for d in np.unique(day):
        sel = np.flatnonzero(day == d)
        date = d.astype(dt.date)
        if len(sel) == 24 and np.array_equal(hour[sel], np.arange(24)):
            days.append(date)
            rows.append(sel)
        else:
            skipped.append((date, len(sel)))
    index = np.stack(rows) if rows else np.zeros((0, 24), dtype=int)
    return DayAxis(days, index, skipped)


def by_day(series: np.ndarray, axis: DayAxis) -> np.ndarray:
    """(nt, n) -> (ndays, 24, n)."""
    return series[axis.index]


def daily_mean(series: np.ndarray, axis: DayAxis) -> np.ndarray:
    """(nt, n) -> (ndays, n) 24-h means."""
    return by_day(series, axis).mean(axis=1)


def daily_max(series: np.ndarray, axis: DayAxis) -> np.ndarray:
    return by_day(series, axis).max(axis=1)


def moving8(series_by_day: np.ndarray) -> np.ndarray:
    """(ndays, 24, n) -> (ndays, 17, n): 8-h means of the windows starting at hours 0..16."""
    c = np.cumsum(series_by_day, axis=1, dtype=np.float64)
    c = np.concatenate([np.zeros_like(c[:, :1]), c], axis=1)
    return (c[:, 8:] - c[:, :-8]) / 8.0


def mda8(series: np.ndarray, axis: DayAxis) -> tuple[np.ndarray, np.ndarray]:
    """(nt, n) -> MDA8 (ndays, n) and the start hour (0..16, Beijing) of the window chosen."""
    m8 = moving8(by_day(series, axis))
    start = m8.argmax(axis=1)
    return m8.max(axis=1), start


def window_mean(series: np.ndarray, axis: DayAxis, start_hour: np.ndarray) -> np.ndarray:
    """Mean of (nt, n) over the 8-h window starting at start_hour (ndays, n) of each day."""
    m8 = moving8(by_day(series, axis))
    return np.take_along_axis(m8, start_hour[:, None, :], axis=1)[:, 0, :]


def hours_mean(series: np.ndarray, axis: DayAxis, start: int, end: int) -> np.ndarray:
    """Mean over Beijing hours [start, end) of each day."""
    return by_day(series, axis)[:, start:end, :].mean(axis=1)
