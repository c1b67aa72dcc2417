"""The parts of a task list that make it readable as a work document: the overview, the
grouping of tasks by county and measure, the table of contents, and a defined order for
every list.

A city's document carries hundreds of tasks (584 for Hangzhou on a December run). A bureau
chief reads the overview first — which counties are under which alert, how many tasks of each
measure, how many enterprises of each performance grade — then turns to a county and, inside
it, to one measure. Every list here is sorted by a key written down in this module, never by
the graph server's row order, so the same decision always renders the same document.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

# Emergency-performance grades (kb_loaders.enterprises.GRADES), in the order a reader expects.
GRADE_ORDER = ("leading", "A", "B", "C", "D", "")
GRADE_ZH = {"leading": "引领性", "A": "A级", "B": "B级", "C": "C级", "D": "D级", "": "未分级"}
OTHER_MEASURE = "其他任务"


def task_measure(task: dict[str, Any]) -> str:
    """The measure a task is filed under: its first action's (the rule's own measure)."""
    for item in task.get("items") or []:
        if item.get("measure_label"):
            return str(item["measure_label"])
    return OTHER_MEASURE


def task_sort_key(task: dict[str, Any]) -> tuple[Any, ...]:
    """Highest priority first, then by measure, subject kind and name, and the id last (unique)."""
    s = task["subject"]
    return (-int(task.get("priority", 0)), task_measure(task), s.get("kind") or "",
            s.get("name") or s.get("id") or "", task["id"])


def advice_sort_key(advice: dict[str, Any]) -> tuple[Any, ...]:
    """管控建议: highest priority first, then measure, pollutant and id (was graph row order)."""
    return (-int(advice.get("priority", 0)), advice.get("measure_label") or "",
            advice.get("pollutant") or "", advice.get("id") or "")


def measure_sort_key(measure: dict[str, Any]) -> tuple[Any, ...]:
    return (measure.get("start") or "", measure.get("measure_label") or "",
            measure.get("id") or "")


def by_measure(tasks: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Tasks filed by measure: the measure with the highest-priority task first, then by name;
    inside a measure by :func:`task_sort_key`."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        groups[task_measure(t)].append(t)
    ordered = sorted(groups.items(), key=lambda kv: (
        min(task_sort_key(t)[0] for t in kv[1]), kv[0] == OTHER_MEASURE, kv[0]))
    return [(name, sorted(ts, key=task_sort_key)) for name, ts in ordered]


def grade_key(grade: str | None) -> str:
    g = (grade or "").strip()
    return g if g in GRADE_ZH else ""


def overview(scope: Sequence[str], names: dict[str, str], tasks: dict[str, list[dict[str, Any]]],
             alerts: dict[str, dict[str, Any]], grades: dict[str, str | None],
             label: Any) -> dict[str, Any]:
    """The overview of a document covering the regions in `scope` (the region first).

    - ``alerts``: one row per region of the scope — its own alert, or none;
    - ``measures``: tasks per measure, with the number of regions they fall in;
    - ``grades``: tasked enterprises (each counted once) per performance grade.
    """
    alert_rows = []
    for code in scope:
        a = alerts.get(code)
        n = len(tasks.get(code, []))
        alert_rows.append({
            "code": code, "name": names.get(code, code), "tasks": n,
            "level": a["level_label"] if a else "无单独预警",
            "period": (f"{a.get('start') or '…'} 至 {a.get('end') or '…'}" if a else "—"),
            "driver": (label(a.get("driver")) or "—") if a else "—",
        })
    measure_tasks: Counter[str] = Counter()
    measure_regions: dict[str, set[str]] = defaultdict(set)
    enterprises: dict[str, str] = {}
    for code in scope:
        for t in tasks.get(code, []):
            m = task_measure(t)
            measure_tasks[m] += 1
            measure_regions[m].add(code)
            s = t["subject"]
            if s.get("kind") == "enterprise":
                enterprises[s["id"]] = grade_key(grades.get(s["id"]))
    measure_rows = [{"measure": m, "tasks": n, "regions": len(measure_regions[m])}
                    for m, n in sorted(measure_tasks.items(), key=lambda kv: (-kv[1], kv[0]))]
    grade_count = Counter(enterprises.values())
    grade_rows = [{"grade_key": g, "grade": GRADE_ZH[g], "enterprises": grade_count[g]}
                  for g in GRADE_ORDER if grade_count[g]]
    return {"alerts": alert_rows, "measures": measure_rows, "grades": grade_rows,
            "enterprise_total": len(enterprises),
            "task_total": sum(len(tasks.get(c, [])) for c in scope)}


def contents(groups: Iterable[dict[str, Any]], has_effects: bool) -> list[dict[str, Any]]:
    """The table of contents: the document's sections, and under 任务清单 each county group
    and its measures (anchor ids are those of the HTML)."""
    entries = [{"anchor": "overview", "title": "概况", "level": 1},
               {"anchor": "alert", "title": "一、预警与应急措施", "level": 1}]
    if has_effects:
        entries.append({"anchor": "effects", "title": "措施预期效果（情景模拟）", "level": 2})
    entries.append({"anchor": "tasks", "title": "二、任务清单", "level": 1})
    for g in groups:
        entries.append({"anchor": g["anchor"], "title": f"{g['title']}（{g['count']} 项）",
                        "level": 2})
    entries += [{"anchor": "advice", "title": "三、管控建议", "level": 1},
                {"anchor": "figures", "title": "四、图件", "level": 1},
                {"anchor": "appendix", "title": "附录　引用条款全文", "level": 1},
                {"anchor": "notes", "title": "说明", "level": 1}]
    for e in entries:  # Word and Markdown indent the second level by hand
        e["indent"] = "　　" * (e["level"] - 1)
    return entries
