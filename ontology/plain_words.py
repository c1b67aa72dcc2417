"""A graph node in plain words, for the graph explorer's property panel and its captions.

Investigators read the graph as it is stored — ``PM2_5``, ``county_code``, a finding's JSON
inside JSON, ISAM tag codes such as ``HZIND`` or ``BCO`` — and cannot tell what they mean. Here
each property gets a readable name (Chinese or English), values their units and words
(``PM2.5``, µg/m³, 是/否, dates without the ISO ``T``), a finding's JSON its own rows, the tag
codes a legend, and an article its text. Property names nobody described are shown as stored:
nothing is hidden except bulk (boundaries, rule YAML, decision traces).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ecobrain.model_adapters.attribution import BUILTIN_TAGS

LANGS = ("zh", "en")

# The most specific label first: a node's kind is the first of these it carries.
KINDS: dict[str, tuple[str, str]] = {
    "Task": ("任务", "task"), "Alert": ("预警", "alert"), "Measure": ("管控措施", "measure"),
    "Advice": ("建议", "advice"), "Decision": ("决策", "decision"),
    "DecisionTrace": ("决策记录", "decision trace"), "Finding": ("模式发现", "model finding"),
    "ModelRun": ("模式运行", "model run"), "RegionForecast": ("区域预报", "regional forecast"),
    "GridCell": ("网格", "grid cell"), "ModelGrid": ("模式网格", "model grid"),
    "Enterprise": ("企业", "enterprise"), "MonitoringStation": ("监测站", "monitoring station"),
    "Province": ("省", "province"), "City": ("设区市", "city"), "County": ("区县", "county"),
    "AdminRegion": ("行政区", "administrative region"), "Rule": ("规则版本", "rule version"),
    "Article": ("法规条文", "article"), "Regulation": ("法规", "regulation"),
    "Standard": ("标准", "standard"), "LimitValue": ("限值", "limit value"),
    "BreakpointRow": ("AQI 分级限值", "AQI breakpoint"),
    "AlertGrading": ("预警分级", "alert grading"),
    "ReductionRequirement": ("减排比例要求", "reduction requirement"),
    "PollutantHandling": ("污染物处置", "pollutant handling"),
    "Pollutant": ("污染物", "pollutant"), "Sector": ("行业", "sector"),
    "SourceCategory": ("污染源类别", "source category"),
    "EmergencyLevel": ("预警等级", "alert level"), "MeasureType": ("措施类型", "measure type"),
    "O3Regime": ("臭氧敏感区", "O3 regime"), "PerformanceGrade": ("绩效等级", "performance grade"),
    "Concept": ("概念", "concept"), "TaskStatusChange": ("任务状态变更", "task status change"),
    "AuditEvent": ("审计记录", "audit event"), "Job": ("作业", "job"),
}

FINDING_KINDS: dict[str, tuple[str, str]] = {
    "daily_aqi": ("日 AQI", "daily AQI"), "attribution_share": ("来源解析", "source share"),
    "emission_hotspot": ("排放热点", "emission hotspot"), "o3_regime": ("臭氧敏感性", "O3 regime"),
}

# Property names in words. Keys missing here are shown as stored.
NAMES: dict[str, tuple[str, str]] = {
    "id": ("编号", "id"), "name": ("名称", "name"), "name_zh": ("中文名称", "Chinese name"),
    "label_zh": ("中文名称", "Chinese name"), "label_en": ("英文名称", "English name"),
    "aliases": ("别名", "aliases"), "kind": ("类型", "kind"), "code": ("代码", "code"),
    "level": ("级别", "level"), "level_label": ("预警级别", "alert level"),
    "parent_code": ("上级行政区代码", "parent region code"),
    "county_code": ("所在区县代码", "county code"), "city_code": ("所在设区市代码", "city code"),
    "region_code": ("辖区代码", "region code"), "region_name": ("辖区", "region"),
    "receptor_code": ("受体区域代码", "receptor region code"),
    "lon": ("经度", "longitude"), "lat": ("纬度", "latitude"),
    "centroid_lon": ("中心经度", "centroid longitude"),
    "centroid_lat": ("中心纬度", "centroid latitude"), "area_km2": ("面积", "area"),
    "sector": ("行业", "sector"), "pollutants": ("污染物", "pollutants"),
    "performance_grade": ("绩效等级", "performance grade"),
    "key_enterprise": ("重点排污单位", "key emitter"),
    "online_monitoring": ("在线监测", "online monitoring"),
    "grid_row": ("网格行号", "grid row"), "grid_col": ("网格列号", "grid column"),
    "row": ("网格行号", "grid row"), "col": ("网格列号", "grid column"),
    "cell_id": ("所在网格", "grid cell"), "grid": ("模式网格", "model grid"),
    "synthetic": ("示例数据（非真实）", "synthetic (not real)"),
    "title": ("标题", "title"), "title_en": ("英文标题", "English title"),
    "short_title": ("简称", "short title"), "citation": ("引用名称", "citation"),
    "number_zh": ("条号", "article number"), "number": ("条序号", "article number"),
    "chapter_title": ("所在章", "chapter"), "chapter": ("章序号", "chapter number"),
    "regulation_id": ("所属法规", "regulation"), "issuer": ("发布机关", "issuer"),
    "adopted": ("通过", "adopted"), "published": ("发布日期", "published"),
    "valid_from": ("施行日期", "in force from"), "valid_to": ("失效日期", "in force until"),
    "status": ("状态", "status"), "repealed_from": ("废止日期", "repealed from"),
    "source_quality": ("来源可靠性", "source quality"), "source_url": ("来源", "source"),
    "source_urls": ("来源", "sources"), "source_file": ("来源文件", "source file"),
    "source_line": ("来源文件行号", "source line"), "note": ("说明", "note"),
    "rule_id": ("规则", "rule"), "version": ("版本", "version"), "family": ("规则族", "family"),
    "effective_from": ("生效日期", "effective from"),
    "effective_to": ("失效日期", "effective until"), "priority": ("优先级", "priority"),
    "active": ("启用", "active"), "legal_basis": ("法律依据", "legal basis"),
    "concerns": ("涉及", "concerns"), "targets": ("针对", "targets"),
    "decision_id": ("所属决策", "decision"), "run_id": ("模式运行", "model run"),
    "date": ("日期", "date"), "deadline": ("完成时限", "deadline"),
    "subject_kind": ("对象类型", "subject kind"), "subject_id": ("对象编号", "subject id"),
    "subject_name": ("对象", "subject"), "measure_types": ("措施类型", "measure types"),
    "measure_type": ("措施类型", "measure type"), "measure_label": ("措施", "measure"),
    "actions": ("工作要求", "actions"), "rule_keys": ("规则版本", "rule versions"),
    "legal_review_required": ("需法务审查", "legal review required"),
    "review_status": ("审核状态", "review status"), "start": ("开始", "start"),
    "end": ("结束", "end"), "driver": ("首要污染物", "driving pollutant"),
    "reduction_ratio": ("减排比例", "reduction ratio"), "pollutant": ("污染物", "pollutant"),
    "model": ("模式", "model"), "init_time": ("起报时间", "initialised"),
    "days": ("预报日", "forecast days"), "kinds": ("输出类型", "outputs"),
    "standards": ("执行标准", "standards"), "first_day": ("首日", "first day"),
    "last_day": ("末日", "last day"), "peak_aqi": ("最高 AQI", "peak AQI"),
    "alerts": ("预警数", "alerts"), "measures": ("措施数", "measures"),
    "tasks": ("任务数", "tasks"), "advice": ("建议数", "advice"), "warnings": ("提示", "warnings"),
    "aqi": ("AQI", "AQI"), "category_zh": ("AQI 类别", "AQI category"),
    "primary_pollutants": ("首要污染物", "primary pollutants"),
    "exceeding_pollutants": ("超标污染物", "exceeding pollutants"),
    "concentrations": ("浓度", "concentration"), "iaqi": ("分指数 IAQI", "IAQI"),
    "standard": ("标准", "standard"), "metric": ("指标", "metric"), "tag": ("来源标记", "tag"),
    "source_region": ("来源区域", "source region"), "source_sector": ("来源行业", "source sector"),
    "concentration": ("该来源浓度", "concentration from the source"),
    "bulk_concentration": ("总浓度", "total concentration"), "share": ("贡献占比", "share"),
    "species": ("物种", "species"), "prior": ("清单排放", "inventory emission"),
    "posterior": ("反演排放", "inverted emission"), "excess": ("超出清单", "excess"),
    "ratio": ("比值", "ratio"), "rank": ("排名", "rank"),
    "period_start": ("时段开始", "period start"), "period_end": ("时段结束", "period end"),
    "regime": ("敏感性类型", "regime"), "hcho_ppb": ("甲醛", "HCHO"),
    "no2_ppb": ("二氧化氮", "NO2"),
    "thresholds": ("阈值", "thresholds"), "threshold_source": ("阈值来源", "threshold source"),
    "search_radius_km": ("搜索半径", "search radius"), "counties": ("涉及区县", "counties"),
    "provenance": ("数据来源", "provenance"), "region_level": ("辖区级别", "region level"),
    "receptor_level": ("受体级别", "receptor level"), "is_builtin": ("内置标记", "built-in tag"),
    "unit": ("单位", "unit"), "value": ("限值", "value"), "class": ("功能区类别", "class"),
    "averaging": ("平均时间", "averaging time"), "iaqi_value": ("IAQI", "IAQI"),
    "cas_number": ("CAS 号", "CAS number"), "chemical_formula": ("化学式", "formula"),
    "molar_mass": ("摩尔质量", "molar mass"), "comment_zh": ("说明", "comment"),
    "comment_en": ("英文说明", "English comment"), "phase": ("阶段", "phase"),
    "ncells_in_province": ("省内网格数", "cells in the province"),
    "min_share": ("最低减排比例", "minimum share"), "basis": ("基数", "basis"),
    "quote": ("原文摘录", "quote"), "article_count": ("条文数", "articles"),
}

UNITS: dict[str, str] = {
    "area_km2": "km²", "lon": "°E", "lat": "°N", "centroid_lon": "°E", "centroid_lat": "°N",
    "prior": "t/d", "posterior": "t/d", "excess": "t/d", "search_radius_km": "km",
    "hcho_ppb": "ppb", "no2_ppb": "ppb", "molar_mass": "g/mol",
}

# Shown elsewhere (the text, a legend) or too big to read in a panel.
HIDDEN = frozenset({"boundary_wkt", "yaml", "data", "paragraphs", "iri", "json", "checksum",
                    "days_json", "grid", "item_paragraphs", "text", "file", "run_dir"})

# ISAM's built-in tags (CMAQ writes them whatever the manifest says).
BUILTIN_TAG_WORDS: dict[str, tuple[str, str]] = {
    "BCO": ("边界条件：模拟区域外传入", "boundary conditions: carried in from outside the domain"),
    "OTH": ("其他：未单独标记的排放源", "other: emissions not tagged on their own"),
    "ICO": ("初始条件：起报时已在大气中", "initial conditions: already in the air at start"),
    "BID": ("双向交换：地表-大气双向通量", "bidirectional surface exchange"),
}
SECTOR_WORDS: dict[str, tuple[str, str]] = {
    "industry": ("工业", "industry"), "mobile": ("移动源", "mobile sources"),
    "power": ("电力", "power"), "regional": ("区域传输", "regional transport"),
    "residential": ("生活源", "residential"), "agriculture": ("农业", "agriculture"),
    "dust": ("扬尘", "dust"),
}
_BOOL = {True: ("是", "yes"), False: ("否", "no")}
_AVERAGING = {"24h": ("24小时平均", "24-h mean"), "8h": ("8小时滑动平均", "8-h running mean"),
              "1h": ("1小时平均", "1-h mean")}
_METRIC = re.compile(r"^([A-Za-z0-9_]+?)_(24h|8h|1h)$")
_ISO_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def pollutant(code: str) -> str:
    """``PM2_5`` → ``PM2.5``; also inside metrics (``PM2_5_24h``) and free text."""
    return code.replace("PM2_5", "PM2.5").replace("PM25", "PM2.5")


def metric(code: str, lang: str = "zh") -> str:
    """``PM2_5_24h`` → ``PM2.5 24小时平均``; a bare pollutant code gets its dot."""
    m = _METRIC.match(code)
    if not m:
        return pollutant(code)
    return f"{pollutant(m.group(1))} {_pick(_AVERAGING[m.group(2)], lang)}"


def concentration_unit(code: str) -> str:
    return "mg/m³" if code.upper().startswith("CO") else "µg/m³"


def kind_of(labels: list[str]) -> str:
    """The node's most specific label (its kind on the canvas)."""
    for label in KINDS:
        if label in labels:
            return label
    return labels[0] if labels else "Node"


