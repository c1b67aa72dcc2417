"""The enterprise and station registers' validated rows, kept between loads.

Validating a register is most of loading it: every row through the CSV contract, every
concept against the ontology, every point against the full boundary of the county it names,
every point placed on the grid. All of that is a pure function of the file's bytes, its
``.meta.yaml`` sidecar, the ontology file, the boundaries, the grid and the checking code, so
the rows a file validated to are kept (:mod:`ecobrain.ontology.prepared`) under a digest of
exactly those: a load of the same file takes them back; a change to any of them — one byte of
the CSV, a boundary file, the grid, a line of the checking code — validates the file again.

A file that does not validate is never kept: its LoadErrors are raised afresh on every load,
naming file, line and field as before. What the graph must already hold (sectors, pollutants,
counties, grid cells) is checked on every load, kept rows or not: that is the graph's state,
not the file's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

from ecobrain import safe_yaml, yaml12
from ecobrain.kb_loaders import csv_contract, text_checks
from ecobrain.kb_loaders.places import regions, sites
from ecobrain.ontology import concepts, geography, grid, prepared
from ecobrain.ontology.grid import ZJ3KM

R = TypeVar("R")

# The code every register's check runs through (each loader adds its own module).
CHECK_SOURCES: tuple[str, ...] = (*(str(m.__file__) for m in (
    csv_contract, text_checks, sites, regions, geography, grid, concepts, safe_yaml, yaml12,
    prepared)), __file__)

# Libraries whose answers the check depends on (point in polygon, projections, parsing).
_LIBRARIES = ("shapely", "pyproj", "numpy", "PyYAML", "rdflib")


def sidecar(path: Path) -> Path:
    """The ``<stem>.meta.yaml`` beside a register (:func:`csv_contract.read_meta`)."""
    return path.with_name(path.stem + ".meta.yaml")


def _library_versions() -> list[str]:
    out = []
    for name in _LIBRARIES:
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} ?")
    return out


def check_inputs() -> list[Any]:
    """What a register's check reads besides the file and the code: the boundaries of each
    level (codes and full geometries, by content), the tolerance at county lines, the grid."""
    return [
        {level: geography.boundary_version(level) for level in ("province", "city", "county")},
        regions.BORDER_TOLERANCE_M, sites.COORD_DECIMALS, ZJ3KM.as_dict(), _library_versions(),
    ]


def kept_register(kind: str, path: Path, record: type[R], sources: Sequence[str | Path],
                  validate: Callable[[], tuple[list[R], list[str]]]) -> tuple[list[R], list[str]]:
    """`validate()`'s records and notes for the register at `path`, from the kept rows when
    the file, its sidecar, the files in `sources`, the boundaries and the code are unchanged.

    `record` is the dataclass of one row (rebuilt from its fields)."""
    if not path.is_file():
        return validate()  # no bytes to key on: the check says what is wrong
    meta = sidecar(path)
    files = [path, *([meta] if meta.is_file() else []), *sources, *CHECK_SOURCES]
    names = [f.name for f in fields(record)]  # type: ignore[arg-type]

    def build() -> dict[str, Any]:
        records, notes = validate()
        return {"fields": names, "records": [[vars(r)[n] for n in names] for r in records],
                "notes": list(notes)}

    kept = prepared.prepared(f"{kind}-rows", [meta.is_file(), *check_inputs()], files, build,
                             shape=dict)
    if kept.get("fields") != names:  # another layout under the same digest: cannot happen
        kept = build()               # unless the entry was edited by hand
    return [_rebuilt(record, names, values) for values in kept["records"]], list(kept["notes"])


def _rebuilt(record: type[R], names: list[str], values: list[Any]) -> R:
    """A record from its kept fields. The rows validated already, and a frozen dataclass's
    __init__ sets each field through object.__setattr__ — for thousands of rows that cost
    more than reading them — so the fields go into the instance's __dict__ directly."""
    obj = object.__new__(record)
    obj.__dict__.update(zip(names, values, strict=True))
    return obj
