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

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dask.array
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

# Records per block of gridded work (a day of hourly fields): what one dask task decodes.
BLOCK_RECORDS = 24


def open_xr(path: Path, label: str, *, group: str | None = None,
            decode_times: bool = True) -> xr.Dataset:
    """xarray.open_dataset with errors that name the file.

    Variables stay lazily indexed: a read decodes only the records asked for, whatever the
    file's size (a compressed file can decode to many times its size on disk). Whole-variable
    work goes through :meth:`GriddedFile.lazy`, blocks of records on dask."""
    if not path.exists():
        raise TruncatedFileError(label, "file does not exist")
    kwargs: dict[str, Any] = {"engine": "netcdf4", "decode_times": decode_times}
    if group:
        kwargs["group"] = group
    try:
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
    def _select(self, name: str, layer: int) -> xr.DataArray:
        """One variable and layer as a lazy ``(time, row, col)`` array, row 0 south (a
        time-independent variable gets a time axis of length 1)."""

    def _slab(self, name: str, tslice: slice, layer: int) -> np.ndarray:
        """The (time, row, col) values of one variable and layer, as stored (no units)."""
        da = self._select(name, layer)
        return da.isel({da.dims[0]: tslice}).values

    def lazy(self, name: str, layer: int = 0) -> dask.array.Array:
        """``(time, row, col)`` values as stored, as a dask array of blocks of
        :data:`BLOCK_RECORDS` records that are read only when computed (on whichever worker
        computes them)."""
        self.require(name)
        da = self._select(name, layer)
        return da.chunk({da.dims[0]: self._block_records(name, str(da.dims[0])),
                         da.dims[1]: -1, da.dims[2]: -1}).data

    def stored(self, name: str, layer: int = 0) -> np.ndarray:
        """``(time, row, col)`` values as stored, read whole now (small variables: no graph)."""
        self.require(name)
        try:
            return self._slab(name, slice(None), layer)
        except (OSError, RuntimeError, IndexError) as exc:
            raise TruncatedFileError(
                self.label, f"could not be read ({exc}); the file may be truncated", name
            ) from exc

    def blocks(self, name: str, layer: int = 0) -> list[slice]:
        """The record ranges of :meth:`lazy`'s blocks, for work that reads its own block."""
        da = self._select(name, layer)
        n = int(da.shape[0])
        step = self._block_records(name, str(da.dims[0]))
        return [slice(t, min(n, t + step)) for t in range(0, n, step)]

    def _block_records(self, name: str, time_dim: str) -> int:
        """:data:`BLOCK_RECORDS`, rounded up to whole stored chunks of a compressed file (a
        block never decompresses a stored chunk another block also needs)."""
        stored = self.dataset[name].encoding.get("chunksizes")
        dims = self.dataset[name].dims
        if not stored or time_dim not in dims:
            return BLOCK_RECORDS
        per_chunk = int(stored[dims.index(time_dim)])
        return -(-BLOCK_RECORDS // per_chunk) * per_chunk

    def decoded_bytes(self, name: str, layer: int = 0) -> int:
        """Bytes of one variable and layer once decoded (what reading it costs in memory)."""
        da = self._select(name, layer)
        return int(np.prod(da.shape)) * da.dtype.itemsize

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
        raise self.bad_value_error(name, int(bad.sum()), (tslice.start or 0) + int(t_rel), cell,
                                   float(sub[t_rel, j]))

    def bad_value_error(self, name: str, count: int, record: int, cell: int,
                        value: float) -> BadValueError:
        """The error for missing values, naming the first one's record, time and cell."""
        row, col = divmod(cell, self.grid.ncols)
        what = "NaN" if np.isnan(value) else f"fill value {value:.4g}"
        when = ""
        if self.times is not None and record < len(self.times):
            when = f" ({np.datetime_as_string(self.times[record], unit='m')}Z)"
        return BadValueError(
            self.label,
            f"{count} missing values (NaN or fill) where findings need data; first: "
            f"{what} at record {record}{when}, row {row}, col {col}",
            name,
        )

    def close(self) -> None:
        self.dataset.close()

    def __enter__(self) -> GriddedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