def kind_name(kind: str, lang: str = "zh") -> str:
    return _pick(KINDS.get(kind, (kind, kind)), lang)


def _finding(props: Mapping[str, Any]) -> dict[str, Any]:
    raw = props.get("json")
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
            return parsed if isinstance(parsed, dict) else {}
        except ValueError:
            return {}
    return {}


def caption(labels: list[str], props: Mapping[str, Any], lang: str = "zh") -> str:
    """A short name for the canvas: what a person would call the node."""
    kind = kind_of(labels)
    p = props
    if kind == "Task":
        who = p.get("subject_name") or p.get("subject_id") or ""
        colon = ": " if lang == "en" else "："
        return f"{_pick(KINDS['Task'], lang)}{colon}{p.get('region_name') or ''} {who}".strip()
    if kind in ("Alert", "Measure", "Advice"):
        what = p.get("level_label") or p.get("measure_label") or kind_name(kind, lang)
        return f"{p.get('region_name') or ''}{what}"
    if kind == "Decision":
        return f"{kind_name(kind, lang)} {p.get('date') or p.get('id')}"
    if kind == "Finding":
        f = _finding(p)
        what = _pick(FINDING_KINDS.get(str(p.get("kind")), (str(p.get("kind")),) * 2), lang)
        where = f.get("region_name") or f.get("receptor_code") or f.get("region_code") \
            or f.get("cell_id") or ""
        extra = f.get("tag") or pollutant(str(f.get("species") or f.get("pollutant") or ""))
        return " ".join(str(x) for x in (what, where, extra, f.get("date") or "") if x)
    if kind == "Article":
        return str(p.get("citation") or p.get("title") or p.get("id"))
    if kind == "RegionForecast":
        return f"{p.get('region_name') or p.get('region_code')} {kind_name(kind, lang)}"
    if kind == "ModelRun":
        return f"{kind_name(kind, lang)} {p.get('id')}"
    if lang == "en" and p.get("label_en"):
        return str(p["label_en"])
    for key in ("name", "name_zh", "label_zh", "title", "label_en", "id"):
        if p.get(key):
            return str(p[key])
    return ""


