"""Task-list documents: one per city and per county that has tasks, in HTML, Markdown and Word.

What a bureau receives (``docs/documents.md``): the decision id, model run and dates; a table
of contents and an overview (alert by county, tasks by measure, enterprises by performance
grade: ``documents_overview``); the alert in force and its emergency measures (and their
expected effect when a scenario run tested them); the tasks grouped by county and measure —
number, task id (what the API takes), subject, location, action, deadline, priority, a short
legal reference with not-in-force provisions marked, status; the control advice; a map of the
hotspot cells and tasked enterprises (numbered with their rows) on the region's boundary with
county names, scale bar and north arrow, and a chart of its daily AQI forecast; an appendix
with the full text of every cited article, once, with its validity on the decision date.
Every text goes through ``documents_text.reader_context`` (rounding, no internal tags), and
every list has a defined order, so a decision always renders the same document.

A **county** document lists the county's tasks. A **city** document lists the tasks the city
itself is assigned, then every county's tasks grouped by county: the city bureau dispatches to
and supervises its districts, so it gets the whole picture in one document (each county still
gets its own).

Everything is read from the graph (each conclusion node keeps its JSON), so the documents of
any saved decision can be rendered again at any time — by ``ecobrain decide``, by the API on
demand, or after a bureau updated task statuses (the status column shows the current one).
Layout: ``OUT/<decision-id>/<region_code>-<name>.{html,md,docx}``, the PNGs beside them and
an ``index.html`` listing them. HTML is self-contained (images inline) and autoescaped;
Markdown cells are escaped for tables; Word goes through docxtpl with autoescaping.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ecobrain.api.documents.charts import cjk_font
from ecobrain.api.documents.overview import (
    advice_sort_key,
    by_measure,
    contents,
    measure_sort_key,
    overview,
    task_measure,
)
from ecobrain.api.documents.pictures import (
    ChartInputs,
    cell_centre,
    chart_inputs,
    draw_aqi,
    draw_map,
)
from ecobrain.api.documents.text import reader_context, reader_text
from ecobrain.hpc_jobs.compare import expected_effect_rows
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.legal import CitationError, split_citation
from ecobrain.reasoning.decisions.store import region_forecast
from ecobrain.reasoning.decisions.task_status import INITIAL, LABELS_ZH
from ecobrain.reasoning.decisions.why_not import alert_grading_notes

FORMATS = ("html", "md", "docx")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
SUBJECT_KIND_ZH = {"enterprise": "企业", "grid_cell": "网格", "sector": "行业", "road": "道路",
                   "region": "区域"}
GROUND_STATUS_ZH = {
    "in_force": "现行有效", "not_yet_in_force": "尚未施行", "repealed": "已废止",
    "reported_repealed": "已废止（据报道，待核实）", "superseded": "已被取代",
    "expired": "已失效", "not_in_graph": "图谱中无此条款", "unresolved": "未核对",
}
REVIEW_MARK = {
    "repealed": "（已废止，待法律审查）", "reported_repealed": "（据报道已废止，待法律审查）",
    "superseded": "（已失效，待法律审查）", "expired": "（已失效，待法律审查）",
    "not_yet_in_force": "（尚未施行，待法律审查）", "not_in_graph": "（未核实，待法律审查）",
    "unresolved": "（未核实，待法律审查）",
}
PRIORITY_BANDS = ((90, "≥90"), (80, "80–89"), (70, "70–79"), (0, "<70"))
_CN_NUMBERS = "一二三四五六七八九十"


class DocumentError(LookupError):
    """An unknown decision, or a region without tasks in it (HTTP 404)."""


def templates_dir() -> Path:
    return Path(str(resources.files("ecobrain.api") / "templates"))


def _md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return re.sub(r"\s*\n\s*", "<br>", text.strip())


def _md_text(value: Any) -> str:
    """Text safe as a Markdown paragraph (no accidental headings, lists or HTML)."""
    text = "" if value is None else str(value)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"(?m)^([#>*+\-]|\d+\.)", r"\\\1", text)


@cache
def _env(autoescape: bool) -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates_dir())),
                      autoescape=select_autoescape(["html", "j2"]) if autoescape else False,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["md"] = _md_cell
    env.filters["mdtext"] = _md_text
    return env


template_env = _env  # the documents' Jinja2 environment, for other document kinds


def safe_filename(text: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]+", "_", text).strip("_") or "region"


# -- what a decision's documents are made of -------------------------------------------------------

BEIJING = ZoneInfo("Asia/Shanghai")


def beijing_time(moment: dt.datetime) -> str:
    """Times in documents are Beijing time: a bureau reads 08:00, not 00:00 UTC."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M（北京时间）")


