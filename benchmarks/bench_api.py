#!/usr/bin/env python
"""Benchmark: the decision-advice API under load — 20 concurrent clients reading tasks.

Set-up (not timed): an embedded graph server in a temporary directory, the bundled knowledge,
the sample run decided (``--days``, default 15, the run ``bench_decide.py`` writes), a
commander key. Then ``ecobrain serve`` in a subprocess (uvicorn, ``--workers`` processes) and
``--clients`` threads, each with its own HTTP connection, that for ``--seconds`` alternate:

- ``GET /decisions/{id}/tasks?region=<a city or county>&limit=50`` (a page of tasks), and
- ``GET /tasks/{id}`` (a task with its explanation and legal texts).

Each worker reads the decision's trace once (the first explanation); the warm-up does that.
Prints requests/s and p50/p95/p99 latency, overall and per endpoint, errors, and the CPU each
request costs in the API workers, the graph server and the clients. Aim: p95 under 50 ms. The
clients run on the same machine as the server (2 cores here): their CPU counts.

By default the clients are a closed loop (each sends its next request as soon as the last one
answered: the throughput test; latency is then queueing, clients / throughput). ``--rate R``
paces them together at R requests/s (open loop: the latency a user sees at that load).

    .venv/bin/python benchmarks/bench_api.py [--workers 2] [--clients 20] [--seconds 20]
                                             [--rate R]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load-test the decision-advice API.")
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: total requests/s the clients aim at together "
                        "(default: closed loop, each client sends its next request at once)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="ecobrain-bench-api-"))
    os.environ["ECOBRAIN_DATA_DIR"] = str(tmp)
    os.environ.pop("ECOBRAIN_GRAPH_URI", None)
    os.environ["ECOBRAIN_API_KEYS_FILE"] = str(tmp / "api_keys.json")
    graph = f"bench_api_{uuid.uuid4().hex[:10]}"
    os.environ["ECOBRAIN_GRAPH_DATABASE"] = graph
    from ecobrain.api.auth import KeyStore
    from ecobrain.kb_loaders.bundle import load_bundled
    from ecobrain.model_adapters.sample_run import write_sample_run
    from ecobrain.ontology.embedded import EmbeddedServer
    from ecobrain.ontology.store import open_store
    from ecobrain.reasoning.run_decision import decide_run

    print(f"# API load benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    mode = f"open loop at {args.rate:g} req/s" if args.rate else "closed loop"
    print(f"python {platform.python_version()}, {psutil.cpu_count(logical=True)} cpus, "
          f"load average {os.getloadavg()[0]:.1f}; {args.workers} uvicorn worker(s), "
          f"{args.clients} clients, {mode}, {args.seconds:g} s")
    run_dir = Path(tempfile.gettempdir()) / f"ecobrain-bench-decide-run-{args.days}d"
    truth = run_dir / "sample-truth.json"
    if not (truth.exists() and json.loads(truth.read_text())["days"] == args.days):
        write_sample_run(run_dir, days=args.days, seed=0, start=dt.date(2026, 11, 26))
    store = open_store()
    server = None
    try:
        load_bundled(store)
        outcome = decide_run(store, run_dir)
        d = outcome.decision
        task_ids = [t.id for t in d.tasks]
        regions = sorted({t.region_code for t in d.tasks} | {t.region_code[:4] + "00"
                                                              for t in d.tasks})
        print(f"decision {d.id}: {len(d.tasks)} tasks in {len(regions)} regions")
        key = KeyStore().create("bench", ["commander"])
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "ecobrain"), "serve", "--port", str(port),
             "--workers", str(args.workers)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=os.environ.copy())
        base = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": key}
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.3)
        t = time.perf_counter()
        for tid in task_ids[: 20 * args.workers]:  # every worker reads the trace once:
            # a new connection each time, so that the workers' accepts share them
            httpx.get(f"{base}/tasks/{tid}", headers={**headers, "Connection": "close"},
                      timeout=60).raise_for_status()
        print(f"warm-up: {time.perf_counter() - t:.1f} s")

        lat: dict[str, list[float]] = {"tasks page": [], "task": []}
        errors: list[str] = []
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        gap = args.clients / args.rate if args.rate else 0.0

        def client(seed: int) -> None:
            rng = random.Random(seed)
            due = time.monotonic() + rng.uniform(0, gap)
            mine: dict[str, list[float]] = {"tasks page": [], "task": []}
            bad: list[str] = []
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                i = 0
                while time.monotonic() < stop:
                    if gap:
                        time.sleep(max(0.0, due - time.monotonic()))
                        due += gap
                    if i % 2 == 0:
                        name = "tasks page"
                        url = f"/decisions/{d.id}/tasks"
                        params = {"region": rng.choice(regions), "limit": 50}
                    else:
                        name, url, params = "task", f"/tasks/{rng.choice(task_ids)}", {}
                    t0 = time.perf_counter()
                    r = c.get(url, params=params)
                    mine[name].append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        bad.append(f"{r.status_code} {url}")
                    i += 1
            with lock:
                for k, v in mine.items():
                    lat[k].extend(v)
                errors.extend(bad)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        srv = psutil.Process(server.pid)
        procs = [srv, *srv.children(recursive=True)]
        info = EmbeddedServer(tmp).status()
        graph_proc = psutil.Process(info.pid) if info else None
        me = psutil.Process()

        def cpu() -> tuple[float, float, float]:
            busy = 0.0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    busy += sum(p.cpu_times()[:2])
            graph_cpu = sum(graph_proc.cpu_times()[:2]) if graph_proc else 0.0
            return busy, sum(me.cpu_times()[:2]), graph_cpu

        cpu0 = cpu()
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        cpu1 = cpu()
        everything = lat["tasks page"] + lat["task"]
        print(f"\n{'endpoint':<14}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'p99 ms':>9}{'mean ms':>9}")
        for name, values in (*lat.items(), ("all", everything)):
            print(f"{name:<14}{len(values):>9}{len(values) / elapsed:>9.1f}"
                  f"{_pct(values, 50) * 1e3:>9.1f}{_pct(values, 95) * 1e3:>9.1f}"
                  f"{_pct(values, 99) * 1e3:>9.1f}"
                  f"{statistics.fmean(values) * 1e3 if values else float('nan'):>9.1f}")
        print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        n = max(1, len(everything))
        print(f"CPU per request: API server {(cpu1[0] - cpu0[0]) / n * 1e3:.2f} ms, "
              f"graph server {(cpu1[2] - cpu0[2]) / n * 1e3:.2f} ms, "
              f"clients {(cpu1[1] - cpu0[1]) / n * 1e3:.2f} ms (same machine, "
              f"{psutil.cpu_count()} cpus)")
        p95 = _pct(everything, 95) * 1e3
        print(f"aim: p95 < 50 ms — {'met' if p95 < 50 else 'NOT met'} ({p95:.1f} ms)")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        store.drop_graph()
        store.close()
        EmbeddedServer(tmp).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
