"""The rule engine under threads and failures.

durable_rules' C engine runs in worker processes (see ``reasoning/engine.py``): decisions made
from several threads at once must be the decisions made one by one, and a native crash of the
engine must be an error of the run, not of the process. The concurrent decisions run in a
subprocess (this file, run as a script), so that a segmentation fault shows up as its exit
signal instead of killing the test session.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
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
    from ecobrain.model_adapters.findings import (
        DailyConcentrations,
        EmissionHotspot,
        Provenance,
        RegionDailyAQI,
        RunFindings,
    )

    rnd = random.Random(k)
    with open(ROOT / "knowledge/reference/enterprises.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    counties = sorted({r["county_code"] for r in rows})
    rnd.shuffle(counties)
    run_id = f"threads-{k}"
    day = dt.date(2026, 1, 15)
    prov = Provenance(run_id=run_id, file="inversion.nc", variables=["EMIS"])
    hotspots, enterprises = [], []
    for i in range(rnd.randint(15, 60)):
        row, col = 3 + 3 * (i // 50), 3 + 3 * (i % 50)
        county = counties[i % 12]
        for dr, dc in ((0, 0), (0, 1), (1, 0)):
            m = rnd.choice(rows)
            enterprises.append({
                "id": f"T-{row + dr}-{col + dc}", "name": f"企业{row + dr}-{col + dc}",
                "county_code": county, "city_code": county[:4] + "00", "sector": m["sector"],
                "pollutants": m["pollutants"].split(";"),
                "performance_grade": m["performance_grade"] or None, "key_enterprise": True,
                "online_monitoring": m["online_monitoring"] == "true",
                "cell_id": f"ZJ3KM:r{row + dr}c{col + dc}"})
        excess = round(rnd.uniform(0.2, 3.0), 3)
        hotspots.append(EmissionHotspot(
            run_id=run_id, species=rnd.choice(("VOCs", "NO2", "SO2", "PM2_5")), date=day,
            period_start=dt.datetime(2026, 1, 15), period_end=dt.datetime(2026, 1, 16),
            row=row, col=col, cell_id=f"ZJ3KM:r{row}c{col}", lon=120.0, lat=29.0,
            county_code=county, city_code=county[:4] + "00", prior=1.0, posterior=1.0 + excess,
            excess=excess, ratio=1.0 + excess, rank=1, units="t/day",
            thresholds={"min_excess": 0.1}, provenance=prov))
    daily = []
    for city in sorted({c[:4] + "00" for c in counties[:12]})[:rnd.randint(1, 3)]:
        for i, aqi in enumerate((230, 280, 320, 250)):
            daily.append(RegionDailyAQI(
                run_id=run_id, region_code=city, region_level="city", city_code=city,
                date=day + dt.timedelta(days=i), standard="HJ633-2026",
                concentrations=DailyConcentrations(PM2_5_24h=float(aqi)),
                iaqi={"PM2_5_24h": aqi}, aqi=aqi, primary_pollutants=["PM2_5"],
                exceeding_pollutants=["PM2_5"], level=5 if aqi <= 300 else 6,
                category_zh="重度污染", category_en="heavy", colour="#99004C",
                provenance=Provenance(run_id=run_id, file="CCTM_ACONC.nc",
                                      variables=["PM25_TOT"])))
    findings = RunFindings(run_id=run_id, run_dir="/threads", model="CMAQ",
                           kinds=["inversion", "forecast"],
                           init_time=dt.datetime(2026, 1, 14, 20),
                           days=sorted({d.date for d in daily} | {day}),
                           hotspots=hotspots, daily_aqi=daily)
    return findings, enterprises


def child() -> None:
    """Decide every workload alone, then all of them again from THREADS threads at once."""
    import faulthandler

    faulthandler.enable()
    from ecobrain.reasoning.concept_index import ConceptIndex
    from ecobrain.reasoning.pipeline import decide

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
    from ecobrain.reasoning.compiler import compile_rule_base
    from ecobrain.reasoning.concept_index import ConceptIndex
    from ecobrain.reasoning.facts import assemble_facts
    from ecobrain.reasoning.rulebase import load_rule_base

    concepts = ConceptIndex.from_ontology()
    findings, enterprises = workload(1)
    day = dt.date(2026, 1, 15)
    by_cell: dict[str, list[dict[str, Any]]] = {}
    for e in enterprises:
        by_cell.setdefault(e["cell_id"], []).append(e)
    factset = assemble_facts(findings, None, concepts, enterprises_by_cell=by_cell, on=day)
    return compile_rule_base(load_rule_base()[0], day, concepts), factset.facts, day


def _workers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children()
            if "ecobrain.reasoning.engine_worker" in " ".join(p.cmdline())]


def test_a_crashed_engine_process_fails_the_run_not_this_process() -> None:
    from ecobrain.reasoning.engine import Engine, EngineError

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
    from ecobrain.reasoning.engine import _WORKERS, Engine, _WorkerPool

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