def review_text(decision: dict[str, Any]) -> str:
    """The decision's review state as a line of the document
    (ecobrain.reasoning.decisions.review)."""
    if decision.get("review_status") == "approved":
        at = decision.get("approved_at") or ""
        with contextlib.suppress(ValueError):
            at = beijing_time(dt.datetime.fromisoformat(at))
        return f"已审核：{decision.get('approved_by') or ''}于{at}审核同意下发"
    return "草稿：待指挥人员审核，审核通过前任务不下发"


@dataclass
class Region:
    code: str
    name: str
    level: str
    parent_code: str | None
    boundary_wkt: str | None = None


@dataclass
class DecisionData:
    """Everything the documents of one decision (or of one city's part of it) read."""

    decision: dict[str, Any]
    run: dict[str, Any]
    regions: dict[str, Region]
    tasks: dict[str, list[dict[str, Any]]]  # region code -> task conclusions (+ status)
    alerts: dict[str, dict[str, Any]]
    measures: dict[str, list[dict[str, Any]]]
    advice: dict[str, list[dict[str, Any]]]
    enterprises: dict[str, tuple[float, float]]
    hotspots: list[dict[str, Any]]
    regulations: dict[str, dict[str, Any]]
    articles: dict[str, dict[str, Any]]
    labels: dict[str, str]
    grades: dict[str, str | None] = field(default_factory=dict)  # enterprise -> performance grade
    generated_at: str = field(default_factory=lambda: beijing_time(dt.datetime.now(dt.UTC)))

    def label(self, concept: str | None) -> str:
        if not concept:
            return ""
        return self.labels.get(concept, concept)


