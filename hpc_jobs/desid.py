"""Scaling factors -> CMAQ DESID emission-scaling rules, region definitions and region masks.

CMAQ (v5.4+) takes emission changes through DESID (User's Guide, Appendix B): the chemical
mapping namelist ``CMAQ_Control_DESID_<MECH>.nml`` holds the rules, one row of eight fields
each, in ``&Desid_Scaling`` / ``Desid_Rules_nml`` (sized by ``Desid_Max_Rules`` in
``&Desid_ScalingVars``)::

    ! Region | Stream | Emission species | CMAQ species | Phase/Mode | Factor | Basis | Op
    'R330200', 'PT_PETROCHEM', 'All', 'TOL', 'GAS', 0.8, 'UNIT', 'm',

A multiply (``'m'``) rule scales the instructions already made by the mechanism's default
``'a'`` rules, so a scenario's rules are *appended* to the build's own file. Region labels other
than ``EVERYWHERE`` are defined in ``CMAQ_Control_DESID.nml`` (``&Desid_RegionDef`` /
``Desid_Reg_nml``: label, file label, variable) and point at gridded masks — variables holding
the fraction (0..1) of each cell inside the region — in an IOAPI file named by a run-script
variable. This module writes all three from ecobrain's factors (region × sector × species), using
the data table ``knowledge/config/desid_mapping.yaml``, and reads rules back (the stand-in model
and the tests do).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Protocol

import numpy as np
import yaml

from ecobrain import safe_yaml
from ecobrain.model_adapters.files.ioapi_writer import write_ioapi
from ecobrain.ontology.geography import regions_by_code
from ecobrain.ontology.grid import GridSpec
from ecobrain.yaml12 import Yaml12Loader


def default_mapping_path() -> Path:
    return Path(str(files("ecobrain.knowledge") / "config" / "desid_mapping.yaml"))


EVERYWHERE = "EVERYWHERE"
RULES_HEADER = (
    " ! Region      | Stream Label  |Emission | CMAQ-        |Phase/|Scale |Basis |Op\n"
    " !  Label      |               |Species  | Species      |Mode  |Factor|      |\n"
)


class DesidError(ValueError):
    """A mapping table, namelist or factor that cannot be turned into DESID input."""


class FactorLike(Protocol):
    region: str
    sector: str
    species: str
    factor: float


@dataclass(frozen=True)
class Target:
    """Where an ecobrain species lands in DESID: one (emission, CMAQ species, phase) triple."""

    emission: str
    cmaq: str
    phase: str


@dataclass(frozen=True)
class ScalingRule:
    """One row of ``Desid_Rules_nml``."""

    region: str
    stream: str
    emission: str
    cmaq: str
    phase: str
    factor: float
    basis: str = "UNIT"
    op: str = "m"
    comment: str | None = field(default=None, compare=False)

    def row(self) -> str:
        return (f"   {_q(self.region)}, {_q(self.stream)}, {_q(self.emission)}, {_q(self.cmaq)}, "
                f"{_q(self.phase)}, {_num(self.factor)}, {_q(self.basis)}, {_q(self.op)},")


@dataclass(frozen=True)
class RegionDef:
    """One row of ``Desid_Reg_nml``: a region label, the file label, the variable on the file."""

    label: str
    file_label: str
    variable: str

    def row(self) -> str:
        return f"   {_q(self.label)}, {_q(self.file_label)}, {_q(self.variable)},"


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _num(x: float) -> str:
    s = f"{x:.6g}"
    return s if any(c in s for c in ".eE") else s + "."


# --------------------------------------------------------------------------- mapping table


@dataclass(frozen=True)
class DesidMapping:
    """The data table that ties ecobrain's vocabulary to a site's streams and a mechanism."""

    source: str
    region_file_label: str
    region_label_prefix: str
    streams: dict[str, tuple[str, ...]]
    mechanisms: dict[str, dict[str, tuple[Target, ...]]]

    def region_label(self, code: str) -> str:
        return f"{self.region_label_prefix}{code}".upper()

    def code_of_label(self, label: str) -> str | None:
        m = re.fullmatch(re.escape(self.region_label_prefix.upper()) + r"(\d{6})", label.upper())
        return m.group(1) if m else None

    def targets(self, species: str, mechanism: str) -> tuple[Target, ...] | None:
        return self.mechanisms.get(mechanism, {}).get(species)

    def species_of(self, mechanism: str) -> list[str]:
        return sorted(self.mechanisms.get(mechanism, {}))

    def streams_for(self, sector: str, descendants: Sequence[str] = ()) -> tuple[str, ...]:
        """The sector's own streams, else the union of its mapped sub-sectors' streams."""
        if sector in self.streams:
            return self.streams[sector]
        out: list[str] = []
        for d in descendants:
            for s in self.streams.get(d, ()):
                if s not in out:
                    out.append(s)
        return tuple(out)


def _mapping_error(path: str, key: str, msg: str) -> DesidError:
    return DesidError(f"{path}: {key}: {msg}")


def parse_mapping(doc: object, source: str) -> DesidMapping:
    if not isinstance(doc, dict):
        raise DesidError(f"{source}: the top level must be a mapping")
    unknown = set(doc) - {"version", "region_file_label", "region_label_prefix", "streams",
                          "mechanisms"}
    if unknown:
        raise _mapping_error(source, ", ".join(sorted(unknown)), "unknown key")
    prefix = str(doc.get("region_label_prefix", "R"))
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,8}", prefix):
        raise _mapping_error(source, "region_label_prefix",
                             f"{prefix!r}: capitals/digits, starting with a letter, <= 9 long "
                             "(IOAPI variable names are capitalised and <= 16 characters)")
    file_label = str(doc.get("region_file_label", "ECOBRAIN_REGIONS"))
    streams: dict[str, tuple[str, ...]] = {}
    for sector, labels in (doc.get("streams") or {}).items():
        if not isinstance(labels, list) or not labels or not all(
                isinstance(x, str) and x.strip() for x in labels):
            raise _mapping_error(source, f"streams.{sector}", "must be a non-empty list of labels")
        streams[str(sector)] = tuple(labels)
    mechanisms: dict[str, dict[str, tuple[Target, ...]]] = {}
    for mech, table in (doc.get("mechanisms") or {}).items():
        if not isinstance(table, dict):
            raise _mapping_error(source, f"mechanisms.{mech}", "must map species to targets")
        out: dict[str, tuple[Target, ...]] = {}
        for species, targets in table.items():
            key = f"mechanisms.{mech}.{species}"
            if not isinstance(targets, list) or not targets:
                raise _mapping_error(source, key, "must be a non-empty list of targets")
            parsed = []
            for i, t in enumerate(targets):
                if not isinstance(t, dict) or set(t) != {"emission", "cmaq", "phase"}:
                    raise _mapping_error(source, f"{key}[{i}]",
                                         "needs exactly emission, cmaq and phase")
                bad = [k for k, v in t.items() if not isinstance(v, str) or not v.strip()]
                if bad:
                    raise _mapping_error(source, f"{key}[{i}].{bad[0]}",
                                         f"{t[bad[0]]!r} is not a species/phase name (quote "
                                         "it: YAML reads NO as false)")
                parsed.append(Target(str(t["emission"]), str(t["cmaq"]), str(t["phase"])))
            out[str(species)] = tuple(parsed)
        mechanisms[str(mech)] = out
    return DesidMapping(source, file_label, prefix, streams, mechanisms)


@cache
def _load_mapping_cached(path: str, mtime: float) -> DesidMapping:
    with open(path, encoding="utf-8") as fh:
        try:
            doc = safe_yaml.load(fh.read(), Yaml12Loader)
        except yaml.YAMLError as exc:
            raise DesidError(f"{path}: not valid YAML: {exc}") from exc
    return parse_mapping(doc, path)


def load_mapping(path: str | Path | None = None) -> DesidMapping:
    p = Path(path or default_mapping_path())
    if not p.is_file():
        raise DesidError(f"{p}: DESID mapping table not found")
    return _load_mapping_cached(str(p), p.stat().st_mtime)


# --------------------------------------------------------------------------- factors -> rules


def rules_for_factors(
    factors: Iterable[FactorLike],
    mapping: DesidMapping,
    mechanism: str,
    descendants: dict[str, Sequence[str]] | None = None,
) -> list[ScalingRule]:
    """One multiply rule per (factor, stream, target); factors already validated."""
    descendants = descendants or {}
    rules: list[ScalingRule] = []
    for f in factors:
        targets = mapping.targets(f.species, mechanism)
        if not targets:
            raise DesidError(f"species {f.species!r} has no DESID targets for mechanism "
                             f"{mechanism!r} in {mapping.source}")
        streams = mapping.streams_for(f.sector, descendants.get(f.sector, ()))
        if not streams:
            raise DesidError(f"sector {f.sector!r} has no emission stream in {mapping.source}")
        region = mapping.region_label(f.region)
        note = f"{f.species} from {f.sector} in {f.region} x {_num(f.factor)}"
        for s in streams:
            for i, t in enumerate(targets):
                rules.append(ScalingRule(region, s, t.emission, t.cmaq, t.phase, float(f.factor),
                                         "UNIT", "m", comment=note if i == 0 else None))
    return rules


def region_defs(codes: Iterable[str], mapping: DesidMapping) -> list[RegionDef]:
    out = []
    for code in sorted(set(codes)):
        label = mapping.region_label(code)
        out.append(RegionDef(label, mapping.region_file_label, label))
    return out


# --------------------------------------------------------------------------- rendering


def render_rules_block(rules: Sequence[ScalingRule], title: str | None = None) -> str:
    lines = []
    if title:
        lines.append(f"   ! --- {title}")
    last_comment = None
    for r in rules:
        if r.comment and r.comment != last_comment:
            lines.append(f"   ! {r.comment}")
            last_comment = r.comment
        lines.append(r.row())
    return "\n".join(lines) + "\n"


def render_chem_namelist(rules: Sequence[ScalingRule], title: str, max_rules: int | None = None
                         ) -> str:
    """A stand-alone scaling namelist holding only `rules` (read by the stand-in model).

    CMAQ itself needs the mechanism's default rules first: use :func:`merge_chem_namelist`.
    """
    n = max_rules or max(len(rules) + 10, 100)
    return (
        f"! {title}\n"
        "! Scenario emission-scaling rules written by ecobrain (hpc_jobs.desid). For CCTM\n"
        "! they are appended after the mechanism's default rules (merge_chem_namelist).\n"
        "&Desid_ScalingVars\n"
        f" Desid_Max_Rules = {n}\n"
        "/\n\n"
        "&Desid_Scaling\n"
        " Desid_Rules_nml =\n"
        f"{RULES_HEADER}"
        f"{render_rules_block(rules)}"
        "/\n"
    )


def render_region_namelist(defs: Sequence[RegionDef], title: str) -> str:
    """Stand-alone ``Desid_RegionDefVars`` + ``Desid_RegionDef`` (CCTM: merge_ctrl_namelist)."""
    rows = "\n".join(d.row() for d in defs)
    return (
        f"! {title}\n"
        "&Desid_RegionDefVars\n"
        f" Desid_Max_Reg    = {max(len(defs) + 10, 60)}\n"
        " Desid_N_Reg_Fams = 0\n"
        " Desid_Max_Reg_Fam_Members = 100\n"
        "/\n\n"
        "&Desid_RegionDef\n"
        " Desid_Reg_nml  =\n"
        " !            Region Label   | File_Label  | Variable on File\n"
        "   'EVERYWHERE', 'N/A', 'N/A',\n"
        f"{rows}\n"
        "/\n"
    )


# --------------------------------------------------------------------------- namelist parsing

_TOKEN = re.compile(r"'((?:[^']|'')*)'|\"((?:[^\"]|\"\")*)\"|([^,\s]+)")


def _strip_comment(line: str) -> str:
    out, quote = [], None
    for ch in line:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "!":
            break
        out.append(ch)
    return "".join(out)


@dataclass
class _Group:
    name: str
    start: int  # line index of '&name'
    end: int  # line index of the closing '/'


def _groups(lines: Sequence[str]) -> list[_Group]:
    """Namelist groups: '&name' up to the line that ends with '/' outside quotes."""
    groups: list[_Group] = []
    current: _Group | None = None
    for i, raw in enumerate(lines):
        text = _strip_comment(raw).strip()
        if current is None:
            m = re.match(r"&(\w+)", text)
            if not m:
                continue
            current = _Group(m.group(1), i, -1)
            text = text[m.end():].strip()
        if text.endswith("/") and text.count("'") % 2 == 0:
            current.end = i
            groups.append(current)
            current = None
    if current is not None:
        raise DesidError(f"namelist group &{current.name} (line {current.start + 1}) has no "
                         "closing '/'")
    return groups


def _find_group(lines: Sequence[str], name: str, where: str) -> _Group:
    for g in _groups(lines):
        if g.name.lower() == name.lower():
            return g
    raise DesidError(f"{where}: no &{name} group")


def _values(lines: Sequence[str], array: str) -> list[str]:
    """The values assigned to `array` in a group's lines (strings unquoted, numbers raw)."""
    text = "\n".join(_strip_comment(x) for x in lines)
    m = re.search(rf"\b{re.escape(array)}\s*=", text, re.IGNORECASE)
    if not m:
        return []
    body = text[m.end():]
    nxt = re.search(r"\b\w+\s*(\([^)]*\))?\s*=", body)
    if nxt:
        body = body[:nxt.start()]
    vals = []
    for tm in _TOKEN.finditer(body):
        if tm.group(1) is not None:
            vals.append(tm.group(1).replace("''", "'"))
        elif tm.group(2) is not None:
            vals.append(tm.group(2).replace('""', '"'))
        else:
            vals.append(tm.group(3))
    return vals


