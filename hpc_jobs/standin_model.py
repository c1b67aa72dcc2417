"""The STAND-IN MODEL: a scenario run computed from a baseline run, for demos and tests.

This is **not a chemical transport model**. It lets the whole loop — advice -> scenario request
-> job -> outputs -> comparison — run on one machine without CMAQ, with outputs that respond to
the scenario's emission factors in a transparent, linear way:

    C'(cell, hour) = C - sum over ISAM tags t of (1 - f_t(P)) * C_t

where C is the baseline concentration of pollutant P, C_t the baseline's ISAM contribution of
tag t, and f_t(P) the factor the scenario applies to tag t's sources of P. f_t(P) comes from the
DESID rules the job was given (the same namelist a CCTM run would get), read like this:

1. Each rule is a multiply rule on (region label, stream, emission species, CMAQ species,
   phase). Its region weight for tag t is 1 when the tag's source region lies inside the rule's
   region (``EVERYWHERE`` covers all), the area share when the rule's region is a part of the
   tag's region, 0 otherwise (and for a rule on a region, 0 for tags from outside Zhejiang).
2. A tag's emissions are taken as spread evenly over its sector's streams
   (``knowledge/config/desid_mapping.yaml``). On each stream the rules naming it (or ``ALL``)
   multiply: prod(1 - w_region (1 - f_rule)); a DESID target's factor is the mean over the
   streams, and an ecobrain species' factor (NOx, VOCs, PM2_5, SO2, NH3, CO) the mean over its
   targets (so a cut of toluene alone moves VOCs by 1/27 of the way).
3. A concentration responds to its emission species with fixed weights (:data:`RESPONSE`):
   O3 half to NOx, half to VOCs; PM2.5 0.4 primary PM2.5, 0.2 SO2, 0.2 NOx, 0.1 NH3, 0.1 VOCs —
   linear, with no chemistry (no O3 increase when NOx falls in VOC-limited air).

Built-in ISAM tags (boundary BCO, initial ICO, other OTH) never change. A pollutant without ISAM
tags in the baseline is copied unchanged, except PM10, which follows the absolute change of
PM2.5 (PM2.5 is part of PM10). Rules that touch no tag are listed in the report: their sources
are in the baseline's OTH tag, which the stand-in cannot split.

``python -m ecobrain.hpc_jobs.standin_model --baseline RUN_DIR --rules NML --out DIR --run-id
ID`` writes the scenario's forecast and attribution files (IOAPI, same grid and hours as the
baseline), ``standin-report.json``, and as its last step ``run.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from ecobrain.hpc_jobs.desid import EVERYWHERE, DesidMapping, ScalingRule, load_mapping, parse_rules
from ecobrain.model_adapters.attribution import BUILTIN_TAGS, file_tag, grids_equal
from ecobrain.model_adapters.files.ioapi import decode_tstep, ioapi_datetime
from ecobrain.model_adapters.files.ioapi_writer import IOAPIWriter, VarSpec
from ecobrain.model_adapters.files.manifest import MANIFEST_NAME, TagSpec, load_run
from ecobrain.model_adapters.forecast import DEFAULT_ALIASES
from ecobrain.ontology.concepts import Ontology
from ecobrain.ontology.geography import regions_by_code
from ecobrain.ontology.grid import GridSpec

MODEL_NAME = "ecobrain stand-in model (ISAM tag scaling; NOT a chemical transport model)"
EMISSION_SPECIES = ("NOx", "VOCs", "PM2_5", "SO2", "NH3", "CO")
# Concentration pollutant -> {emission species: weight}; weights sum to 1.
RESPONSE: dict[str, dict[str, float]] = {
    "PM2_5": {"PM2_5": 0.4, "SO2": 0.2, "NOx": 0.2, "NH3": 0.1, "VOCs": 0.1},
    "O3": {"NOx": 0.5, "VOCs": 0.5},
    "NO2": {"NOx": 1.0},
    "SO2": {"SO2": 1.0},
    "CO": {"CO": 1.0},
    "Formaldehyde": {"VOCs": 1.0},
}
BLOCK = 24


class StandinError(RuntimeError):
    """The stand-in cannot compute this scenario (names the file and what is missing)."""


# --------------------------------------------------------------------------- tag factors


@dataclass
class _Geo:
    """Region containment and area shares, from the shared offline geography."""

    def __post_init__(self) -> None:
        self.regions = regions_by_code()

    def inside(self, inner: str, outer: str) -> bool:
        """`inner` lies within `outer` (GB/T 2260 structure, same or coarser level)."""
        if inner == outer:
            return True
        o = self.regions.get(outer)
        i = self.regions.get(inner)
        if o is None or i is None:
            return False
        if o.level == "province":
            return True
        if o.level == "city":
            return i.level == "county" and i.parent_code == outer
        return False

    def area_share(self, part: str, whole: str) -> float:
        p, w = self.regions.get(part), self.regions.get(whole)
        if p is None or w is None or w.geometry.area <= 0:
            return 0.0
        return float(p.geometry.intersection(w.geometry).area / w.geometry.area)


def _eq(rule_value: str, target_value: str) -> bool:
    r, t = rule_value.upper(), target_value.upper()
    if r == "ALL" or r == t:
        return True
    return r == "AERO" and t in ("FINE", "COARSE")


def tag_emission_factors(
    tags: Mapping[str, TagSpec],
    rules: Sequence[ScalingRule],
    mapping: DesidMapping,
    mechanism: str,
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """tag -> {emission species: factor}; and the rules that touched no tag."""
    onto = Ontology()
    geo = _Geo()
    bad = [r for r in rules if r.op != "m"]
    if bad:
        raise StandinError(f"the stand-in model only applies multiply ('m') rules; got "
                           f"{bad[0].op!r} for {bad[0].region}/{bad[0].stream}/{bad[0].cmaq}")
    used = [False] * len(rules)

    def region_weight(label: str, tag_region: str) -> float:
        if label.upper() == EVERYWHERE:
            return 1.0
        code = mapping.code_of_label(label)
        if code is None:
            raise StandinError(f"region label {label!r} is neither EVERYWHERE nor "
                               f"{mapping.region_label_prefix}<GB/T 2260 code>")
        if tag_region == "outside":
            return 0.0
        if geo.inside(tag_region, code):
            return 1.0
        if geo.inside(code, tag_region):
            return geo.area_share(code, tag_region)
        return 0.0

    out: dict[str, dict[str, float]] = {}
    for tag, spec in tags.items():
        sector = spec.sector or ""
        concept = sector if sector in onto.concepts else onto.lookup(sector) if sector else None
        streams = set(mapping.streams_for(concept, onto.descendants(concept))) if concept else set()
        factors: dict[str, float] = {}
        for e in EMISSION_SPECIES:
            targets = mapping.targets(e, mechanism) or ()
            if not targets:
                factors[e] = 1.0
                continue
            # Emissions spread evenly over the tag's streams; per stream, the rules multiply.
            lanes = sorted(streams) or [None]
            per_target = []
            for t in targets:
                per_lane = []
                for lane in lanes:
                    f = 1.0
                    for k, r in enumerate(rules):
                        if not (_eq(r.emission, t.emission) and _eq(r.cmaq, t.cmaq)
                                and _eq(r.phase, t.phase)):
                            continue
                        if r.stream.upper() != "ALL" and r.stream != lane:
                            continue
                        w = region_weight(r.region, spec.region)
                        if w > 0:
                            used[k] = True
                            f *= 1.0 - w * (1.0 - r.factor)
                    per_lane.append(f)
                per_target.append(float(np.mean(per_lane)))
            factors[e] = float(np.mean(per_target))
        out[tag] = factors
    unmatched = sorted({f"{r.region} {r.stream} {r.cmaq} {r.phase} x{r.factor:g}"
                        for r, u in zip(rules, used, strict=True) if not u})
    return out, unmatched


def concentration_factors(emission: Mapping[str, Mapping[str, float]]
                          ) -> dict[str, dict[str, float]]:
    """tag -> {concentration pollutant: factor} through the RESPONSE weights."""
    return {tag: {p: sum(w * f_e.get(e, 1.0) for e, w in weights.items())
                  for p, weights in RESPONSE.items()}
            for tag, f_e in emission.items()}


# --------------------------------------------------------------------------- files


def _attrs(nc: netCDF4.Dataset) -> dict[str, object]:
    return {k: nc.getncattr(k) for k in nc.ncattrs()}


def _grid(nc: netCDF4.Dataset) -> GridSpec:
    a = _attrs(nc)
    return GridSpec.from_ioapi_attrs(
        {k: (v.item() if getattr(v, "size", 0) == 1 else v) for k, v in a.items()},
        name=str(a.get("GDNAM", "")).strip() or None)


def _times(nc: netCDF4.Dataset) -> list[dt.datetime]:
    tf = np.asarray(nc.variables["TFLAG"][:, 0, :])
    return [ioapi_datetime(int(d), int(t)) for d, t in tf]


def _vars(nc: netCDF4.Dataset) -> list[str]:
    return [n for n, v in nc.variables.items()
            if n != "TFLAG" and v.dimensions == ("TSTEP", "LAY", "ROW", "COL")]


def _spec(nc: netCDF4.Dataset, name: str) -> VarSpec:
    v = nc.variables[name]
    return VarSpec(name, str(getattr(v, "units", "")).strip(),
                   str(getattr(v, "var_desc", "")).strip())


def _filedesc(nc: netCDF4.Dataset) -> list[str]:
    """The file's FILEDESC lines (80-character records), without the blank ones."""
    text = str(getattr(nc, "FILEDESC", ""))
    return [text[i:i + 80].rstrip() for i in range(0, len(text), 80) if text[i:i + 80].strip()]


