#!/usr/bin/env python
"""Benchmark: what a response-cache stamp read costs, blocking (`read_one`) or async (`aread_one`).

The API's response cache reads one stamp per request (``decision_store.task_stamp`` /
``atask_stamp``: an indexed lookup of a task and its decision). It used to be the blocking read
on the event loop; it is now the store's asyncio read. This measures, in one process, the CPU
and wall time per stamp read of both on an embedded FalkorDB (a temporary data directory, a
graph with ``--tasks`` tasks of one decision): blocking reads one after another, async reads
one after another, and async reads ``--concurrency`` at a time (as a loaded API worker has
several requests in flight). Rounds alternate between the kinds; medians over ``--rounds``.

    .venv/bin/python benchmarks/bench_stamp_read.py [--reads 2000] [--rounds 5]
        [--concurrency 10] [--tasks 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

from ecobrain.ontology.graph.embedded import EmbeddedServer
from ecobrain.ontology.graph.falkordb_store import FalkorStore
from ecobrain.reasoning.decisions.store import atask_stamp, task_stamp


def _per_read(fn: Callable[[], object], reads: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(reads):
        fn()
    return ((time.process_time() - cpu) / reads * 1e3, (time.perf_counter() - wall) / reads * 1e3)


async def _per_read_async(fn: Callable[[], Awaitable[object]], reads: int, concurrency: int
                          ) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(reads // concurrency):
        await asyncio.gather(*(fn() for _ in range(concurrency)))
    done = reads // concurrency * concurrency
    return ((time.process_time() - cpu) / done * 1e3, (time.perf_counter() - wall) / done * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    print(f"# stamp read benchmark — {dt.datetime.now():%Y-%m-%d %H:%M}")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, load average "
          f"{os.getloadavg()[0]:.1f}; {args.reads} reads x {args.rounds} rounds; uvloop")
    with tempfile.TemporaryDirectory(prefix="bench-stamp-") as tmp:
        server = EmbeddedServer(Path(tmp) / "data")
        info = server.ensure_running()
        store = FalkorStore(info.host, info.port, "bench", password=info.password)
        try:
            store.ensure_schema()
            store.write("MERGE (d:Decision {id: 'dec-1'}) SET d.revision = 'r1', "
                        "d.status_version = 0")
            store.write_rows("UNWIND $rows AS r MERGE (t:Task {id: r.id}) "
                             "SET t.decision_id = 'dec-1', t.status_version = r.v",
                             [{"id": f"task-{i}", "v": i % 3} for i in range(args.tasks)])
            task = f"task-{args.tasks // 2}"
            results: dict[str, list[tuple[float, float]]] = {
                "blocking read_one": [], "async aread_one, one at a time": [],
                f"async aread_one, {args.concurrency} at a time": []}

            async def rounds() -> None:
                assert await atask_stamp(store, task) == task_stamp(store, task)
                try:
                    for _ in range(args.rounds):
                        kinds = iter(results.values())
                        next(kinds).append(_per_read(lambda: task_stamp(store, task),
                                                     args.reads))
                        next(kinds).append(await _per_read_async(
                            lambda: atask_stamp(store, task), args.reads, 1))
                        next(kinds).append(await _per_read_async(
                            lambda: atask_stamp(store, task), args.reads, args.concurrency))
                finally:
                    await store.aclose()

            uvloop.run(rounds())
        finally:
            store.close()
            server.stop()
    print(f"\n{'stamp read':40} {'CPU ms':>8} {'wall ms':>8}   (per read, median of rounds)")
    for name, figures in results.items():
        print(f"{name:40} {statistics.median(c for c, _ in figures):8.3f} "
              f"{statistics.median(w for _, w in figures):8.3f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
