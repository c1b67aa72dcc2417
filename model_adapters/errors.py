"""Errors the adapters raise on bad input: each names the file and, where known, the variable.

A modeller reading one of these should know which file to open and what to look for, without
a traceback. All derive from :class:`AdapterError` (a ``ValueError``), so callers can catch the
whole family; nothing is returned half-done when one is raised.
"""

from __future__ import annotations


class AdapterError(ValueError):
    """Bad model-run input. ``file`` and ``variable`` say where; ``detail`` says what."""

    def __init__(self, file: str | None, detail: str, variable: str | None = None):
        self.file = file
        self.variable = variable
        self.detail = detail
        where = []
        if file:
            where.append(f"file {file}")
        if variable:
            where.append(f"variable {variable}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {detail}" if prefix else detail)


class ManifestError(AdapterError):
    """run.json is missing, malformed, or names files that are not there."""


class MissingVariableError(AdapterError):
    """A variable the adapter needs is not in the file."""


class DimensionError(AdapterError):
    """A variable or file has dimensions the adapter cannot use."""


class UnitError(AdapterError):
    """A variable's units are missing or not one the adapters know how to convert."""


class BadValueError(AdapterError):
    """Fill values (IOAPI BADVAL3, _FillValue) or NaNs where findings need real numbers."""


class TruncatedFileError(AdapterError):
    """The file cannot be read to the end (cut short while copying or writing)."""


class TimeAxisError(AdapterError):
    """The time records are inconsistent (TFLAG disagrees with SDATE/STIME/TSTEP, gaps...)."""


class GridMismatchError(AdapterError):
    """Two files of one run that must share a grid (or time axis) do not."""


class AttributionClosureError(AdapterError):
    """ISAM tags do not add up to the bulk concentration within the tolerance."""

    def __init__(self, file: str, variable: str, region: str, day: str, gap: float,
                 tag_sum: float, bulk: float, tolerance: float):
        self.region = region
        self.day = day
        self.gap = gap
        detail = (
            f"ISAM tags do not close for region {region} on {day}: sum of tags {tag_sum:.4g} vs "
            f"bulk {bulk:.4g} (gap {gap:+.2%}, tolerance {tolerance:.0%})"
        )
        super().__init__(file, detail, variable)
