"""Reader for CF-netCDF model files: regular lat/lon grids, or projected (Lambert) grids.

Post-processed WRF-Chem and AI forecasts usually arrive on a regular lat/lon grid; inversion
products such as OpenMethane's prior arrive on the CMAQ Lambert grid described by a CF
``grid_mapping``. Both become a :class:`GridSpec`, so the rest of the adapters treat them
exactly like IOAPI files (row 0 south, cell centres from the grid, regions by coordinates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ecobrain.model_adapters.errors import DimensionError
from ecobrain.model_adapters.files.gridfile import GriddedFile, Timestamp, open_xr
from ecobrain.ontology.grid import EARTH_RADIUS_M, LAMGRD3, LATGRD3, GridSpec

LAT_NAMES = ("lat", "latitude", "nav_lat", "XLAT")
LON_NAMES = ("lon", "longitude", "nav_lon", "XLONG")
TIME_NAMES = ("time", "Time", "t", "TSTEP")


def _find_1d(ds: xr.Dataset, names: tuple[str, ...], standard_names: tuple[str, ...]) -> str | None:
    for name in list(ds.coords) + list(ds.data_vars):
        v = ds[name]
        sn = str(v.attrs.get("standard_name", ""))
        if v.ndim == 1 and (name in names or sn in standard_names):
            return str(name)
    return None


def _regular(values: np.ndarray, label: str, name: str) -> float:
    d = np.diff(values.astype(float))
    if len(d) == 0:
        raise DimensionError(label, "needs at least 2 points to define a grid", name)
    if not np.allclose(d, d[0], rtol=1e-4, atol=1e-9):
        raise DimensionError(label, "is not regularly spaced; only regular grids are supported",
                             name)
    return float(d[0])


class CFFile(GriddedFile):
    ydim: str = "y"
    xdim: str = "x"
    tdim: str | None = None
    flip_rows: bool = False

    def variables(self) -> list[str]:
        out = []
        for name, v in self.dataset.data_vars.items():
            if self.ydim in v.dims and self.xdim in v.dims and v.ndim >= 2 and \
                    np.issubdtype(v.dtype, np.number) and name not in LAT_NAMES + LON_NAMES:
                out.append(str(name))
        return out

    def _slab(self, name: str, tslice: slice, layer: int) -> np.ndarray:
        v = self.dataset[name]
        other = [d for d in v.dims if d not in (self.ydim, self.xdim, self.tdim)]
        sel: dict[str, Any] = {}
        for i, d in enumerate(other):
            if i == 0:
                if layer >= v.sizes[d]:
                    raise DimensionError(self.label, f"has {v.sizes[d]} levels in {d}; level "
                                         f"{layer} requested", name)
                sel[d] = layer
            elif v.sizes[d] != 1:
                raise DimensionError(self.label, f"has extra dimension {d} of size "
                                     f"{v.sizes[d]}; cannot reduce to (time, y, x)", name)
            else:
                sel[d] = 0
        if self.tdim is not None and self.tdim in v.dims:
            sel[self.tdim] = tslice
            arr = v.isel(sel).transpose(self.tdim, self.ydim, self.xdim).values
        else:
            arr = v.isel(sel).transpose(self.ydim, self.xdim).values[None, ...]
        if self.flip_rows:
            arr = arr[:, ::-1, :]
        return arr


def _grid_from_mapping(ds: xr.Dataset, label: str) -> tuple[GridSpec, str, str, bool] | None:
    mapping_name = None
    for v in ds.data_vars.values():
        gm = v.attrs.get("grid_mapping")
        if gm and gm in ds.variables:
            mapping_name = gm
            break
    if mapping_name is None:
        return None
    gm = ds[mapping_name].attrs
    gname = gm.get("grid_mapping_name")
    if gname != "lambert_conformal_conic":
        raise DimensionError(label, f"grid_mapping {gname!r} is not supported (supported: "
                             "lambert_conformal_conic, or a regular lat/lon grid)", mapping_name)
    radius = gm.get("earth_radius", gm.get("semi_major_axis"))
    minor = gm.get("semi_minor_axis", radius)
    if radius is None or abs(float(radius) - EARTH_RADIUS_M) > 1 or \
            abs(float(minor) - EARTH_RADIUS_M) > 1:
        raise DimensionError(
            label, f"the earth shape (a={radius}, b={minor}) is not the CMAQ sphere of "
            f"{EARTH_RADIUS_M:.0f} m that grids here use", mapping_name)
    xname = _find_1d(ds, ("x",), ("projection_x_coordinate",))
    yname = _find_1d(ds, ("y",), ("projection_y_coordinate",))
    if xname is None or yname is None:
        raise DimensionError(label, "has a Lambert grid_mapping but no 1-D x/y coordinates")
    scale = {"m": 1.0, "km": 1000.0}.get(str(ds[xname].attrs.get("units", "m")).strip())
    if scale is None:
        raise DimensionError(label, f"x units {ds[xname].attrs.get('units')!r} not m or km",
                             xname)
    x = ds[xname].values.astype(float) * scale
    y = ds[yname].values.astype(float) * scale
    dx = _regular(x, label, xname)
    dy = _regular(y, label, yname)
    flip = dy < 0
    if flip:
        y = y[::-1]
        dy = -dy
    sp = np.atleast_1d(np.asarray(gm["standard_parallel"], dtype=float))
    p1, p2 = (float(sp[0]), float(sp[-1]))
    lon0 = float(gm["longitude_of_central_meridian"])
    lat0 = float(gm["latitude_of_projection_origin"])
    fe = float(gm.get("false_easting", 0.0))
    fn = float(gm.get("false_northing", 0.0))
    grid = GridSpec(
        name=str(ds.attrs.get("domain_name", ds.attrs.get("GDNAM", "cf-lcc"))).strip() or "cf-lcc",
        gdtyp=LAMGRD3, p_alp=min(p1, p2), p_bet=max(p1, p2), p_gam=lon0, xcent=lon0, ycent=lat0,
        xorig=float(x[0] - dx / 2 - fe), yorig=float(y[0] - dy / 2 - fn),
        xcell=dx, ycell=dy, ncols=len(x), nrows=len(y),
    )
    return grid, str(ds[yname].dims[0]), str(ds[xname].dims[0]), flip


def _grid_latlon(ds: xr.Dataset, label: str) -> tuple[GridSpec, str, str, bool]:
    lat = _find_1d(ds, LAT_NAMES, ("latitude",))
    lon = _find_1d(ds, LON_NAMES, ("longitude",))
    if lat is None or lon is None:
        raise DimensionError(
            label, "is neither IOAPI nor a CF file with 1-D lat/lon or a Lambert grid_mapping; "
            "curvilinear grids are not supported")
    la = ds[lat].values.astype(float)
    lo = ds[lon].values.astype(float)
    dlat = _regular(la, label, lat)
    dlon = _regular(lo, label, lon)
    flip = dlat < 0
    south = float(la.min())
    grid = GridSpec(
        name=str(ds.attrs.get("GDNAM", "cf-latlon")).strip() or "cf-latlon",
        gdtyp=LATGRD3, p_alp=0.0, p_bet=0.0, p_gam=0.0, xcent=0.0, ycent=0.0,
        xorig=float(lo[0] - dlon / 2), yorig=south - abs(dlat) / 2,
        xcell=dlon, ycell=abs(dlat), ncols=len(lo), nrows=len(la),
    )
    return grid, str(ds[lat].dims[0]), str(ds[lon].dims[0]), flip


def open_cf(path: Path, label: str | None = None, *, timestamp: Timestamp | None = None,
            group: str | None = None, **_: Any) -> CFFile:
    label = label or path.name
    ds = open_xr(path, label, group=group)
    try:
        found = _grid_from_mapping(ds, label)
        grid, ydim, xdim, flip = found if found is not None else _grid_latlon(ds, label)
        tdim = next((d for d in ds.dims if d in TIME_NAMES), None)
        times = None
        step = None
        stamp: Timestamp = "instant"
        reason = "no time bounds: values read as instants"
        if tdim is not None and tdim in ds.variables and \
                np.issubdtype(ds[tdim].dtype, np.datetime64):
            times = ds[tdim].values.astype("datetime64[s]")
            bname = ds[tdim].attrs.get("bounds")
            if bname and bname in ds.variables and \
                    np.issubdtype(ds[bname].dtype, np.datetime64):
                b = ds[bname].values.astype("datetime64[s]")
                times = b[:, 0]
                step = int((b[0, 1] - b[0, 0]) / np.timedelta64(1, "s"))
                stamp = "begin"
                reason = f"time bounds '{bname}': each record stands for [lower, upper)"
            elif len(times) > 1:
                step = int((times[1] - times[0]) / np.timedelta64(1, "s"))
        elif tdim is not None:
            raise DimensionError(label, f"time coordinate {tdim!r} cannot be decoded to dates "
                                 "(units like 'hours since ...' are needed)", tdim)
        f = CFFile(path=path, label=label, format="cf", dataset=ds, grid=grid, times=times,
                   step_seconds=step, timestamp=timestamp or stamp, attrs=dict(ds.attrs),
                   timestamp_reason=(f"the manifest's 'timestamp': {timestamp}" if timestamp
                                     else reason))
        f.ydim, f.xdim, f.tdim, f.flip_rows = ydim, xdim, tdim, flip
        return f
    except Exception:
        ds.close()
        raise