def _scalar(key: str, value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return _pick(_BOOL[value], lang)
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str) and key in ("sector",) and lang == "zh":
        text = value
    else:
        text = str(value)
    if isinstance(value, str):
        m = _ISO_TIME.match(value)
        if m:
            zone = m.group(3) or ""
            zone = "UTC" if zone == "Z" else (f"UTC{zone}" if zone else "")
            text = f"{m.group(1)} {m.group(2)} {zone}".strip()
        else:
            text = pollutant(value)
    if key == "share":
        return f"{float(value) * 100:.1f}%"
    if key in ("reduction_ratio", "min_share"):
        return f"{float(value) * 100:.0f}%"
    unit = UNITS.get(key)
    return f"{text} {unit}" if unit else text


def value_text(key: str, value: Any, lang: str = "zh") -> str:
    """A property's value in words; lists joined, pollutant codes with their dot."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list | tuple):
        return "、".join(_scalar(key, v, lang) for v in value) if lang == "zh" \
            else ", ".join(_scalar(key, v, lang) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{metric(str(k), lang)} {value_text(str(k), v, lang)}"
                        for k, v in value.items())
    return _scalar(key, value, lang)


def name_of(key: str, lang: str = "zh") -> str:
    return _pick(NAMES[key], lang) if key in NAMES else key


def _rows(props: Mapping[str, Any], lang: str) -> list[dict[str, str]]:
    rows = []
    for key in sorted(props, key=lambda k: (k not in NAMES, list(NAMES).index(k)
                                            if k in NAMES else 0, k)):
        if key in HIDDEN:
            continue
        rows.append({"key": key, "name": name_of(key, lang), "value": value_text(key,
                                                                                props[key], lang)})
    return rows


def _finding_rows(f: Mapping[str, Any], lang: str) -> list[dict[str, str]]:
    rows = []
    for key, value in f.items():
        if key in ("kind", "run_id", "grid"):
            continue
        if key == "concentrations" and isinstance(value, dict):
            for m, c in value.items():
                rows.append({"key": f"concentrations.{m}",
                             "name": f"{name_of(key, lang)} · {metric(m, lang)}",
                             "value": f"{c:.4g} {concentration_unit(m)}"})
        elif key == "iaqi" and isinstance(value, dict):
            for m, c in value.items():
                rows.append({"key": f"iaqi.{m}", "name": f"IAQI · {metric(m, lang)}",
                             "value": str(c)})
        elif key in ("concentration", "bulk_concentration"):
            unit = concentration_unit(str(f.get("pollutant") or ""))
            rows.append({"key": key, "name": name_of(key, lang), "value": f"{value:.4g} {unit}"})
        elif key == "provenance" and isinstance(value, dict):
            what = f"{value.get('file') or ''} {'、'.join(value.get('variables') or [])}"
            rows.append({"key": key, "name": name_of(key, lang), "value": what.strip()})
        elif key in ("prior", "posterior", "excess") and f.get("units"):
            unit = "吨/日" if lang == "zh" and f["units"] == "t/day" else f["units"]
            rows.append({"key": key, "name": name_of(key, lang), "value": f"{value:.4g} {unit}"})
        elif key == "units":
            continue
        else:
            rows.append({"key": key, "name": name_of(key, lang),
                         "value": value_text(key, value, lang)})
    return rows


def tag_legend(tag: str, source_region: str | None, source_sector: str | None,
               region_names: Mapping[str, str], lang: str = "zh") -> str:
    """What an ISAM tag code stands for: a built-in's meaning, or the manifest's region and
    sector of a user tag (HZIND → 杭州市（330100）· 工业)."""
    if tag in BUILTIN_TAG_WORDS:
        return _pick(BUILTIN_TAG_WORDS[tag], lang)
    if tag in BUILTIN_TAGS:
        return BUILTIN_TAGS[tag]
    parts = []
    if source_region:
        if source_region == "outside":
            parts.append("省外传输" if lang == "zh" else "from outside the province")
        else:
            name = region_names.get(source_region)
            parts.append(f"{name}（{source_region}）" if name else source_region)
    if source_sector:
        parts.append(_pick(SECTOR_WORDS.get(source_sector, (source_sector,) * 2), lang))
    return " · ".join(parts) or ("清单未说明" if lang == "zh" else "not described")


# Properties whose values are ontology concept ids (StopOpenAirBarbecue, NOx, Catering).
CONCEPT_KEYS = frozenset({"sector", "measure_type", "measure_types", "concerns", "targets",
                          "pollutants", "pollutant", "driver", "subject_id", "level", "regime",
                          "primary_pollutants", "exceeding_pollutants"})


def concept_codes(props: Mapping[str, Any]) -> set[str]:
    """The values of `props` (and of a finding's JSON) that may be concept ids."""
    codes: set[str] = set()
    for source in (props, _finding(props)):
        for key in CONCEPT_KEYS & set(source):
            value = source[key]
            for v in value if isinstance(value, list | tuple) else [value]:
                if isinstance(v, str) and v:
                    codes.add(v)
    return codes


def _concept_rows(rows: list[dict[str, str]], props: Mapping[str, Any],
                  concepts: Mapping[str, tuple[str, str]], lang: str) -> None:
    """Concept ids in the rows said in words (停止露天烧烤, not StopOpenAirBarbecue)."""
    for row in rows:
        if row["key"] not in CONCEPT_KEYS or row["key"] not in props:
            continue
        value = props[row["key"]]
        values = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(v, str) and v in concepts for v in values):
            words = [_pick(concepts[v], lang) if v in concepts else pollutant(str(v))
                     for v in values]
            row["value"] = ("、" if lang == "zh" else ", ").join(words)


