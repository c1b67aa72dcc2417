"""Reader for CMAQ I/O API ("Models-3") netCDF files (FORMATS.md §1).

IOAPI files carry no coordinate variables: the grid comes from the global attributes (GDTYP,
P_ALP/P_BET/P_GAM, XCENT/YCENT, XORIG/YORIG, XCELL/YCELL — through the shared
:meth:`GridSpec.from_ioapi_attrs`), the time axis from SDATE/STIME/TSTEP (checked against
TFLAG), and names/units from padded attributes that must be stripped.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np

from ecobrain.model_adapters.errors import DimensionError, TimeAxisError
from ecobrain.model_adapters.files.gridfile import GriddedFile, Timestamp, open_xr
from ecobrain.ontology.grid import GridSpec

GRID_DIMS = ("TSTEP", "LAY", "ROW", "COL")
REQUIRED_ATTRS = ("GDTYP", "P_ALP", "P_BET", "P_GAM", "XCENT", "YCENT", "XORIG", "YORIG",
                  "XCELL", "YCELL", "NCOLS", "NROWS", "SDATE", "STIME", "TSTEP")
GRDDED3 = 1


def decode_tstep(tstep: int) -> int:
    """IOAPI TSTEP (HHMMSS, may exceed 24 h) in seconds."""
    tstep = abs(int(tstep))
    return (tstep // 10000) * 3600 + ((tstep // 100) % 100) * 60 + tstep % 100


def ioapi_datetime(yyyyddd: int, hhmmss: int) -> dt.datetime:
    year, doy = divmod(int(yyyyddd), 1000)
    h, rem = divmod(int(hhmmss), 10000)
    m, s = divmod(rem, 100)
    return dt.datetime(year, 1, 1) + dt.timedelta(days=doy - 1, hours=h, minutes=m, seconds=s)


def var_list(attrs: dict[str, Any]) -> list[str]:
    s = str(attrs.get("VAR-LIST", ""))
    return [s[i:i + 16].strip() for i in range(0, len(s), 16) if s[i:i + 16].strip()]


def _attr_scalar(v: Any) -> Any:
    if isinstance(v, np.ndarray) and v.size == 1:
        return v.item()
    if isinstance(v, np.generic):
        return v.item()
    return v


class IOAPIFile(GriddedFile):
    def variables(self) -> list[str]:
        return [n for n, v in self.dataset.data_vars.items()
                if n != "TFLAG" and tuple(v.dims) == GRID_DIMS]

    def _slab(self, name: str, tslice: slice, layer: int) -> np.ndarray:
        da = self.dataset[name]
        if layer >= da.sizes["LAY"]:
            raise DimensionError(self.label, f"has {da.sizes['LAY']} layers; layer {layer} "
                                 "requested", name)
        return da.isel(TSTEP=tslice, LAY=layer).values

    def timestamp_from_filedesc(self) -> Timestamp:
        return timestamp_convention(self.attrs, self.path.name)[0]


# CMAQ's averaged outputs (hour-beginning averages): ACONC and the other A* files, ISAM's
# SA_ACONC, and what combine makes of them. Instantaneous: CONC, CGRID, ELMO, SA_CONC.
_AVERAGED_TOKENS = frozenset({"ACONC", "AELMO", "APMDIAG", "AVIS", "ADIAG", "COMBINE"})
_INSTANT_TOKENS = frozenset({"CONC", "CGRID", "ELMO", "PMDIAG"})


def timestamp_convention(attrs: dict[str, Any], filename: str = "") -> tuple[Timestamp, str]:
    """What a CMAQ file's stamps mean, and why (stated in the findings).

    The file's own word first: FILEDESC "Timestamp represents beginning/end computed
    date/time". Then CMAQ's naming: averaged outputs (ACONC, AELMO, APMDIAG, SA_ACONC,
    combine's hourly files) are hour-beginning averages, CONC/CGRID instants. A file that says
    nothing and is not named like either is read as instantaneous, and the reason says so.
    """
    desc = str(attrs.get("FILEDESC", "")).lower()
    if "timestamp represents beginning" in desc:
        return "begin", "FILEDESC: timestamp represents the beginning of the averaging hour"
    if "timestamp represents end" in desc:
        return "end", "FILEDESC: timestamp represents the end of the period"
    tokens = {tok for tok in re.split(r"[_.\-]", Path(filename).name.upper()) if tok}
    upnam = str(attrs.get("UPNAM", "")).strip().upper()
    averaged = tokens & _AVERAGED_TOKENS or ("COMBINE" in upnam and "ACONC" in tokens)
    if averaged:
        return "begin", (f"CMAQ averaged output ({filename}): hour-beginning averages "
                         "(FILEDESC does not say otherwise)")
    if tokens & _INSTANT_TOKENS:
        return "instant", (f"CMAQ instantaneous output ({filename}): each value stands for "
                           "the hour its stamp closes")
    return "instant", (f"{filename}: neither FILEDESC nor the file name says the values are "
                       "averages: read as instants (each value stands for the hour its stamp "
                       "closes); set the manifest's 'timestamp' if that is wrong")


def open_ioapi(path: Path, label: str | None = None, *, timestamp: Timestamp | None = None,
               **_: Any) -> IOAPIFile:
    """Open an IOAPI GRDDED3 file lazily and validate its header against its data."""
    label = label or path.name
    ds = open_xr(path, label, chunk_dims={"TSTEP": 24, "LAY": 1, "ROW": -1, "COL": -1},
                 decode_times=False)
    try:
        attrs = {k: _attr_scalar(v) for k, v in ds.attrs.items()}
        missing = [a for a in REQUIRED_ATTRS if a not in attrs]
        if missing:
            raise DimensionError(label, "is not an IOAPI file: global attributes missing: "
                                 + ", ".join(missing))
        ftype = int(attrs.get("FTYPE", GRDDED3))
        if ftype != GRDDED3:
            raise DimensionError(label, f"FTYPE={ftype}: only gridded files (GRDDED3, FTYPE=1) "
                                 "can become findings (boundary and other IOAPI types cannot)")
        grid = GridSpec.from_ioapi_attrs(attrs, name=str(attrs.get("GDNAM", "")).strip() or None)
        for dim, n in (("ROW", grid.nrows), ("COL", grid.ncols)):
            if dim not in ds.sizes:
                raise DimensionError(label, f"has no {dim} dimension (dims: {dict(ds.sizes)})")
            if ds.sizes[dim] != n:
                raise DimensionError(label, f"{dim} has {ds.sizes[dim]} cells but the header says "
                                     f"{'NROWS' if dim == 'ROW' else 'NCOLS'}={n}")
        for name, v in ds.data_vars.items():
            if name == "TFLAG":
                continue
            if "ROW" in v.dims and tuple(v.dims) != GRID_DIMS:
                raise DimensionError(label, f"has dimensions {v.dims}; IOAPI gridded variables "
                                     f"are {GRID_DIMS}", name)
        nt = int(ds.sizes.get("TSTEP", 0))
        step = decode_tstep(int(attrs["TSTEP"]))
        times: np.ndarray | None
        if step == 0:
            times = None
        else:
            start = ioapi_datetime(int(attrs["SDATE"]), int(attrs["STIME"]))
            times = (np.datetime64(start, "s")
                     + np.arange(nt, dtype=np.int64) * np.timedelta64(step, "s"))
            _check_tflag(ds, times, label)
        stamp, reason = timestamp_convention(attrs, path.name)
        if timestamp is not None:
            stamp, reason = timestamp, f"the manifest's 'timestamp': {timestamp}"
        f = IOAPIFile(
            path=path, label=label, format="ioapi", dataset=ds, grid=grid, times=times,
            step_seconds=step or None, timestamp=stamp, nlayers=int(ds.sizes.get("LAY", 1)),
            attrs=attrs, timestamp_reason=reason,
        )
        return f
    except Exception:
        ds.close()
        raise


def _check_tflag(ds: Any, times: np.ndarray, label: str) -> None:
    if "TFLAG" not in ds.variables:
        return
    try:
        tflag = np.asarray(ds["TFLAG"].isel(VAR=0).values)
    except (OSError, RuntimeError, IndexError) as exc:
        raise TimeAxisError(label, f"TFLAG cannot be read ({exc}); truncated file?",
                            "TFLAG") from exc
    if tflag.shape[0] != len(times):
        raise TimeAxisError(label, f"TFLAG has {tflag.shape[0]} records, TSTEP {len(times)}",
                            "TFLAG")
    for t, (d, hms) in enumerate(tflag):
        if (int(d) == 0 and int(hms) == 0) or int(d) < 0:
            raise TimeAxisError(
                label, f"record {t} has TFLAG {int(d)},{int(hms)} (not written): the file is "
                "truncated or still being written", "TFLAG")
        got = np.datetime64(ioapi_datetime(int(d), int(hms)), "s")
        if got != times[t]:
            raise TimeAxisError(
                label, f"record {t}: TFLAG says {got} but SDATE/STIME/TSTEP give {times[t]}",
                "TFLAG")