def parse_rules(text: str, where: str = "namelist") -> list[ScalingRule]:
    """Every rule of ``&Desid_Scaling`` / ``Desid_Rules_nml``, in order."""
    lines = text.splitlines()
    g = _find_group(lines, "Desid_Scaling", where)
    vals = _values(lines[g.start + 1:g.end], "Desid_Rules_nml")
    if len(vals) % 8:
        raise DesidError(f"{where}: Desid_Rules_nml holds {len(vals)} values, not a multiple of 8 "
                         "(region, stream, emission, CMAQ species, phase, factor, basis, op)")
    rules = []
    for k in range(0, len(vals), 8):
        v = vals[k:k + 8]
        try:
            factor = float(v[5].replace("d", "e").replace("D", "e"))
        except ValueError as exc:
            raise DesidError(f"{where}: rule {k // 8 + 1}: factor {v[5]!r} is not a number"
                             ) from exc
        rules.append(ScalingRule(v[0], v[1], v[2], v[3], v[4], factor, v[6].upper(),
                                 v[7].lower()))
    return rules


def parse_region_defs(text: str, where: str = "namelist") -> list[RegionDef]:
    lines = text.splitlines()
    g = _find_group(lines, "Desid_RegionDef", where)
    vals = _values(lines[g.start + 1:g.end], "Desid_Reg_nml")
    if len(vals) % 3:
        raise DesidError(f"{where}: Desid_Reg_nml holds {len(vals)} values, not a multiple of 3")
    return [RegionDef(*vals[k:k + 3]) for k in range(0, len(vals), 3)]


