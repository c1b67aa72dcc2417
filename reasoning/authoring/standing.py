"""A rule version's standing on a date: what an expert needs to read a rule list.

``status`` (active, draft, retired) says whether decisions *may* use a version; whether they
*do* on a given day also depends on its dates and on the other versions of the rule: per rule,
the highest active version in force on the day is used (``RuleBase.in_force``). So on any day
after 2024-01-22 the 2017 grading is active but expired, not "in force".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

Standing = Literal["in_force", "draft", "not_in_force", "retired"]


def _in_period(v: Mapping[str, Any], day: str) -> bool:
    start, end = v.get("effective_from"), v.get("effective_to")
    return (not start or start <= day) and (not end or day <= end)


def standings(versions: Sequence[Mapping[str, Any]], on: date) -> list[tuple[Standing, str]]:
    """For the versions of one rule (dicts with version, status, effective_from/to as ISO
    dates): each one's standing on `on` and the reason in Chinese."""
    day = on.isoformat()
    used = max((int(v["version"]) for v in versions
                if v["status"] == "active" and _in_period(v, day)), default=None)
    out: list[tuple[Standing, str]] = []
    for v in versions:
        if v["status"] == "draft":
            out.append(("draft", "草稿，未启用"))
        elif v["status"] != "active":
            out.append(("retired", "已停用"))
        elif int(v["version"]) == used:
            out.append(("in_force", "当日生效"))
        elif v.get("effective_to") and v["effective_to"] < day:
            later = f"，由 v{used} 取代" if used is not None else ""
            out.append(("not_in_force", f"{v['effective_to']} 止，已失效{later}"))
        elif v.get("effective_from") and v["effective_from"] > day:
            out.append(("not_in_force", f"{v['effective_from']} 起生效，尚未生效"))
        else:
            out.append(("not_in_force", f"被较新版本 v{used} 取代"))
    return out
