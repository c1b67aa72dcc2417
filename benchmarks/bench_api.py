#!/usr/bin/env python
"""Benchmark: the decision-advice API under load — 20 concurrent clients reading tasks.

Set-up (not timed): an embedded graph server in a temporary directory, the bundled knowledge,
the sample run decided (``--days``, default 15, the run ``bench_decide.py`` writes), a
commander key. Then ``ecobrain serve --no-access-log`` in a subprocess (uvicorn, ``--workers``
processes) and ``--clients`` concurrent connections that for ``--seconds`` alternate:

- ``GET /decisions/{id}/tasks?region=<a city or county>&limit=50`` (a page of tasks), and
- ``GET /tasks/{id}`` (a task with its explanation and legal texts),

picking the region and the task at random (``--mix page`` or ``task`` sends only one kind).
The clients are closed loops: each connection sends its next request as soon as the last one
answered (the throughput test; the latency is then mostly queueing, connections / throughput).

Two load generators (``--client``):

- ``python`` (default, nothing to install): threads with one httpx connection each, in this
  process (per-endpoint figures; ``--rate R`` paces them together at R requests/s, an open
  loop). They cost ~1 ms of CPU per request, taken from the server on a 2-core machine.
- ``wrk`` (optional; Debian package ``wrk``, not installed by ``dev.sh``): one C process, an
  event loop with ``--wrk-threads`` threads, and a small Lua script (written here) that picks
  paths from a list this benchmark writes; its latency histogram gives p50/p95/p99. It costs
  ~0.1 ms of CPU per request.

``--writes W`` adds a bureau reporting progress during the load: W ``PATCH /tasks/{id}/status``
per second (random tasks, one step each), each of which makes the decision's task pages (and
that task) stale in every worker's response cache.

Each worker reads the decision's trace once (the first explanation); the warm-up does that
(``--warm-up all`` also reads every task and page once per worker, so that the run measures
the steady state of the response cache instead of filling it). ``ECOBRAIN_API_CACHE_MB=0``
in the environment turns the response cache off (the uncached read path).

Prints requests/s and p50/p95/p99 latency, errors, the CPU each request costs in the API
workers, the graph server and the clients, the load average before and after, and the peak
memory (VmHWM) of the server processes. Aim: p95 under 50 ms. Everything runs on the same
machine (2 cores here). ``--profile FILE`` samples the first worker with py-spy (collapsed
stacks; py-spy is not a dependency: ``pip install py-spy``) — a profiling run, not a
measurement.

    .venv/bin/python benchmarks/bench_api.py [--client python|wrk] [--workers 2]
        [--clients 20] [--seconds 20] [--mix both|page|task] [--warm-up trace|all]
        [--wrk-threads 1] [--rate R] [--writes W] [--profile FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
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

from ecobrain.api.auth import KeyStore
from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer
from ecobrain.reasoning.decisions import review
from ecobrain.reasoning.decisions.run_decision import decide_run

WRK_SCRIPT = r"""
-- written by benchmarks/bench_api.py: random paths from two lists, results as JSON
local pages, tasks = {}, {}
local n = 0
wrk.headers["X-API-Key"] = "@KEY@"

local function lines(path, into)
  for line in io.lines(path) do into[#into + 1] = line end
end

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter * 7919)
end

function init(args)
  math.randomseed(seed or 1)
  lines("@PAGES@", pages)
  lines("@TASKS@", tasks)
  n = math.random(0, 1)
end

function request()
  n = n + 1
  local mix = "@MIX@"
  local list
  if mix == "page" then list = pages
  elseif mix == "task" then list = tasks
  elseif n % 2 == 0 then list = pages
  else list = tasks end
  return wrk.format("GET", list[math.random(#list)])
end

function done(summary, latency, requests)
  local e = summary.errors
  local f = io.open("@RESULT@", "w")
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50": %d, "p90": %d, "p95": %d, ' ..
    '"p99": %d, "mean": %.1f, "max": %d}',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max))
  f:close()
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set (VmHWM), MB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):  # not listening yet
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.3)


