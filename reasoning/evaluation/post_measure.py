"""Did the measures work? A later inversion's posterior set against an approved decision's plan.

For every enterprise task with a schedule, the enterprise's cell on the later run's grid; for
every county under an EmergencyEmissionReduction measure, its total; per species the plan
pollutants stand for (``knowledge/config/evaluation.yaml``):

    before   = mean posterior (t/day) over the run's days before the measure's first day
    during   = mean posterior over the measure days the run covers
    achieved = 1 - during / before
    target   = mean over those days of the plan's reduction ratio on each day (the level's
               ratio of the decision's own measures: 10/20/30 %)

A species has *met* the plan when achieved >= target, is *unchanged* under
``unchanged_below``, *short* in between; a subject is *reduced* (all met), *unchanged* (all
unchanged) or *partly*. When the run has no day before the measure the reference is the prior
(the inventory) of the measure days, and the outcome says so.

For every task resting on an emission hotspot: the hotspot's cell on each later day after the
hotspot's own day, tested with the thresholds it was found with; it has *gone* when no such
day passes them. Beside each task's model evidence sits the bureau's reported status, and
disagreement is flagged: reported done while the emissions stayed unchanged, or while the
hotspot is still there.

Why the mean of days and not each day: an inversion's day-to-day noise is of the order of the
smaller cuts; the mean over the measure is what a reviewer compares with the plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from ecobrain.model_adapters.emission_days import EmissionDays
from ecobrain.reasoning.decisions.conclusions import short_hash
from ecobrain.reasoning.evaluation.outcomes import (
    CountyEvaluation,
    EmissionOutcome,
    Evaluation,
    EvaluationSummary,
    HotspotOutcome,
    SpeciesOutcome,
    SpeciesStatus,
    TaskEvaluation,
    Verdict,
)
from ecobrain.reasoning.evaluation.plan import Plan, PlanTask
from ecobrain.yaml12 import load_yaml

DONE = "done"

DISAGREE_UNCHANGED = ("已报办结，排放未见下降", "reported done, emissions unchanged")
DISAGREE_HOTSPOT = ("已报办结，热点仍在", "reported done, hotspot still there")
NOT_REPORTED_REDUCED = ("未报办结，排放已下降", "not reported done, emissions fell")


@dataclass(frozen=True)
class EvaluationConfig:
    unchanged_below: float
    no_target_measures: frozenset[str]
    species_of_pollutant: Mapping[str, str]
    plan_measure: str


def default_config_path() -> Path:
    return Path(str(files("ecobrain.knowledge") / "config" / "evaluation.yaml"))


@cache
def load_evaluation_config(path: str | None = None) -> EvaluationConfig:
    p = path or str(default_config_path())
    with open(p, encoding="utf-8") as fh:
        doc = load_yaml(fh)
    try:
        return EvaluationConfig(
            unchanged_below=float(doc["unchanged_below"]),
            no_target_measures=frozenset(str(m) for m in doc.get("no_target_measures") or ()),
            species_of_pollutant={str(k): str(v)
                                  for k, v in doc["species_of_pollutant"].items()},
            plan_measure=str(doc["plan_measure"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{p}: {type(exc).__name__}: {exc}") from exc


def _r(x: float) -> float:
    return round(float(x), 4)


def _species_outcome(sid: str, before: float, during: float, target: float | None,
                     unchanged_below: float) -> SpeciesOutcome:
    achieved = None if before <= 0 else 1.0 - during / before
    if target is None:
        status: SpeciesStatus = "no_target"
    elif achieved is not None and _r(achieved) >= _r(target):  # as reported (4 decimals)
        status = "met"
    elif achieved is None or achieved < unchanged_below:
        status = "unchanged"
    else:
        status = "short"
    return SpeciesOutcome(
        species=sid, before=_r(before), during=_r(during),
        achieved=None if achieved is None else _r(achieved),
        target=None if target is None else _r(target),
        planned_during=None if target is None else _r(before * (1.0 - target)), status=status)


def _verdict(species: list[SpeciesOutcome]) -> Verdict:
    st = {s.status for s in species}
    if st == {"no_target"}:
        return "no_target"
    st.discard("no_target")
    if st == {"met"}:
        return "reduced"
    if st == {"unchanged"}:
        return "unchanged"
    return "partly"


def _outcome(days: EmissionDays, species: list[str], measure_days: list[dt.date],
             day_target: Mapping[dt.date, float | None], values,
             unchanged_below: float) -> EmissionOutcome | None:
    """`values(sid, which)` -> per-day array of the subject's t/day (which: posterior|prior)."""
    during_idx = [days.days.index(d) for d in measure_days if d in days.days]
    if not during_idx:
        return None
    first = min(measure_days)
    before_idx = [i for i, d in enumerate(days.days) if d < first]
    covered = [days.days[i] for i in during_idx]
    targets = [day_target.get(d) for d in covered]
    target = None if all(t is None for t in targets) else \
        float(np.mean([t or 0.0 for t in targets]))
    out = []
    for sid in species:
        post = values(sid, "posterior")
        if before_idx:
            before = float(np.mean(post[before_idx]))
        else:
            before = float(np.mean(values(sid, "prior")[during_idx]))
        during = float(np.mean(post[during_idx]))
        out.append(_species_outcome(sid, before, during, target, unchanged_below))
    return EmissionOutcome(days=covered, before_days=[days.days[i] for i in before_idx],
                           reference="days_before" if before_idx else "prior",
                           species=out, verdict=_verdict(out))


