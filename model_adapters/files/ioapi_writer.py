"""Write I/O API GRDDED3 netCDF files the way CMAQ does (FORMATS.md §1).

Used by the sample run, the test fixtures and the benchmark, so that everything the adapters
read in tests is a real IOAPI file that ``ncdump``, xarray and PseudoNetCDF (``format="ioapi"``)
open as such: TSTEP unlimited, TFLAG per record and variable, names/units padded to 16
characters, var_desc to 80, VAR-LIST of 16-character names, FILEDESC in 80-character lines,
SDATE/STIME/TSTEP coded YYYYDDD/HHMMSS, no _FillValue.

Records are written in blocks (:meth:`IOAPIWriter.write`), so a 15-day forecast never has to be
in memory at once. netCDF4-classic files get chunks of (≤24 records, 1 layer, whole grid), the
layout that keeps dask reads fast (STACK-NOTES.md §5).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from ecobrain.ontology.grid import GridSpec

IOAPI_VERSION = ("ioapi-3.2: ecobrain.model_adapters.files.ioapi_writer "
                 "(IOAPI layout, not the library)")


@dataclass(frozen=True)
class VarSpec:
    name: str
    units: str
    var_desc: str = ""


def _pad(s: str, n: int) -> str:
    return f"{s[:n]:<{n}}"


def yyyyddd(t: dt.datetime) -> int:
    return t.year * 1000 + t.timetuple().tm_yday


def hhmmss(t: dt.datetime) -> int:
    return t.hour * 10000 + t.minute * 100 + t.second


def encode_tstep(seconds: int) -> int:
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return h * 10000 + m * 100 + s


def _filedesc(lines: Sequence[str]) -> str:
    lines = list(lines)[:60]
    return "".join(_pad(line, 80) for line in lines) + " " * 80 * (60 - len(lines))


class IOAPIWriter:
    """An IOAPI file being written, record block by record block."""

    def __init__(
        self,
        path: str | Path,
        grid: GridSpec,
        variables: Sequence[VarSpec],
        start: dt.datetime,
        tstep_seconds: int,
        *,
        nlayers: int = 1,
        filedesc: Sequence[str] = ("ecobrain IOAPI file",),
        upnam: str = "ECOBRAIN",
        exec_id: str = "ecobrain",
        created: dt.datetime | None = None,
        fmt: str = "NETCDF3_64BIT_OFFSET",
        zlib: bool = False,
        time_chunk: int = 24,
        significant_digits: int | None = None,
        history: str = "",
    ):
        if start.tzinfo is not None:
            start = start.astimezone(dt.UTC).replace(tzinfo=None)
        self.path = Path(path)
        self.grid = grid
        self.vars = list(variables)
        self.start = start
        self.tstep_seconds = int(tstep_seconds)
        self.nlayers = nlayers
        for v in self.vars:
            if len(v.name) > 16:
                raise ValueError(f"IOAPI names are at most 16 characters: {v.name!r}")
        created = created or start
        self.path.parent.mkdir(parents=True, exist_ok=True)
        nc = netCDF4.Dataset(self.path, "w", format=fmt)
        self.nc = nc
        if fmt.startswith("NETCDF3"):
            nc.set_fill_off()
        nc.createDimension("TSTEP", None)
        nc.createDimension("DATE-TIME", 2)
        nc.createDimension("LAY", nlayers)
        nc.createDimension("VAR", len(self.vars))
        nc.createDimension("ROW", grid.nrows)
        nc.createDimension("COL", grid.ncols)
        tflag = nc.createVariable("TFLAG", "i4", ("TSTEP", "VAR", "DATE-TIME"))
        tflag.setncattr("units", "<YYYYDDD,HHMMSS>")
        tflag.setncattr("long_name", _pad("TFLAG", 16))
        tflag.setncattr("var_desc",
                        _pad("Timestep-valid flags:  (1) YYYYDDD or (2) HHMMSS", 80))
        kw: dict = {}
        if not fmt.startswith("NETCDF3"):
            kw = {"chunksizes": (time_chunk, 1, grid.nrows, grid.ncols)}
            if zlib:
                kw.update(zlib=True, complevel=1, shuffle=True)
            if significant_digits:
                # netCDF-C quantisation (BitGroom): zeroes the bits below the given number of
                # significant digits so that zlib can compress the fields.
                kw.update(significant_digits=significant_digits, quantize_mode="BitGroom")
        for v in self.vars:
            var = nc.createVariable(v.name, "f4", ("TSTEP", "LAY", "ROW", "COL"),
                                    fill_value=False, **kw)
            var.setncattr("long_name", _pad(v.name, 16))
            var.setncattr("units", _pad(v.units, 16))
            var.setncattr("var_desc", _pad(v.var_desc or f"Variable {v.name}", 80))
        attrs: dict = {
            "IOAPI_VERSION": _pad(IOAPI_VERSION, 80),
            "EXEC_ID": _pad(exec_id, 80),
            "FTYPE": np.int32(1),
            "CDATE": np.int32(yyyyddd(created)),
            "CTIME": np.int32(hhmmss(created)),
            "WDATE": np.int32(yyyyddd(created)),
            "WTIME": np.int32(hhmmss(created)),
            "SDATE": np.int32(yyyyddd(start)),
            "STIME": np.int32(hhmmss(start)),
            "TSTEP": np.int32(encode_tstep(self.tstep_seconds)),
            "NTHIK": np.int32(1),
            "NCOLS": np.int32(grid.ncols),
            "NROWS": np.int32(grid.nrows),
            "NLAYS": np.int32(nlayers),
            "NVARS": np.int32(len(self.vars)),
        }
        g = grid.ioapi_attrs()
        for k in ("GDTYP", "P_ALP", "P_BET", "P_GAM", "XCENT", "YCENT", "XORIG", "YORIG",
                  "XCELL", "YCELL"):
            attrs[k] = g[k]
        sigma = np.linspace(1.0, 1.0 - 0.0025 * nlayers, nlayers + 1).astype(np.float32)
        attrs.update({
            "VGTYP": np.int32(7),
            "VGTOP": np.float32(5000.0),
            "VGLVLS": sigma,
            "GDNAM": _pad(grid.name, 16),
            "UPNAM": _pad(upnam, 16),
            "VAR-LIST": "".join(_pad(v.name, 16) for v in self.vars),
            "FILEDESC": _filedesc(filedesc),
            "HISTORY": history,
        })
        for k, val in attrs.items():
            nc.setncattr(k, val)
        self._written = 0

    def _stamp(self, t: int) -> tuple[int, int]:
        when = self.start + dt.timedelta(seconds=self.tstep_seconds * t)
        return yyyyddd(when), hhmmss(when)

    def write(self, t0: int, data: Mapping[str, np.ndarray]) -> None:
        """Write records t0.. from arrays shaped (nt, ROW, COL) or (nt, LAY, ROW, COL)."""
        missing = [v.name for v in self.vars if v.name not in data]
        if missing:
            raise ValueError(f"{self.path.name}: no data for {', '.join(missing)}")
        nt = None
        for v in self.vars:
            arr = np.asarray(data[v.name], dtype=np.float32)
            if arr.ndim == 3:
                arr = arr[:, None, :, :]
            if arr.shape[1:] != (self.nlayers, self.grid.nrows, self.grid.ncols):
                raise ValueError(f"{self.path.name} {v.name}: shape {arr.shape} does not fit "
                                 f"(nt, {self.nlayers}, {self.grid.nrows}, {self.grid.ncols})")
            if nt is None:
                nt = arr.shape[0]
            elif arr.shape[0] != nt:
                raise ValueError(f"{self.path.name}: variables have different record counts")
            self.nc.variables[v.name][t0:t0 + nt] = arr
        assert nt is not None
        flags = np.array([self._stamp(t) for t in range(t0, t0 + nt)], dtype=np.int32)
        self.nc.variables["TFLAG"][t0:t0 + nt] = np.repeat(flags[:, None, :], len(self.vars),
                                                          axis=1)
        self._written = max(self._written, t0 + nt)

    def close(self) -> None:
        self.nc.close()

    def __enter__(self) -> IOAPIWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_ioapi(path: str | Path, grid: GridSpec, arrays: Mapping[str, np.ndarray],
                units: Mapping[str, str], start: dt.datetime, tstep_seconds: int, *,
                var_desc: Mapping[str, str] | None = None, **kwargs) -> Path:
    """Write a whole file from in-memory arrays (small files: tests, fixtures)."""
    specs = [VarSpec(n, units[n], (var_desc or {}).get(n, "")) for n in arrays]
    first = np.asarray(next(iter(arrays.values())))
    nlayers = first.shape[1] if first.ndim == 4 else 1
    with IOAPIWriter(path, grid, specs, start, tstep_seconds, nlayers=nlayers, **kwargs) as w:
        w.write(0, arrays)
    return Path(path)
