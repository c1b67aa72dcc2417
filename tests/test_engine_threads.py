"""The rule engine under threads and failures.

durable_rules' C engine runs in worker processes (see ``reasoning/engine/runner.py``): decisions
made
from several threads at once must be the decisions made one by one, and a native crash of the
engine must be an error of the run, not of the process. The concurrent decisions run in a
subprocess (this file, run as a script), so that a segmentation fault shows up as its exit
signal instead of killing the test session.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
THREADS = 4
WORKLOADS = 6


def workload(k: int) -> tuple[Any, list[dict[str, Any]]]:
    """Hotspots with enterprises around them (joins) and heavy PM2.5 days in some cities
    (alert -> measure -> enterprise tasks); a different size and place for each k."""
    from ecobrain.reasoning.engine.synthetic_load import hotspot_load

    return hotspot_load(40 + 16 * k, seed=k, heavy_cities=1 + k % 3, shuffle=True,
                        run_id=f"threads-{k}", id_prefix="T")


def child() -> None:
    """Decide every workload alone, then all of them again from THREADS threads at once."""
    import faulthandler

    faulthandler.enable()
    from ecobrain.reasoning.decisions.pipeline import decide
    from ecobrain.reasoning.language.concept_index import ConceptIndex

    concepts = ConceptIndex.from_ontology()
    loads = [workload(k) for k in range(WORKLOADS)]
    alone = [decide(f, None, concepts=concepts, enterprises=e) for f, e in loads]
    together: dict[int, list[str]] = {k: [] for k in range(WORKLOADS)}
    errors: list[str] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(WORKLOADS):
            k = (i + t) % WORKLOADS  # the threads decide different workloads at the same time
            try:
                d = decide(loads[k][0], None, concepts=concepts, enterprises=loads[k][1])
            except Exception as exc:
                with lock:
                    errors.append(f"{k}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                together[k].append(d.model_dump_json())

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"alone": [d.model_dump_json() for d in alone],
                      "tasks": [len(d.tasks) for d in alone],
                      "together": together, "errors": errors}))


def test_decisions_from_threads_are_the_decisions_made_one_by_one() -> None:
    proc = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    if proc.returncode < 0:
        pytest.fail(f"the deciding process died of {signal.Signals(-proc.returncode).name}:\n"
                    f"{proc.stderr[-4000:]}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["errors"] == []
    assert all(n > 0 for n in report["tasks"])  # real work: every workload makes tasks
    for k, alone in enumerate(report["alone"]):
        assert report["together"][str(k)] == [alone] * THREADS


# -- in this process: a dead engine worker, the memory limit ---------------------------------------

def _compiled_and_facts() -> tuple[Any, list[dict[str, Any]], dt.date]:
    from ecobrain.reasoning.authoring.rulebase import load_rule_base
    from ecobrain.reasoning.engine.facts import assemble_facts
    from ecobrain.reasoning.language.compiler import compile_rule_base
    from ecobrain.reasoning.language.concept_index import ConceptIndex

    concepts = ConceptIndex.from_ontology()
    findings, enterprises = workload(1)
    day = dt.date(2026, 1, 15)
    factset = assemble_facts(findings, None, concepts, enterprises=enterprises,
                             on=day)
    return compile_rule_base(load_rule_base()[0], day, concepts), factset.facts, day


def _workers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children()
            if "ecobrain.reasoning.engine.worker" in " ".join(p.cmdline())]


def test_a_crashed_engine_process_fails_the_run_not_this_process() -> None:
    from ecobrain.reasoning.engine.runner import Engine, EngineError

    compiled, facts, day = _compiled_and_facts()
    expected = Engine(compiled).run(facts, decision_date=day)
    assert len({f.partition for f in expected.firings}) > 1

    class Killer:
        """A context provider that kills the engine process when the first alert appears."""

        def expand(self, partition: str, new: Any) -> list[dict[str, Any]]:
            for p in _workers():
                if p.status() != psutil.STATUS_ZOMBIE:
                    p.send_signal(signal.SIGSEGV)
            return []

    with pytest.raises(EngineError, match="SIGSEGV"):
        Engine(compiled).run(facts, decision_date=day, context=Killer())
    again = Engine(compiled).run(facts, decision_date=day)  # a fresh process takes over
    assert [f.id for f in again.firings] == [f.id for f in expected.firings]


def test_a_run_past_the_memory_limit_moves_to_a_fresh_process(monkeypatch) -> None:
    from ecobrain.reasoning.engine.runner import _WORKERS, Engine, _WorkerPool

    compiled, facts, day = _compiled_and_facts()
    expected = Engine(compiled).run(facts, decision_date=day)
    started = _WORKERS.started
    monkeypatch.setattr(_WorkerPool, "RSS_LIMIT", 1)  # every worker is over it
    result = Engine(compiled).run(facts, decision_date=day)
    assert [f.id for f in result.firings] == [f.id for f in expected.firings]
    assert [c.fact for c in result.conclusions] == [c.fact for c in expected.conclusions]
    # one process per partition after the first (the first may be an idle one)
    assert _WORKERS.started - started >= result.stats["partitions"] - 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