def _set_scalar(lines: list[str], group: _Group, name: str, at_least: int) -> None:
    pat = re.compile(rf"^(\s*{re.escape(name)}\s*=\s*)(\d+)(.*)$", re.IGNORECASE)
    for i in range(group.start + 1, group.end):
        m = pat.match(lines[i])
        if m:
            if int(m.group(2)) < at_least:
                lines[i] = f"{m.group(1)}{at_least}{m.group(3)}"
            return
    lines.insert(group.start + 1, f" {name} = {at_least}")


def merge_chem_namelist(base_text: str, rules: Sequence[ScalingRule], title: str,
                        where: str = "base namelist") -> str:
    """The build's chemical-mapping namelist with `rules` appended to its rules."""
    lines = base_text.splitlines()
    existing = parse_rules(base_text, where)
    g = _find_group(lines, "Desid_Scaling", where)
    block = render_rules_block(rules, title).rstrip("\n").splitlines()
    lines[g.end:g.end] = ["", *block]
    need = len(existing) + len(rules) + 10
    try:
        gv = _find_group(lines, "Desid_ScalingVars", where)
    except DesidError:
        lines[0:0] = ["&Desid_ScalingVars", f" Desid_Max_Rules = {need}", "/", ""]
    else:
        _set_scalar(lines, gv, "Desid_Max_Rules", need)
    return "\n".join(lines) + "\n"


