"""Format name -> reader, in the spirit of xarray's backend entry points.

The manifest's ``"format"`` picks the reader. Built in: ``ioapi`` (CMAQ, CAMx ≥7 netCDF) and
``cf`` (CF-netCDF on a lat/lon or Lambert grid). Another model is one new module with an
``open(path, label, **options) -> GriddedFile`` function, registered either by calling
:func:`register_reader` or through the ``ecobrain.model_readers`` entry-point group of an
installed package.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ecobrain.model_adapters.errors import ManifestError
from ecobrain.model_adapters.files.cf import open_cf
from ecobrain.model_adapters.files.gridfile import GriddedFile
from ecobrain.model_adapters.files.ioapi import open_ioapi

Reader = Callable[..., GriddedFile]

_READERS: dict[str, Reader] = {"ioapi": open_ioapi, "cf": open_cf}
_ENTRY_POINT_GROUP = "ecobrain.model_readers"
_loaded_entry_points = False


def register_reader(fmt: str, reader: Reader) -> None:
    _READERS[fmt.lower()] = reader


def _load_entry_points() -> None:
    global _loaded_entry_points
    if _loaded_entry_points:
        return
    _loaded_entry_points = True
    for ep in entry_points(group=_ENTRY_POINT_GROUP):
        _READERS.setdefault(ep.name.lower(), ep.load())


def formats() -> list[str]:
    _load_entry_points()
    return sorted(_READERS)


def get_reader(fmt: str, *, where: str | None = None) -> Reader:
    _load_entry_points()
    reader = _READERS.get(str(fmt).lower())
    if reader is None:
        raise ManifestError(where, f"unknown format {fmt!r} (known: {', '.join(formats())})")
    return reader


def open_gridded(path: Path, fmt: str, label: str | None = None, **options: Any) -> GriddedFile:
    return get_reader(fmt, where=label or str(path))(Path(path), label, **options)