def _python_clients(args: argparse.Namespace, base: str, headers: dict[str, str],
                    pages: list[str], tasks: list[str]) -> tuple[dict[str, list[float]], list[str],
                                                                float]:
    """Closed-loop (or paced) httpx clients in threads: latencies per endpoint, errors, time."""
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
            i = rng.randrange(2)
            while time.monotonic() < stop:
                if gap:
                    time.sleep(max(0.0, due - time.monotonic()))
                    due += gap
                page = args.mix == "page" or (args.mix == "both" and i % 2 == 0)
                name, url = ("tasks page", rng.choice(pages)) if page else \
                    ("task", rng.choice(tasks))
                t0 = time.perf_counter()
                r = c.get(url)
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
    return lat, errors, time.perf_counter() - t0


class _Writer(threading.Thread):
    """A bureau moving random tasks one status step on, `rate` times a second."""

    def __init__(self, base: str, headers: dict[str, str], task_ids: list[str], rate: float,
                 seconds: float):
        super().__init__(daemon=True)
        self.base, self.headers, self.rate, self.seconds = base, headers, rate, seconds
        self.task_ids = task_ids
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        rng = random.Random(1)
        steps = ("received", "in_progress", "done")
        done: dict[str, int] = {}
        t_end = time.monotonic() + self.seconds
        due = time.monotonic()
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as c:
            while time.monotonic() < t_end:
                time.sleep(max(0.0, due - time.monotonic()))
                due += 1 / self.rate
                tid = rng.choice(self.task_ids)
                if done.get(tid, 0) >= len(steps):
                    continue
                t0 = time.perf_counter()
                r = c.patch(f"/tasks/{tid}/status", json={
                    "status": steps[done.get(tid, 0)], "note": "benchmark"})
                self.latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")
                done[tid] = done.get(tid, 0) + 1


