"""Standards and alert grading as dated data: HJ 633 breakpoints, GB 3095 limits, alert levels.

A forecast for a day is judged by the version in force on that day (HJ 633—2012 until
2026-02-28, HJ 633—2026 from 2026-03-01; GB 3095—2026 in two phases), so every row written
here carries its validity period and source-quality tag, never a constant in code.

Inputs (``knowledge/standards/``):
- ``hj633.yaml`` (owned by the model-adapters engineer; read, never edited here): IAQI
  breakpoints -> ``(:BreakpointRow)``;
- ``gb3095.yaml``: limits of GB 3095—2012 (Tables 1, 2; 2018 amendment) and GB 3095—2026
  (transitional and final phases) -> ``(:LimitValue)``, and quoted provisions -> ``(:Article)``;
- ``alert_grading.yaml``: the 2024 and 2017 alert gradings -> ``(:AlertGrading)``, the
  10/20/30 % reduction ratios -> ``(:ReductionRequirement)``, the pollutant-differentiated
  handling of 环大气〔2024〕6号 -> ``(:PollutantHandling)``.

Standards are ``(:Standard:Regulation {kind: "standard"})``; every row is ``PART_OF`` its
standard (or regulation) and ``CONCERNS`` its pollutant concept; superseded versions are
``REPEALED_BY`` their successor. Everything is validated before anything is written; MERGE on
stable ids makes re-loading a no-op. Runs after the ontology (links go to ``Concept`` nodes)
and after ``load_regulations`` (the grading cites its provisions; citations not in the graph
yet are listed in the report and linked by the next load).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ecobrain.knowledge
from ecobrain.kb_loaders.errors import LoadError, LoadErrors
from ecobrain.kb_loaders.legal.statute_meta import (
    ID_RE,
    SOURCE_QUALITIES,
    check_date,
    read_provision,
)
from ecobrain.kb_loaders.legal.statutes import DROP_STALE_ARTICLES, provision_row, write_articles
from ecobrain.kb_loaders.report import LoadReport
from ecobrain.kb_loaders.yaml_lines import YamlDoc, read_yaml
from ecobrain.ontology.graph.store import GraphStore, WriteSummary
from ecobrain.ontology.kept_concepts import concept_summary

UNITS = ("ug/m3", "mg/m3")
AVERAGINGS = ("annual", "24h", "8h", "1h", "seasonal")
CLASSES = ("I", "II")
LEVEL_ORDER = ("AlertBlue", "AlertYellow", "AlertOrange", "AlertRed")


def standards_dir() -> Path:
    return Path(ecobrain.knowledge.__file__).parent / "standards"


@dataclass
class StandardsData:
    """Everything the standards files say, validated, as rows ready to write."""

    standards: list[dict[str, Any]] = field(default_factory=list)
    provisions: list[dict[str, Any]] = field(default_factory=list)
    limits: list[dict[str, Any]] = field(default_factory=list)
    breakpoints: list[dict[str, Any]] = field(default_factory=list)
    gradings: list[dict[str, Any]] = field(default_factory=list)
    reductions: list[dict[str, Any]] = field(default_factory=list)
    handlings: list[dict[str, Any]] = field(default_factory=list)
    # (label, id) -> {relationship type: [target ids]}
    links: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    outside_ontology: set[str] = field(default_factory=set)

    def link(self, label: str, node_id: str, rel: str, targets: list[str]) -> None:
        self.links.setdefault((label, node_id), {}).setdefault(rel, []).extend(targets)


def _ontology_ids() -> tuple[set[str], dict[str, set[str]]]:
    kinds: dict[str, list[str]] = concept_summary()["kinds"]
    by_kind: dict[str, set[str]] = {}
    for cid, labels in kinds.items():
        for kind in labels:
            by_kind.setdefault(kind, set()).add(cid)
    return set(kinds), by_kind


def _need(doc: YamlDoc, data: Any, key: str, *path: str | int) -> Any:
    if not isinstance(data, dict) or data.get(key) is None:
        raise doc.error(f"missing required field {key!r}", *path, field=key)
    return data[key]


def _number(doc: YamlDoc, value: Any, *path: str | int) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise doc.error(f"not a number: {value!r}", *path)
    return value


def _quality(doc: YamlDoc, value: Any, *path: str | int) -> str:
    if value not in SOURCE_QUALITIES:
        raise doc.error(f"{value!r} is not one of {', '.join(SOURCE_QUALITIES)}", *path)
    return str(value)


# --- GB 3095 --------------------------------------------------------------------------------

def read_gb3095(file: Path, data: StandardsData, pollutants: set[str]) -> None:
    doc = read_yaml(file)
    standards = _need(doc, doc.data, "standards")
    outside = {str(k) for k in (doc.data.get("pollutants_outside_ontology") or {})}
    for si, s in enumerate(standards):
        sp: tuple[str | int, ...] = ("standards", si)
        sid = str(_need(doc, s, "id", *sp))
        if not ID_RE.match(sid):
            raise doc.error(f"id {sid!r} is not a valid id", *sp, "id")
        valid_from = check_date(doc, _need(doc, s, "valid_from", *sp), *sp, "valid_from")
        valid_to = check_date(doc, s.get("valid_to"), *sp, "valid_to")
        status = str(_need(doc, s, "status", *sp))
        if status not in ("in_force", "superseded", "repealed"):
            raise doc.error(f"status {status!r}: in_force | superseded | repealed", *sp, "status")
        superseded_by = s.get("superseded_by")
        if status != "in_force" and (valid_to is None):
            raise doc.error("a superseded standard needs valid_to", *sp, "valid_to")
        quality = _quality(doc, _need(doc, s, "source_quality", *sp), *sp, "source_quality")
        urls = s.get("source_urls") or []
        title = str(_need(doc, s, "title", *sp))
        code = str(_need(doc, s, "code", *sp))
        phases: dict[str, tuple[str, str | None]] = {}
        for pi, ph in enumerate(s.get("phases") or []):
            pp = (*sp, "phases", pi)
            name = str(_need(doc, ph, "phase", *pp))
            start = check_date(doc, _need(doc, ph, "valid_from", *pp), *pp, "valid_from")
            assert start is not None
            phases[name] = (start, check_date(doc, ph.get("valid_to"), *pp, "valid_to"))
        data.standards.append({
            "id": sid,
            "superseded_by": superseded_by,
            "source_quality": quality,
            "from": _day_after(valid_to) if superseded_by and valid_to else None,
            "props": {
                "kind": "standard", "title": title, "title_en": s.get("title_en"), "code": code,
                "issuer": s.get("issuer"),
                "issuer_source_quality": s.get("issuer_source_quality"),
                "published": check_date(doc, s.get("published"), *sp, "published", partial=True),
                "valid_from": valid_from, "valid_to": valid_to, "status": status,
                "source_quality": quality, "source_urls": list(urls),
                "source_url": urls[0] if urls else None, "note": s.get("note"),
                "phases": [f"{k}:{v[0]}..{v[1] or ''}" for k, v in phases.items()],
                "external_id": None,
            },
        })
        keys: set[str] = set()
        for pi, p in enumerate(s.get("provisions") or []):
            prov = read_provision(doc, p, (*sp, "provisions", pi), keys, valid_from, valid_to)
            data.provisions.append(provision_row(sid, title, code, prov, valid_from, valid_to,
                                                 file.name))
        seen: set[str] = set()
        for ti, table in enumerate(_need(doc, s, "tables", *sp)):
            tp = (*sp, "tables", ti)
            for li, row in enumerate(_need(doc, table, "limits", *tp)):
                lp = (*tp, "limits", li)
                _limit_rows(doc, data, row, lp, sid, str(table.get("table") or ""), phases,
                            (valid_from, valid_to), pollutants | outside, seen)
    data.outside_ontology |= outside


def _day_after(iso: str) -> str:
    return (date.fromisoformat(iso) + timedelta(days=1)).isoformat()


def _limit_rows(doc: YamlDoc, data: StandardsData, row: Any, lp: tuple[str | int, ...],
                sid: str, table: str, phases: dict[str, tuple[str, str | None]],
                period: tuple[str | None, str | None], pollutants: set[str],
                seen: set[str]) -> None:
    pollutant = str(_need(doc, row, "pollutant", *lp))
    if pollutant not in pollutants:
        raise doc.error(f"pollutant {pollutant!r} is not an ontology concept (nor listed under "
                        "pollutants_outside_ontology)", *lp, "pollutant")
    averaging = str(_need(doc, row, "averaging", *lp))
    if averaging not in AVERAGINGS:
        raise doc.error(f"averaging {averaging!r}: one of {', '.join(AVERAGINGS)}",
                        *lp, "averaging")
    unit = str(_need(doc, row, "unit", *lp))
    if unit not in UNITS:
        raise doc.error(f"unit {unit!r}: one of {', '.join(UNITS)}", *lp, "unit")
    phase = row.get("phase")
    if phases and phase not in phases:
        raise doc.error(f"phase {phase!r}: one of {', '.join(phases)}", *lp, "phase")
    if not phases and phase is not None:
        raise doc.error("phase given but the standard has no phases", *lp, "phase")
    start, end = phases[phase] if phase else period
    raw_quality = _need(doc, row, "source_quality", *lp)
    for cls in CLASSES:
        value = _number(doc, _need(doc, row, cls, *lp), *lp, cls)
        quality = raw_quality.get(cls) if isinstance(raw_quality, dict) else raw_quality
        quality = _quality(doc, quality, *lp, "source_quality")
        metric = f"{pollutant}_{averaging}"
        lid = ".".join(x for x in (sid, phase, metric, cls) if x)
        if lid in seen:
            raise doc.error(f"duplicate limit {lid}", *lp)
        seen.add(lid)
        data.limits.append({"id": lid, "standard_id": sid, "props": {
            "standard_id": sid, "pollutant": pollutant, "averaging": averaging,
            "metric": metric, "class": cls, "value": value, "unit": unit, "phase": phase,
            "valid_from": start, "valid_to": end, "source_quality": quality, "table": table,
            "note": row.get("note")}})
        data.link("LimitValue", lid, "CONCERNS", [pollutant])


# --- HJ 633 (the model-adapters engineer's schema: ecobrain.aqi_standard/1) -----------------

def graph_standard_id(external: str) -> str:
    """``HJ633-2012`` (hj633.yaml's id) -> ``hj633.2012`` (the graph's id)."""
    m = re.match(r"^([A-Za-z]+)(\d+)-(\d{4})$", external)
    return f"{m.group(1).lower()}{m.group(2)}.{m.group(3)}" if m else external.lower()


_STRENGTH = re.compile(r"^(PRIMARY|SECONDARY|CODE|UNCONFIRMED|CONVENTION)\b")


def read_hj633(file: Path, data: StandardsData, pollutants: set[str]) -> None:
    doc = read_yaml(file)
    sources = doc.data.get("sources") or {}
    for si, s in enumerate(_need(doc, doc.data, "standards")):
        sp: tuple[str | int, ...] = ("standards", si)
        external = str(_need(doc, s, "id", *sp))
        sid = graph_standard_id(external)
        valid_from = check_date(doc, _need(doc, s, "effective_from", *sp), *sp, "effective_from")
        valid_to = check_date(doc, s.get("effective_to"), *sp, "effective_to")
        superseded_by = s.get("superseded_by")
        urls = [u for ref in (s.get("source") or []) for u in
                ((sources.get(ref) or {}).get("urls") or [])]
        levels = _need(doc, s, "iaqi_levels", *sp)
        strengths: set[str] = set()
        for metric, col in (_need(doc, s, "columns", *sp) or {}).items():
            cp = (*sp, "columns", metric)
            pollutant = str(_need(doc, col, "pollutant", *cp))
            if pollutant not in pollutants:
                raise doc.error(f"pollutant {pollutant!r} is not an ontology concept",
                                *cp, "pollutant")
            bps = _need(doc, col, "breakpoints", *cp)
            if len(bps) != len(levels):
                raise doc.error(f"{len(bps)} breakpoints for {len(levels)} IAQI levels",
                                *cp, "breakpoints")
            m = _STRENGTH.match(str(col.get("strength") or ""))
            quality = m.group(1) if m else "UNCONFIRMED"
            strengths.add(quality)
            prefix = f"{pollutant}_"
            averaging = metric[len(prefix):] if metric.startswith(prefix) else str(
                col.get("averaging"))
            for iaqi, conc in zip(levels, bps, strict=True):
                if conc is None:
                    continue  # no breakpoint at this IAQI (see the column's above_top rule)
                bid = f"{sid}.{metric}.iaqi{iaqi}"
                data.breakpoints.append({"id": bid, "standard_id": sid, "props": {
                    "standard_id": sid, "pollutant": pollutant, "averaging": averaging,
                    "averaging_text": col.get("averaging"), "metric": metric, "iaqi": iaqi,
                    "concentration": _number(doc, conc, *cp, "breakpoints"),
                    "unit": col.get("units"), "report": col.get("report"),
                    "valid_from": valid_from, "valid_to": valid_to,
                    "source_quality": quality}})
                data.link("BreakpointRow", bid, "CONCERNS", [pollutant])
        weakest = next((q for q in ("UNCONFIRMED", "CODE", "SECONDARY", "PRIMARY")
                        if q in strengths), None)
        data.standards.append({
            "id": sid,
            "superseded_by": graph_standard_id(superseded_by) if superseded_by else None,
            "source_quality": weakest,
            "from": _day_after(valid_to) if superseded_by and valid_to else None,
            "props": {
                "kind": "standard", "title": s.get("title_zh"), "title_en": s.get("title_en"),
                "code": s.get("number"), "issuer": s.get("issuer"),
                "issuer_source_quality": None,
                "published": check_date(doc, s.get("issued"), *sp, "issued", partial=True),
                "valid_from": valid_from, "valid_to": valid_to,
                "status": "superseded" if superseded_by else "in_force",
                "source_quality": weakest, "source_urls": urls,
                "source_url": urls[0] if urls else None,
                "note": f"IAQI breakpoints from {file.name} ({external}); source quality is the "
                        "weakest of its columns",
                "phases": [], "external_id": external,
            },
        })


# --- alert grading --------------------------------------------------------------------------

def _criteria(doc: YamlDoc, node: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
    """Validate a condition tree; return it normalised to {any_of|all_of|aqi_*, min_hours}."""
    if not isinstance(node, dict):
        raise doc.error("a condition is a mapping", *path)
    groups = [k for k in ("any_of", "all_of") if k in node]
    if groups:
        if len(node) != 1:
            raise doc.error("a group is either any_of or all_of, nothing else", *path)
        key = groups[0]
        items = node[key]
        if not isinstance(items, list) or not items:
            raise doc.error(f"{key} needs a non-empty list", *path, key)
        return {key: [_criteria(doc, c, (*path, key, i)) for i, c in enumerate(items)]}
    unknown = set(node) - {"aqi_gt", "aqi_gte", "hours", "days"}
    if unknown:
        raise doc.error(f"unknown condition field {sorted(unknown)[0]!r}", *path)
    bounds = [k for k in ("aqi_gt", "aqi_gte") if k in node]
    durations = [k for k in ("hours", "days") if k in node]
    if len(bounds) != 1 or len(durations) != 1:
        raise doc.error("a condition needs one of aqi_gt/aqi_gte and one of hours/days", *path)
    value = _number(doc, node[bounds[0]], *path, bounds[0])
    amount = _number(doc, node[durations[0]], *path, durations[0])
    hours = amount * 24 if durations[0] == "days" else amount
    return {bounds[0]: value, "min_hours": hours}


def read_alert_grading(file: Path, data: StandardsData, concepts: set[str],
                       by_kind: dict[str, set[str]]) -> None:
    doc = read_yaml(file)
    levels_known = by_kind.get("EmergencyLevel", set())
    for vi, v in enumerate(_need(doc, doc.data, "versions")):
        vp: tuple[str | int, ...] = ("versions", vi)
        vid = str(_need(doc, v, "id", *vp))
        reg = str(_need(doc, v, "regulation_id", *vp))
        provision = v.get("provision")
        valid_from = check_date(doc, v.get("valid_from"), *vp, "valid_from")
        valid_to = check_date(doc, v.get("valid_to"), *vp, "valid_to")
        quality = _quality(doc, _need(doc, v, "source_quality", *vp), *vp, "source_quality")
        seen: set[str] = set()
        for li, lv in enumerate(_need(doc, v, "levels", *vp)):
            lp = (*vp, "levels", li)
            level = str(_need(doc, lv, "level", *lp))
            if level not in levels_known:
                raise doc.error(f"level {level!r} is not an EmergencyLevel concept "
                                f"({', '.join(sorted(levels_known))})", *lp, "level")
            if level in seen:
                raise doc.error(f"level {level} listed twice", *lp, "level")
            seen.add(level)
            group = {k: lv[k] for k in ("any_of", "all_of") if k in lv}
            if not group:
                raise doc.error(f"level {level} has no criteria (any_of or all_of)", *lp)
            criteria = _criteria(doc, group, lp)
            gid = f"{vid}.{level}"
            data.gradings.append({"id": gid, "regulation_id": reg, "props": {
                "version": vid, "regulation_id": reg, "provision_id": provision,
                "level": level, "rank": LEVEL_ORDER.index(level) + 1
                if level in LEVEL_ORDER else None,
                "response_grade": lv.get("response"), "criteria": json.dumps(
                    criteria, ensure_ascii=False, sort_keys=True),
                "index": v.get("index"), "daily_mean": v.get("daily_mean"),
                "valid_from": valid_from, "valid_to": valid_to, "source_quality": quality,
                "response_source_quality": v.get("response_source_quality"),
                "source_urls": list(v.get("source_urls") or []), "scope": v.get("scope"),
                "note": v.get("note")}})
            data.link("AlertGrading", gid, "FOR_LEVEL", [level])
            data.link("AlertGrading", gid, "PART_OF", [reg])
            if provision:
                data.link("AlertGrading", gid, "BASED_ON", [str(provision)])
    for ri, r in enumerate(doc.data.get("reduction_ratios") or []):
        rp: tuple[str | int, ...] = ("reduction_ratios", ri)
        rid = str(_need(doc, r, "id", *rp))
        pols = [str(p) for p in _need(doc, r, "pollutants", *rp)]
        for p in pols:
            if p not in concepts:
                raise doc.error(f"pollutant {p!r} is not an ontology concept", *rp, "pollutants")
        quality = _quality(doc, _need(doc, r, "source_quality", *rp), *rp, "source_quality")
        for level, share in (_need(doc, r, "at_least", *rp) or {}).items():
            if level not in levels_known:
                raise doc.error(f"level {level!r} is not an EmergencyLevel concept",
                                *rp, "at_least", level)
            share = _number(doc, share, *rp, "at_least", level)
            if not 0 < share <= 1:
                raise doc.error(f"share {share} must be a fraction in (0, 1]", *rp, "at_least")
            nid = f"{rid}.{level}"
            data.reductions.append({"id": nid, "props": {
                "level": level, "min_share": share, "pollutants": pols, "basis": r.get("basis"),
                "valid_from": check_date(doc, r.get("valid_from"), *rp, "valid_from"),
                "valid_to": check_date(doc, r.get("valid_to"), *rp, "valid_to"),
                "source_quality": quality, "source_urls": list(r.get("source_urls") or []),
                "quote": r.get("quote"), "note": r.get("note")}})
            data.link("ReductionRequirement", nid, "FOR_LEVEL", [level])
            data.link("ReductionRequirement", nid, "CONCERNS", pols)
    measures_known = by_kind.get("MeasureType", set())
    for hi, h in enumerate(doc.data.get("pollutant_handling") or []):
        hp: tuple[str | int, ...] = ("pollutant_handling", hi)
        hid = str(_need(doc, h, "id", *hp))
        measures = [str(m) for m in (h.get("measures") or [])]
        optional = [str(m) for m in (h.get("optional_measures") or [])]
        for key, items in (("measures", measures), ("optional_measures", optional)):
            for m in items:
                if m not in measures_known:
                    raise doc.error(f"measure {m!r} is not a MeasureType concept", *hp, key)
        causes = [str(c) for c in _need(doc, h, "causes", *hp)]
        basis = [str(b) for b in (h.get("legal_basis") or [])]
        colour = h.get("colour_alert")
        if not isinstance(colour, bool):
            raise doc.error("colour_alert must be true or false", *hp, "colour_alert")
        data.handlings.append({"id": hid, "props": {
            "causes": causes, "colour_alert": colour, "measures": measures,
            "optional_measures": optional, "legal_basis": basis,
            "provision_id": h.get("provision"),
            "valid_from": check_date(doc, h.get("valid_from"), *hp, "valid_from"),
            "valid_to": check_date(doc, h.get("valid_to"), *hp, "valid_to"),
            "source_quality": _quality(doc, _need(doc, h, "source_quality", *hp), *hp,
                                       "source_quality"),
            "note": h.get("note")}})
        data.link("PollutantHandling", hid, "CONCERNS", [c for c in causes if c in concepts])
        data.link("PollutantHandling", hid, "PRESCRIBES", measures + optional)
        data.link("PollutantHandling", hid, "CITES", basis)
        if h.get("provision"):
            data.link("PollutantHandling", hid, "BASED_ON", [str(h["provision"])])


# --- writing --------------------------------------------------------------------------------

_TARGET_LABEL = {"CONCERNS": "Concept", "FOR_LEVEL": "Concept", "PRESCRIBES": "Concept",
                 "BASED_ON": "Article", "CITES": "Article", "PART_OF": "Regulation"}


def read_standards(directory: Path | None = None) -> StandardsData:
    """Parse and validate the three files; raise LoadError(s) naming file, line and field."""
    directory = directory or standards_dir()
    concepts, by_kind = _ontology_ids()
    pollutants = by_kind.get("Pollutant", set())
    data = StandardsData()
    errors: list[LoadError] = []
    for name, reader in (("hj633.yaml", lambda f: read_hj633(f, data, pollutants)),
                         ("gb3095.yaml", lambda f: read_gb3095(f, data, pollutants)),
                         ("alert_grading.yaml",
                          lambda f: read_alert_grading(f, data, concepts, by_kind))):
        file = directory / name
        if not file.exists():
            errors.append(LoadError("standards file missing", file=file, field="file"))
            continue
        try:
            reader(file)
        except LoadErrors as exc:
            errors.extend(exc.errors)
        except LoadError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise LoadErrors(errors, file=directory)
    return data


def _missing_targets(store: GraphStore, data: StandardsData) -> list[str]:
    """Provisions and regulations the grading cites that are not in the graph (or this load).

    Not an error: the dated values stand on their own, and the BASED_ON / CITES / PART_OF
    edges appear when the standards are loaded again after the regulations. The report says
    which are missing (a user's statute folder loaded *instead of* the bundled one lacks them).
    """
    def targets(label: str) -> set[str]:
        return {t for rels in data.links.values() for rel, ts in rels.items()
                if _TARGET_LABEL[rel] == label for t in ts}

    wanted_articles = sorted(targets("Article") - {p["id"] for p in data.provisions})
    wanted_regs = sorted(targets("Regulation") - {s["id"] for s in data.standards})
    have_articles = {r["id"] for r in store.read(
        "MATCH (a:Article) WHERE a.id IN $ids RETURN a.id AS id", {"ids": wanted_articles})}
    have_regs = {r["id"] for r in store.read(
        "MATCH (g:Regulation) WHERE g.id IN $ids RETURN g.id AS id", {"ids": wanted_regs})}
    return [x for x in wanted_articles if x not in have_articles] + [
        x for x in wanted_regs if x not in have_regs]


_MERGE_STANDARDS = """
UNWIND $rows AS r
MERGE (s:Regulation {id: r.id})
SET s:Standard
SET s += r.props
"""

_DROP_STALE_REPEALS = """
UNWIND $rows AS r
MATCH (s:Standard {id: r.id})-[x:REPEALED_BY]->(t:Regulation)
WHERE r.superseded_by IS NULL OR t.id <> r.superseded_by
DELETE x
"""

_MERGE_REPEALS = """
UNWIND $rows AS r
MATCH (s:Standard {id: r.id}), (t:Standard {id: r.superseded_by})
MERGE (s)-[x:REPEALED_BY]->(t)
SET x.from = r.from, x.source_quality = r.source_quality
"""

_DROP_STALE_ROWS = """
UNWIND $rows AS r
MATCH (n:{label})-[:PART_OF]->(:Regulation {{id: r.parent}})
WHERE NOT n.id IN r.keep
DETACH DELETE n
"""

_MERGE_ROWS = """
UNWIND $rows AS r
MATCH (p:Regulation {{id: r.parent}})
MERGE (n:{label} {{id: r.id}})
SET n += r.props
MERGE (n)-[:PART_OF]->(p)
"""

_DROP_STALE_FREE = """
MATCH (n:{label}) WHERE NOT n.id IN $keep DETACH DELETE n
"""

_MERGE_FREE = """
UNWIND $rows AS r
MERGE (n:{label} {{id: r.id}})
SET n += r.props
"""

_DROP_STALE_LINKS = """
UNWIND $rows AS r
MATCH (n:{label} {{id: r.id}})-[x:{rel}]->(t:{target})
WHERE NOT t.id IN r.targets
DELETE x
"""

_MERGE_LINKS = """
UNWIND $rows AS r
MATCH (n:{label} {{id: r.id}}), (t:{target} {{id: r.target}})
MERGE (n)-[:{rel}]->(t)
"""

# Labels, relationship types and target labels come only from the constants above.
_ROW_LABELS = ("LimitValue", "BreakpointRow")


def _grouped(rows: list[dict[str, Any]], parent_key: str) -> list[dict[str, Any]]:
    keep: dict[str, list[str]] = {}
    for r in rows:
        keep.setdefault(r[parent_key], []).append(r["id"])
    return [{"parent": k, "keep": v} for k, v in keep.items()]


def load_standards(store: GraphStore, directory: str | Path | None = None) -> LoadReport:
    """Load HJ 633, GB 3095 and the alert grading (None = bundled files); idempotent."""
    started = time.perf_counter()
    folder = Path(directory) if directory else standards_dir()
    data = read_standards(folder)
    missing = _missing_targets(store, data)
    written = WriteSummary()
    with store.atomic():  # all of it or none of it (docs/graph-server.md)
        written.add(store.write_rows(_MERGE_STANDARDS, data.standards))
        written.add(store.write_rows(_DROP_STALE_REPEALS, data.standards))
        written.add(store.write_rows(_MERGE_REPEALS, [s for s in data.standards
                                                      if s["superseded_by"]]))
        written.add(store.write_rows(DROP_STALE_ARTICLES, [
            {"regulation_id": s["id"], "all_kinds": False,
             "keep": [p["id"] for p in data.provisions if p["regulation_id"] == s["id"]]}
            for s in data.standards]))
        written.add(write_articles(store, data.provisions))

        parents = {"LimitValue": (data.limits, "standard_id"),
                   "BreakpointRow": (data.breakpoints, "standard_id")}
        for label in _ROW_LABELS:
            rows, key = parents[label]
            written.add(store.write_rows(_DROP_STALE_ROWS.format(label=label), _grouped(rows, key)))
            written.add(store.write_rows(_MERGE_ROWS.format(label=label),
                                         [{**r, "parent": r[key]} for r in rows]))
        for label, rows in (("AlertGrading", data.gradings),
                            ("ReductionRequirement", data.reductions),
                            ("PollutantHandling", data.handlings)):
            written.add(store.write(_DROP_STALE_FREE.format(label=label),
                                    {"keep": [r["id"] for r in rows]}))
            written.add(store.write_rows(_MERGE_FREE.format(label=label), rows))

        concepts_in_graph = {r["id"] for r in store.read("MATCH (c:Concept) RETURN c.id AS id")}
        unlinked: set[str] = set()
        by_rel: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for (label, node_id), rels in data.links.items():
            for rel, targets in rels.items():
                by_rel.setdefault((label, rel), []).append({"id": node_id, "targets": targets})
        for (label, rel), rows in sorted(by_rel.items()):
            target = _TARGET_LABEL[rel]
            written.add(store.write_rows(
                _DROP_STALE_LINKS.format(label=label, rel=rel, target=target), rows))
            pairs = [{"id": r["id"], "target": t} for r in rows for t in r["targets"]]
            if target == "Concept":
                unlinked |= {p["target"] for p in pairs if p["target"] not in concepts_in_graph}
            written.add(store.write_rows(
                _MERGE_LINKS.format(label=label, rel=rel, target=target), pairs))

    report = LoadReport(source="standards", written=written)
    report.records = (len(data.standards) + len(data.provisions) + len(data.limits)
                      + len(data.breakpoints) + len(data.gradings) + len(data.reductions)
                      + len(data.handlings))
    report.notes.append(
        f"{len(data.standards)} standards, {len(data.breakpoints)} breakpoint rows, "
        f"{len(data.limits)} limit values, {len(data.gradings)} alert-grading levels")
    if unlinked:
        report.notes.append("not linked (no such Concept node in the graph): "
                            + ", ".join(sorted(unlinked)))
    if missing:
        report.notes.append("cited but not in the graph (load the bundled regulations, then the "
                            "standards again): " + ", ".join(missing))
    report.seconds = time.perf_counter() - started
    return report
