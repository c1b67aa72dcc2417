"""The reasoning step: findings of a model run + the graph → a decision.

``decide(findings, store, on=date)``:

1. the decision date — given, or the run's initialisation day (the day the forecast was
   issued), so re-deciding an old run gives the same decision; pass ``on`` to decide as of
   another day (the legal grounds are those in force on that date);
2. the rule versions in force on that date (the bundled ``rules/`` unless a rule base is
   given), compiled once per date and cached;
3. the facts: findings + graph context (:mod:`.facts`);
4. the engine: forward chaining on durable_rules (:mod:`.engine`), enterprises of alerted
   regions added as alerts appear;
5. the legal grounds of every cited provision on the date (:mod:`.legal_grounds`);
6. the decision: merged conclusions with ids, reasons, evidence and grounds
   (:mod:`.conclusions`).

Nothing is written to the graph here; :func:`ecobrain.reasoning.decisions.persist.save_decision`
does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ecobrain.model_adapters.findings import RunFindings
from ecobrain.model_adapters.run_warnings import WarningLog
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.authoring.rulebase import RuleBase, load_rule_base
from ecobrain.reasoning.decisions.conclusions import Decision, build_decision
from ecobrain.reasoning.decisions.horizon import warn_horizon
from ecobrain.reasoning.decisions.legal_grounds import resolve_grounds
from ecobrain.reasoning.engine.facts import GraphContext, assemble_facts, implicated_days
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex


def decision_date_of(findings: RunFindings, on: date | None) -> date:
    if on is not None:
        return on
    if findings.init_time is not None:
        return findings.init_time.date()
    if findings.days:
        return min(findings.days)
    return date.today()


def decide(findings: RunFindings, store: GraphStore | None, on: date | None = None,
           rules: RuleBase | None = None, *, concepts: ConceptIndex | None = None,
           enterprises: Sequence[Mapping[str, Any]] | None = None) -> Decision:
    """The whole reasoning step for one run (see the module docstring).

    `enterprises` replaces the graph's enterprise register (tests, benchmarks); `concepts`
    replaces the graph's ontology.
    """
    t0 = time.perf_counter()
    day = decision_date_of(findings, on)
    base = rules if rules is not None else load_rule_base()[0]
    concepts = concepts or ConceptIndex.for_store(store)
    compiled = compile_rule_base(base, day, concepts)
    t1 = time.perf_counter()
    factset = assemble_facts(findings, store, concepts, enterprises=enterprises, on=day)
    t2 = time.perf_counter()
    context = GraphContext(store, concepts, enterprises,
                           implicated=implicated_days(findings.daily_aqi))
    partitions = list(factset.partitions)
    if enterprises is not None and any(f["sid"] == "*" for f in factset.facts):
        partitions += sorted({e["city_code"] for e in enterprises if e.get("city_code")})
    result = Engine(compiled).run(factset.facts, decision_date=day, context=context,
                                  regions=factset.regions, partitions=partitions)
    t3 = time.perf_counter()
    grounds = resolve_grounds(store, compiled.citations(), day)
    notes = list(factset.notes) + list(findings.notes)
    if not compiled.rules:
        notes.append(f"no rule version is in force on {day.isoformat()}")
    created_from = {
        "run_id": findings.run_id, "model": findings.model,
        "init_time": findings.init_time.isoformat() if findings.init_time else None,
        "run_dir": findings.run_dir, "kinds": list(findings.kinds),
        "days": [d.isoformat() for d in findings.days],
        "rule_base": base.origin, "concepts": concepts.source,
    }
    warnings = WarningLog()
    warnings.extend(findings.warnings)
    warn_horizon(warnings, findings)
    decision = build_decision(result=result, compiled=compiled, factset=factset,
                              grounds=grounds, run_id=findings.run_id, on=day,
                              created_from=created_from, notes=notes, warnings=warnings.items)
    t4 = time.perf_counter()
    decision.stats.update({"input_facts": len(factset.facts),
                           "context_queries": context.queries})
    # timings are not part of the decision's content (two runs must give the same JSON)
    decision_timings[decision.id] = {"compile_s": round(t1 - t0, 4), "facts_s": round(t2 - t1, 4),
                                     "engine_s": round(t3 - t2, 4),
                                     "decision_s": round(t4 - t3, 4)}
    while len(decision_timings) > _TIMINGS_KEPT:
        decision_timings.pop(next(iter(decision_timings)))
    return decision


# Timings of the last decisions made in this process, by decision id (for CLIs and benchmarks).
decision_timings: dict[str, dict[str, float]] = {}
_TIMINGS_KEPT = 64