def merge_ctrl_namelist(base_text: str, defs: Sequence[RegionDef], where: str = "base namelist"
                        ) -> str:
    """The build's DESID control namelist with region definitions added."""
    lines = base_text.splitlines()
    existing = parse_region_defs(base_text, where)
    have = {d.label.upper() for d in existing}
    clash = [d.label for d in defs if d.label.upper() in have]
    if clash:
        raise DesidError(f"{where}: region label(s) {', '.join(clash)} already defined")
    g = _find_group(lines, "Desid_RegionDef", where)
    lines[g.end:g.end] = ["   ! --- regions added by ecobrain", *(d.row() for d in defs)]
    gv = _find_group(lines, "Desid_RegionDefVars", where)
    _set_scalar(lines, gv, "Desid_Max_Reg", len(existing) + len(defs) + 1)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- region masks


def region_fractions(grid: GridSpec, code: str, subsample: int = 4) -> np.ndarray:
    """Fraction (0..1) of each cell inside the region, from subsample² points per cell."""
    import shapely

    region = regions_by_code().get(code)
    if region is None:
        raise DesidError(f"region {code!r} is not a known GB/T 2260 code")
    offs = (np.arange(subsample) + 0.5) / subsample
    x = grid.xorig + (np.arange(grid.ncols)[:, None] + offs[None, :]).ravel() * grid.xcell
    y = grid.yorig + (np.arange(grid.nrows)[:, None] + offs[None, :]).ravel() * grid.ycell
    xx, yy = np.meshgrid(x, y)
    lon, lat = grid.xy_to_lonlat(xx, yy)
    minx, miny, maxx, maxy = region.geometry.bounds
    inside = np.zeros(lon.shape, dtype=bool)
    box = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    if box.any():
        inside[box] = shapely.contains_xy(region.geometry, lon[box], lat[box])
    counts = inside.reshape(grid.nrows, subsample, grid.ncols, subsample).sum(axis=(1, 3))
    return counts.astype(np.float32) / float(subsample * subsample)


def write_region_masks(path: str | Path, grid: GridSpec, codes: Iterable[str],
                       mapping: DesidMapping, *, subsample: int = 4) -> Path:
    """An IOAPI file with one fraction variable per region label (DESID/ISAM region file)."""
    arrays, units, desc = {}, {}, {}
    for code in sorted(set(codes)):
        label = mapping.region_label(code)
        arrays[label] = region_fractions(grid, code, subsample)[None, None, :, :]
        units[label] = "fraction"
        desc[label] = f"fraction of the cell inside region {code} (GB/T 2260)"
    if not arrays:
        raise DesidError("no regions to write")
    start = dt.datetime(2000, 1, 1)
    return write_ioapi(path, grid, arrays, units, start, 0, var_desc=desc,
                       filedesc=("ecobrain region masks for CMAQ DESID / ISAM",))


def check_factor(value: float) -> bool:
    return math.isfinite(value) and value >= 0
