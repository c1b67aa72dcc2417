#!/usr/bin/env python
"""Benchmark: ``ecobrain decide`` on a 15-day sample run, end to end.

A fresh graph with the bundled knowledge (loaded first, not timed), a 15-day sample run
(written once into ``$TMPDIR/ecobrain-bench-decide-run``, reused by later invocations, not
timed), then what ``ecobrain decide RUN_DIR`` does, timed per step:

1. findings (model adapters on the run's netCDF files),
2. registering the run (ModelRun, region forecasts),
3. reasoning (compile, facts, engine, decision),
4. saving (decision, conclusions, grounds, evidence, trace, provenance),
5. documents (every city and county with tasks, HTML + Markdown + Word, two PNGs each);

then the same run decided again (the idempotent path: nothing new written). Prints seconds per
step, counts, the peak RSS of this process (and of the document workers) and the graph
server's memory. Aim: decide + documents under 60 s.

The graph is a new name on the configured server (``ECOBRAIN_GRAPH_URI``), or on an embedded
server started in a temporary directory and stopped afterwards.

    .venv/bin/python benchmarks/bench_decide.py [--days 15] [--formats html,md,docx] [--workers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_common import machine_line, private_graph


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark ecobrain decide end to end.")
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--formats", default="html,md,docx")
    parser.add_argument("--workers", type=int, default=None,
                        help="document processes (default: one per core, up to 4)")
    args = parser.parse_args(argv)
    with private_graph():
        return _decide(args)


def _decide(args: argparse.Namespace) -> int:
    from ecobrain.api.documents.task_list import render_documents
    from ecobrain.kb_loaders.bundle import load_bundled
    from ecobrain.model_adapters.sample_run import write_sample_run
    from ecobrain.ontology.graph.store import open_store
    from ecobrain.reasoning.decisions.run_decision import decide_run

    print(f"# decide benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    run_dir = Path(tempfile.gettempdir()) / f"ecobrain-bench-decide-run-{args.days}d"
    start = dt.date(2026, 11, 26)
    truth = run_dir / "sample-truth.json"
    if not (truth.exists() and json.loads(truth.read_text())["days"] == args.days):
        t = time.perf_counter()
        write_sample_run(run_dir, days=args.days, seed=0, start=start)
        print(f"sample run written in {time.perf_counter() - t:.1f} s: {run_dir}")
    else:
        print(f"sample run reused: {run_dir}")
    size = sum(f.stat().st_size for f in run_dir.iterdir()) / 1e6
    store = open_store(graph=f"bench_decide_{uuid.uuid4().hex[:10]}")
    out = Path(tempfile.mkdtemp(prefix="ecobrain-bench-docs-"))
    try:
        t = time.perf_counter()
        load_bundled(store)
        print(f"graph: {store.describe()}; knowledge loaded in {time.perf_counter() - t:.1f} s")
        print(f"run: {args.days} days, {size:.0f} MB of netCDF")

        started = time.perf_counter()
        outcome = decide_run(store, run_dir)
        docs = render_documents(store, outcome.decision_id, out,
                                formats=args.formats.split(","), workers=args.workers)
        total = time.perf_counter() - started
        d = outcome.decision
        tm = outcome.timings
        print("\n## first decision")
        rows = [("findings (adapters)", tm["findings_s"]), ("register run", tm["register_s"]),
                ("reasoning", tm["decide_s"]), ("  compile", tm.get("compile_s", 0)),
                ("  facts", tm.get("facts_s", 0)), ("  engine", tm.get("engine_s", 0)),
                ("  decision", tm.get("decision_s", 0)), ("save", tm["save_s"]),
                (f"documents ({len(docs.documents)} regions, {args.formats}, "
                 f"{docs.workers} workers)", docs.seconds), ("total", total)]
        for name, seconds in rows:
            print(f"{name:<48}{seconds:8.2f} s")
        print(f"decision {d.id}: {len(d.alerts)} alerts, {len(d.measures)} measures, "
              f"{len(d.tasks)} tasks, {len(d.advice)} advice; findings {outcome.findings}")
        print(f"written: {outcome.written['nodes_created']} nodes, "
              f"{outcome.written['relationships_created']} relationships")
        files = list(docs.folder.iterdir())
        print(f"documents: {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f}"
              f" MB in {docs.folder}")

        t = time.perf_counter()
        again = decide_run(store, run_dir)
        print(f"\n## same run again: {time.perf_counter() - t:.2f} s, existed={again.existed}, "
              f"nodes created {again.written['nodes_created']}")
        mem = store._db.connection.info("memory")  # type: ignore[attr-defined]
        print(f"\npeak RSS: this process {_peak_rss_mb():.0f} MB, document workers "
              f"{_peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB (largest); graph server "
              f"used_memory_peak {mem.get('used_memory_peak', 0) / 1e6:.0f} MB")
        print(f"aim: decide + documents < 60 s — {'met' if total < 60 else 'NOT met'} "
              f"({total:.1f} s)")
    finally:
        store.drop_graph()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