def _plan_species(pollutants: Iterable[str], cfg: EvaluationConfig,
                  available: Iterable[str]) -> list[str]:
    avail = set(available)
    return sorted({cfg.species_of_pollutant[p] for p in pollutants
                   if p in cfg.species_of_pollutant} & avail)


def _hotspot_outcome(h: dict, days: EmissionDays) -> HotspotOutcome | None:
    sid = h.get("species")
    if sid not in days.species:
        return None
    cell = days.cell_of(float(h["lon"]), float(h["lat"]))
    found_on = dt.date.fromisoformat(h["date"]) if h.get("date") else None
    later = [i for i, d in enumerate(days.days) if found_on is None or d > found_on]
    if cell is None or not later:
        return None
    r, c = cell
    sd = days.species[sid]
    th = h.get("thresholds") or {}
    min_excess = float(th.get("min_excess", sd.config.min_excess))
    min_ratio = float(th.get("min_ratio", sd.config.min_ratio))
    persisting = []
    last_excess = last_ratio = None
    for i in later:
        pr, po = float(sd.prior[i, r, c]), float(sd.posterior[i, r, c])
        excess = po - pr
        ratio = po / pr if pr > 0 else float("inf")
        if excess >= min_excess and ratio >= min_ratio:
            persisting.append(days.days[i])
        last_excess, last_ratio = _r(excess), (_r(ratio) if np.isfinite(ratio) else None)
    return HotspotOutcome(
        finding_id=h["id"], species=sid, cell_id=days.grid.cell_id(r, c), found_on=found_on,
        found_excess=_r(float(h.get("excess", 0.0))), days=[days.days[i] for i in later],
        persisting_days=persisting, last_excess=last_excess, last_ratio=last_ratio,
        gone=not persisting)


def _county_targets(plan: Plan, days: EmissionDays
                    ) -> dict[str, tuple[dict[dt.date, float], set[str], set[str]]]:
    """county -> ({day: the highest plan ratio covering it}, levels, pollutants)."""
    m = days.mapper
    county_city = {m.codes[i]: m.city_codes[i] for i in m.indices("county")}
    with_tasks = {t.region_code for t in plan.tasks}
    out: dict[str, tuple[dict[dt.date, float], set[str], set[str]]] = {}
    for meas in plan.measures:
        code = meas.region_code
        if code.endswith("0000"):  # province-wide: the counties it implicated (their tasks)
            counties = [c for c in county_city if c in with_tasks and c[:2] == code[:2]]
        elif code.endswith("00"):
            counties = [c for c, city in county_city.items() if city == code]
        else:
            counties = [code] if code in county_city else []
        for c in counties:
            by_day, levels, pols = out.setdefault(c, ({}, set(), set()))
            levels.add(meas.level)
            pols.update(meas.pollutants)
            d = meas.start
            while d <= meas.end:
                by_day[d] = max(by_day.get(d, 0.0), meas.reduction_ratio)
                d += dt.timedelta(days=1)
    return out


def _task_emissions(t: PlanTask, plan: Plan, days: EmissionDays, cfg: EvaluationConfig,
                    ratios: Mapping[str, float], cell: tuple[int, int]
                    ) -> EmissionOutcome | None:
    if not t.schedule:
        return None
    ent = plan.enterprises.get(t.subject_id, {})
    species = _plan_species(ent.get("pollutants") or (), cfg, days.species)
    if not species:
        pols = {p for m in plan.measures for p in m.pollutants}
        species = _plan_species(pols, cfg, days.species)
    day_target = {s.day: (None if s.measure_type in cfg.no_target_measures
                          else ratios.get(s.level)) for s in t.schedule}
    r, c = cell

    def values(sid: str, which: str) -> np.ndarray:
        sd = days.species[sid]
        return (sd.posterior if which == "posterior" else sd.prior)[:, r, c]

    return _outcome(days, species, sorted(day_target), day_target, values,
                    cfg.unchanged_below)


