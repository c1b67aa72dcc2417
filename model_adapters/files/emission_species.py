"""Which file variables make up an emission species: what modelling teams actually write.

``knowledge/config/hotspots.yaml`` lists, per species, alternative *variable sets* tried in
order. A set is either a list of names summed as they are (``[NOX]``, ``[NO, NO2]``), or a
mapping for the cases a plain list cannot say:

* ``{sum: {PAR: 72.1, OLE: 42.1, ...}, require: [PAR]}`` — mechanism species summed with
  their own weights (the molar mass of each model species, so mol/s becomes mass); the
  members present are summed and the ``require``-d ones must be there;
* ``{sum: [NO2], lower_bound: true}`` — a partial set (NO2 only for NOx): usable, but the
  result is a lower bound and the findings say so.

A species no set matches is not silently skipped when it was asked for: the error names the
file, the variables the file has and every name that would have matched (:func:`choose`).
Names must be strings — YAML 1.1 read ``NO`` as false once (:mod:`ecobrain.yaml12`), and
:func:`parse_variable_sets` refuses anything else with the file and species.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VariableSet:
    """One way a file can carry a species: (name, molar mass or None for the species')."""

    members: tuple[tuple[str, float | None], ...]
    required: tuple[str, ...]
    lower_bound: bool = False
    note: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.members)

    def present(self, has: Callable[[str], bool]) -> tuple[tuple[str, float | None], ...] | None:
        """The members the file has, or None when the set does not match it."""
        if not all(has(n) for n in self.required):
            return None
        got = tuple((n, w) for n, w in self.members if has(n))
        return got or None


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: variable name {value!r} is not a string (quote it: "
                         f"YAML 1.1 reads NO, ON, Y as booleans)")
    return value.strip()


def parse_variable_sets(raw: Any, where: str) -> tuple[VariableSet, ...]:
    """The ``variables`` entry of one species, checked (``where`` names file and species)."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: 'variables' must be a non-empty list of variable sets")
    out: list[VariableSet] = []
    for i, item in enumerate(raw):
        at = f"{where}: variables[{i}]"
        if isinstance(item, list):
            names = tuple(_name(n, at) for n in item)
            out.append(VariableSet(tuple((n, None) for n in names), names))
            continue
        if not isinstance(item, dict) or "sum" not in item:
            raise ValueError(f"{at}: expected a list of names or a mapping with 'sum'")
        unknown = set(item) - {"sum", "require", "lower_bound", "note"}
        if unknown:
            raise ValueError(f"{at}: unknown key(s) {sorted(unknown)}")
        s = item["sum"]
        if isinstance(s, dict):
            members = tuple((_name(n, at), None if w is None else float(w)) for n, w in s.items())
        elif isinstance(s, list):
            members = tuple((_name(n, at), None) for n in s)
        else:
            raise ValueError(f"{at}: 'sum' must be a list of names or a mapping name -> weight")
        names = tuple(n for n, _ in members)
        required = tuple(_name(n, at) for n in item.get("require", names))
        missing = [n for n in required if n not in names]
        if missing:
            raise ValueError(f"{at}: required {missing} not among the summed names")
        lb = item.get("lower_bound", False)
        if not isinstance(lb, bool):
            raise ValueError(f"{at}: lower_bound must be true or false")
        out.append(VariableSet(members, required, lb, item.get("note")))
    return tuple(out)


def would_match(sets: Sequence[VariableSet]) -> list[str]:
    """Every set as text, for error messages: ``NOX | NO+NO2 | NO2 (lower bound) ...``."""
    out = []
    for s in sets:
        text = "+".join(s.names) if len(s.names) <= 6 else (
            "+".join(s.names[:6]) + f"+… ({len(s.names)} species, needs {'+'.join(s.required)})")
        out.append(text + (" (lower bound)" if s.lower_bound else ""))
    return out