def plain(labels: list[str], props: Mapping[str, Any], region_names: Mapping[str, str],
          lang: str = "zh", concepts: Mapping[str, tuple[str, str]] | None = None
          ) -> dict[str, Any]:
    """The panel: kind, caption, rows of name/value, the article's text, and legends.
    `concepts`: concept id → (Chinese, English) label, for the ids among the values."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}")
    concepts = concepts or {}
    kind = kind_of(labels)
    rows = _rows(props, lang)
    _concept_rows(rows, props, concepts, lang)
    out: dict[str, Any] = {"id": props.get("id"), "labels": sorted(labels), "kind": kind,
                           "kind_name": kind_name(kind, lang),
                           "caption": caption(labels, props, lang),
                           "rows": rows, "text": None, "legend": []}
    if kind == "Article" and props.get("text"):
        out["text"] = str(props["text"])
    finding = _finding(props) if kind == "Finding" else {}
    if finding:
        out["rows"] += _finding_rows(finding, lang)
        if finding.get("tag"):
            out["legend"].append({"code": finding["tag"], "meaning": tag_legend(
                str(finding["tag"]), finding.get("source_region"),
                finding.get("source_sector"), region_names, lang)})
    codes = {str(v) for k, v in {**props, **finding}.items()
             if k.endswith("_code") and isinstance(v, str)}
    for code in sorted(codes & set(region_names)):
        out["legend"].append({"code": code, "meaning": region_names[code]})
    listed = {entry["code"] for entry in out["legend"]}
    for code in sorted(concept_codes(props) & set(concepts) - listed):
        out["legend"].append({"code": code, "meaning": _pick(concepts[code], lang)})
        listed.add(code)
    for key in ("pollutant", "driver"):
        value = finding.get(key) or props.get(key)
        if isinstance(value, str) and "_" in value and value not in listed:
            out["legend"].append({"code": value, "meaning": pollutant(value)})
    return out