def evaluate(plan: Plan, days: EmissionDays, cfg: EvaluationConfig | None = None
             ) -> Evaluation:
    """The evaluation of an approved decision's plan on a later run's inversion."""
    cfg = cfg or load_evaluation_config()
    ratios = plan.level_ratios()
    eval_id = "eval-" + short_hash(plan.decision_id, days.run_id)
    notes = list(days.notes)
    # enterprises sharing a cell: the inversion cannot tell them apart
    cells: dict[str, tuple[int, int] | None] = {}
    for t in plan.tasks:
        if t.subject_kind == "enterprise" and t.subject_id not in cells:
            e = plan.enterprises.get(t.subject_id)
            ok = e is not None and e.get("lon") is not None and e.get("lat") is not None
            cells[t.subject_id] = days.cell_of(float(e["lon"]), float(e["lat"])) if ok \
                else None  # type: ignore[index]
    by_cell: dict[tuple[int, int], list[str]] = {}
    for eid, cell in cells.items():
        if cell is not None:
            by_cell.setdefault(cell, []).append(eid)
    tasks: list[TaskEvaluation] = []
    not_evaluable = not_covered = 0
    for t in plan.tasks:
        cell = cells.get(t.subject_id) if t.subject_kind == "enterprise" else None
        emissions = _task_emissions(t, plan, days, cfg, ratios, cell) if cell else None
        hotspots = [o for o in (_hotspot_outcome(h, days) for h in t.hotspots) if o]
        if emissions is None and not hotspots:
            if (cell and t.schedule) or t.hotspots:
                not_covered += 1
            else:
                not_evaluable += 1
            continue
        done = t.status == DONE
        dis = None
        if done and emissions is not None and emissions.verdict == "unchanged":
            dis = DISAGREE_UNCHANGED
        elif done and any(not h.gone for h in hotspots):
            dis = DISAGREE_HOTSPOT
        remark = NOT_REPORTED_REDUCED[0] if (not done and emissions is not None
                                             and emissions.verdict == "reduced") else None
        tasks.append(TaskEvaluation(
            id="teval-" + short_hash(eval_id, t.id), task_id=t.id, region_code=t.region_code,
            region_name=t.region_name, city_code=t.city_code, subject_kind=t.subject_kind,
            subject_id=t.subject_id, subject_name=t.subject_name,
            measure_types=t.measure_types, measure_labels=t.measure_labels,
            status=t.status, status_note=t.status_note, reported_done=done,
            cell=days.grid.cell_id(*cell) if cell else None,
            shares_cell_with=sorted(e for e in by_cell.get(cell, []) if e != t.subject_id)
            if cell else [],
            emissions=emissions, hotspots=hotspots,
            disagreement=dis[0] if dis else None, disagreement_en=dis[1] if dis else None,
            remark=remark))
    counties: list[CountyEvaluation] = []
    names = days.county_names()
    m = days.mapper
    city_of = {m.codes[i]: m.city_codes[i] for i in m.indices("county")}
    totals = {sid: (days.county_totals(sid), days.county_totals(sid, "prior"))
              for sid in days.species}
    for code, (by_day, levels, pols) in sorted(_county_targets(plan, days).items()):
        species = _plan_species(pols, cfg, days.species)

        def values(sid: str, which: str, code: str = code) -> np.ndarray:
            return totals[sid][0 if which == "posterior" else 1][code]

        out = _outcome(days, species, sorted(by_day), by_day, values, cfg.unchanged_below)
        if out is None:
            continue
        counties.append(CountyEvaluation(
            id="ceval-" + short_hash(eval_id, code), county_code=code,
            county_name=names.get(code), city_code=city_of.get(code), levels=sorted(levels),
            emissions=out))
    if not counties and not tasks:
        notes.append(f"run {days.run_id} ({days.days[0]}–{days.days[-1]}) covers no day of "
                     f"decision {plan.decision_id}'s measures")

    def count(verdicts: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in verdicts:
            out[v] = out.get(v, 0) + 1
        return dict(sorted(out.items()))

    summary = EvaluationSummary(
        enterprises=count(t.emissions.verdict for t in tasks if t.emissions),
        counties=count(c.emissions.verdict for c in counties),
        hotspots_gone=sum(1 for t in tasks for h in t.hotspots if h.gone),
        hotspots_persisting=sum(1 for t in tasks for h in t.hotspots if not h.gone),
        disagreements=sum(1 for t in tasks if t.disagreement),
        tasks_not_evaluable=not_evaluable, tasks_not_covered=not_covered)
    return Evaluation(
        id=eval_id, decision_id=plan.decision_id, decision_run_id=plan.run_id,
        run_id=days.run_id, run_dir=days.run_dir, run_days=days.days,
        species=sorted(days.species), unchanged_below=cfg.unchanged_below, tasks=tasks,
        counties=counties, summary=summary, notes=notes)