def _wrk(args: argparse.Namespace, base: str, key: str, tmp: Path, pages: list[str],
         tasks: list[str]) -> tuple[dict[str, float], float]:
    """One wrk run; its JSON summary (latencies in µs) and the CPU seconds wrk used."""
    (tmp / "pages.txt").write_text("\n".join(pages) + "\n")
    (tmp / "tasks.txt").write_text("\n".join(tasks) + "\n")
    result = tmp / "wrk-result.json"
    script = tmp / "bench.lua"
    script.write_text(WRK_SCRIPT.replace("@KEY@", key).replace("@MIX@", args.mix)
                      .replace("@PAGES@", str(tmp / "pages.txt"))
                      .replace("@TASKS@", str(tmp / "tasks.txt"))
                      .replace("@RESULT@", str(result)))
    cmd = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.clients),
           "-d", f"{args.seconds:g}s", "--timeout", "30s", "-s", str(script), base]
    cpu0 = _children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wrk_cpu = _children_cpu() - cpu0
    if args.verbose:
        print(out.stdout)
    return json.loads(result.read_text()), wrk_cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load-test the decision-advice API.")
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("python", "wrk"), default="python",
                        help="load generator (default python; wrk: apt-get install wrk)")
    parser.add_argument("--clients", type=int, default=20,
                        help="concurrent connections (python: threads)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--mix", choices=("both", "page", "task"), default="both",
                        help="what the clients read (default: task pages and tasks, 1:1)")
    parser.add_argument("--warm-up", choices=("trace", "all"), default="trace",
                        help="trace: each worker reads the decision's trace once; all: also "
                        "every task and page once per worker")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None,
                        help="python clients only: open loop at this many requests/s in all")
    parser.add_argument("--writes", type=float, default=0.0,
                        help="task status updates per second during the load (default 0)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy the first worker during the load into this file "
                        "(collapsed stacks)")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own report")
    args = parser.parse_args(argv)
    if args.client == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk); "
                     "or use --client python")
    if args.rate and args.client != "python":
        parser.error("--rate paces the python clients; use --client python")
    if args.profile and shutil.which("py-spy") is None and not (
            Path(sys.executable).parent / "py-spy").exists():
        parser.error("--profile needs py-spy (pip install py-spy)")

    tmp = Path(tempfile.mkdtemp(prefix="ecobrain-bench-api-"))
    os.environ["ECOBRAIN_DATA_DIR"] = str(tmp)
    os.environ.pop("ECOBRAIN_GRAPH_URI", None)
    os.environ["ECOBRAIN_API_KEYS_FILE"] = str(tmp / "api_keys.json")
    graph = f"bench_api_{uuid.uuid4().hex[:10]}"
    os.environ["ECOBRAIN_GRAPH_DATABASE"] = graph

    print(f"# API load benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    if args.client == "wrk":
        mode = f"wrk ({args.wrk_threads} thread(s)), {args.clients} connections, closed loop"
    else:
        mode = (f"python httpx, {args.clients} clients, "
                + (f"open loop at {args.rate:g} req/s" if args.rate else "closed loop"))
    cache = os.environ.get("ECOBRAIN_API_CACHE_MB")
    print(f"python {platform.python_version()}, {psutil.cpu_count(logical=True)} cpus; "
          f"{args.workers} uvicorn worker(s), access log off; {mode}; mix {args.mix}; "
          f"{args.seconds:g} s; warm-up {args.warm_up}; response cache "
          + ("off" if cache == "0" else f"{cache or 'default'} MB"))
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
        # issued, so that --writes can report on the tasks (ecobrain.reasoning.decisions.review)
        review.approve(store, d.id, by="bench", override_legal_review=True, reason="benchmark")
        task_ids = [t.id for t in d.tasks]
        regions = sorted({t.region_code for t in d.tasks} | {t.region_code[:4] + "00"
                                                              for t in d.tasks})
        pages = [f"/decisions/{d.id}/tasks?region={r}&limit=50" for r in regions]
        tasks = [f"/tasks/{t}" for t in task_ids]
        print(f"decision {d.id}: {len(d.tasks)} tasks in {len(regions)} regions")
        key = KeyStore().create("bench", ["commander"])
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "ecobrain"), "serve", "--port", str(port),
             "--workers", str(args.workers), "--no-access-log"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=os.environ.copy())
        base = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": key}
        _wait_for(base)
        t = time.perf_counter()
        # A new connection each time, so that the workers' accepts share them out.
        warm = tasks[: 20 * args.workers]
        if args.warm_up == "all":
            warm = (tasks + pages) * args.workers * 2
        with httpx.Client(base_url=base, headers={**headers, "Connection": "close"},
                          timeout=60) as c:
            for url in warm:
                c.get(url).raise_for_status()
        print(f"warm-up: {len(warm)} requests, {time.perf_counter() - t:.1f} s")

        srv = psutil.Process(server.pid)
        procs = [srv, *srv.children(recursive=True)]
        info = EmbeddedServer(tmp).status()
        graph_proc = psutil.Process(info.pid) if info else None
        me = psutil.Process()
        rss0 = {p.pid: p.memory_info().rss / 2**20 for p in procs}

        def cpu() -> tuple[float, float, float]:
            busy = 0.0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    busy += sum(p.cpu_times()[:2])
            graph_cpu = sum(graph_proc.cpu_times()[:2]) if graph_proc else 0.0
            return busy, sum(me.cpu_times()[:2]), graph_cpu

        spy = None
        if args.profile:
            exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = subprocess.Popen([exe, "record", "-p", str(procs[-1].pid), "-d",
                                    str(int(args.seconds)), "-r", "200", "--gil", "-f", "raw", "-o",
                                    str(args.profile)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        writer = _Writer(base, headers, task_ids, args.writes, args.seconds) \
            if args.writes else None
        load0 = os.getloadavg()[0]
        cpu0 = cpu()
        if writer is not None:
            writer.start()
        if args.client == "wrk":
            res, client_cpu = _wrk(args, base, key, tmp, pages, tasks)
            elapsed = res["duration_us"] / 1e6
            n = res["requests"]
            errors = res["connect"] + res["read"] + res["write"] + res["status"] + \
                res["timeout"]
            cpu1 = cpu()
            print(f"\n{'endpoint':<14}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}"
                  f"{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'max ms':>9}")
            print(f"{args.mix:<14}{n:>9}{n / elapsed:>9.1f}{res['p50'] / 1e3:>9.1f}"
                  f"{res['p90'] / 1e3:>9.1f}{res['p95'] / 1e3:>9.1f}{res['p99'] / 1e3:>9.1f}"
                  f"{res['mean'] / 1e3:>9.1f}{res['max'] / 1e3:>9.1f}")
            print(f"errors: {errors} (non-2xx {res['status']}, timeouts {res['timeout']}); "
                  f"{res['bytes'] / n / 1024:.1f} KiB per response")
            p95 = res["p95"] / 1e3
        else:
            lat, errs, elapsed = _python_clients(args, base, headers, pages, tasks)
            cpu1 = cpu()
            client_cpu = cpu1[1] - cpu0[1]
            everything = lat["tasks page"] + lat["task"]
            n = max(1, len(everything))
            print(f"\n{'endpoint':<14}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
                  f"{'p99 ms':>9}{'mean ms':>9}")
            for name, values in (*lat.items(), ("all", everything)):
                if not values:
                    continue
                print(f"{name:<14}{len(values):>9}{len(values) / elapsed:>9.1f}"
                      f"{_pct(values, 50) * 1e3:>9.1f}{_pct(values, 95) * 1e3:>9.1f}"
                      f"{_pct(values, 99) * 1e3:>9.1f}{statistics.fmean(values) * 1e3:>9.1f}")
            print(f"errors: {len(errs)}" + (f" (first: {errs[0]})" if errs else ""))
            p95 = _pct(everything, 95) * 1e3
        if spy is not None:
            spy.wait(60)
        if writer is not None:
            writer.join()
            w = writer.latencies
            print(f"status updates during the load: {len(w)} ({len(w) / args.seconds:.1f}/s), "
                  f"{len(writer.errors)} errors, p50 {_pct(w, 50) * 1e3:.1f} ms, "
                  f"p95 {_pct(w, 95) * 1e3:.1f} ms")
        print(f"load average: {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
        print(f"CPU per request: API server {(cpu1[0] - cpu0[0]) / n * 1e3:.2f} ms, "
              f"graph server {(cpu1[2] - cpu0[2]) / n * 1e3:.2f} ms, "
              f"clients ({args.client}) {client_cpu / n * 1e3:.2f} ms "
              f"(same machine, {psutil.cpu_count()} cpus)")
        def role(p: psutil.Process) -> str:
            if p.pid == srv.pid:
                return "master"
            with contextlib.suppress(psutil.Error):
                if "resource_tracker" in " ".join(p.cmdline()):
                    return "resource tracker"
            return "worker"

        print("API server memory, MB (RSS after warm-up -> peak VmHWM): "
              + ", ".join(f"{role(p)} {rss0.get(p.pid, float('nan')):.0f} -> "
                          f"{_peak_rss_mb(p.pid):.0f}" for p in procs))
        cache_mb = sum(_peak_rss_mb(p.pid) - rss0.get(p.pid, 0) for p in procs
                       if role(p) == "worker")
        print(f"(workers grew by {cache_mb:.0f} MB in all during the load)")
        if graph_proc is not None:
            print(f"graph server peak RSS (VmHWM, whole life): "
                  f"{_peak_rss_mb(graph_proc.pid):.0f} MB")
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
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
