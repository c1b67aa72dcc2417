"""Pollution episodes: runs of consecutive Beijing days with daily AQI above a threshold.

The alert rules (环大气〔2024〕6号, FACTS.md §3.A) are stated in days of daily AQI > 200 / > 300,
and treat PM2.5-driven and O3-driven episodes differently, so each episode says which pollutant
drove it. AQI is capped at 500 by the tables, so the 500 threshold is read as "reaches 500"
(≥), as the 2017 grading wrote "AQI日均值达到500" (FACTS.md §3.B); the comparisons are data here,
not hidden in code.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence

from ecobrain.model_adapters.findings import Episode, Provenance, RegionDailyAQI

DEFAULT_THRESHOLDS: tuple[tuple[int, str], ...] = ((200, ">"), (300, ">"), (500, ">="))


def _passes(aqi: int, threshold: int, op: str) -> bool:
    return aqi > threshold if op == ">" else aqi >= threshold


def _driver(days: list[RegionDailyAQI], peak: RegionDailyAQI) -> tuple[str, Counter]:
    counts: Counter = Counter()
    for d in days:
        for p in d.primary_pollutants:
            counts[p] += 1
    if not counts:
        return "mixed", counts
    best = max(counts.values())
    top = [p for p, c in counts.items() if c == best]
    if len(top) == 1:
        return top[0], counts
    on_peak = [p for p in top if p in peak.primary_pollutants]
    return (on_peak[0] if len(on_peak) == 1 else "mixed"), counts


def detect_episodes(daily: Sequence[RegionDailyAQI], days: Sequence[dt.date], *,
                    thresholds: Sequence[tuple[int, str]] = DEFAULT_THRESHOLDS,
                    levels: Sequence[str] = ("province", "city", "county"),
                    ) -> list[Episode]:
    """Episodes per region (of the given levels) and threshold, in date order.

    ``days`` are the complete forecast days; an episode touching the first or last of them is
    flagged ``open_start``/``open_end`` (it may have begun before or go on after the forecast).
    """
    first, last = (min(days), max(days)) if days else (None, None)
    by_region: dict[tuple[str, str], list[RegionDailyAQI]] = defaultdict(list)
    for f in daily:
        if f.region_level in levels:
            by_region[(f.region_level, f.region_code)].append(f)
    out: list[Episode] = []
    for (_level, _code), rows in sorted(by_region.items()):
        rows.sort(key=lambda r: r.date)
        for threshold, op in thresholds:
            run: list[RegionDailyAQI] = []
            for r in rows:
                if not _passes(r.aqi, threshold, op):
                    if run:
                        out.append(_episode(run, threshold, op, first, last))
                    run = []
                elif run and (r.date - run[-1].date).days == 1:
                    run.append(r)
                else:
                    if run:
                        out.append(_episode(run, threshold, op, first, last))
                    run = [r]
            if run:
                out.append(_episode(run, threshold, op, first, last))
    return out


def _episode(run: list[RegionDailyAQI], threshold: int, op: str, first: dt.date | None,
             last: dt.date | None) -> Episode:
    peak = max(run, key=lambda r: (r.aqi, -r.date.toordinal()))
    driver, counts = _driver(run, peak)
    primaries: list[str] = []
    for r in run:
        for p in r.primary_pollutants:
            if p not in primaries:
                primaries.append(p)
    standards: list[str] = []
    for r in run:
        if r.standard not in standards:
            standards.append(r.standard)
    p0, p1 = run[0].provenance, run[-1].provenance
    t0 = p0.time_index[0] if p0.time_index else None
    t1 = p1.time_index[1] if p1.time_index else None
    prov = Provenance(
        run_id=p0.run_id, file=p0.file, variables=p0.variables,
        time_index=(t0, t1) if t0 is not None and t1 is not None else None,
        cells=p0.cells, region_cell_count=p0.region_cell_count, region_method=p0.region_method,
    )
    return Episode(
        run_id=run[0].run_id, region_code=run[0].region_code, region_level=run[0].region_level,
        region_name=run[0].region_name, threshold=threshold, comparison=op,
        start_date=run[0].date, end_date=run[-1].date, days=len(run), peak_aqi=peak.aqi,
        peak_date=peak.date, primary_pollutants=primaries, days_by_primary=dict(counts),
        driver=driver, open_start=run[0].date == first, open_end=run[-1].date == last,
        standards=standards, provenance=prov,
    )
