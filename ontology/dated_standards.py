"""Standards and alert grading in force on a date, read from the graph.

The loaders (``ecobrain.kb_loaders.legal.standards``) write every limit, breakpoint and alert level
with its validity period; these queries pick the rows in force on the day being judged, so a
forecast for 2026-02-28 is graded with HJ 633—2012 and one for 2026-03-01 with HJ 633—2026
without any date in code. Dates are ISO strings, compared as strings (portable Cypher).
Periods are inclusive at both ends; a missing ``valid_from``/``valid_to`` is open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from ecobrain.ontology.graph.store import GraphStore

_IN_FORCE = ("(n.valid_from IS NULL OR n.valid_from <= $on) "
             "AND (n.valid_to IS NULL OR n.valid_to >= $on)")


def _iso(on: date | str) -> str:
    text = on.isoformat() if isinstance(on, date) else str(on)
    date.fromisoformat(text)
    return text


@dataclass(frozen=True)
class LimitValue:
    id: str
    standard_id: str
    pollutant: str
    averaging: str
    metric: str
    cls: str
    value: float
    unit: str
    phase: str | None
    valid_from: str | None
    valid_to: str | None
    source_quality: str


@dataclass(frozen=True)
class Breakpoint:
    standard_id: str
    metric: str
    pollutant: str
    iaqi: int
    concentration: float
    unit: str
    source_quality: str


@dataclass(frozen=True)
class AlertLevelRule:
    """One alert level of the grading in force: its criteria tree and where it comes from."""

    id: str
    version: str
    level: str
    rank: int | None
    response_grade: str | None
    criteria: dict[str, Any]  # {any_of|all_of: [...]} of leaves {aqi_gt|aqi_gte, min_hours}
    regulation_id: str
    provision_id: str | None
    valid_from: str | None
    valid_to: str | None
    source_quality: str


def limit_values(store: GraphStore, on: date | str, *, pollutant: str | None = None,
                 cls: str | None = None) -> list[LimitValue]:
    """GB 3095 limits in force on `on` (optionally one pollutant / class ``I`` or ``II``)."""
    rows = store.read(
        f"MATCH (n:LimitValue) WHERE {_IN_FORCE} "
        "AND ($pollutant IS NULL OR n.pollutant = $pollutant) "
        "AND ($cls IS NULL OR n.class = $cls) "
        "RETURN n.id AS id, n.standard_id AS standard_id, n.pollutant AS pollutant, "
        "n.averaging AS averaging, n.metric AS metric, n.class AS cls, n.value AS value, "
        "n.unit AS unit, n.phase AS phase, n.valid_from AS valid_from, n.valid_to AS valid_to, "
        "n.source_quality AS source_quality ORDER BY id",
        {"on": _iso(on), "pollutant": pollutant, "cls": cls})
    return [LimitValue(**r) for r in rows]


def breakpoints(store: GraphStore, on: date | str) -> dict[str, list[Breakpoint]]:
    """HJ 633 IAQI breakpoints in force on `on`, by metric (``PM2_5_24h``), by IAQI."""
    rows = store.read(
        f"MATCH (n:BreakpointRow) WHERE {_IN_FORCE} "
        "RETURN n.standard_id AS standard_id, n.metric AS metric, n.pollutant AS pollutant, "
        "n.iaqi AS iaqi, n.concentration AS concentration, n.unit AS unit, "
        "n.source_quality AS source_quality ORDER BY metric, iaqi", {"on": _iso(on)})
    out: dict[str, list[Breakpoint]] = {}
    for r in rows:
        out.setdefault(r["metric"], []).append(Breakpoint(**r))
    return out


def standards_in_force(store: GraphStore, on: date | str) -> list[dict[str, Any]]:
    """The Standard nodes in force on `on` (id, code, title, valid_from, valid_to)."""
    return store.read(
        f"MATCH (n:Standard) WHERE {_IN_FORCE} "
        "RETURN n.id AS id, n.code AS code, n.title AS title, n.valid_from AS valid_from, "
        "n.valid_to AS valid_to, n.source_quality AS source_quality ORDER BY id",
        {"on": _iso(on)})


def alert_grading(store: GraphStore, on: date | str) -> list[AlertLevelRule]:
    """The alert levels of the grading in force on `on`, lowest level first."""
    rows = store.read(
        f"MATCH (n:AlertGrading) WHERE {_IN_FORCE} "
        "RETURN n.id AS id, n.version AS version, n.level AS level, n.rank AS rank, "
        "n.response_grade AS response_grade, n.criteria AS criteria, "
        "n.regulation_id AS regulation_id, n.provision_id AS provision_id, "
        "n.valid_from AS valid_from, n.valid_to AS valid_to, "
        "n.source_quality AS source_quality ORDER BY rank, id", {"on": _iso(on)})
    return [AlertLevelRule(**{**r, "criteria": json.loads(r["criteria"])}) for r in rows]


def reduction_requirements(store: GraphStore, on: date | str) -> list[dict[str, Any]]:
    """Minimum emission-reduction shares per alert level in force on `on`."""
    return store.read(
        f"MATCH (n:ReductionRequirement) WHERE {_IN_FORCE} "
        "RETURN n.id AS id, n.level AS level, n.min_share AS min_share, "
        "n.pollutants AS pollutants, n.basis AS basis, n.source_quality AS source_quality, "
        "n.note AS note ORDER BY min_share", {"on": _iso(on)})


def pollutant_handling(store: GraphStore, on: date | str) -> list[dict[str, Any]]:
    """How episodes are handled by cause (PM2.5 / O3 / uncontrollable) on `on`."""
    return store.read(
        f"MATCH (n:PollutantHandling) WHERE {_IN_FORCE} "
        "RETURN n.id AS id, n.causes AS causes, n.colour_alert AS colour_alert, "
        "n.measures AS measures, n.optional_measures AS optional_measures, "
        "n.legal_basis AS legal_basis, n.provision_id AS provision_id, "
        "n.source_quality AS source_quality ORDER BY id", {"on": _iso(on)})
