#!/usr/bin/env python
"""Benchmark: ``ecobrain decide`` on a 15-day sample run, end to end.

A fresh graph with the bundled knowledge (loaded first, not timed), a 15-day sample run
(written once into ``$TMPDIR/ecobrain-bench-decide-run``, reused by later invocations, not
timed), then what ``ecobrain decide RUN_DIR`` does, timed per step:

1. findings (model adapters on the run's netCDF files),
2. registering the run (ModelRun, region forecasts),
3. reasoning (compile, facts, engine, decision),
4. saving (decision, conclusions, grounds, evidence, trace, provenance), beside its floor: a
   plain ``UNWIND … CREATE`` of the same numbers of nodes and relationships carrying the same
   parameter bytes, in a graph of its own on the same server, measured in the same run
   (``bulk_floor.py``);

then documents on demand (``ecobrain.api.documents.cache``): the first request for the
county with the most tasks, the same request again (kept), the full set when asked for (every
city and county with tasks, HTML + Markdown + Word, two PNGs each, in worker processes) and
asked again; then the same run decided again (the idempotent path: nothing new written).
Prints seconds per step, counts, the peak RSS of this process (and of the document workers)
and the graph server's memory. Aim (issue 18): decide without documents under 10 s.

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
from bulk_floor import PayloadMeter, bulk_floor

from ecobrain.api.documents.cache import ensure_documents, region_document
from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.ontology.graph.connect import open_store
from ecobrain.reasoning.decisions.run_decision import decide_run


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
    formats = args.formats.split(",")
    try:
        t = time.perf_counter()
        load_bundled(store)
        print(f"graph: {store.describe()}; knowledge loaded in {time.perf_counter() - t:.1f} s")
        print(f"run: {args.days} days, {size:.0f} MB of netCDF")

        started = time.perf_counter()
        with PayloadMeter(store) as meter:
            outcome = decide_run(store, run_dir)
        decided = time.perf_counter() - started
        d = outcome.decision
        tm = outcome.timings
        nodes, rels = outcome.written["nodes_created"], outcome.written["relationships_created"]
        floor = bulk_floor(nodes, rels, meter.bytes)
        print("\n## decide (what `ecobrain decide` does: no documents)")
        rows = [("findings (adapters)", tm["findings_s"]), ("register run", tm["register_s"]),
                ("reasoning", tm["decide_s"]), ("  compile", tm.get("compile_s", 0)),
                ("  facts", tm.get("facts_s", 0)), ("  engine", tm.get("engine_s", 0)),
                ("  decision", tm.get("decision_s", 0)),
                ("save (run, decision, trace, provenance: one unit)", tm["save_s"]),
                ("total", decided)]
        for name, seconds in rows:
            print(f"{name:<52}{seconds:8.2f} s")
        print(f"decision {d.id}: {len(d.alerts)} alerts, {len(d.measures)} measures, "
              f"{len(d.tasks)} tasks, {len(d.advice)} advice; findings {outcome.findings}")
        print(f"written: {nodes:,} nodes, {rels:,} relationships, "
              f"{meter.bytes / 1e6:.1f} MB of parameters")
        print(floor.line())
        print(f"save / floor: {floor.ratio(tm['save_s']):.2f}x "
              f"({tm['save_s']:.2f} s vs {floor.seconds:.2f} s)")
        print(f"aim: decide without documents < 10 s — "
              f"{'met' if decided < 10 else 'NOT met'} ({decided:.1f} s)")

        print("\n## documents on demand")
        codes = sorted({t.region_code for t in d.tasks})
        code = max(codes, key=lambda c: sum(t.region_code == c for t in d.tasks))
        t = time.perf_counter()
        first = region_document(store, d.id, code, "html", out)
        one = time.perf_counter() - t
        t = time.perf_counter()
        kept = region_document(store, d.id, code, "html", out)
        again = time.perf_counter() - t
        print(f"first request, one county ({code}, html): {one:.2f} s (rendered={first.rendered})")
        print(f"same request again (kept): {again * 1000:.1f} ms (rendered={kept.rendered})")
        docs = ensure_documents(store, d.id, out, formats=formats, workers=args.workers)
        print(f"the full set when asked ({len(docs.documents)} regions, {args.formats}, "
              f"{docs.workers} workers): {docs.seconds:.2f} s")
        t = time.perf_counter()
        ensure_documents(store, d.id, out, formats=formats, workers=args.workers)
        print(f"the full set asked again (all kept): {time.perf_counter() - t:.2f} s")
        files = [f for f in docs.folder.iterdir() if f.is_file()]
        print(f"documents: {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f}"
              f" MB in {docs.folder}")

        t = time.perf_counter()
        again_outcome = decide_run(store, run_dir)
        print(f"\n## same run again: {time.perf_counter() - t:.2f} s "
              f"(save {again_outcome.timings['save_s']:.2f} s), existed={again_outcome.existed}, "
              f"nodes created {again_outcome.written['nodes_created']}")
        t = time.perf_counter()
        copy = store._dump()  # type: ignore[attr-defined]
        print(f"a unit's copy of the graph (DUMP, FalkorDB): {time.perf_counter() - t:.2f} s, "
              f"{len(copy or b'') / 1e6:.0f} MB — grows with the graph; taken by a save over "
              "existing nodes (the same run again), not by a new run's first decision "
              "(an additive unit)")
        mem = store._db.connection.info("memory")  # type: ignore[attr-defined]
        print(f"\npeak RSS: this process {_peak_rss_mb():.0f} MB, document workers "
              f"{_peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB (largest); graph server "
              f"used_memory_peak {mem.get('used_memory_peak', 0) / 1e6:.0f} MB")
    finally:
        store.drop_graph()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
