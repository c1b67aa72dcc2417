"""The decision pipeline as a follow-up of a registered job (`decide: true` in the request).

The job tracker (:mod:`ecobrain.hpc_jobs.tracker`) calls back when a run is registered; it never
imports this layer. Here the callback runs what ``ecobrain decide RUN_DIR`` does for a run
(:func:`ecobrain.reasoning.decisions.run_decision.decide_run`): the adapters' findings, the run's
forecast,
the decision with the graph's rule versions, saved with its trace
(``(:Decision)-[:DECIDED_ON]->(:ModelRun)``, the job's own node).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.run_decision import decide_run


def decide_callback(store: GraphStore) -> Callable[[Any], dict[str, Any]]:
    def run(rec: Any) -> dict[str, Any]:
        return decide_run(store, rec.output_dir).summary()

    return run
