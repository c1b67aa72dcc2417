"""Warnings: what a run lacks that the commander must know before trusting the decision.

A *note* is for the modeller (a tag not in the manifest). A *warning* changes how far the
decision can be trusted — a forecast day left out because it has 23 hours, NOx inverted from
NO2 only, a run too short to rule out a red alert — and travels with the findings into the
decision, the API and the top of every document. A warning marked ``incomplete`` means the
decision does not cover everything the run was meant to (the decision's ``incomplete`` flag).

Adapters add warnings through a :class:`WarningLog` passed to them, so a new check (negative
concentrations, a grid not covering the province) is one ``log.warn(...)`` call.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ecobrain.model_adapters.daily import DayAxis


class RunWarning(BaseModel):
    """One warning, in Chinese for the documents and in English for modellers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="stable kind, e.g. 'partial-day', 'lower-bound', "
                      "'horizon', 'coverage', 'time-convention'")
    message_zh: str
    message: str
    file: str | None = None
    variable: str | None = None
    incomplete: bool = Field(default=False, description="the decision does not cover all the "
                             "run was meant to (a day, a pollutant, part of the province)")


class WarningLog:
    """Collects warnings in the order they are found, each once."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], RunWarning] = {}

    def warn(self, code: str, message_zh: str, message: str, *, file: str | None = None,
             variable: str | None = None, incomplete: bool = False) -> RunWarning:
        w = RunWarning(code=code, message_zh=message_zh, message=message, file=file,
                       variable=variable, incomplete=incomplete)
        self._items.setdefault((code, message), w)
        return w

    def extend(self, warnings: list[RunWarning]) -> None:
        for w in warnings:
            self._items.setdefault((w.code, w.message), w)

    @property
    def items(self) -> list[RunWarning]:
        return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def warn_partial_days(log: WarningLog, label: str, axis: DayAxis,
                      hour_begin_utc: np.ndarray) -> None:
    """A Beijing day with fewer than 24 hours gets no daily values: say so, numbered as the
    commander counts the run's days ("第4天仅23小时，未计入")."""
    if not axis.skipped or len(hour_begin_utc) == 0:
        return
    first = (np.asarray(hour_begin_utc[0]).astype("datetime64[s]")
             + np.timedelta64(8, "h")).astype("datetime64[D]").astype(object)
    for day, hours in axis.skipped:
        n = (day - first).days + 1
        log.warn("partial-day",
                 f"第{n}天（{day.isoformat()}）仅{hours}小时，未计入日均值与预警研判",
                 f"{label}: Beijing day {n} ({day.isoformat()}) has {hours} of 24 hours: no "
                 "daily values, not part of the alert assessment", file=label,
                 incomplete=True)
