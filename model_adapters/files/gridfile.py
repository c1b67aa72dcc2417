"""One opened model file, whatever its format: a grid, a time axis and variables to read.

Readers (``ioapi.py``, ``cf.py``) turn a file into a :class:`GriddedFile`; every adapter works
on this interface only, so a new model format is one new reader module registered in
``registry.py``. Reads are lazy (xarray, with dask chunks for large files) and come back as
``(time, row, col)`` float arrays with row 0 in the south, like IOAPI.

Time: ``times`` holds the record stamps in UTC; ``timestamp`` says what a stamp means —
``begin`` (ACONC: the stamp is the beginning of the averaging hour, FORMATS.md §1.4),
``instant`` (CONC: the value at that instant) or ``end``. :meth:`interval_begin` turns stamps
into the beginning of the period each record stands for, which is what Beijing-day assignment
needs. An instantaneous value is taken to stand for the hour that ends at its stamp.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from ecobrain.model_adapters.errors import (
    BadValueError,
    MissingVariableError,
    TruncatedFileError,
)
from ecobrain.model_adapters.files.units import canonical_unit
from ecobrain.ontology.grid import GridSpec

Timestamp = Literal["begin", "instant", "end"]

# IOAPI missing values (PARMS3.EXT): BADVAL3 = -9.999E36, AMISS3 = -9.0E36. Anything this
# large in magnitude is a fill value in any format we read.
FILL_THRESHOLD = 1.0e30

# Files above this size are opened with dask chunks (one chunk = a day of hourly fields).
DASK_THRESHOLD_BYTES = 256 * 1024 * 1024


def open_xr(path: Path, label: str, *, chunk_dims: dict[str, int] | None = None,
            group: str | None = None, decode_times: bool = True) -> xr.Dataset:
    """xarray.open_dataset with errors that name the file, and dask for large files."""
    if not path.exists():
        raise TruncatedFileError(label, "file does not exist")
    kwargs: dict[str, Any] = {"engine": "netcdf4", "decode_times": decode_times}
    if group:
        kwargs["group"] = group
    try:
        size = os.path.getsize(path)
        if chunk_dims and size > DASK_THRESHOLD_BYTES:
            kwargs["chunks"] = chunk_dims
        return xr.open_dataset(path, **kwargs)
    except (OSError, RuntimeError, ValueError) as exc:
        raise TruncatedFileError(
            label, f"cannot be opened as netCDF ({exc}); is it truncated or not netCDF?"
        ) from exc


@dataclass
class GriddedFile(ABC):
    """A model file opened lazily. Each format (IOAPI, CF) implements :meth:`variables` and
    :meth:`_slab`; everything else (units, time intervals, reading) is shared."""

    path: Path
    label: str
    format: str
    dataset: xr.Dataset
    grid: GridSpec
    times: np.ndarray | None  # datetime64[s] UTC stamps, or None when time-independent
    step_seconds: int | None
    timestamp: Timestamp
    nlayers: int = 1
    attrs: dict[str, Any] = field(default_factory=dict)
    timestamp_reason: str = ""  # why the stamps were read as they are (into the findings)

    # ------------------------------------------------------------------ variables
    @abstractmethod
    def variables(self) -> list[str]:
        """The data variables of the file (not its coordinate or bookkeeping variables)."""

    def has(self, name: str) -> bool:
        return name in self.variables()

    def require(self, name: str) -> None:
        if not self.has(name):
            raise MissingVariableError(
                self.label, f"is not in the file (it has: {', '.join(self.variables()[:40])})",
                name,
            )

    def raw_units(self, name: str) -> str | None:
        self.require(name)
        u = self.dataset[name].attrs.get("units")
        return None if u is None else str(u).strip()

    def units(self, name: str) -> str:
        """Canonical units of a variable, as the file states them (UnitError if unknown)."""
        return canonical_unit(self.raw_units(name), file=self.label, variable=name)

    # ------------------------------------------------------------------ time
    @property
    def ntimes(self) -> int:
        return 0 if self.times is None else len(self.times)

    def interval_begin(self) -> np.ndarray:
        """Beginning (UTC) of the period each record represents."""
        if self.times is None:
            raise ValueError(f"{self.label}: time-independent file has no time intervals")
        if self.timestamp == "begin":
            return self.times
        step = np.timedelta64(int(self.step_seconds or 0), "s")
        return self.times - step

    # ------------------------------------------------------------------ data
    @abstractmethod
    def _slab(self, name: str, tslice: slice, layer: int) -> np.ndarray:
        """The (time, row, col) values of one variable and layer, as stored (no units)."""

    def read(self, name: str, tslice: slice = slice(None), layer: int = 0, *,
             check_cells: np.ndarray | None = None, check: bool = True) -> np.ndarray:
        """Values as float32 ``(time, row, col)``; row 0 south.

        With ``check`` (default) fill values and NaNs are an error — in every cell, or only in
        ``check_cells`` (flat cell indices) when the caller uses only those.
        """
        self.require(name)
        try:
            arr = np.asarray(self._slab(name, tslice, layer), dtype=np.float32)
        except (OSError, RuntimeError, IndexError) as exc:
            raise TruncatedFileError(
                self.label, f"could not be read ({exc}); the file may be truncated", name
            ) from exc
        if check:
            self.check_values(arr, name, tslice, check_cells)
        return arr

    def check_values(self, arr: np.ndarray, name: str, tslice: slice = slice(None),
                     cells: np.ndarray | None = None) -> None:
        flat = arr.reshape(arr.shape[0], -1)
        sub = flat if cells is None else flat[:, cells]
        bad = ~np.isfinite(sub) | (np.abs(sub) > FILL_THRESHOLD)
        if not bad.any():
            return
        t_rel, j = np.argwhere(bad)[0]
        cell = int(j if cells is None else cells[j])
        row, col = divmod(cell, self.grid.ncols)
        t0 = tslice.start or 0
        value = sub[t_rel, j]
        what = "NaN" if np.isnan(value) else f"fill value {value:.4g}"
        when = ""
        if self.times is not None and t0 + t_rel < len(self.times):
            when = f" ({np.datetime_as_string(self.times[t0 + t_rel], unit='m')}Z)"
        raise BadValueError(
            self.label,
            f"{int(bad.sum())} missing values (NaN or fill) where findings need data; first: "
            f"{what} at record {t0 + int(t_rel)}{when}, row {row}, col {col}",
            name,
        )

    def close(self) -> None:
        self.dataset.close()

    def __enter__(self) -> GriddedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
