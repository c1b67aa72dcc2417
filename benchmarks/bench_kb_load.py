#!/usr/bin/env python
"""Benchmark: load the bundled knowledge into a fresh graph, then load it again.

Prints, per step and in total: seconds, nodes and relationships created, nodes/s and
relationships/s, and the peak memory of this process and of the graph server. Two parts:

1. the Zhejiang reference data alone (regions, grid, enterprises, stations; the ontology is
   loaded first but not timed, since enterprises link to its concepts);
2. the whole bundle (``kb_loaders.bundle.load_bundled``: ontology, regulations, standards,
   concept links, regions, grid, enterprises, stations).

Each part runs in a fresh process (first load: caches cold, boundaries and ontology parsed; the
loaders' modules are imported at the top of this file, before anything is timed) and then a
second time in the same graph (everything already there: the idempotent MERGE path), each time
through ``run_steps`` as
``ecobrain kb load`` runs them. What is kept between processes (region and grid-cell rows,
the registers' validated rows, the ontology's plan and summary, concept mentions:
docs/reference-data.md §2a) comes from the prepared-rows cache when it holds it (``--cold``:
an empty one, everything prepared and checked again). The
first load is printed beside its floor (``bulk_floor.py``): a plain ``UNWIND … CREATE`` of as
many nodes and relationships as it created, carrying as many parameter bytes as it sent, on the
same server in the same run, and beside it the CPU seconds of this process and of the graph
server for the load and for the floor (steadier than wall time on a shared machine).
The graph is a new name on the configured server (``ECOBRAIN_GRAPH_URI``), or on an embedded
server started in a temporary directory and stopped afterwards; the graph is dropped at the end.

    .venv/bin/python benchmarks/bench_kb_load.py [--part reference|bundle|both]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

import psutil
from bench_common import machine_line, private_graph
from bulk_floor import PayloadMeter, bulk_floor

from ecobrain.kb_loaders.bundle import bundled_steps, graph_stats, run_steps
from ecobrain.kb_loaders.places.enterprises import load_enterprises
from ecobrain.kb_loaders.places.grid_cells import load_grid
from ecobrain.kb_loaders.places.regions import load_regions
from ecobrain.kb_loaders.places.stations import load_stations
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.prepared import cache_dir


def _server_rss_mb(store: object) -> float | None:
    """Peak-ish RSS of the embedded/FalkorDB server process, when it runs on this machine."""
    try:
        info = store._db.connection.info("memory")  # type: ignore[attr-defined]
        return info.get("used_memory_peak", 0) / 1e6
    except Exception:
        return None


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run(store, steps: list[tuple[str, Callable]], title: str
         ) -> tuple[float, int, int, int, int, int]:
    """The steps through ``run_steps``, as ``ecobrain kb load`` runs them."""
    print(f"\n## {title}")
    print(f"{'step':<28}{'records':>9}{'nodes+':>9}{'rels+':>9}{'seconds':>9}")
    totals = {"nodes": 0, "rels": 0}
    meter = PayloadMeter(store)
    begun: dict[str, float] = {}

    def on_step(name: str, report) -> None:
        if report is None:
            begun[name] = time.perf_counter()
            return
        dt = time.perf_counter() - begun[name]
        totals["nodes"] += report.nodes_created
        totals["rels"] += report.relationships_created
        print(f"{name:<28}{report.records:>9}{report.nodes_created:>9}"
              f"{report.relationships_created:>9}{dt:>9.2f}")

    started = time.perf_counter()
    with meter:
        run_steps(store, steps, on_step)
    seconds = time.perf_counter() - started
    total_nodes, total_rels = totals["nodes"], totals["rels"]
    labels, rels = graph_stats(store)
    nodes_in_graph = sum(n for label, n in labels.items() if label != "AdminRegion")
    print(f"{'total':<28}{'':>9}{total_nodes:>9}{total_rels:>9}{seconds:>9.2f}")
    n_nodes = _count(store, "MATCH (n) RETURN count(n) AS n")
    n_rels = sum(rels.values())
    print(f"graph now: {n_nodes} nodes, {n_rels} relationships "
          f"(label counts incl. multi-label: {nodes_in_graph})")
    if seconds > 0:
        print(f"throughput: {n_nodes / seconds:,.0f} nodes/s, {n_rels / seconds:,.0f} "
              f"relationships/s (graph totals / seconds)")
    print(f"parameters sent: {meter.bytes / 1e6:.1f} MB")
    return seconds, n_nodes, n_rels, total_nodes, total_rels, meter.bytes


class CpuMeter:
    """CPU seconds spent by this process and the graph server (when it runs on this machine)
    inside a ``with`` block. Wall times on a shared machine move with the other work on it;
    CPU seconds much less, so they are printed beside the wall-time ratio, not instead of it."""

    def __init__(self, store: object):
        self.server: psutil.Process | None = None
        try:
            pid = store._db.connection.info("server")["process_id"]  # type: ignore[attr-defined]
            self.server = psutil.Process(int(pid))
        except Exception:  # not FalkorDB, or a server elsewhere: no server CPU to read
            self.server = None
        self.seconds: float | None = None
        self.client = self.server_seconds = 0.0

    def _now(self) -> tuple[float, float]:
        own = time.process_time()
        if self.server is None:
            return own, 0.0
        t = self.server.cpu_times()
        return own, t.user + t.system

    def __enter__(self) -> CpuMeter:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.client = end[0] - self._start[0]
        self.server_seconds = end[1] - self._start[1]
        self.seconds = self.client + self.server_seconds if self.server else None

    def split(self) -> str:
        return f"client {self.client:.2f} + server {self.server_seconds:.2f}"


def _count(store, cypher: str) -> int:
    return store.read(cypher)[0]["n"]


def _reference_steps() -> list[tuple[str, Callable]]:
    return [("regions", load_regions), ("grid", load_grid),
            ("enterprises", lambda s: load_enterprises(s)),
            ("stations", lambda s: load_stations(s))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the knowledge load.")
    parser.add_argument("--part", choices=("reference", "bundle", "both"), default="both")
    parser.add_argument("--cold", action="store_true",
                        help="prepare and check everything again (an empty prepared-rows cache)")
    args = parser.parse_args(argv)
    if args.part == "both":  # each part in a fresh process: cold caches, its own peak RSS
        for part in ("reference", "bundle"):
            subprocess.run([sys.executable, __file__, "--part", part,
                            *(["--cold"] if args.cold else [])], check=True)
        return 0
    if args.cold:
        os.environ["ECOBRAIN_CACHE_DIR"] = tempfile.mkdtemp(prefix="ecobrain-bench-cache-")

    print(f"# knowledge load benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    kept = sorted(p.name for p in (cache_dir() / "prepared").glob("*.json"))
    print(f"prepared rows (ecobrain.ontology.prepared): {cache_dir()}, "
          f"{'cold' if not kept else 'entries: ' + ', '.join(kept)}")
    summary = []
    floors = []
    with private_graph():
        for part in (args.part,):
            store = open_store(graph=f"bench_kb_{uuid.uuid4().hex[:10]}")
            print(f"graph: {store.describe()}")
            try:
                if part == "reference":
                    load_ontology(store)
                    steps = _reference_steps()
                else:
                    steps = bundled_steps()
                for run in ("first load (empty graph)", "second load (all present)"):
                    with CpuMeter(store) as load_cpu:
                        seconds, nodes, rels, created, linked, sent = _run(
                            store, steps, f"{part}: {run}")
                    summary.append((part, run, seconds, nodes, rels))
                    if run.startswith("first"):
                        with CpuMeter(store) as floor_cpu:
                            floor = bulk_floor(created, linked, sent)
                        floors.append((part, seconds, floor))
                        print(floor.line())
                        print(f"load / floor: {floor.ratio(seconds):.2f}x")
                        if load_cpu.seconds is not None and floor_cpu.seconds:
                            print(f"CPU seconds (this process + graph server): load "
                                  f"{load_cpu.seconds:.2f} ({load_cpu.split()}), floor "
                                  f"{floor_cpu.seconds:.2f} ({floor_cpu.split()}): "
                                  f"{load_cpu.seconds / floor_cpu.seconds:.2f}x")
                server = _server_rss_mb(store)
                print(f"peak RSS of this process: {_peak_rss_mb():.0f} MB"
                      + (f"; graph server used_memory_peak: {server:.0f} MB" if server else ""))
            finally:
                store.drop_graph()
                store.close()
    print("\n## summary")
    for part, run, seconds, nodes, rels in summary:
        print(f"{part:<10}{run:<28}{seconds:7.2f} s  {nodes:>7} nodes ({nodes / seconds:,.0f}/s)"
              f"  {rels:>7} rels ({rels / seconds:,.0f}/s)")
    for part, seconds, floor in floors:
        print(f"{part:<10}first load {seconds:.2f} s, floor {floor.seconds:.2f} s "
              f"({floor.nodes:,} nodes, {floor.relationships:,} relationships, "
              f"{floor.payload_bytes / 1e6:.1f} MB): {floor.ratio(seconds):.2f}x the floor")
    print(f"peak RSS of this process: {_peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
