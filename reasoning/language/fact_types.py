"""The fact types rules can match, with their fields: the vocabulary of a rule's ``when``.

A fact is a flat JSON object with a ``type`` (one of the names below), a unique ``id`` and the
fields listed here. The checker refuses a condition on a field a type does not have, compares
values with the field's type, and checks concept values against the ontology kinds named
here; the reference page (``docs/rules.md``) and the JSON Schema are generated from this
table, so what an author reads is what the engine asserts.

Two families:

- **input facts**, assembled from the model findings and the graph (:mod:`.facts`): what the
  forecast, the inversion and the attribution found, with the graph context (enterprises in and
  around a hotspot cell, the enterprises of an alerted region, region names and cities);
- **conclusion facts** (``alert``, ``measure``, ``task``, ``advice``), asserted back into the
  engine when a rule concludes, so other rules chain on them (alert → measure → task).

Conclusion kinds have a *stratum* (alert 1, measure 2, task/advice 3; input facts 0): a rule
may only conclude something of a higher stratum than every conclusion it matches. The engine
settles each stratum before the next (one alert per region, the highest level, is what the
measure rules see), and a cycle (a task that raises an alert) cannot be written.

A field absent from a fact is *missing* (facts never carry nulls or empty lists): comparisons
with a missing field are false, ``not`` is true negation, ``field == null`` tests absence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["str", "int", "float", "bool", "date", "concept", "concept_list",
                    "str_list"]


@dataclass(frozen=True)
class FieldSpec:
    type: FieldKind
    description: str
    kinds: tuple[str, ...] = ()  # ontology kinds a concept value must have
    extra_values: tuple[str, ...] = ()  # non-concept values a concept field may hold

    @property
    def is_list(self) -> bool:
        return self.type in ("concept_list", "str_list")

    @property
    def is_number(self) -> bool:
        return self.type in ("int", "float")


@dataclass(frozen=True)
class FactType:
    name: str
    description: str
    fields: dict[str, FieldSpec]
    stratum: int = 0
    conclusion: bool = False


def _f(t: FieldKind, d: str, kinds: tuple[str, ...] = (), extra: tuple[str, ...] = ()
       ) -> FieldSpec:
    return FieldSpec(t, d, kinds, extra)


_POLLUTANT = ("Pollutant",)
_SOURCE = ("SourceCategory", "Sector")

REGION_FIELDS: dict[str, FieldSpec] = {
    "region_code": _f("str", "GB/T 2260 code of the region the fact is about"),
    "region_name": _f("str", "its Chinese name"),
    "region_level": _f("str", "province | city | county"),
    "city_code": _f("str", "code of the city (地级市) the region lies in (a city: itself)"),
}

_ENTERPRISE_FIELDS: dict[str, FieldSpec] = {
    "enterprise_id": _f("str", "enterprise id in the graph"),
    "enterprise_name": _f("str", "enterprise name"),
    "county_code": _f("str", "county of the enterprise"),
    "city_code": _f("str", "city of the enterprise"),
    "sector": _f("concept", "the enterprise's sector (ontology concept)", _SOURCE),
    "pollutants": _f("concept_list", "pollutants the enterprise is registered to emit",
                     _POLLUTANT),
    "sector_pollutants": _f("concept_list",
                            "pollutants the sector mainly emits (ontology MAINLY_EMITS, "
                            "inherited from parent sectors)", _POLLUTANT),
    "grade": _f("concept", "emergency performance grade: GradeA..GradeD or GradeLeading "
                "(引领性); missing when ungraded", ("PerformanceGrade",)),
    "leading": _f("bool", "引领性企业 (treated like grade A during alerts)"),
    "key_enterprise": _f("bool", "重点排污单位 (key polluting unit)"),
    "online_monitoring": _f("bool", "has automatic (online) emission monitoring"),
    "enterprise_cell_id": _f("str", "grid cell of the enterprise"),
}

FACT_TYPES: dict[str, FactType] = {}


def _register(ft: FactType) -> None:
    FACT_TYPES[ft.name] = ft


_register(FactType(
    "alert_assessment",
    "Per city or county: the forecast daily AQI summarised for alert grading (runs of "
    "consecutive days above 150/200/300, the peak, the pollutant that drives the episode).",
    {
        **REGION_FIELDS,
        "forecast_start": _f("date", "first complete forecast day"),
        "forecast_end": _f("date", "last complete forecast day"),
        "forecast_days": _f("int", "number of forecast days"),
        "peak_aqi": _f("int", "highest daily AQI of the forecast"),
        "peak_date": _f("date", "day of the peak (the first, if several)"),
        "days_over_150": _f("int", "forecast days with daily AQI > 150"),
        "days_over_200": _f("int", "forecast days with daily AQI > 200"),
        "days_over_300": _f("int", "forecast days with daily AQI > 300"),
        "longest_run_over_150": _f("int", "longest run of consecutive days with AQI > 150 "
                                   "(2 = 48 hours)"),
        "longest_run_over_200": _f("int", "longest run of consecutive days with AQI > 200"),
        "longest_run_over_300": _f("int", "longest run of consecutive days with AQI > 300"),
        "driver": _f("concept", "pollutant primary on most days with AQI > 150 (on a tie: "
                     "the one primary on the peak day; 'mixed' if still tied); without such "
                     "days: the primary pollutant of the peak day", _POLLUTANT, ("mixed",)),
        "driver_days": _f("int", "days on which the driver was (co-)primary"),
        "primary_pollutants": _f("concept_list", "every pollutant primary on some day with "
                                 "AQI > 150", _POLLUTANT),
        "alert_start": _f("date", "first day of the heavy window: the run of days with "
                          "AQI > 150 around the peak (the peak day when AQI ≤ 150)"),
        "alert_end": _f("date", "last day of the heavy window"),
        "open_level": _f("str", "a higher alert level the run is too short to rule out "
                         "(the last day's AQI persisting), or missing"),
        "horizon_note": _f("str", "Chinese text for the alert saying so ('' when none)"),
        "emergency_plan_id": _f("str", "the region's emergency plan in force on the decision "
                                "date, if the graph records one ((:EmergencyPlan)-[:IN_REGION]->"
                                "region)"),
    },
))

_register(FactType(
    "daily_aqi",
    "One region (city or county) on one forecast day (HJ 633).",
    {
        **REGION_FIELDS,
        "date": _f("date", "Beijing natural day"),
        "aqi": _f("int", "daily AQI"),
        "aqi_level": _f("int", "AQI level 1..6"),
        "primary_pollutants": _f("concept_list", "primary pollutants (AQI > 50)", _POLLUTANT),
        "exceeding_pollutants": _f("concept_list", "pollutants with IAQI > 100", _POLLUTANT),
        "standard": _f("str", "AQI standard in force that day, e.g. HJ633-2026"),
        "iaqi_pm2_5": _f("int", "IAQI of PM2.5 (24 h)"),
        "iaqi_pm10": _f("int", "IAQI of PM10 (24 h)"),
        "iaqi_o3_8h": _f("int", "IAQI of O3 (daily max 8 h)"),
        "iaqi_no2": _f("int", "IAQI of NO2 (24 h)"),
        "iaqi_so2": _f("int", "IAQI of SO2 (24 h)"),
        "iaqi_co": _f("int", "IAQI of CO (24 h)"),
    },
))

_register(FactType(
    "episode",
    "A run of consecutive forecast days on which a region's daily AQI passes a threshold.",
    {
        **REGION_FIELDS,
        "threshold": _f("int", "200, 300 or 500"),
        "start_date": _f("date", "first day"),
        "end_date": _f("date", "last day"),
        "days": _f("int", "length in days"),
        "peak_aqi": _f("int", "highest daily AQI"),
        "peak_date": _f("date", "day of the peak"),
        "driver": _f("concept", "pollutant primary on most episode days", _POLLUTANT,
                     ("mixed",)),
        "primary_pollutants": _f("concept_list", "pollutants primary on some day", _POLLUTANT),
        "open_start": _f("bool", "starts on the first forecast day"),
        "open_end": _f("bool", "reaches the last forecast day"),
    },
))

_register(FactType(
    "hotspot",
    "An emission hotspot: a cell of the run's own grid whose inverted (posterior) emission of "
    "a species exceeds the inventory (prior), with counts of the registered enterprises in "
    "the cell and within the search radius of its centre.",
    {
        "hotspot_id": _f("str", "id of the hotspot (species, period, cell)"),
        "cell_id": _f("str", "grid cell id, e.g. ZJ3KM:r80c95"),
        "row": _f("int", "grid row (0 = south)"),
        "col": _f("int", "grid column (0 = west)"),
        "species": _f("concept", "the species in excess", _POLLUTANT),
        "county_code": _f("str", "the county the cell overlaps most, by area"),
        "county_name": _f("str", "its name"),
        "counties": _f("str_list", "every county the cell overlaps by at least the configured "
                       "share, largest first"),
        "counties_zh": _f("str", "their names, joined with 、"),
        "lower_bound": _f("bool", "inverted from part of the species' variables (NOx from "
                          "NO2 only): the excess is a lower bound"),
        "search_radius_km": _f("float", "candidate enterprises: in the cell or within this "
                               "distance of its centre"),
        "cell_size_km": _f("float", "cell size of the run's grid (0 on lat-lon grids)"),
        "nearest_emitter_km": _f("float", "distance of the nearest registered emitter of the "
                                 "species among the candidates"),
        "city_code": _f("str", "city of the cell"),
        "date": _f("date", "Beijing day, when the period is one day"),
        "period_start": _f("str", "beginning of the inversion period (ISO)"),
        "period_end": _f("str", "end of the period (ISO, exclusive)"),
        "prior": _f("float", "inventory emission (t/day)"),
        "posterior": _f("float", "inverted emission (t/day)"),
        "excess": _f("float", "posterior - prior (t/day)"),
        "ratio": _f("float", "posterior / prior (missing when the prior is 0)"),
        "rank": _f("int", "1 = largest excess of this species and period"),
        "lon": _f("float", "cell centre longitude"),
        "lat": _f("float", "cell centre latitude"),
        "enterprise_count": _f("int", "registered enterprises in the cell"),
        "neighbour_enterprise_count": _f("int", "registered enterprises outside the cell "
                                         "within the search radius"),
        "emitting_enterprise_count": _f("int", "candidate enterprises (cell and radius) that "
                                        "emit the species (or a sub/superclass of it)"),
        "emitting_in_cell_count": _f("int", "of those, the ones in the cell itself"),
    },
))

_register(FactType(
    "hotspot_enterprise",
    "One registered enterprise in a hotspot's cell (ring 0) or outside it within the search "
    "radius of the cell centre (ring 1), with its distance, sector, pollutants and grade.",
    {
        "hotspot_id": _f("str", "the hotspot"),
        "cell_id": _f("str", "the hotspot's cell"),
        "species": _f("concept", "the hotspot's species", _POLLUTANT),
        "hotspot_county_code": _f("str", "county of the hotspot cell"),
        "ring": _f("int", "0 = in the hotspot cell, 1 = outside it, within the search radius"),
        "in_cell": _f("bool", "in the hotspot's cell, on the run's own grid"),
        "distance_km": _f("float", "geodesic distance from the cell centre (km)"),
        "candidate_rank": _f("int", "1 = best candidate: registered for the species, then by "
                             "sector, then nearest"),
        "match": _f("int", "2 = registered for the species, 1 = its sector mainly emits it, "
                    "0 = neither"),
        "location_zh": _f("str", "e.g. 热点网格内，距网格中心1.2公里 — for task texts"),
        "emits_species": _f("bool", "the enterprise is registered for the species, a "
                            "subclass or a superclass of it (NOx hotspot ~ NO2 emitter)"),
        "sector_emits_species": _f("bool", "its sector mainly emits the species (ontology)"),
        **_ENTERPRISE_FIELDS,
    },
))

_register(FactType(
    "enterprise_in_region",
    "A registered enterprise of a region that has an alert (assembled when the alert is "
    "concluded, for that region only).",
    {
        "region_code": _f("str", "the alerted region (county, city or province)"),
        **_ENTERPRISE_FIELDS,
    },
))

_register(FactType(
    "attribution_summary",
    "Per receptor region and pollutant, the ISAM source attribution over the run's days: "
    "how much is local (the receptor's city), from elsewhere in the province, from outside "
    "the province or the domain boundary, and the dominant local sector.",
    {
        **REGION_FIELDS,
        "pollutant": _f("concept", "PM2_5 or O3", _POLLUTANT),
        "days": _f("int", "days attributed"),
        "local_share": _f("float", "share from sources in the receptor's city (0-1)"),
        "outside_city_share": _f("float", "share from other cities of the province"),
        "outside_province_share": _f("float", "share from tagged regions outside the province"),
        "boundary_share": _f("float", "share from the domain boundary (BCO)"),
        "outside_share": _f("float", "outside_city + outside_province + boundary"),
        "other_share": _f("float", "untagged, initial-condition and other built-in tags"),
        "dominant_sector": _f("concept", "local sector with the largest share", _SOURCE),
        "dominant_sector_share": _f("float", "its share of the total"),
    },
))

_register(FactType(
    "attribution_sector",
    "Per receptor, pollutant and local sector: its share of the receptor's concentration.",
    {
        **REGION_FIELDS,
        "pollutant": _f("concept", "PM2_5 or O3", _POLLUTANT),
        "sector": _f("concept", "the sector (ontology concept)", _SOURCE),
        "share": _f("float", "share of the receptor's concentration from this sector inside "
                    "the receptor's city (0-1)"),
        "local_share": _f("float", "the receptor's total local share"),
        "rank": _f("int", "1 = the largest local sector"),
        "days": _f("int", "days attributed"),
    },
))

_register(FactType(
    "o3_regime",
    "Per county: the O3 formation regime (HCHO/NO2) over the forecast, with the O3 level.",
    {
        **REGION_FIELDS,
        "regime": _f("concept", "VOCLimited, Transitional or NOxLimited: the regime of most "
                     "days with O3 IAQI > 100 (of all days when there are none)", ("O3Regime",)),
        "regime_days": _f("int", "days with that regime"),
        "days": _f("int", "days with a regime"),
        "o3_exceedance_days": _f("int", "days with O3 (8 h) IAQI > 100 in the county"),
        "max_o3_iaqi": _f("int", "highest O3 (8 h) IAQI"),
        "mean_ratio": _f("float", "mean HCHO/NO2 ratio over the days"),
        "prioritises": _f("concept_list", "precursors the regime prioritises (ontology)",
                          _POLLUTANT),
        "threshold_source": _f("str", "threshold set, e.g. Wang2021"),
        "window_start": _f("date", "first day"),
        "window_end": _f("date", "last day"),
    },
))

# -- conclusion facts ----------------------------------------------------------------------

_CONCLUSION_COMMON: dict[str, FieldSpec] = {
    **REGION_FIELDS,
    "rule_id": _f("str", "the rule that concluded it"),
}

_register(FactType(
    "alert",
    "A heavy-pollution alert concluded for a region (one per region: the highest level).",
    {
        **_CONCLUSION_COMMON,
        "level": _f("concept", "AlertBlue, AlertYellow, AlertOrange or AlertRed",
                    ("EmergencyLevel",)),
        "severity_rank": _f("int", "1 blue .. 4 red (ontology)"),
        "start": _f("date", "first day of the alert"),
        "end": _f("date", "last day of the alert"),
        "driver": _f("concept", "the pollutant driving it", _POLLUTANT, ("mixed",)),
    },
    stratum=1, conclusion=True,
))

_register(FactType(
    "measure",
    "A region-level measure (emergency reduction, vehicle restriction, supervision ...).",
    {
        **_CONCLUSION_COMMON,
        "measure_type": _f("concept", "the measure (ontology MeasureType)", ("MeasureType",)),
        "level": _f("concept", "the alert level it belongs to", ("EmergencyLevel",)),
        "reduction_ratio": _f("float", "required emission reduction (0-1)"),
        "pollutants": _f("concept_list", "pollutants concerned", _POLLUTANT),
        "start": _f("date", "first day"),
        "end": _f("date", "last day"),
    },
    stratum=2, conclusion=True,
))

_register(FactType(
    "task",
    "A task for a region bureau about one subject (enterprise, grid cell, sector, road).",
    {
        **_CONCLUSION_COMMON,
        "subject_kind": _f("str", "enterprise | grid_cell | sector | road | region"),
        "subject_id": _f("str", "id of the subject"),
        "subject_name": _f("str", "its name"),
        "measure_type": _f("concept", "the measure (ontology MeasureType)", ("MeasureType",)),
        "deadline": _f("date", "deadline"),
        "priority": _f("int", "0-100"),
    },
    stratum=3, conclusion=True,
))

_register(FactType(
    "advice",
    "Advice for a region (health advice, control advice, which precursor to cut first).",
    {
        **_CONCLUSION_COMMON,
        "pollutant": _f("concept", "pollutant concerned", _POLLUTANT),
        "measure_type": _f("concept", "the advised measure (ontology MeasureType)",
                           ("MeasureType",)),
    },
    stratum=3, conclusion=True,
))

CONCLUSION_KINDS: tuple[str, ...] = ("alert", "measure", "task", "advice")
INPUT_TYPES: tuple[str, ...] = tuple(n for n, t in FACT_TYPES.items() if not t.conclusion)

# Fields every fact has besides its type's fields.
COMMON_FIELDS: dict[str, FieldSpec] = {
    "id": _f("str", "unique id of the fact"),
    "type": _f("str", "the fact type"),
}


def field_spec(fact_type: str, name: str) -> FieldSpec | None:
    if name in COMMON_FIELDS:
        return COMMON_FIELDS[name]
    ft = FACT_TYPES.get(fact_type)
    return None if ft is None else ft.fields.get(name)


def stratum(fact_type: str) -> int:
    ft = FACT_TYPES.get(fact_type)
    return 0 if ft is None else ft.stratum
