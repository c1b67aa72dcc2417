"""The evaluation report of one city: did the measures of an approved decision work?

Rendered from an :class:`~ecobrain.reasoning.evaluation.post_measure.Evaluation` (the graph's
copy) as HTML and Markdown, beside the task lists. Three tables — the city's counties against
the plan's reduction figure, its enterprises grouped by what the posterior shows (reduced /
partly / unchanged), its hotspots (gone or still there) — each with the bureau's reported
status beside the model's evidence, and the disagreements listed first. Rows are sorted by a
defined key (county code, then name, then task id) so the same evaluation gives the same page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecobrain.api.documents.task_list import safe_filename, template_env
from ecobrain.ontology.geography import regions_by_code
from ecobrain.reasoning.decisions.task_status import LABELS_ZH
from ecobrain.reasoning.evaluation.outcomes import Evaluation, SpeciesOutcome

VERDICT_ZH = {"reduced": "达到计划减排", "partly": "部分减排，未达计划", "unchanged": "未见下降",
              "no_target": "无比例要求"}
SPECIES_STATUS_ZH = {"met": "达标", "short": "未达标", "unchanged": "未下降", "no_target": "—"}
SPECIES_ZH = {"NOx": "NOx", "SO2": "SO2", "VOCs": "VOCs", "PM2_5": "PM2.5"}
LEVEL_ZH = {"AlertBlue": "蓝色", "AlertYellow": "黄色", "AlertOrange": "橙色", "AlertRed": "红色"}
FORMATS = ("html", "md")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def _species_text(s: SpeciesOutcome) -> str:
    return (f"{SPECIES_ZH.get(s.species, s.species)} {s.before:.3f}→{s.during:.3f} t/d，"
            f"减{_pct(s.achieved)}（计划{_pct(s.target)}，{SPECIES_STATUS_ZH[s.status]}）")


def report_context(ev: Evaluation, city_code: str) -> dict[str, Any]:
    regions = regions_by_code()
    city = regions.get(city_code)
    tasks, counties = ev.for_city(city_code)

    def county_name(code: str, fallback: str = "") -> str:
        r = regions.get(code)
        return r.name_zh if r else fallback or code

    county_rows = [{
        "code": c.county_code, "name": c.county_name or county_name(c.county_code),
        "levels": "、".join(LEVEL_ZH.get(lv, lv) for lv in c.levels),
        "target": _pct(c.emissions.species[0].target if c.emissions.species else None),
        "species": [_species_text(s) for s in c.emissions.species],
        "verdict": c.emissions.verdict, "verdict_zh": VERDICT_ZH[c.emissions.verdict],
        "days": f"{c.emissions.days[0]}至{c.emissions.days[-1]}",
        "reference": ("措施前" + "、".join(str(d) for d in c.emissions.before_days)
                      if c.emissions.reference == "days_before" else "清单（先验）"),
    } for c in sorted(counties, key=lambda c: c.county_code)]
    ent = [t for t in tasks if t.emissions is not None]
    ent.sort(key=lambda t: (t.region_code, t.subject_name, t.task_id))
    groups = []
    for verdict in ("reduced", "partly", "unchanged", "no_target"):
        rows = [{
            "county": county_name(t.region_code, t.region_name), "name": t.subject_name,
            "task_id": t.task_id, "measures": "、".join(t.measure_labels),
            "cell": t.cell or "", "shares": "、".join(t.shares_cell_with),
            "species": [_species_text(s) for s in t.emissions.species],  # type: ignore[union-attr]
            "status": LABELS_ZH.get(t.status, t.status), "note": t.status_note,
            "disagreement": t.disagreement or "", "remark": t.remark or "",
        } for t in ent if t.emissions and t.emissions.verdict == verdict]
        if rows:
            groups.append({"verdict": verdict, "title": VERDICT_ZH[verdict], "rows": rows})
    hotspot_rows = []
    for t in sorted(tasks, key=lambda t: (t.region_code, t.task_id)):
        for h in t.hotspots:
            hotspot_rows.append({
                "county": county_name(t.region_code, t.region_name), "task_id": t.task_id,
                "subject": t.subject_name, "species": SPECIES_ZH.get(h.species, h.species),
                "cell": h.cell_id, "found": f"{h.found_on}：超出清单{h.found_excess:.2f} t/d",
                "days": len(h.days), "persisting": len(h.persisting_days),
                "last": "—" if h.last_excess is None else f"{h.last_excess:.2f} t/d",
                "gone": h.gone, "verdict_zh": "热点消失" if h.gone else "热点仍在",
                "status": LABELS_ZH.get(t.status, t.status),
                "disagreement": t.disagreement or ""})
    disagreements = [{"county": county_name(t.region_code, t.region_name),
                      "name": t.subject_name, "task_id": t.task_id, "text": t.disagreement}
                     for t in sorted(tasks, key=lambda t: (t.region_code, t.subject_name,
                                                           t.task_id)) if t.disagreement]
    count = {v: sum(1 for t in ent if t.emissions and t.emissions.verdict == v)
             for v in VERDICT_ZH}
    return {
        "title": f"{city.name_zh if city else city_code}重污染天气应急措施实施效果评估",
        "city_code": city_code, "evaluation_id": ev.id, "decision_id": ev.decision_id,
        "run_id": ev.run_id, "run_days": f"{ev.run_days[0]}至{ev.run_days[-1]}",
        "species": "、".join(SPECIES_ZH.get(s, s) for s in ev.species),
        "unchanged_below": _pct(ev.unchanged_below),
        "counties": county_rows,
        "counties_by_verdict": {VERDICT_ZH[v]: sum(1 for c in county_rows if c["verdict"] == v)
                                for v in VERDICT_ZH},
        "enterprise_groups": groups,
        "enterprises_by_verdict": {VERDICT_ZH[v]: n for v, n in count.items()},
        "hotspots": hotspot_rows,
        "hotspots_gone": sum(1 for h in hotspot_rows if h["gone"]),
        "hotspots_persisting": sum(1 for h in hotspot_rows if not h["gone"]),
        "disagreements": disagreements, "notes": ev.notes,
    }


def render_report(ev: Evaluation, city_code: str, fmt: str = "html") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    ctx = report_context(ev, city_code)
    tpl = template_env(fmt == "html").get_template(f"evaluation.{fmt}.j2")
    return tpl.render(ctx)


def write_reports(ev: Evaluation, folder: Path, formats: tuple[str, ...] = FORMATS
                  ) -> dict[str, dict[str, str]]:
    """Every city's report into `folder`: city code -> {format: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, str]] = {}
    regions = regions_by_code()
    for code in ev.cities():
        name = regions[code].name_zh if code in regions else code
        for fmt in formats:
            path = folder / f"{safe_filename(name)}_{code}_效果评估.{fmt}"
            path.write_text(render_report(ev, code, fmt), encoding="utf-8")
            out.setdefault(code, {})[fmt] = str(path)
    return out