def _by_region(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Conclusions per region, each list by id: never in the graph server's row order."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["region_code"], r.get("id") or "")):
        out[r["region_code"]].append(r)
    return out


def decision_warnings(decision: dict[str, Any]) -> list[str]:
    """The decision's warnings as the top of every document shows them."""
    out = list(decision.get("warnings") or [])
    if decision.get("incomplete"):
        out.insert(0, "本决策不完整：模型运行未覆盖应研判的全部内容（见以下说明），下发前请核实。")
    return out


def gather(store: GraphStore, decision_id: str, prefix: str | None = None) -> DecisionData:
    """Read a decision's conclusions, run, regions and cited law (`prefix`: one city's part)."""
    dec = store.read_one(
        "MATCH (d:Decision {id: $id}) OPTIONAL MATCH (d)-[:DECIDED_ON]->(m:ModelRun) "
        "RETURN d.id AS id, d.run_id AS run_id, d.date AS date, d.notes AS notes, "
        "d.warnings AS warnings, d.incomplete AS incomplete, "
        "d.review_status AS review_status, d.approved_by AS approved_by, "
        "d.approved_at AS approved_at, "
        "d.rule_versions AS rule_versions, d.created_from AS created_from, "
        "m.model AS model, m.init_time AS init_time, m.run_dir AS run_dir, m.days AS days",
        {"id": decision_id})
    if dec is None:
        raise DocumentError(f"no decision {decision_id!r}")
    where = "c.decision_id = $id AND ($prefix IS NULL OR c.region_code STARTS WITH $prefix)"
    params = {"id": decision_id, "prefix": prefix}

    def conclusions(label: str, extra: str = "") -> list[dict[str, Any]]:
        rows = store.read(f"MATCH (c:{label}) WHERE {where} RETURN c.json AS json{extra}",
                          params)
        out = []
        for r in rows:
            c = json.loads(r["json"])
            if "status" in r:
                c["status"] = r["status"] or INITIAL
            out.append(c)
        return out

    tasks = conclusions("Task", ", c.status AS status")
    all_alerts = [json.loads(r["json"]) for r in store.read(
        "MATCH (c:Alert) WHERE c.decision_id = $id RETURN c.json AS json", params)]
    measures = conclusions("Measure")
    advice = conclusions("Advice")
    region_rows = store.read(
        "MATCH (r:AdminRegion) RETURN r.code AS code, r.name_zh AS name, r.level AS level, "
        "r.parent_code AS parent, r.boundary_wkt AS wkt")
    regions = {r["code"]: Region(r["code"], r["name"] or r["code"], r["level"] or "",
                                 r["parent"], r["wkt"]) for r in region_rows}
    ent_ids = sorted({t["subject"]["id"] for t in tasks if t["subject"]["kind"] == "enterprise"})
    ent_rows = store.read(
        "MATCH (e:Enterprise) WHERE e.id IN $ids RETURN e.id AS id, e.lon AS lon, e.lat AS lat, "
        "e.performance_grade AS grade", {"ids": ent_ids})
    enterprises = {r["id"]: (r["lon"], r["lat"]) for r in ent_rows if r["lon"] is not None}
    grades = {r["id"]: r["grade"] for r in ent_rows}
    hotspots = []
    for r in store.read("MATCH (t:Task)-[:EVIDENCED_BY]->(f:Finding) WHERE t.decision_id = $id "
                        "AND f.kind = 'emission_hotspot' RETURN DISTINCT f.json AS json",
                        {"id": decision_id}):
        h = json.loads(r["json"])
        if prefix is None or (h.get("county_code") or "").startswith(prefix):
            hotspots.append(h)
    hotspots.sort(key=lambda h: (h.get("cell_id") or "", h.get("species") or ""))
    grounds = {g["article_id"] for c in [*tasks, *all_alerts, *measures, *advice]
               for g in c.get("legal_grounds", [])}
    articles = {r["id"]: r for r in store.read(
        "MATCH (a:Article) WHERE a.id IN $ids RETURN a.id AS id, a.citation AS citation, "
        "a.text AS text, a.number AS number, a.title AS title, a.regulation_id AS regulation_id, "
        "a.valid_from AS valid_from, a.valid_to AS valid_to, a.source_quality AS source_quality",
        {"ids": sorted(grounds)})}
    regulations = {r["id"]: r for r in store.read(
        "MATCH (r:Regulation) RETURN r.id AS id, r.title AS title, r.short_title AS short_title, "
        "r.doc_number AS doc_number, r.kind AS kind, r.status AS status, "
        "r.repeal_source_quality AS repeal_source_quality")}
    labels = {r["id"]: r["zh"] for r in store.read(
        "MATCH (c:Concept) RETURN c.id AS id, c.label_zh AS zh") if r["zh"]}
    created = json.loads(dec["created_from"]) if dec.get("created_from") else {}
    run = {"id": dec["run_id"], "model": dec.get("model") or created.get("model"),
           "init_time": dec.get("init_time") or created.get("init_time"),
           "days": list(dec.get("days") or created.get("days") or [])}
    return DecisionData(
        decision={"id": dec["id"], "date": dec["date"], "notes": list(dec["notes"] or []),
                  "warnings": list(dec.get("warnings") or []),
                  "incomplete": bool(dec.get("incomplete")),
                  "rule_versions": list(dec["rule_versions"] or []),
                  "review_status": dec["review_status"], "approved_by": dec["approved_by"],
                  "approved_at": dec["approved_at"]},
        run=run, regions=regions, tasks=_by_region(tasks),
        alerts={a["region_code"]: a for a in sorted(all_alerts, key=lambda a: a.get("id") or "")},
        measures=_by_region(measures),
        advice=_by_region(advice), enterprises=enterprises, hotspots=hotspots,
        regulations=regulations, articles=articles, labels=labels, grades=grades)


def regions_with_documents(data: DecisionData) -> list[str]:
    """Counties and cities that get a document: every region with tasks, and the city of each."""
    codes = set(data.tasks)
    for code in list(codes):
        r = data.regions.get(code)
        if r is not None and r.level == "county" and r.parent_code:
            codes.add(r.parent_code)
        elif r is None and not code.endswith("00"):
            codes.add(code[:4] + "00")
    return sorted(c for c in codes if not c.endswith("0000"))


# -- legal references ------------------------------------------------------------------------------

def short_ref(ground: dict[str, Any], data: DecisionData) -> str:
    """《大气污染防治法》第96条第1款 / 环大气〔2024〕6号·预警分级标准, marked when not in force."""
    art = data.articles.get(ground["article_id"]) or {}
    reg = data.regulations.get(ground.get("regulation_id") or art.get("regulation_id") or "")
    p = i = None
    with contextlib.suppress(CitationError):
        _, p, i = split_citation(ground["citation_id"])
    if reg and art.get("number"):
        text = f"《{reg.get('short_title') or reg.get('title')}》第{art['number']}条"
        text += f"第{p}款" if p else ""
        text += f"第{i}项" if i else ""
    elif reg and art:
        doc = reg.get("doc_number") or f"《{reg.get('short_title') or reg.get('title')}》"
        text = f"{doc}·{art.get('title') or ground['citation']}"
    else:
        text = ground.get("citation") or ground["citation_id"]
    if _shown_as(ground) == "history":
        status = GROUND_STATUS_ZH.get(ground.get("status", ""), ground.get("status", ""))
        return f"原依据{text}，{status}"
    if _shown_as(ground) == "missing":
        return text + REVIEW_MARK.get(ground.get("status", ""), "（待法律审查）")
    return text


def _shown_as(ground: dict[str, Any]) -> str:
    """in_force / history / missing (decisions saved before issue 12 lack the field)."""
    return ground.get("shown_as") or ("in_force" if ground.get("in_force", True) else "missing")


def _refs(c: dict[str, Any], data: DecisionData) -> tuple[list[str], list[str]]:
    """The references of a conclusion as the decision ordered them: grounds in force on the
    decision date first (national law, provincial regulation, plans and guidance), then the
    repealed ones as history (原依据…), or, when nothing is in force, the flagged ones."""
    basis, escalation = [], []
    for g in c.get("legal_grounds", []):
        (escalation if g.get("role") == "escalation" else basis).append(short_ref(g, data))
    return list(dict.fromkeys(basis)), list(dict.fromkeys(escalation))


# -- one region's document -------------------------------------------------------------------------

def _band(p: int) -> str:
    return next(label for low, label in PRIORITY_BANDS if p >= low)


def _location(t: dict[str, Any], data: DecisionData) -> str:
    """The county and a place to go to: coordinates to 3 decimals (~100 m), no grid cell ids
    (the id stays in the HTML row's ``data-subject``)."""
    s = t["subject"]
    place = t.get("region_name") or t["region_code"]
    if s["kind"] == "enterprise" and s["id"] in data.enterprises:
        lon, lat = data.enterprises[s["id"]]
        return f"{place}\n{lon:.3f}°E, {lat:.3f}°N"
    if s["kind"] == "grid_cell":
        centre = next(((h["lon"], h["lat"]) for h in data.hotspots
                       if h.get("cell_id") == s["id"]), None) or cell_centre(s["id"])
        where = "排放热点网格"  # the run's own grid: 3 km, or 9 km for a foreign run
        if centre:
            where += f"，中心 {centre[0]:.3f}°E, {centre[1]:.3f}°N"
        return f"{place}\n{where}"
    return place


def _task_row(no: int, t: dict[str, Any], data: DecisionData) -> dict[str, Any]:
    s = t["subject"]
    basis, escalation = _refs(t, data)
    actions = [f"{i['measure_label']}：{i['text']}" for i in t.get("items", [])]
    escalations = [f"{e['text']}（{e['basis']}）" if e.get("basis") else e["text"]
                   for e in t.get("escalations", [])]
    status = t.get("status") or INITIAL
    return {
        "no": no, "id": t["id"], "measure_key": task_measure(t),
        "subject": f"{s.get('name') or s['id']}（{SUBJECT_KIND_ZH.get(s['kind'], s['kind'])}）",
        "subject_id": s["id"], "subject_kind": s["kind"],
        "location": _location(t, data), "actions": actions, "escalations": escalations,
        "action": "\n".join(actions + [f"如发现违法：{e}" for e in escalations]),
        "deadline": t.get("deadline") or "—", "priority": t.get("priority", 0),
        "priority_band": _band(t.get("priority", 0)),
        "legal_refs": basis, "escalation_refs": escalation,
        "legal": "\n".join(basis + [f"升级处置：{r}" for r in escalation]),
        "legal_review": bool(t.get("legal_review_required")),
        "status": LABELS_ZH.get(status, status), "status_code": status,
    }


def _alert_text(code: str, data: DecisionData) -> tuple[str, dict[str, Any] | None]:
    region = data.regions.get(code)
    own = data.alerts.get(code)
    alert, prefix = own, ""
    if alert is None and region is not None and region.parent_code in data.alerts:
        alert = data.alerts[region.parent_code]
        prefix = (f"本区县无单独预警；所在城市"
                  f"{data.regions[region.parent_code].name}发布：")
    if alert is None:
        return "本次决策期间本区域无重污染天气预警。", None
    driver = data.label(alert.get("driver"))
    text = (f"{prefix}{alert['level_label']}，{alert.get('start') or '…'} 至 "
            f"{alert.get('end') or '…'}")
    if driver:
        text += f"，首要污染物：{driver}"
    text += "。"
    if alert.get("note"):
        text += alert["note"]
    return text, alert


def _measure_rows(code: str, data: DecisionData) -> list[dict[str, Any]]:
    out = []
    for m in sorted(data.measures.get(code, []), key=measure_sort_key):
        text = m["measure_label"]
        if m.get("reduction_ratio") is not None:
            text += f"：污染物减排比例 {m['reduction_ratio']:.0%}"
        if m.get("start") or m.get("end"):
            text += f"（{m.get('start') or '…'} 至 {m.get('end') or '…'}）"
        if m.get("descriptions"):
            text += "。" + "；".join(m["descriptions"])
        basis, _ = _refs(m, data)
        if basis:
            text += f"〔依据：{'；'.join(basis)}〕"
        out.append({"text": text, "legal_review": bool(m.get("legal_review_required"))})
    return out


def _effect_rows(store: GraphStore, decision_id: str, code: str) -> list[dict[str, Any]]:
    rows = []
    for e in expected_effect_rows(store, decision_id, code):
        over = []
        for threshold, d in sorted(e["days_over"].items(), key=lambda x: int(x[0])):
            over.append(f"AQI>{threshold} {d.get('baseline', 0)}→{d.get('scenario', 0)} 天")
        text = (f"{e.get('measure') or '情景'}（情景运行 {e['scenario_run_id']}，基准 "
                f"{e['baseline_run_id']}）：峰值AQI {e['peak_baseline']}→{e['peak_scenario']}"
                f"（{e['peak_change']:+d}），日均变化 {e['mean_change']:+.1f}；"
                + "，".join(over))
        rows.append({**e, "text": text})
    return rows


def _advice_rows(codes: Sequence[str], data: DecisionData) -> list[dict[str, Any]]:
    out = []
    for code in codes:
        for a in sorted(data.advice.get(code, []), key=advice_sort_key):
            title = a["measure_label"]
            if a.get("pollutant"):
                title += f"（{data.label(a['pollutant'])}）"
            if len(codes) > 1:
                title = f"{a.get('region_name') or code}：{title}"
            basis, _ = _refs(a, data)
            text = "；".join(a.get("texts", []))
            if a.get("rationales"):
                text += "。理由：" + "；".join(a["rationales"])
            if basis:
                text += f"〔依据：{'；'.join(basis)}〕"
            out.append({"title": title, "text": text, "priority": a.get("priority", 0)})
    return out


def _appendix(conclusions: Iterable[dict[str, Any]], data: DecisionData) -> list[dict[str, Any]]:
    used: dict[str, dict[str, Any]] = {}
    cites: dict[str, set[str]] = defaultdict(set)
    for c in conclusions:
        for g in c.get("legal_grounds", []):
            used.setdefault(g["article_id"], g)
            cites[g["article_id"]].add(short_ref(g, data))
    out = []
    for aid, g in used.items():
        art = data.articles.get(aid) or {}
        reg = data.regulations.get(art.get("regulation_id") or g.get("regulation_id") or "")
        period = f"{art.get('valid_from') or g.get('valid_from') or '…'} 起"
        if art.get("valid_to") or g.get("valid_to"):
            period += f"，至 {art.get('valid_to') or g.get('valid_to')} 止"
            if (reg or {}).get("status") == "reported_repealed":
                # the end date rests on a reported repeal, not on a confirmed text
                quality = (reg or {}).get("repeal_source_quality") or "未注明"
                period += f"（据报道，来源等级 {quality}，待核实）"
        status = GROUND_STATUS_ZH.get(g.get("status", ""), g.get("status", ""))
        line = (f"{(reg or {}).get('title') or g.get('regulation_title') or ''}；有效期：{period}；"
                f"决策日（{data.decision['date']}）状态：{status}")
        if not g.get("in_force", True) and g.get("remark_zh"):
            line += f"；{g['remark_zh']}"
        out.append({"article_id": aid, "citation": art.get("citation") or g["citation"],
                    "status_line": line,
                    "text": art.get("text") or g.get("text") or "（图谱中无条文）",
                    "in_force": bool(g.get("in_force")), "cited_as": sorted(cites[aid]),
                    "sort": (art.get("regulation_id") or "", art.get("number") or 0, aid)})
    out.sort(key=lambda a: a["sort"])
    return out


@dataclass
class RenderedRegion:
    code: str
    name: str
    level: str
    tasks: int
    alert: str | None
    files: dict[str, str] = field(default_factory=dict)  # format or image -> file name


def region_context(store: GraphStore, data: DecisionData, code: str) -> dict[str, Any]:
    """The template context of one region's document (the same for every format)."""
    region = data.regions.get(code) or Region(code, code, "county" if not code.endswith("00")
                                              else "city", None)
    if region.level == "city":
        counties = sorted(c for c, r in data.regions.items()
                          if r.parent_code == code and c in data.tasks)
        scope = [code, *counties]
    else:
        counties, scope = [], [code]
    if not any(data.tasks.get(c) for c in scope):
        raise DocumentError(f"region {code} has no tasks in decision {data.decision['id']}")
    groups = []
    all_tasks: list[dict[str, Any]] = []
    no = 0  # one numbering through the document: the map's numbered points use it
    for c in scope:
        filed = by_measure(data.tasks.get(c, []))
        if not filed and c != code:
            continue
        measures, rows = [], []
        for i, (measure, tasks) in enumerate(filed):
            mrows = []
            for t in tasks:
                no += 1
                mrows.append(_task_row(no, t, data))
            all_tasks += tasks
            rows += mrows
            measures.append({"title": f"（{_CN_NUMBERS[i % len(_CN_NUMBERS)]}）{measure}"
                                      f"（{len(mrows)} 项）",
                             "measure": measure, "anchor": f"tasks-{c}-{i + 1}",
                             "tasks": mrows})
        bands = Counter(r["priority_band"] for r in rows)
        alert = data.alerts.get(c)
        name = data.regions[c].name if c in data.regions else c
        if region.level == "city":
            title = "市级任务" if c == code else f"{name}（{c}）"
        else:
            title = f"{name}任务"
        summary = f"{len(rows)} 项任务" + ("（" + "，".join(
            f"优先级{b} {bands[b]} 项" for _, b in PRIORITY_BANDS if bands[b]) + "）"
            if rows else "")
        if alert and c != code:
            summary += f"；{alert['level_label']}"
        groups.append({"code": c, "title": title, "summary": summary, "tasks": rows,
                       "measures": measures, "anchor": f"tasks-{c}", "count": len(rows)})
    statuses = Counter(t.get("status") or INITIAL for t in all_tasks)
    bands = Counter(_band(t.get("priority", 0)) for t in all_tasks)
    tasks_summary = (f"共 {len(all_tasks)} 项任务："
                     + "，".join(f"优先级{b} {bands[b]} 项" for _, b in PRIORITY_BANDS
                                if bands[b])
                     + "；状态：" + "，".join(f"{LABELS_ZH[s]} {statuses[s]} 项"
                                           for s in LABELS_ZH if statuses[s]) + "。")
    alert_text, alert = _alert_text(code, data)
    names = {c: (data.regions[c].name if c in data.regions else c) for c in scope}
    effects = _effect_rows(store, data.decision["id"], code)
    conclusions = [*all_tasks, *(data.measures.get(code, [])),
                   *(a for c in scope for a in data.advice.get(c, []))]
    if code in data.alerts:
        conclusions.append(data.alerts[code])
    review = sum(1 for t in all_tasks if t.get("legal_review_required"))
    penalty = sum(1 for t in all_tasks
                  if any(e.get("legal_review_required") for e in t.get("escalations", [])))
    legal_review = (f"需法务复核：{review} 项任务在决策日（{data.decision['date']}）没有现行有效的"
                    "法律依据（已在法律依据中标注“待法律审查”），下发前请复核。"
                    if review else "")
    if penalty:
        legal_review += (f"{penalty} 项任务的违法处置（处罚）在决策日没有现行有效的依据"
                         "（已在任务内容中注明“处理依据待法务复核”），处罚前请复核。")
    notes = []
    if data.run.get("model"):
        notes.append(f"模型：{data.run['model']}；预报日：{', '.join(data.run['days'][:1])}"
                     f"{' 至 ' + data.run['days'][-1] if len(data.run['days']) > 1 else ''}。")
    notes.append("任务由 ecobrain 规则库根据模型运行结果与知识图谱生成；每项任务的规则、事实与"
                 "证据可按“任务编号”通过 GET /tasks/{任务编号} 与 "
                 "/tasks/{任务编号}/evidence-chain 查询，办理状态通过 "
                 "PATCH /tasks/{任务编号}/status 报送。")
    notes.append("生成时间不属于决策内容：同一模型运行、规则版本与知识得到同一决策编号。")
    notes += data.decision.get("notes", [])
    notes += alert_grading_notes(store, data.decision["id"], [(c, names[c]) for c in scope])
    city = data.regions.get(region.parent_code or "") if region.level == "county" else None
    label = f"{city.name}{region.name}" if city else region.name
    ctx: dict[str, Any] = reader_context({
        "title": f"{region.name}大气污染防治任务清单",
        "region_code": code, "region_name": region.name, "region_level": region.level,
        "region_label": f"{label}（{code}）",
        "decision_id": data.decision["id"], "decision_date": data.decision["date"],
        "run_id": data.run["id"], "model": data.run.get("model") or "—",
        "generated_at": data.generated_at, "alert_text": alert_text, "alert": alert,
        "review_status": review_text(data.decision),
        "measures": _measure_rows(code, data),
        "effects": effects,
        "overview": overview(scope, names, data.tasks, data.alerts, data.grades, data.label),
        "contents": contents(groups, bool(effects)),
        "tasks_summary": tasks_summary, "groups": groups, "task_count": len(all_tasks),
        "advice": _advice_rows(scope, data), "articles": [],
        "legal_review": legal_review, "notes": notes, "counties": counties,
        "warnings": decision_warnings(data.decision),
        "map_caption": f"{region.name}排放热点网格与任务企业（按优先级着色，编号为任务清单序号）",
        "aqi_caption": f"{region.name}逐日AQI预报（背景色为AQI类别，红色阴影为预警期）",
    })
    # the law is quoted verbatim: its text never goes through the reader's rewriting
    ctx["articles"] = [{**reader_context(a), "text": a["text"]}
                       for a in _appendix(conclusions, data)]
    return ctx


# -- rendering -------------------------------------------------------------------------------------

def _data_uri(png: bytes | None) -> str | None:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None


def _render_docx(ctx: dict[str, Any], images: dict[str, Path | None], out: Path) -> None:
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage, Listing

    tpl = DocxTemplate(str(templates_dir() / "task_list.docx"))
    dctx = dict(ctx)
    def listing(t: dict[str, Any]) -> dict[str, Any]:
        return {**t, "subject": Listing(t["subject"]), "location": Listing(t["location"]),
                "action": Listing(t["action"]), "legal": Listing(t["legal"])}

    dctx["groups"] = [{**g, "tasks": [listing(t) for t in g["tasks"]],
                       "measures": [{**m, "tasks": [listing(t) for t in m["tasks"]]}
                                    for m in g["measures"]]}
                      for g in ctx["groups"]]
    dctx["articles"] = [{**a, "text": Listing(a["text"])} for a in ctx["articles"]]
    for key, width in (("map_image", 150), ("aqi_image", 165)):
        path = images.get(key)
        dctx[key] = InlineImage(tpl, str(path), width=Mm(width)) if path else "（无图）"
    tpl.render(dctx, autoescape=True)
    tpl.save(str(out))


@dataclass
class RegionJob:
    """One region's document, ready to write: its template context and chart inputs."""

    code: str
    ctx: dict[str, Any]
    charts: ChartInputs


def prepare_region(store: GraphStore, data: DecisionData, code: str,
                   forecast: Sequence[dict[str, Any]] | None = None) -> RegionJob:
    ctx = region_context(store, data, code)
    if forecast is None:
        forecast = region_forecast(store, data.run["id"], code)
    numbers = {t["id"]: t["no"] for g in ctx["groups"] for t in g["tasks"]}
    return RegionJob(code, ctx, chart_inputs(data, code, ctx["counties"], ctx["alert"],
                                             forecast, numbers))


def write_region(job: RegionJob, folder: Path, formats: Sequence[str] = FORMATS
                 ) -> RenderedRegion:
    """Draw the pictures and write the formats of one region (no graph access: poolable)."""
    ctx = dict(job.ctx)
    code = job.code
    base = f"{code}-{safe_filename(ctx['region_name'])}"
    folder.mkdir(parents=True, exist_ok=True)
    map_png = draw_map(job.charts)
    aqi_png = draw_aqi(job.charts)
    map_path = folder / f"{code}-map.png"
    aqi_path = folder / f"{code}-aqi.png" if aqi_png else None
    map_path.write_bytes(map_png)
    if aqi_png and aqi_path is not None:
        aqi_path.write_bytes(aqi_png)
    images: dict[str, Path | None] = {"map_image": map_path, "aqi_image": aqi_path}
    ctx["font_note"] = cjk_font().note or ""
    rendered = RenderedRegion(code, ctx["region_name"], ctx["region_level"], ctx["task_count"],
                              (ctx["alert"] or {}).get("level_label"))
    rendered.files["map"] = map_path.name
    if aqi_path is not None:
        rendered.files["aqi"] = aqi_path.name
    for fmt in formats:
        out = folder / f"{base}.{fmt}"
        if fmt == "html":
            html = _env(True).get_template("task_list.html.j2").render(
                **ctx, map_src=_data_uri(map_png), aqi_src=_data_uri(aqi_png))
            out.write_text(html, encoding="utf-8")
        elif fmt == "md":
            md = _env(False).get_template("task_list.md.j2").render(
                **ctx, map_src=map_path.name, aqi_src=aqi_path.name if aqi_path else None)
            out.write_text(md, encoding="utf-8")
        elif fmt == "docx":
            _render_docx(ctx, images, out)
        else:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        rendered.files[fmt] = out.name
    return rendered


def render_region(store: GraphStore, data: DecisionData, code: str, folder: Path,
                  formats: Sequence[str] = FORMATS) -> RenderedRegion:
    """One region's document in the given formats (and its two PNGs) into `folder`."""
    return write_region(prepare_region(store, data, code), folder, formats)


@dataclass
class DocumentSet:
    decision_id: str
    folder: Path
    documents: list[RenderedRegion]
    index: Path
    seconds: float
    font_note: str | None = None
    workers: int = 1


def _workers(n_jobs: int, workers: int | None) -> int:
    import os

    if workers is not None:
        return max(1, workers)
    return max(1, min(os.cpu_count() or 1, 4, n_jobs // 4 or 1))


def render_documents(store: GraphStore, decision_id: str, out_root: str | Path, *,
                     formats: Sequence[str] = FORMATS, regions: Sequence[str] | None = None,
                     progress: Callable[[str, int, int], None] | None = None,
                     workers: int | None = None) -> DocumentSet:
    """Every city's and county's document of a decision (or only `regions`) and the index,
    rendered now whatever is there already (:mod:`ecobrain.api.documents.cache` keeps them and
    renders only what is missing or out of date).
    """
    started = time.perf_counter()
    check_formats(formats)
    data = gather(store, decision_id)
    folder = Path(out_root) / decision_id
    codes = pick_regions(data, decision_id, regions)
    jobs = prepare_regions(store, data, codes)
    out, n = write_regions(jobs, folder, formats, workers=workers, progress=progress)
    index = write_index(data, out, folder, formats)
    return DocumentSet(decision_id, folder, out, index, round(time.perf_counter() - started, 3),
                       cjk_font().note, n)


def check_formats(formats: Sequence[str]) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}")


def pick_regions(data: DecisionData, decision_id: str, regions: Sequence[str] | None
                 ) -> list[str]:
    """The regions with a document (all, or those of `regions`: each must have one)."""
    codes = regions_with_documents(data)
    if regions is None:
        return codes
    unknown = [c for c in regions if c not in codes]
    if unknown:
        raise DocumentError(f"no tasks for {', '.join(unknown)} in decision {decision_id}")
    return [c for c in codes if c in regions]


def prepare_regions(store: GraphStore, data: DecisionData, codes: Sequence[str]
                    ) -> list[RegionJob]:
    """The regions' template contexts and chart inputs (the run's forecasts read once)."""
    forecasts = {r["code"]: json.loads(r["days"]) for r in store.read(
        "MATCH (f:RegionForecast) WHERE f.run_id = $run RETURN f.region_code AS code, "
        "f.days_json AS days", {"run": data.run["id"]})}
    return [prepare_region(store, data, c, forecasts.get(c, [])) for c in codes]


def write_regions(jobs: Sequence[RegionJob], folder: Path, formats: Sequence[str], *,
                  workers: int | None = None,
                  progress: Callable[[str, int, int], None] | None = None,
                  start_method: str = "fork") -> tuple[list[RenderedRegion], int]:
    """Draw and write the regions' documents (matplotlib, docxtpl: CPU-bound) in a pool of
    processes, one per core up to 4, when there are enough of them; sorted by code, with the
    number of processes used. `start_method` "forkserver" for a process with other threads
    running (the API): a forked child could inherit a lock one of them held."""
    cjk_font()  # resolved once here; forked workers inherit it
    n = _workers(len(jobs), workers)
    out: list[RenderedRegion] = []

    def done(i: int, r: RenderedRegion) -> None:
        out.append(r)
        if progress is not None:
            progress(f"{r.code} {r.name}", i + 1, len(jobs))

    if n > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(n, mp_context=mp.get_context(start_method)) as pool:
            futures = [pool.submit(write_region, j, folder, list(formats)) for j in jobs]
            for i, f in enumerate(as_completed(futures)):
                done(i, f.result())
    else:
        for i, j in enumerate(jobs):
            done(i, write_region(j, folder, formats))
    out.sort(key=lambda r: r.code)
    return out, n


def write_index(data: DecisionData, docs: Sequence[RenderedRegion], folder: Path,
                formats: Sequence[str]) -> Path:
    """``index.html``: every document of the decision, cities with their counties under them."""
    by_code = {d.code: d for d in docs}
    rows = []
    for d in sorted(docs, key=lambda d: (d.code[:4], d.level != "city", d.code)):
        rows.append({"doc": d, "indent": d.level == "county" and d.code[:4] + "00" in by_code})
    html = _env(True).get_template("index.html.j2").render(
        decision_id=data.decision["id"], decision_date=data.decision["date"],
        run_id=data.run["id"], model=reader_text(data.run.get("model") or "—"),
        generated_at=data.generated_at, rows=rows, formats=list(formats),
        total_tasks=sum(len(v) for v in data.tasks.values()),
        warnings=[reader_text(w) for w in decision_warnings(data.decision)])
    path = folder / "index.html"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def summary_rows(docs: DocumentSet) -> list[dict[str, Any]]:
    return [{"region_code": d.code, "region_name": d.name, "level": d.level, "tasks": d.tasks,
             "alert": d.alert, "files": {k: str(docs.folder / v) for k, v in d.files.items()}}
            for d in docs.documents]
