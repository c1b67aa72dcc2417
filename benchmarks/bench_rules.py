#!/usr/bin/env python
"""Benchmark: 100,000 facts (emission hotspots with the enterprises around them) through
the rule base v1.

The data (deterministic, seed 42): hotspots of four species (VOCs, NO2, SO2, PM2_5) on
distinct 3 km cells across Zhejiang, each cell with one registered enterprise in every cell
of its 3×3 neighbourhood (sectors, pollutants, grades and online monitoring drawn from the
bundled register's mix), spread over 90 counties in 11 cities (11 engine partitions). With
10,000 hotspots that is 10,000 ``hotspot`` + 90,000 ``hotspot_enterprise`` facts.

Measured in one process, twice (the second run reuses the engine worker, with fresh rulesets):

* **facts**: findings + enterprises → facts (``reasoning.facts``/``derived``);
* **engine**: assert in batches, Rete matching (durable_rules, C, in an engine worker
  process), draining the matches, rendering each rule's actions into conclusion facts,
  chaining — the rule base proper; its CPU time is this process's plus the worker's;
* **decision**: merging into one task per subject, ids, evidence, legal grounds (none
  resolved: no graph), the trace;
* peak RSS of the process (``ru_maxrss``), RSS after each run, and the engine workers' RSS
  (they are retired past ``_WorkerPool.RSS_LIMIT``).

    .venv/bin/python benchmarks/bench_rules.py [--hotspots 10000] [--runs 2] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import platform
import resource
import time

import psutil


def generate(n_hotspots: int, seed: int = 42):
    """The benchmark's data: cells in order, no heavy days (see reasoning.synthetic_load)."""
    from ecobrain.reasoning.engine.synthetic_load import hotspot_load

    try:
        return hotspot_load(n_hotspots, seed=seed, run_id="bench", id_prefix="B")
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _engine_workers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children()
            if "ecobrain.reasoning.engine.worker" in " ".join(p.cmdline())]


def worker_cpu() -> float:
    """CPU seconds of the engine worker processes, live ones and retired (reaped) ones."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0.0
    for p in _engine_workers():
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            live += t.user + t.system
    return ru.ru_utime + ru.ru_stime + live


def worker_rss_mb() -> float:
    total = 0
    for p in _engine_workers():
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hotspots", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from ecobrain.reasoning.authoring.rulebase import load_rule_base
    from ecobrain.reasoning.decisions.conclusions import build_decision
    from ecobrain.reasoning.engine.facts import assemble_facts
    from ecobrain.reasoning.engine.runner import Engine
    from ecobrain.reasoning.language.compiler import compile_rule_base
    from ecobrain.reasoning.language.concept_index import ConceptIndex

    t = time.perf_counter()
    findings, enterprises = generate(args.hotspots)
    gen_s = time.perf_counter() - t
    concepts = ConceptIndex.from_ontology()
    base, _ = load_rule_base()
    on = dt.date(2026, 1, 15)
    t = time.perf_counter()
    compiled = compile_rule_base(base, on, concepts)
    compile_s = time.perf_counter() - t
    start_rss = rss_mb()
    runs = []
    for i in range(args.runs):
        c0, t0 = time.process_time(), time.perf_counter()
        w0 = worker_cpu()
        factset = assemble_facts(findings, None, concepts, enterprises=enterprises)
        c1, t1 = time.process_time(), time.perf_counter()
        result = Engine(compiled).run(factset.facts, decision_date=on)
        c2, t2 = time.process_time(), time.perf_counter()
        w1 = worker_cpu()
        engine_rss = worker_rss_mb()
        decision = build_decision(result=result, compiled=compiled, factset=factset,
                                  grounds={}, run_id=findings.run_id, on=on)
        c3, t3 = time.process_time(), time.perf_counter()
        n = len(factset.facts)
        runs.append({
            "run": i + 1, "facts": n, "facts_s": round(t1 - t0, 3),
            "engine_s": round(t2 - t1, 3), "cpu_engine_worker_s": round(w1 - w0, 3),
            "decision_s": round(t3 - t2, 3), "total_s": round(t3 - t0, 3),
            "cpu_facts_s": round(c1 - c0, 3), "cpu_engine_s": round(c2 - c1, 3),
            "cpu_decision_s": round(c3 - c2, 3), "cpu_total_s": round(c3 - c0, 3),
            "engine_facts_per_s": round(n / (t2 - t1)),
            "total_facts_per_s": round(n / (t3 - t0)),
            "firings": len(result.firings), "conclusions": len(result.conclusions),
            "tasks": len(decision.tasks), "partitions": result.stats["partitions"],
            "rss_after_mb": round(rss_mb()), "peak_rss_mb": round(peak_mb()),
            "engine_worker_rss_mb": round(engine_rss),
        })
        del decision, result, factset
    report = {
        "date": dt.date.today().isoformat(), "machine": platform.platform(),
        "python": platform.python_version(), "cpus": psutil.cpu_count(),
        "hotspots": args.hotspots, "enterprises": len(enterprises),
        "rule_versions": len(compiled.rules), "rulesets": len(compiled.rulesets),
        "generate_s": round(gen_s, 3), "compile_s": round(compile_s, 3),
        "rss_before_runs_mb": round(start_rss), "runs": runs,
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    print(f"{report['hotspots']} hotspots, {report['enterprises']} enterprises; "
          f"{report['rule_versions']} rule versions in {report['rulesets']} rulesets; "
          f"compile {report['compile_s']} s; RSS before runs {report['rss_before_runs_mb']} MB")
    for r in runs:
        print(f"run {r['run']}: {r['facts']} facts | facts {r['facts_s']} s | engine "
              f"{r['engine_s']} s | decision {r['decision_s']} s | "
              f"total {r['total_s']} s | engine {r['engine_facts_per_s']} facts/s, end-to-end "
              f"{r['total_facts_per_s']} facts/s | {r['firings']} firings, {r['tasks']} tasks | "
              f"RSS after {r['rss_after_mb']} MB, peak {r['peak_rss_mb']} MB, engine worker "
              f"{r['engine_worker_rss_mb']} MB | CPU s: facts {r['cpu_facts_s']}, engine "
              f"{r['cpu_engine_s']} + worker {r['cpu_engine_worker_s']}, decision "
              f"{r['cpu_decision_s']}, total {r['cpu_total_s']}")


if __name__ == "__main__":
    main()
