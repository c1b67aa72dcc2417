"""The decision pipeline as a follow-up of a registered job (`decide: true` in the request).

The job tracker (:mod:`ecobrain.hpc_jobs.tracker`) calls back when a run is registered; it never
imports this layer. Here the callback runs what ``ecobrain decide RUN_DIR`` does for a run: the
adapters' findings, :func:`ecobrain.reasoning.pipeline.decide`, and the decision saved in the
graph (``(:Decision)-[:DECIDED_ON]->(:ModelRun)``, the job's own node).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecobrain.ontology.store import GraphStore


def decide_callback(store: GraphStore) -> Callable[[Any], dict[str, Any]]:
    def run(rec: Any) -> dict[str, Any]:
        from ecobrain.model_adapters import collect_findings
        from ecobrain.reasoning.persist import save_decision
        from ecobrain.reasoning.pipeline import decide

        findings = collect_findings(rec.output_dir, include_hourly=False)
        decision = decide(findings, store)
        save_decision(store, decision)
        return decision.summary()

    return run
