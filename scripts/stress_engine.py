#!/usr/bin/env python
"""Stress the rule engine: many decisions, optionally from several threads, each batch in a
child process whose exit status is checked (a native crash in durable_rules shows up as a
signal, e.g. SIGSEGV or SIGABRT, instead of taking this script down).

Workloads:

* synthetic (default): emission hotspots on distinct 3 km cells of Zhejiang with registered
  enterprises in each cell's 3x3 neighbourhood (the joins ``hotspot`` x ``hotspot_enterprise``),
  plus heavy PM2.5 days for some cities (alert -> measure -> ``enterprise_in_region`` joins).
  With ``--vary`` every decision of a batch has its own size and its own cities, so the engine's
  memory pools grow, shrink and are reused in many layouts;
* ``--run-dir DIR``: the findings of a model run directory (e.g. ``ecobrain sample-run``) with
  the bundled enterprise register.

No graph is needed (the ontology is read from the bundle). Every decision of the same workload
must have the same id: a different id is reported as a mismatch.

    .venv/bin/python scripts/stress_engine.py --batches 20 --runs 10 --threads 4 --vary
    .venv/bin/python scripts/stress_engine.py --batches 1 --runs 50 --gdb   # native backtrace

Exit status: 0 if no batch crashed, failed or disagreed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ecobrain.kb_loaders.places.enterprises import bundled_path, read_enterprises
from ecobrain.model_adapters import collect_findings
from ecobrain.reasoning.decisions.pipeline import decide, decision_timings
from ecobrain.reasoning.engine.synthetic_load import hotspot_load
from ecobrain.reasoning.language.concept_index import ConceptIndex

ROOT = Path(__file__).resolve().parents[1]


# -- workloads (child side) ------------------------------------------------------------------------

def synthetic(n_hotspots: int, seed: int, heavy_cities: int) -> tuple[Any, list[dict[str, Any]]]:
    """Findings and enterprises, deterministic for (n_hotspots, seed, heavy_cities)."""
    return hotspot_load(n_hotspots, seed=seed, heavy_cities=heavy_cities, shuffle=True,
                        run_id=f"stress-{n_hotspots}-{seed}-{heavy_cities}", id_prefix="S")


def from_run_dir(run_dir: str) -> tuple[Any, list[dict[str, Any]]]:
    findings = collect_findings(run_dir, stations=[], include_hourly=False)
    records = read_enterprises(bundled_path())[0]
    return findings, [r.properties() for r in records]


def child(args: argparse.Namespace) -> None:
    """One batch: `runs` decisions per thread, `threads` threads; prints one JSON line."""
    import faulthandler

    faulthandler.enable()

    concepts = ConceptIndex.from_ontology()
    workloads: dict[str, tuple[Any, list[dict[str, Any]]]] = {}

    def workload(i: int) -> str:
        """The workload of decision i (the same i gives the same workload in every batch)."""
        if args.run_dir:
            key = f"run:{args.run_dir}"
        elif args.vary:
            rnd = random.Random(args.seed * 1_000_003 + args.batch * 1009 + i)
            key = f"syn:{rnd.randint(max(4, args.hotspots // 10), args.hotspots)}:" \
                  f"{rnd.randint(0, 10**6)}:{rnd.randint(0, 6)}"
        else:
            key = f"syn:{args.hotspots}:{args.seed}:3"
        if key not in workloads:
            if key.startswith("run:"):
                workloads[key] = from_run_dir(args.run_dir)
            else:
                _, n, s, h = key.split(":")
                workloads[key] = synthetic(int(n), int(s), int(h))
        return key

    plan = [[workload(t * args.runs + i) for i in range(args.runs)] for t in range(args.threads)]
    ids: dict[str, set[str]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    engine_s = [0.0]

    def work(keys: list[str]) -> None:
        for key in keys:
            findings, enterprises = workloads[key]
            try:
                d = decide(findings, None, concepts=concepts, enterprises=enterprises)
            except Exception as exc:  # reported, the batch goes on
                with lock:
                    errors.append(f"{key}: {type(exc).__name__}: {exc}")
                continue

            with lock:
                ids.setdefault(key, set()).add(d.id)
                engine_s[0] += decision_timings.get(d.id, {}).get("engine_s", 0.0)

    started = time.perf_counter()
    if args.threads == 1:
        work(plan[0])
    else:
        threads = [threading.Thread(target=work, args=(keys,)) for keys in plan]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(json.dumps({"decisions": args.runs * args.threads, "errors": errors,
                      "ids": {k: sorted(v) for k, v in ids.items()},
                      "seconds": round(time.perf_counter() - started, 3),
                      "engine_s": round(engine_s[0], 3)}), flush=True)


# -- batches (parent side) -------------------------------------------------------------------------

def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_batch(args: argparse.Namespace, batch: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--batch", str(batch),
           "--runs", str(args.runs), "--threads", str(args.threads), "--hotspots",
           str(args.hotspots), "--seed", str(args.seed)]
    if args.vary:
        cmd.append("--vary")
    if args.run_dir:
        cmd += ["--run-dir", args.run_dir]
    if args.gdb:
        cmd = ["gdb", "-q", "-batch", "-ex", "set pagination off", "-ex", "run",
               "-ex", "bt 40", "-ex", "info threads", "--args", *cmd]
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "random")
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"batch": batch, "status": "timeout", "seconds": args.timeout}
    out: dict[str, Any] = {"batch": batch, "seconds": round(time.perf_counter() - started, 2)}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if args.gdb and "received signal" in proc.stdout:
        out["status"] = "crash"
        sig = proc.stdout.split("received signal", 1)[1].split(",", 1)[0].strip()
        out["signal"] = sig
        out["backtrace"] = proc.stdout[proc.stdout.index("received signal") - 40:][:6000]
    elif proc.returncode < 0:
        out["status"] = "crash"
        out["signal"] = _signal_name(proc.returncode)
        out["stderr"] = proc.stderr[-4000:]
    elif proc.returncode != 0 or not lines:
        out["status"] = "failed"
        out["returncode"] = proc.returncode
        out["stderr"] = proc.stderr[-4000:]
    else:
        report = json.loads(lines[-1])
        out.update(report)
        out["status"] = "error" if report["errors"] else "ok"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, default=10, help="child processes, one after another")
    ap.add_argument("--runs", type=int, default=10, help="decisions per thread in a batch")
    ap.add_argument("--threads", type=int, default=1, help="threads deciding at the same time")
    ap.add_argument("--hotspots", type=int, default=400,
                    help="hotspots per decision (the largest with --vary)")
    ap.add_argument("--vary", action="store_true",
                    help="a different size, seed and set of alerted cities per decision")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run-dir", help="decide this model run directory instead")
    ap.add_argument("--gdb", action="store_true", help="run each batch under gdb (backtraces)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per batch")
    ap.add_argument("--json", action="store_true", help="print the whole report as JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return

    results = []
    seen: dict[str, set[str]] = {}
    for b in range(args.batches):
        r = run_batch(args, b)
        results.append(r)
        for key, ids in r.get("ids", {}).items():
            seen.setdefault(key, set()).update(ids)
        line = f"batch {b}: {r['status']}"
        if r["status"] == "crash":
            line += f" ({r['signal']})"
        if "decisions" in r:
            line += f", {r['decisions']} decisions in {r['seconds']} s (engine {r['engine_s']} s)"
        print(line, flush=True)
        if r["status"] != "ok":
            print("  " + (r.get("backtrace") or r.get("stderr") or "; ".join(r.get("errors", [])))
                  .strip().replace("\n", "\n  ")[-3000:], flush=True)
    mismatched = sorted(k for k, v in seen.items() if len(v) > 1)
    summary = {
        "batches": args.batches, "runs_per_thread": args.runs, "threads": args.threads,
        "decisions": sum(r.get("decisions", 0) for r in results),
        "crashes": sum(r["status"] == "crash" for r in results),
        "signals": sorted({r["signal"] for r in results if r["status"] == "crash"}),
        "failed": sum(r["status"] in ("failed", "timeout", "error") for r in results),
        "mismatched_workloads": mismatched, "workloads": len(seen),
        "seconds": round(sum(r.get("seconds", 0) for r in results), 1),
        "engine_s": round(sum(r.get("engine_s", 0) for r in results), 2),
    }
    if args.json:
        print(json.dumps({"summary": summary, "batches": results}, indent=2, ensure_ascii=False))
    else:
        print(json.dumps(summary, ensure_ascii=False))
    bad = summary["crashes"] or summary["failed"] or mismatched
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