def _writer_kw(nc: netCDF4.Dataset) -> dict[str, object]:
    if nc.data_model.startswith("NETCDF4"):
        return {"fmt": "NETCDF4_CLASSIC", "zlib": True}
    return {"fmt": "NETCDF3_64BIT_OFFSET"}


def _sa_species(sa_vars: Sequence[str], tags: Sequence[str]
                ) -> dict[str, tuple[str, dict[str, str]]]:
    """pollutant -> (species prefix in the SA file, {tag: variable})."""
    out = {}
    for p in RESPONSE:
        best: tuple[str, dict[str, str]] | None = None
        for sp in DEFAULT_ALIASES.get(p, ()):
            tv = {t: f"{sp}_{file_tag(sp, t)}" for t in tags
                  if f"{sp}_{file_tag(sp, t)}" in sa_vars}
            if tv and (best is None or len(tv) > len(best[1])):
                best = (sp, tv)
        if best:
            out[p] = best
    return out


def run_standin(baseline_dir: str | Path, rules_path: str | Path, out_dir: str | Path,
                run_id: str, *, mechanism: str = "cb6r5_ae7_aq") -> Path:
    """Write the scenario run into `out_dir`; returns the path of its run.json."""
    base = load_run(baseline_dir)
    rules_file = Path(rules_path)
    rules = parse_rules(rules_file.read_text(encoding="utf-8"), str(rules_file))
    mapping = load_mapping()
    fcs, atts = base.outputs("forecast"), base.outputs("attribution")
    if len(fcs) != 1 or fcs[0].format != "ioapi":
        raise StandinError(f"{base.run_dir}/run.json: the stand-in needs exactly one IOAPI "
                           "forecast output in the baseline")
    if len(atts) != 1 or atts[0].format != "ioapi":
        raise StandinError(f"{base.run_dir}/run.json: the stand-in needs the baseline's ISAM "
                           "attribution (one IOAPI attribution output with its tags)")
    fc_out, sa_out = fcs[0], atts[0]
    assert fc_out.path is not None and sa_out.path is not None
    tags = dict(sa_out.tags)
    e_factors, unmatched = tag_emission_factors(tags, rules, mapping, mechanism)
    c_factors = concentration_factors(e_factors)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    with netCDF4.Dataset(base.file(fc_out.path)) as fc, \
            netCDF4.Dataset(base.file(sa_out.path)) as sa:
        fc.set_auto_mask(False)
        sa.set_auto_mask(False)
        g_fc, g_sa = _grid(fc), _grid(sa)
        if not grids_equal(g_fc, g_sa):
            raise StandinError(f"{sa_out.path}: grid {g_sa.name} differs from the forecast's "
                               f"{g_fc.name}")
        t_fc, t_sa = _times(fc), _times(sa)
        sa_index = {t: i for i, t in enumerate(t_sa)}
        fc_vars, sa_vars = _vars(fc), _vars(sa)
        all_tags = [*tags, *(b for b in BUILTIN_TAGS if any(v.endswith("_" + b)
                                                            for v in sa_vars))]
        species = _sa_species(sa_vars, all_tags)
        fc_var_of = {p: next((v for v in DEFAULT_ALIASES.get(p, ()) if v in fc_vars), None)
                     for p in [*RESPONSE, "PM10"]}
        for p in RESPONSE:
            if fc_var_of.get(p) and p not in species:
                notes.append(f"{fc_var_of[p]}: no ISAM tags in the baseline; copied unchanged")
        missing_hours = [t for t in t_fc if t not in sa_index]
        if missing_hours:
            notes.append(f"{len(missing_hours)} forecast hour(s) have no ISAM record; "
                         "copied unchanged")
        start = t_fc[0]
        tstep = decode_tstep(int(fc.getncattr("TSTEP")))
        desc = [f"ecobrain STAND-IN scenario {run_id} of baseline {base.id}",
                "NOT a chemical transport model: baseline scaled by ISAM tag contributions"]
        kw = _writer_kw(fc)
        with IOAPIWriter(out / Path(fc_out.path).name, g_fc, [_spec(fc, v) for v in fc_vars],
                         start, tstep, nlayers=len(fc.dimensions["LAY"]),
                         filedesc=[*desc, *_filedesc(fc)][:60],
                         upnam="ECOBRAIN_STANDIN", exec_id="ecobrain stand-in", **kw) as wf, \
                IOAPIWriter(out / Path(sa_out.path).name, g_sa, [_spec(sa, v) for v in sa_vars],
                            t_sa[0], decode_tstep(int(sa.getncattr("TSTEP"))),
                            nlayers=len(sa.dimensions["LAY"]),
                            filedesc=[*_filedesc(sa)[:1], *desc, *_filedesc(sa)[1:]][:60],
                            upnam="ECOBRAIN_STANDIN", exec_id="ecobrain stand-in",
                            **_writer_kw(sa)) as ws:
            for t0 in range(0, len(t_sa), BLOCK):
                sl = slice(t0, min(len(t_sa), t0 + BLOCK))
                data = {}
                for v in sa_vars:
                    data[v] = np.asarray(sa.variables[v][sl], dtype=np.float32)
                for p, (sp, tv) in species.items():
                    for t, var in tv.items():
                        f = c_factors.get(t, {}).get(p, 1.0)  # built-ins stay 1
                        data[var] = data[var] * np.float32(f)
                    if sp in data:  # the SA file's own bulk, if it carries one
                        data[sp] = sum(data[var] for var in tv.values())
                ws.write(t0, data)
            for t0 in range(0, len(t_fc), BLOCK):
                sl = slice(t0, min(len(t_fc), t0 + BLOCK))
                data = {v: np.asarray(fc.variables[v][sl], dtype=np.float32) for v in fc_vars}
                idx = [sa_index.get(t) for t in t_fc[sl]]
                have = np.array([i is not None for i in idx])
                rows = [i for i in idx if i is not None]
                pm_before = data[fc_var_of["PM2_5"]].copy() if fc_var_of.get("PM2_5") else None
                for p, (_sp, tv) in species.items():
                    v = fc_var_of.get(p)
                    if v is None or not rows:
                        continue
                    total = np.zeros((len(rows), *data[v].shape[1:]), dtype=np.float64)
                    cut = np.zeros_like(total)
                    for t, var in tv.items():
                        c = np.asarray(sa.variables[var][rows], dtype=np.float64)[:, :1]
                        total += c
                        cut += (1.0 - c_factors.get(t, {}).get(p, 1.0)) * c
                    with np.errstate(divide="ignore", invalid="ignore"):
                        ratio = np.where(total > 0, cut / total, 0.0)
                    scaled = data[v][have] * (1.0 - ratio)
                    data[v][have] = np.maximum(scaled, 0.0).astype(np.float32)
                pm10 = fc_var_of.get("PM10")
                if pm10 and pm_before is not None and "PM2_5" in species:
                    delta = pm_before - data[fc_var_of["PM2_5"]]
                    data[pm10] = np.maximum(data[pm10] - delta, 0.0).astype(np.float32)
                wf.write(t0, data)
    if "PM2_5" in species and fc_var_of.get("PM10"):
        notes.append("PM10 follows the absolute change of PM2.5")
    if unmatched:
        notes.append("rules that touch no ISAM tag (their sources are in OTH, unchanged): "
                     + "; ".join(unmatched[:20]) + (" ..." if len(unmatched) > 20 else ""))
    report = {"run_id": run_id, "baseline": base.id, "baseline_dir": str(base.run_dir),
              "rules_file": str(rules_file), "rules": len(rules),
              "tag_emission_factors": e_factors, "tag_concentration_factors": c_factors,
              "response_weights": RESPONSE, "unmatched_rules": unmatched, "notes": notes}
    (out / "standin-report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False)
                                             + "\n", encoding="utf-8")
    fc_spec = fc_out.model_dump(exclude_none=True, exclude_defaults=True)
    fc_spec.update(kind="forecast", format="ioapi", path=Path(fc_out.path).name)
    sa_spec = sa_out.model_dump(exclude_none=True, exclude_defaults=True)
    sa_spec.update(kind="attribution", format="ioapi", path=Path(sa_out.path).name,
                   tags={k: v.model_dump(exclude_none=True) for k, v in tags.items()})
    manifest = {
        "id": run_id,
        "model": MODEL_NAME,
        "init_time": base.manifest.init_time.isoformat() if base.manifest.init_time else None,
        "description": f"Stand-in scenario of baseline {base.id} with {len(rules)} DESID "
                       f"scaling rule(s) from {rules_file.name}. " + " ".join(notes),
        "outputs": [fc_spec, sa_spec],
    }
    tmp = out / (MANIFEST_NAME + ".part")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    final = out / MANIFEST_NAME
    tmp.replace(final)
    return final


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ecobrain.hpc_jobs.standin_model",
        description="ecobrain's STAND-IN model (not a CTM): a scenario run from a baseline run "
                    "and DESID scaling rules, by ISAM tag contributions.")
    ap.add_argument("--baseline", required=True, help="baseline run directory (with run.json)")
    ap.add_argument("--rules", required=True, help="DESID namelist with the scaling rules")
    ap.add_argument("--out", required=True, help="output run directory")
    ap.add_argument("--run-id", required=True, help="id of the scenario run")
    ap.add_argument("--mechanism", default="cb6r5_ae7_aq")
    a = ap.parse_args(argv)
    try:
        path = run_standin(a.baseline, a.rules, a.out, a.run_id, mechanism=a.mechanism)
    except Exception as exc:  # a batch job: one clear line on stderr, non-zero exit
        print(f"ecobrain stand-in model: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"ecobrain stand-in model: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
