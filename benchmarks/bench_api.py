#!/usr/bin/env python
"""Benchmark: the decision-advice API under load — 20 concurrent clients reading tasks.

Set-up (not timed): an embedded graph server in a temporary directory, the bundled knowledge,
the sample run decided (``--days``, default 15, the run ``bench_decide.py`` writes), a
commander key. Then ``ecobrain serve`` in a subprocess (uvicorn, ``--workers`` processes) and
``--clients`` threads, each with its own HTTP connection, that for ``--seconds`` alternate:

- ``GET /decisions/{id}/tasks?region=<a city or county>&limit=50`` (a page of tasks), and
- ``GET /tasks/{id}`` (a task with its explanation and legal texts).

Each worker reads the decision's trace once (the first explanation); the warm-up does that.
Prints requests/s and p50/p95/p99 latency, overall and per endpoint, and errors. Aim: p95 under
50 ms. The clients run on the same machine as the server (2 cores here): their CPU counts.

    .venv/bin/python benchmarks/bench_api.py [--workers 2] [--clients 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
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
    print(f"python {platform.python_version()}, {psutil.cpu_count(logical=True)} cpus, "
          f"load average {os.getloadavg()[0]:.1f}; {args.workers} uvicorn worker(s), "
          f"{args.clients} clients, {args.seconds:g} s")
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
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            t = time.perf_counter()
            for tid in task_ids[: 10 * args.workers]:  # every worker reads the trace once
                c.get(f"/tasks/{tid}").raise_for_status()
            print(f"warm-up: {time.perf_counter() - t:.1f} s")

        lat: dict[str, list[float]] = {"tasks page": [], "task": []}
        errors: list[str] = []
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            mine: dict[str, list[float]] = {"tasks page": [], "task": []}
            bad: list[str] = []
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                i = 0
                while time.monotonic() < stop:
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
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        everything = lat["tasks page"] + lat["task"]
        print(f"\n{'endpoint':<14}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'p99 ms':>9}{'mean ms':>9}")
        for name, values in (*lat.items(), ("all", everything)):
            print(f"{name:<14}{len(values):>9}{len(values) / elapsed:>9.1f}"
                  f"{_pct(values, 50) * 1e3:>9.1f}{_pct(values, 95) * 1e3:>9.1f}"
                  f"{_pct(values, 99) * 1e3:>9.1f}"
                  f"{statistics.fmean(values) * 1e3 if values else float('nan'):>9.1f}")
        print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
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
