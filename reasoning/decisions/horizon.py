"""Forecast horizon honesty: what a run is too short to establish or rule out.

The alert grading (``knowledge/standards/alert_grading.yaml``) counts days and runs of days:
red needs AQI > 200 for 72 h *and* > 300 for 24 h. A 48 h run at AQI 310 grades orange, yet
it ends inside the episode and cannot rule out red. For each region this compares the level
the forecast establishes with the level it would reach if the last forecast day's AQI
persisted (the persistence assumption is the convention, stated in the text); when the second
is higher, the alert says which level the next run must confirm, and the decision carries a
warning.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache, partial
from importlib.resources import files
from typing import Any

from ecobrain.model_adapters.findings import RegionDailyAQI, RunFindings
from ecobrain.model_adapters.run_warnings import WarningLog
from ecobrain.yaml12 import load_yaml

LEVEL_ZH = {"AlertBlue": "蓝色预警", "AlertYellow": "黄色预警", "AlertOrange": "橙色预警",
            "AlertRed": "红色预警"}
# Days appended at the last day's AQI: longer than the longest duration in any grading (96 h).
PERSISTENCE_DAYS = 5


@cache
def _grading_doc() -> dict[str, Any]:
    path = files("ecobrain.knowledge") / "standards" / "alert_grading.yaml"
    return load_yaml(path.read_text(encoding="utf-8"), dates=False)


def grading_for(day: date) -> Mapping[str, Any]:
    """The alert-grading version in force on ``day``."""
    iso = day.isoformat()
    for v in _grading_doc()["versions"]:
        if (v.get("valid_from") or "0000") <= iso <= (v.get("valid_to") or "9999"):
            return v
    return _grading_doc()["versions"][0]


def _longest_run(series: Sequence[int], ok: Any) -> int:
    best = cur = 0
    for a in series:
        cur = cur + 1 if ok(a) else 0
        best = max(best, cur)
    return best


def _holds(crit: Mapping[str, Any], series: Sequence[int]) -> bool:
    if "any_of" in crit:
        return any(_holds(c, series) for c in crit["any_of"])
    if "all_of" in crit:
        return all(_holds(c, series) for c in crit["all_of"])
    # a > x is x < a; a >= x is x <= a
    ok = partial(operator.lt, crit["aqi_gt"]) if "aqi_gt" in crit else \
        partial(operator.le, crit["aqi_gte"])
    if "hours" in crit:
        return _longest_run(series, ok) * 24 >= int(crit["hours"])
    return sum(1 for a in series if ok(a)) >= int(crit.get("days", 1))


def highest_level(version: Mapping[str, Any], series: Sequence[int]) -> str | None:
    """The highest alert level the daily AQI series meets (levels are listed low to high)."""
    out = None
    for lv in version["levels"]:
        if _holds(lv, series):
            out = lv["level"]
    return out


def _rank(version: Mapping[str, Any], level: str | None) -> int:
    levels = [lv["level"] for lv in version["levels"]]
    return levels.index(level) if level in levels else -1


def open_level(series: Sequence[int], last_day: date) -> tuple[str | None, str | None]:
    """(level established, higher level the run cannot rule out — None when it can)."""
    if not series:
        return None, None
    version = grading_for(last_day)
    now = highest_level(version, series)
    could = highest_level(version, [*series, *[series[-1]] * PERSISTENCE_DAYS])
    if _rank(version, could) > _rank(version, now):
        return now, could
    return now, None


def horizon_note(days: Sequence[RegionDailyAQI]) -> tuple[str | None, str | None, str]:
    """(established level, open level, Chinese note for the alert — '' when nothing is open)."""
    days = sorted(days, key=lambda d: d.date)
    series = [d.aqi for d in days]
    if not days:
        return None, None, ""
    now, could = open_level(series, days[-1].date)
    if could is None:
        return now, None, ""
    return now, could, (f"；预报仅{len(days)}天（至{days[-1].date.isoformat()}），末日AQI为"
                        f"{series[-1]}：若污染持续可达{LEVEL_ZH.get(could, could)}，"
                        f"不能排除，需下次运行确认")


def warn_horizon(log: WarningLog, findings: RunFindings) -> None:
    """One warning per city and the province whose forecast leaves a higher level open."""
    by_region: dict[str, list[RegionDailyAQI]] = {}
    for d in findings.daily_aqi:
        if d.region_level in ("city", "province"):
            by_region.setdefault(d.region_code, []).append(d)
    for code in sorted(by_region):
        days = sorted(by_region[code], key=lambda d: d.date)
        now, could, _ = horizon_note(days)
        if could is None:
            continue
        name = days[0].region_name or code
        now_zh = LEVEL_ZH.get(now, now) if now else "未达预警"
        log.warn(
            "horizon",
            f"{name}：预报仅{len(days)}天（至{days[-1].date.isoformat()}），"
            f"末日AQI {days[-1].aqi}，现为{now_zh}；"
            f"若污染持续可达{LEVEL_ZH.get(could, could)}，需下次运行确认",
            f"{name} ({code}): the forecast covers {len(days)} day(s) to "
            f"{days[-1].date.isoformat()} and ends at AQI {days[-1].aqi}; it establishes "
            f"{now or 'no alert'} but cannot rule out {could}: the next run must confirm")
