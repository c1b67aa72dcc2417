#!/usr/bin/env python
"""Benchmark: ``kb load`` and ``decide`` on the embedded FalkorDB and over Bolt, same run.

For each backend, a new empty graph: the whole bundled knowledge loaded (``load_bundled``, as
``ecobrain kb load`` does), then the sample run decided (``decide_run``, as ``ecobrain decide``
does: findings, reasoning, saving; documents are not part of it — they read the same way on
both), then the same run decided again (the idempotent path). Prints seconds per step and the
decision id (the same on both backends, or the run is wrong).

Bolt is the test Bolt server of ``scripts/bolt-test-server.sh`` (ArcadeDB's Bolt plugin — the
stand-in for Neo4j 5 the tests use; a real Neo4j's figures will differ): start it and export
its settings first; the benchmark makes a database of its own there through the server's
HTTP API and drops it after. FalkorDB is an embedded server in a temporary directory.

    scripts/bolt-test-server.sh start && eval "$(scripts/bolt-test-server.sh env)"
    .venv/bin/python benchmarks/bench_backends.py [--days 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from bench_common import machine_line, private_graph

from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.ontology.graph.config import GraphSettings, settings_from_env
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.run_decision import decide_run

START = dt.date(2026, 11, 26)  # the benchmarks' sample run start (bench_decide.py)


def _bolt_command(command: str) -> None:
    """A server command (create/drop database) through the test Bolt server's HTTP API."""
    response = httpx.post(f"{os.environ['ECOBRAIN_TEST_BOLT_HTTP']}/api/v1/server",
                          json={"command": command}, timeout=120,
                          auth=(os.environ["ECOBRAIN_TEST_BOLT_USER"],
                                os.environ["ECOBRAIN_TEST_BOLT_PASSWORD"]))
    response.raise_for_status()


def _measure(store: GraphStore, run_dir: Path) -> dict[str, object]:
    t = time.perf_counter()
    load_bundled(store)
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    first = decide_run(store, run_dir, on=START)
    decided = time.perf_counter() - t
    t = time.perf_counter()
    again = decide_run(store, run_dir, on=START)
    redecided = time.perf_counter() - t
    assert again.decision_id == first.decision_id
    return {"load": loaded, "decide": decided, "again": redecided, "id": first.decision_id,
            "save": first.timings.get("save_s"), "findings": first.timings.get("findings_s"),
            "tasks": len(first.decision.tasks)}


def _falkordb(run_dir: Path) -> dict[str, object]:
    with private_graph():
        store = open_store(settings_from_env(), graph=f"bench_backends_{uuid.uuid4().hex[:8]}")
        try:
            return _measure(store, run_dir)
        finally:
            store.drop_graph()
            store.close()


def _bolt(run_dir: Path) -> dict[str, object]:
    name = f"bench_backends_{uuid.uuid4().hex[:8]}"
    _bolt_command(f"create database {name}")
    settings = GraphSettings(uri=os.environ["ECOBRAIN_TEST_BOLT_URI"],
                             user=os.environ["ECOBRAIN_TEST_BOLT_USER"],
                             password=os.environ["ECOBRAIN_TEST_BOLT_PASSWORD"],
                             database=name, data_dir=Path(tempfile.gettempdir()))
    store = open_store(settings)
    try:
        return _measure(store, run_dir)
    finally:
        store.close()
        _bolt_command(f"drop database {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="kb load and decide on both backends.")
    parser.add_argument("--days", type=int, default=15)
    args = parser.parse_args(argv)
    if not os.environ.get("ECOBRAIN_TEST_BOLT_URI"):
        print("no Bolt server: scripts/bolt-test-server.sh start && "
              "eval \"$(scripts/bolt-test-server.sh env)\"", file=sys.stderr)
        return 2
    os.environ.pop("ECOBRAIN_GRAPH_URI", None)
    print(f"# backends benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    run_dir = write_sample_run(Path(tempfile.mkdtemp(prefix="ecobrain-bench-backends-"))
                               / f"run{args.days}", days=args.days, seed=0, start=START)
    rows = {"embedded FalkorDB": _falkordb(run_dir), "Bolt (ArcadeDB stand-in)": _bolt(run_dir)}
    print(f"\n{args.days}-day sample run")
    # floor: the findings (the model adapters on the run's files) are the same work on both
    print(f"{'backend':<26}{'kb load s':>10}{'decide s':>10}{'findings s':>11}{'save s':>8}"
          f"{'again s':>9}{'tasks':>7}  decision id")
    for name, r in rows.items():
        print(f"{name:<26}{r['load']:>10.1f}{r['decide']:>10.1f}{r['findings']:>11.1f}"
              f"{r['save']:>8.1f}{r['again']:>9.1f}{r['tasks']:>7}  {r['id']}")
    ids = {r["id"] for r in rows.values()}
    print("same decision id on both" if len(ids) == 1 else f"DIFFERENT decision ids: {ids}")
    print(machine_line())
    return 0 if len(ids) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
