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
  (they are retired past ``_WorkerPool.RSS_LIMIT``);
* **the floor**, measured in the same run: durable_rules driven directly (its C binding, in a
  fresh process of its own) with the same rulesets and the same facts, partitions and
  projected fields — JSON batches written, asserted, every match drained and parsed — and
  nothing else: no conclusions rendered, no chaining (no rule reads this workload's
  conclusions), no check. It uses the facts' own ids, so with ``--one-partition`` it shows
  the matches durable_rules loses to id hash collisions (docs/rule-engine.md);
* with ``--verify``, the engine check's time (:mod:`ecobrain.reasoning.engine.check`).

    .venv/bin/python benchmarks/bench_rules.py [--hotspots 10000] [--runs 2] [--json]
        [--one-partition] [--verify]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import json
import multiprocessing
import platform
import resource
import time
import uuid
from typing import Any

import psutil

from ecobrain.reasoning.authoring.rulebase import load_rule_base
from ecobrain.reasoning.decisions.conclusions import build_decision
from ecobrain.reasoning.engine.facts import assemble_facts
from ecobrain.reasoning.engine.runner import Engine, _definitions
from ecobrain.reasoning.engine.synthetic_load import hotspot_load
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex


def generate(n_hotspots: int, seed: int = 42):
    """The benchmark's data: cells in order, no heavy days (see reasoning.synthetic_load)."""
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


def durable_direct(definitions: list[str], routing: dict[str, tuple[int, ...]],
                   fields: dict[str, frozenset[str]], facts: list[dict[str, Any]],
                   batch_size: int = 1000) -> dict[str, Any]:
    """The floor: the same facts through durable_rules' C binding and nothing else."""
    import durable_rules_engine as dre

    c0, t0 = time.process_time(), time.perf_counter()
    tag = uuid.uuid4().hex[:8]
    handles = [dre.create_ruleset(f"floor_{tag}_{i}", d) for i, d in enumerate(definitions)]
    parts: dict[str, list[dict[str, Any]]] = {}
    for f in facts:
        parts.setdefault(str(f.get("sid") or "0"), []).append(f)
    matches: set[tuple[str, tuple[Any, ...]]] = set()
    for sid in sorted(parts):
        per_ruleset: dict[int, list[dict[str, Any]]] = {}
        for f in parts[sid]:
            keep = fields.get(f["type"])
            if keep is None:
                continue
            body = {k: f[k] for k in keep if k in f and f[k] is not None and f[k] != []
                    and f[k] != ""}
            body["sid"] = sid
            for t in routing.get(f["type"], ()):
                per_ruleset.setdefault(t, []).append(body)
        for idx, items in per_ruleset.items():
            for start in range(0, len(items), batch_size):
                dre.assert_facts(handles[idx], json.dumps(items[start:start + batch_size],
                                                          ensure_ascii=False))
        messages: list[str] = []
        for h in handles:
            started = dre.start_action(h)
            while started:
                _, text, offset = started
                while text:
                    messages.append(text)
                    text = dre.complete_and_start_action(h, offset)
                started = dre.start_action(h)
        for m in json.loads("[" + ",".join(messages) + "]") if messages else []:
            for rule, bound in m.items():
                matches.add((rule, tuple(sorted(v["id"] for v in bound.values()))))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    for h in handles:
        dre.delete_ruleset(h)
    return {"seconds": seconds, "cpu_s": cpu, "matches": len(matches)}


def floor(compiled: Any, facts: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`durable_direct` in a fresh process (its memory is not this process's)."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(durable_direct, _definitions(compiled), dict(compiled.routing),
                           dict(compiled.fields_by_type), facts).result()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hotspots", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one-partition", action="store_true",
                    help="all facts in one partition (the case that lost matches)")
    ap.add_argument("--verify", action="store_true", help="check every run's firings")
    args = ap.parse_args()

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
        if args.one_partition:
            for f in factset.facts:
                f["sid"] = "330000"
        c1, t1 = time.process_time(), time.perf_counter()
        result = Engine(compiled, verify=args.verify).run(factset.facts, decision_date=on)
        c2, t2 = time.process_time(), time.perf_counter()
        w1 = worker_cpu()
        engine_rss = worker_rss_mb()
        decision = build_decision(result=result, compiled=compiled, factset=factset,
                                  grounds={}, run_id=findings.run_id, on=on)
        c3, t3 = time.process_time(), time.perf_counter()
        n = len(factset.facts)
        fl = floor(compiled, factset.facts)
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
            "verify_s": result.stats.get("verify_seconds"),
            "floor_s": round(fl["seconds"], 3), "floor_cpu_s": round(fl["cpu_s"], 3),
            "floor_matches": fl["matches"], "floor_facts_per_s": round(n / fl["seconds"]),
            "engine_to_floor": round((t2 - t1) / fl["seconds"], 2),
            "cpu_engine_to_floor": round((c2 - c1 + w1 - w0) / fl["cpu_s"], 2),
        })
        del decision, result, factset
    report = {
        "date": dt.date.today().isoformat(), "machine": platform.platform(),
        "python": platform.python_version(), "cpus": psutil.cpu_count(),
        "hotspots": args.hotspots, "enterprises": len(enterprises),
        "rule_versions": len(compiled.rules), "rulesets": len(compiled.rulesets),
        "generate_s": round(gen_s, 3), "compile_s": round(compile_s, 3),
        "rss_before_runs_mb": round(start_rss), "one_partition": args.one_partition,
        "runs": runs,
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
        print(f"    floor (durable_rules direct, same facts): {r['floor_s']} s "
              f"({r['floor_cpu_s']} CPU s), {r['floor_facts_per_s']} facts/s, "
              f"{r['floor_matches']} matches | engine / floor: wall {r['engine_to_floor']}, "
              f"CPU {r['cpu_engine_to_floor']} (engine + worker CPU / floor CPU)"
              + (f" | engine check {r['verify_s']} s" if r["verify_s"] is not None else ""))


if __name__ == "__main__":
    main()
