"""What a Rete network should not compute: runs of days, counts, shares, majorities.

A rule says "AQI > 200 for 72 hours"; matching that on daily facts would take a join per day
and a count — brittle and slow. These functions summarise the findings into one fact per
region (or per hotspot, per receptor) with the runs, counts and shares already computed, and
the rules compare numbers. Pure functions over findings and plain rows read from the graph,
so they are tested without a graph and give the same result every time (inputs are sorted).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyproj

from ecobrain.model_adapters.findings import (
    AttributionShare,
    EmissionHotspot,
    O3Regime,
    RegionDailyAQI,
    grid_spec,
)
from ecobrain.model_adapters.grids.placement import Placement, place_points
from ecobrain.model_adapters.inversion import DEFAULT_SEARCH_RADIUS_KM
from ecobrain.ontology.grid import LATGRD3, ZJ3KM, GridSpec
from ecobrain.reasoning.decisions.horizon import horizon_note

THRESHOLDS = (150, 200, 300)


def grade_concept(raw: str | None, concepts: Any) -> str | None:
    """The PerformanceGrade concept of an enterprise's grade code (A..D, leading).

    Read from the ontology (each grade concept's ``grade_code``), so a new grade is data.
    """
    if not raw:
        return None
    return concepts.grade_codes.get(raw)


# Ids (and JSON) of the findings seen while a fact set is assembled (`findings_kept`): each
# finding is cited by several facts, and its id is a digest of its whole JSON. Keyed by object
# identity, the finding kept with it so that no other object can take its address meanwhile.
_KEPT: ContextVar[dict[int, tuple[Any, str, str]] | None] = ContextVar("finding_ids",
                                                                        default=None)


@contextmanager
def findings_kept() -> Iterator[None]:
    """Within: each finding's id and JSON are worked out once (:func:`finding_id_and_json`)."""
    token = _KEPT.set({})
    try:
        yield
    finally:
        _KEPT.reset(token)


def finding_id_and_json(finding: Any) -> tuple[str, str]:
    """:func:`finding_id` and the JSON it digests."""
    kept = _KEPT.get()
    if kept is not None:
        hit = kept.get(id(finding))
        if hit is not None:
            return hit[1], hit[2]
    body = finding.model_dump_json()
    fid = f"{finding.kind}.{hashlib.sha256(body.encode()).hexdigest()[:16]}"
    if kept is not None:
        kept[id(finding)] = (finding, fid, body)
    return fid, body


def finding_id(finding: Any) -> str:
    """Stable id of a finding: its kind and a digest of its JSON."""
    return finding_id_and_json(finding)[0]


def runs_over(days: Sequence[tuple[date, int]], threshold: int) -> list[tuple[date, date]]:
    """Maximal runs of consecutive calendar days with AQI > threshold (first, last day)."""
    out: list[tuple[date, date]] = []
    start = prev = None
    for d, aqi in days:
        if aqi > threshold and start is not None and prev is not None \
                and d == prev + timedelta(days=1):
            prev = d
            continue
        if start is not None and prev is not None:
            out.append((start, prev))
            start = prev = None
        if aqi > threshold:
            start = prev = d
    if start is not None and prev is not None:
        out.append((start, prev))
    return out


def _length(run: tuple[date, date]) -> int:
    return (run[1] - run[0]).days + 1


def _driver(days: Sequence[RegionDailyAQI], peak: RegionDailyAQI) -> tuple[str | None, int]:
    """Pollutant primary on most of `days`; tie: the peak day's; still tied: 'mixed'."""
    counts = Counter(p for d in days for p in d.primary_pollutants)
    if not counts:
        prim = peak.primary_pollutants
        return (prim[0], 1) if len(prim) == 1 else (("mixed", 0) if prim else (None, 0))
    top = max(counts.values())
    tied = sorted(p for p, n in counts.items() if n == top)
    if len(tied) == 1:
        return tied[0], top
    on_peak = [p for p in tied if p in peak.primary_pollutants]
    return (on_peak[0], top) if len(on_peak) == 1 else ("mixed", top)


@dataclass
class Assessment:
    fields: dict[str, Any]
    evidence: list[str] = field(default_factory=list)


def alert_assessments(daily: Iterable[RegionDailyAQI]) -> list[Assessment]:
    """Per city/county/province: runs over 150/200/300, peak, driver, the heavy window."""
    by_region: dict[str, list[RegionDailyAQI]] = defaultdict(list)
    for d in daily:
        if d.region_level in ("city", "county", "province"):
            by_region[d.region_code].append(d)
    out: list[Assessment] = []
    for code in sorted(by_region):
        days = sorted(by_region[code], key=lambda d: d.date)
        series = [(d.date, d.aqi) for d in days]
        peak = max(days, key=lambda d: (d.aqi, -d.date.toordinal()))
        heavy = [d for d in days if d.aqi > 150]
        driver, driver_days = _driver(heavy, peak)
        runs = {t: runs_over(series, t) for t in THRESHOLDS}
        window = (peak.date, peak.date)
        for run in runs[150]:
            if run[0] <= peak.date <= run[1]:
                window = run
        first = days[0]
        f: dict[str, Any] = {
            "region_code": code,
            "region_name": first.region_name,
            "region_level": first.region_level,
            "city_code": None if first.region_level == "province" else (
                first.city_code or (code if first.region_level == "city" else None)),
            "forecast_start": days[0].date.isoformat(),
            "forecast_end": days[-1].date.isoformat(),
            "forecast_days": len(days),
            "peak_aqi": peak.aqi,
            "peak_date": peak.date.isoformat(),
            "driver": driver,
            "driver_days": driver_days,
            "primary_pollutants": sorted({p for d in heavy for p in d.primary_pollutants}),
            "alert_start": window[0].isoformat(),
            "alert_end": window[1].isoformat(),
        }
        _, open_lv, note = horizon_note(days)
        f["open_level"] = open_lv
        f["horizon_note"] = note
        for t in THRESHOLDS:
            f[f"days_over_{t}"] = sum(1 for d in days if d.aqi > t)
            f[f"longest_run_over_{t}"] = max((_length(r) for r in runs[t]), default=0)
        out.append(Assessment(f, [finding_id(d) for d in days]))
    return out


def daily_fields(d: RegionDailyAQI) -> dict[str, Any]:
    iaqi = d.iaqi
    return {
        "region_code": d.region_code, "region_name": d.region_name,
        "region_level": d.region_level,
        "city_code": d.city_code or (d.region_code if d.region_level == "city" else None),
        "date": d.date.isoformat(), "aqi": d.aqi, "aqi_level": d.level,
        "primary_pollutants": sorted(d.primary_pollutants),
        "exceeding_pollutants": sorted(d.exceeding_pollutants), "standard": d.standard,
        "iaqi_pm2_5": iaqi.get("PM2_5_24h"), "iaqi_pm10": iaqi.get("PM10_24h"),
        "iaqi_o3_8h": iaqi.get("O3_8h"), "iaqi_no2": iaqi.get("NO2_24h"),
        "iaqi_so2": iaqi.get("SO2_24h"), "iaqi_co": iaqi.get("CO_24h"),
    }


# -- hotspots -----------------------------------------------------------------------------------

# Kilometres per degree of latitude (a generous pre-filter before exact geodesic distances).
_KM_PER_DEG = 111.0
_GEOD = pyproj.Geod(ellps="WGS84")


def hotspot_id(h: EmissionHotspot) -> str:
    period = h.date.isoformat() if h.date else (
        f"{h.period_start.isoformat() if h.period_start else ''}"
        f"/{h.period_end.isoformat() if h.period_end else ''}")
    return f"hs.{h.run_id}.{h.species}.{period}.{h.cell_id}"


def enterprise_fields(e: Mapping[str, Any], concepts: Any) -> dict[str, Any]:
    """An enterprise row from the graph as fact fields (grade as a concept id)."""
    grade_raw = e.get("performance_grade")
    sector = e.get("sector")
    return {
        "enterprise_id": e["id"], "enterprise_name": e.get("name"),
        "county_code": e.get("county_code"), "city_code": e.get("city_code"),
        "sector": sector, "pollutants": sorted(e.get("pollutants") or []),
        "sector_pollutants": concepts.mainly_emits(sector) if sector in concepts else [],
        "grade": grade_concept(grade_raw, concepts),
        "leading": grade_raw == "leading" if grade_raw else None,
        "key_enterprise": e.get("key_enterprise"),
        "online_monitoring": e.get("online_monitoring"),
        "enterprise_cell_id": e.get("cell_id"),
    }


def emits(pollutants: Iterable[str], species: str, concepts: Any) -> bool:
    """Registered for the species, a subclass or a superclass (NOx hotspot ~ NO2 emitter)."""
    return any(p in concepts and species in concepts and concepts.related(p, species)
               for p in pollutants) or species in pollutants


def hotspot_grid(h: EmissionHotspot) -> GridSpec | None:
    """The grid the hotspot's cell belongs to (from the finding; the graph's reference grid
    for a finding that names only a ZJ3KM cell)."""
    if h.grid is not None:
        return grid_spec(h.grid)
    return ZJ3KM if h.cell_id.startswith(f"{ZJ3KM.name}:") else None


def search_radius(h: EmissionHotspot) -> float:
    return h.search_radius_km if h.search_radius_km is not None else DEFAULT_SEARCH_RADIUS_KM


def _half_diagonal_km(grid: GridSpec | None) -> float:
    if grid is None:
        return 0.0
    if grid.gdtyp == LATGRD3:  # degrees
        return 0.5 * _KM_PER_DEG * float(np.hypot(grid.xcell, grid.ycell))
    return 0.5e-3 * float(np.hypot(grid.xcell, grid.ycell))


@dataclass
class _Sites:
    """Enterprises as arrays (sorted by id) for geometry: a latitude index for the box
    around each hotspot, and their placement on each grid computed once per decision."""

    rows: list[Mapping[str, Any]]
    lon: np.ndarray
    lat: np.ndarray
    by_lat: np.ndarray = field(init=False)
    placements: dict[GridSpec, Placement] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_lat = np.argsort(self.lat, kind="stable")
        self._lat_sorted = self.lat[self.by_lat]

    @classmethod
    def of(cls, enterprises: Sequence[Mapping[str, Any]]) -> _Sites:
        rows = sorted((e for e in enterprises if e.get("lon") is not None
                       and e.get("lat") is not None), key=lambda e: e["id"])
        return cls(rows, np.array([float(e["lon"]) for e in rows]),
                   np.array([float(e["lat"]) for e in rows]))

    def in_box(self, lon: float, lat: float, dlon: float, dlat: float) -> np.ndarray:
        """Indices (ascending) of the sites within ±dlon, ±dlat of a point."""
        lo = np.searchsorted(self._lat_sorted, lat - dlat, side="left")
        hi = np.searchsorted(self._lat_sorted, lat + dlat, side="right")
        band = self.by_lat[lo:hi]
        return np.sort(band[np.abs(self.lon[band] - lon) <= dlon])

    def placed(self, grid: GridSpec) -> Placement:
        if grid not in self.placements:
            self.placements[grid] = place_points(grid, self.lon, self.lat)
        return self.placements[grid]


def near_hotspot(h: EmissionHotspot, sites: _Sites, grid: GridSpec | None
                 ) -> list[tuple[int, bool, float]]:
    """(site index, in the hotspot's cell, distance in km from the cell centre) of every site
    in the cell or within the search radius: the cell by projecting the sites into the
    hotspot's own grid, the distance geodesic on WGS-84."""
    if not len(sites.rows):
        return []
    radius = search_radius(h)
    reach = max(radius, _half_diagonal_km(grid)) * 1.05 + 0.5
    dlat = reach / _KM_PER_DEG
    idx = sites.in_box(h.lon, h.lat, dlat / max(np.cos(np.radians(h.lat)), 0.1), dlat)
    if not len(idx):
        return []
    _, _, dist_m = _GEOD.inv(np.full(len(idx), h.lon), np.full(len(idx), h.lat),
                             sites.lon[idx], sites.lat[idx])
    dist_km = np.asarray(dist_m) / 1000.0
    if grid is not None:
        placed = sites.placed(grid)
        in_cell = (placed.row[idx] == h.row) & (placed.col[idx] == h.col)
    else:
        in_cell = np.zeros(len(idx), dtype=bool)
    keep = in_cell | (dist_km <= radius)
    return list(zip(idx[keep].tolist(), in_cell[keep].tolist(), dist_km[keep].tolist(),
                    strict=True))


def location_text(in_cell: bool, distance_km: float) -> str:
    """For task texts: where the enterprise is relative to the hotspot."""
    where = "热点网格内" if in_cell else "热点网格外"
    return f"{where}，距网格中心{distance_km:.1f}公里"


def hotspot_context(hotspots: Sequence[EmissionHotspot],
                    enterprises: Sequence[Mapping[str, Any]],
                    concepts: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One hotspot fact per hotspot, one hotspot_enterprise fact per candidate enterprise.

    Candidates are the registered enterprises inside the hotspot's cell (on the run's own
    grid) or within its search radius of the cell centre, ranked by how well they match the
    species (registered for it, then by sector) and by distance.
    """
    hs_facts: list[dict[str, Any]] = []
    he_facts: list[dict[str, Any]] = []
    sites = _Sites.of(enterprises)
    fields_of: dict[str, dict[str, Any]] = {}  # per enterprise, computed once
    emits_cache: dict[tuple[tuple[str, ...], str], bool] = {}

    def emits_cached(pollutants: list[str], species: str) -> bool:
        key = (tuple(pollutants), species)
        if key not in emits_cache:
            emits_cache[key] = emits(pollutants, species, concepts)
        return emits_cache[key]

    for h in sorted(hotspots, key=hotspot_id):
        hid = hotspot_id(h)
        grid = hotspot_grid(h)
        counts = {0: 0, 1: 0}
        emitting = {0: 0, 1: 0}
        candidates = []
        for i, in_cell, dist in near_hotspot(h, sites, grid):
            e = sites.rows[i]
            ef = fields_of.get(e["id"])
            if ef is None:
                ef = fields_of[e["id"]] = enterprise_fields(e, concepts)
            em = emits_cached(ef["pollutants"], h.species)
            sector_em = emits_cached(ef["sector_pollutants"], h.species)
            ring = 0 if in_cell else 1
            counts[ring] += 1
            emitting[ring] += int(em)
            match = 2 if em else (1 if sector_em else 0)
            candidates.append((-match, dist, e["id"], ring, in_cell, em, sector_em, ef))
        candidates.sort(key=lambda c: (c[0], c[1], c[2]))
        nearest_emitter = next((round(c[1], 3) for c in candidates if c[5]), None)
        for rank, (neg_match, dist, eid, ring, in_cell, em, sector_em, ef) in enumerate(
                candidates, start=1):
            he_facts.append({
                "type": "hotspot_enterprise", "id": f"he.{hid}.{eid}",
                "hotspot_id": hid, "cell_id": h.cell_id, "species": h.species,
                "hotspot_county_code": h.county_code, "ring": ring, "in_cell": in_cell,
                "distance_km": round(dist, 3), "candidate_rank": rank, "match": -neg_match,
                "location_zh": location_text(in_cell, dist),
                "emits_species": em, "sector_emits_species": sector_em,
                **ef,
            })
        hs_facts.append({
            "type": "hotspot", "id": hid, "hotspot_id": hid, "cell_id": h.cell_id,
            "row": h.row, "col": h.col, "species": h.species, "county_code": h.county_code,
            "counties": list(h.counties or ([h.county_code] if h.county_code else [])),
            "city_code": h.city_code, "date": h.date.isoformat() if h.date else None,
            "period_start": h.period_start.isoformat() if h.period_start else None,
            "period_end": h.period_end.isoformat() if h.period_end else None,
            "prior": h.prior, "posterior": h.posterior, "excess": h.excess, "ratio": h.ratio,
            "rank": h.rank, "lon": h.lon, "lat": h.lat, "lower_bound": h.lower_bound,
            "search_radius_km": search_radius(h),
            "cell_size_km": round((grid.xcell / 1000.0) if grid is not None
                                  and grid.gdtyp != LATGRD3 else 0.0, 3),
            "enterprise_count": counts[0], "neighbour_enterprise_count": counts[1],
            "emitting_enterprise_count": emitting[0] + emitting[1],
            "emitting_in_cell_count": emitting[0],
            "nearest_emitter_km": nearest_emitter,
        })
    return hs_facts, he_facts


# -- attribution ----------------------------------------------------------------------------------

def _origin(receptor: str, source_region: str | None) -> str:
    if source_region in (None, "other", "initial", "bidirectional"):
        return "other"
    if source_region == "boundary":
        return "boundary"
    if source_region == "outside" or source_region[:2] != receptor[:2]:
        return "outside_province"
    if source_region[:4] == receptor[:4] and not source_region.endswith("0000"):
        return "local"
    return "outside_city"


@dataclass
class AttributionResult:
    summaries: list[dict[str, Any]]
    sectors: list[dict[str, Any]]
    evidence: dict[str, list[str]]
    unmapped: list[str]


def attribution_summaries(shares: Iterable[AttributionShare], concepts: Any
                          ) -> AttributionResult:
    """Per receptor and pollutant: local / outside shares and the local sectors, over all days.

    Shares are concentration-weighted over the days (sum of the tag's concentration over sum of
    the bulk), so a clean day counts less than a polluted one.
    """
    groups: dict[tuple[str, str], list[AttributionShare]] = defaultdict(list)
    for s in shares:
        groups[(s.receptor_code, s.pollutant)].append(s)
    summaries: list[dict[str, Any]] = []
    sectors: list[dict[str, Any]] = []
    evidence: dict[str, list[str]] = {}
    unmapped: set[str] = set()
    for (receptor, pollutant) in sorted(groups):
        items = groups[(receptor, pollutant)]
        bulk_by_day: dict[date, float] = {}
        for s in items:
            bulk_by_day[s.date] = s.bulk_concentration
        bulk = sum(bulk_by_day.values())
        if bulk <= 0:
            continue
        by_origin: dict[str, float] = defaultdict(float)
        by_sector: dict[str, float] = defaultdict(float)
        for s in items:
            origin = _origin(receptor, s.source_region)
            by_origin[origin] += s.concentration
            if origin == "local":
                label = s.source_sector or "unspecified"
                sector = concepts.lookup(label) if s.source_sector else None
                if sector is None or not (concepts.has_kind(sector, "SourceCategory")
                                          or concepts.has_kind(sector, "Sector")):
                    unmapped.add(label)
                    sector = None
                by_sector[sector or f"unmapped:{label}"] += s.concentration
        share = {k: v / bulk for k, v in by_origin.items()}
        local = share.get("local", 0.0)
        outside = share.get("outside_city", 0.0) + share.get("outside_province", 0.0) \
            + share.get("boundary", 0.0)
        ranked = sorted(((v / bulk, k) for k, v in by_sector.items()
                         if not k.startswith("unmapped:")), key=lambda x: (-x[0], x[1]))
        level = items[0].receptor_level
        city = receptor if level == "city" else (receptor[:4] + "00" if level == "county"
                                                 else None)
        sid = f"attr.{items[0].run_id}.{receptor}.{pollutant}"
        summaries.append({
            "type": "attribution_summary", "id": sid, "region_code": receptor,
            "region_level": level, "city_code": city, "pollutant": pollutant,
            "days": len(bulk_by_day), "local_share": round(local, 6),
            "outside_city_share": round(share.get("outside_city", 0.0), 6),
            "outside_province_share": round(share.get("outside_province", 0.0), 6),
            "boundary_share": round(share.get("boundary", 0.0), 6),
            "outside_share": round(outside, 6),
            "other_share": round(share.get("other", 0.0), 6),
            "dominant_sector": ranked[0][1] if ranked else None,
            "dominant_sector_share": round(ranked[0][0], 6) if ranked else None,
        })
        ev = [finding_id(s) for s in sorted(items, key=lambda s: (s.date, s.tag))]
        evidence[sid] = ev
        for rank, (value, sector) in enumerate(ranked, start=1):
            fid = f"attrsec.{items[0].run_id}.{receptor}.{pollutant}.{sector}"
            sectors.append({
                "type": "attribution_sector", "id": fid, "region_code": receptor,
                "region_level": level, "city_code": city, "pollutant": pollutant,
                "sector": sector, "share": round(value, 6), "local_share": round(local, 6),
                "rank": rank, "days": len(bulk_by_day),
            })
            evidence[fid] = ev
    return AttributionResult(summaries, sectors, evidence, sorted(unmapped))


# -- O3 regime ------------------------------------------------------------------------------

def o3_regime_summaries(regimes: Iterable[O3Regime], daily: Iterable[RegionDailyAQI],
                        concepts: Any) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Per county: the regime of most O3-exceedance days (of all days if none exceed)."""
    o3: dict[tuple[str, date], int] = {}
    for d in daily:
        v = d.iaqi.get("O3_8h")
        if v is not None:
            o3[(d.region_code, d.date)] = v
    by_region: dict[str, list[O3Regime]] = defaultdict(list)
    for r in regimes:
        by_region[r.region_code].append(r)
    facts: list[dict[str, Any]] = []
    evidence: dict[str, list[str]] = {}
    for code in sorted(by_region):
        items = sorted(by_region[code], key=lambda r: r.date)
        exceed = [r for r in items if o3.get((code, r.date), 0) > 100]
        basis = exceed or items
        counts = Counter(r.regime for r in basis)
        top = max(counts.values())
        regime = sorted(k for k, n in counts.items() if n == top)
        # a tie between regimes is itself transitional
        chosen = regime[0] if len(regime) == 1 else "Transitional"
        level = items[0].region_level
        fid = f"o3r.{items[0].run_id}.{code}"
        facts.append({
            "type": "o3_regime", "id": fid, "region_code": code, "region_level": level,
            "city_code": code if level == "city" else (code[:4] + "00" if level == "county"
                                                       else None),
            "regime": chosen, "regime_days": counts.get(chosen, 0), "days": len(items),
            "o3_exceedance_days": len(exceed),
            "max_o3_iaqi": max((o3.get((code, r.date), 0) for r in items), default=0),
            "mean_ratio": round(sum(r.ratio for r in items) / len(items), 4),
            "prioritises": concepts.targets("PRIORITISES", chosen) if chosen in concepts else [],
            "threshold_source": items[0].threshold_source,
            "window_start": items[0].date.isoformat(), "window_end": items[-1].date.isoformat(),
        })
        evidence[fid] = [finding_id(r) for r in items]
    return facts, evidence
