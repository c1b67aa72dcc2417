"""From a decision's advice to a scenario run request: test a measure before it is ordered.

The source document calls it pre-evaluation: before a control measure is ordered, run the model
twice — the baseline and the same period with the measure's emission cuts — and compare. Advice
says *where* (a city or county), *what* (a pollutant), *from which sources* (a sector) and *how
much* (a suggested reduction); this module turns such items into scaling factors
(``factor = 1 - reduction``), e.g. "cut VOCs from Petrochemical in 330200 by 20 %" -> 0.8, and
wraps them in a :class:`RunRequest` of kind ``scenario`` on a baseline run.

Rules of the translation (docs/hpc-jobs.md):

- a pollutant that DESID cannot scale directly because it is formed in the air (O3) is cut
  through its precursors in the ontology (``PRECURSOR_OF``: NOx and VOCs for O3);
- several advice items on the same region, sector and species multiply (each cut applies to what
  the others leave), and the request keeps one factor per combination;
- an item without a reduction uses ``default_reduction_pct`` and says so in the factor's note.

Advice comes from the decision pipeline; any object with the attributes below is accepted, so
this module depends only on their names (``region_code``/``region``, ``pollutant``/``species``,
``sector``, ``reduction_pct``, ``measure``, ``id``). :func:`advice_from_decision` reads them out of
a decision (``reasoning.Decision``): the sector from the source-attribution facts behind an
advice, the reduction from the decision's emergency measure for the region (its
``reduction_ratio``), else a default the caller gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecobrain.hpc_jobs.desid import load_mapping
from ecobrain.hpc_jobs.request import Resources, RunRequest, ScalingFactor, ScenarioSpec
from ecobrain.ontology.concepts import Ontology


class ScenarioError(ValueError):
    """Advice that cannot become a scenario (names the advice item and what is missing)."""


@dataclass(frozen=True)
class AdviceItem:
    """The part of an advice conclusion a scenario needs."""

    region: str
    pollutant: str
    sector: str | None
    reduction_pct: float | None
    measure: str | None = None
    advice_id: str | None = None


def _get(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def advice_item(obj: Any) -> AdviceItem:
    """Read an advice-like object (pydantic model, dataclass or dict)."""
    if isinstance(obj, AdviceItem):
        return obj
    region = _get(obj, "region_code", "region")
    pollutant = _get(obj, "pollutant", "species")
    sector = _get(obj, "sector", "source_sector", "sector_id")
    red = _get(obj, "reduction_pct", "suggested_reduction_pct", "reduction")
    measure = _get(obj, "measure", "measure_id", "title")
    aid = _get(obj, "id", "advice_id")
    missing = [n for n, v in (("region", region), ("pollutant", pollutant)) if not v]
    if missing:
        raise ScenarioError(f"advice {aid or obj!r}: no {' or '.join(missing)}")
    return AdviceItem(str(region), str(pollutant), str(sector) if sector else None,
                      float(red) if red is not None else None,
                      str(measure) if measure else None, str(aid) if aid else None)


def advice_from_decision(
    decision: Any,
    *,
    default_reduction_pct: float | None = None,
    regions: Iterable[str] | None = None,
    measure_types: Iterable[str] | None = None,
) -> tuple[list[AdviceItem], list[str]]:
    """The advice of a decision that a scenario can test, and notes on the advice it cannot.

    Testable advice names local sources: a sector from the ``attribution_sector`` facts its
    rules matched. Advice on regional transport, health or monitoring has no emissions to scale
    and is left out (counted in the notes).
    """
    wanted_regions = set(regions) if regions else None
    wanted_types = set(measure_types) if measure_types else None
    ratio: dict[str, float] = {}
    for m in getattr(decision, "measures", []):
        r = getattr(m, "reduction_ratio", None)
        if r is not None:
            ratio[m.region_code] = max(ratio.get(m.region_code, 0.0), float(r))
    facts = getattr(decision, "facts", {}) or {}
    items: list[AdviceItem] = []
    skipped: dict[str, int] = {}
    for a in getattr(decision, "advice", []):
        if wanted_regions is not None and a.region_code not in wanted_regions:
            continue
        if wanted_types is not None and a.measure_type not in wanted_types:
            continue
        sources = [facts.get(fid, {}) for r in a.reasons for fid in r.facts.values()]
        sectors = sorted({f["sector"] for f in sources
                          if f.get("type") == "attribution_sector" and f.get("sector")})
        if not sectors:
            skipped[a.measure_type] = skipped.get(a.measure_type, 0) + 1
            continue
        pollutants = [a.pollutant] if a.pollutant else sorted(
            {f["pollutant"] for f in sources if f.get("type") == "attribution_sector"
             and f.get("pollutant")})
        city = a.region_code[:4] + "00"
        red = ratio.get(a.region_code, ratio.get(city))
        red_pct = round(red * 100, 3) if red is not None else default_reduction_pct
        for sector in sectors:
            for p in pollutants:
                items.append(AdviceItem(region=a.region_code, pollutant=p, sector=sector,
                                        reduction_pct=red_pct, measure=a.measure_label,
                                        advice_id=a.id))
    notes = [f"{n} {t} advice without local sources to scale (left out)"
             for t, n in sorted(skipped.items())]
    return items, notes


def scaled_species(pollutant: str, mechanism: str = "cb6r5_ae7_aq") -> list[str]:
    """The species DESID scales for a pollutant: itself, or its precursors if it is secondary."""
    mapping = load_mapping()
    if mapping.targets(pollutant, mechanism):
        return [pollutant]
    onto = Ontology()
    if pollutant not in onto.concepts:
        raise ScenarioError(f"unknown pollutant {pollutant!r}")
    pre = [p for p in onto.precursors_of(pollutant) if mapping.targets(p, mechanism)]
    if not pre:
        raise ScenarioError(f"{pollutant} has no emission species and no precursor with one in "
                            f"{mapping.source}")
    return sorted(pre)


def factors_from_advice(
    advice: Iterable[Any],
    *,
    default_reduction_pct: float | None = None,
    default_sector: str | None = None,
    mechanism: str = "cb6r5_ae7_aq",
) -> list[ScalingFactor]:
    combined: dict[tuple[str, str, str], tuple[float, list[str]]] = {}
    for obj in advice:
        item = advice_item(obj)
        who = item.advice_id or f"{item.pollutant} in {item.region}"
        sector = item.sector or default_sector
        if not sector:
            raise ScenarioError(f"advice {who}: no sector (give the advice a sector, or a "
                                "default sector for the scenario)")
        red = item.reduction_pct
        notes = []
        if red is None:
            if default_reduction_pct is None:
                raise ScenarioError(f"advice {who}: no suggested reduction (give one, or a "
                                    "default reduction for the scenario)")
            red = default_reduction_pct
            notes.append(f"default reduction {red:g} %")
        if not 0 <= red <= 100:
            raise ScenarioError(f"advice {who}: reduction {red:g} % is not within 0..100")
        for sp in scaled_species(item.pollutant, mechanism):
            key = (item.region, sector, sp)
            f_old, n_old = combined.get(key, (1.0, []))
            label = item.measure or item.advice_id or "advice"
            via = f" (precursor of {item.pollutant})" if sp != item.pollutant else ""
            combined[key] = (f_old * (1 - red / 100.0),
                             [*n_old, f"{label}: -{red:g} %{via}", *notes])
    return [ScalingFactor(region=r, sector=s, species=sp, factor=round(f, 6),
                          note="; ".join(n))
            for (r, s, sp), (f, n) in sorted(combined.items())]


def scenario_request(
    advice: Iterable[Any],
    baseline_run: str | Path,
    *,
    model: str = "standin",
    decision_id: str | None = None,
    name: str | None = None,
    measure: str | None = None,
    resources: Resources | None = None,
    decide: bool = False,
    default_reduction_pct: float | None = None,
    default_sector: str | None = None,
    grid: str = "ZJ3KM",
) -> RunRequest:
    """A scenario request testing `advice` against `baseline_run`."""
    items = [advice_item(a) for a in advice]
    if not items:
        raise ScenarioError("no advice to test")
    factors = factors_from_advice(items, default_reduction_pct=default_reduction_pct,
                                  default_sector=default_sector)
    ids = sorted({i.advice_id for i in items if i.advice_id})
    measures = "; ".join(dict.fromkeys(i.measure for i in items if i.measure))
    return RunRequest(
        kind="scenario", model=model, name=name, domain={"grid": grid},
        resources=resources or Resources(),
        scenario=ScenarioSpec(baseline_run=str(baseline_run), factors=factors,
                              measure=measure or measures or None, decision_id=decision_id,
                              advice_ids=ids),
        decide=decide,
    )
