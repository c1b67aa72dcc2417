#!/usr/bin/env python
"""Soak: the API under 20 clients for 10 minutes, with status writes and a graph restart.

Set-up (not timed): an embedded graph in a temporary directory, the bundled knowledge, the
sample run decided (``--days``), a key for the readers and one for the bureau reporting,
``ecobrain serve`` with ``--workers`` processes. Then for ``--seconds``:

- ``--clients`` closed-loop readers alternate a page of tasks and one task (as
  ``bench_api.py``);
- a bureau reports ``--writes`` status steps per second (``PATCH /tasks/{id}/status``);
- at the middle the embedded graph is stopped and started again (``--down`` seconds apart:
  an operator's restart), with the API left running.

Prints a timeline (requests, errors, p95 and the processes' memory per ``--every`` seconds),
then: errors before the restart, while the graph was away and after it, how long the API took
to answer again once the graph was back (recovery), status writes lost, and the memory of the
API workers and the graph server at the start and the end (flat: no leak).

    .venv/bin/python benchmarks/bench_soak.py [--seconds 600] [--clients 20] [--writes 2]
        [--workers 2] [--days 15] [--down 5] [--every 30]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from bench_api import _free_port, _pct, _wait_for
from bench_common import machine_line

from ecobrain.api.auth import KeyStore
from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer
from ecobrain.reasoning.decisions import review
from ecobrain.reasoning.decisions.run_decision import decide_run


@dataclass
class Log:
    """(seconds since start, latency s, status code or 0 for a transport error)."""

    reads: list[tuple[float, float, int]] = field(default_factory=list)
    writes: list[tuple[float, float, int]] = field(default_factory=list)
    memory: list[tuple[float, float, float]] = field(default_factory=list)  # t, API MB, graph MB
    lock: threading.Lock = field(default_factory=threading.Lock)


def _reader(seed: int, base: str, headers: dict[str, str], pages: list[str],
            tasks: list[str], t0: float, stop: float, log: Log) -> None:
    rng = random.Random(seed)
    mine: list[tuple[float, float, int]] = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        i = rng.randrange(2)
        while time.monotonic() < stop:
            url = rng.choice(pages) if i % 2 == 0 else rng.choice(tasks)
            start = time.monotonic()
            try:
                code = c.get(url).status_code
            except httpx.HTTPError:
                code = 0
                time.sleep(0.05)
            mine.append((start - t0, time.monotonic() - start, code))
            i += 1
    with log.lock:
        log.reads.extend(mine)


def _writer(base: str, headers: dict[str, str], task_ids: list[str], rate: float, t0: float,
            stop: float, log: Log) -> None:
    rng = random.Random(1)
    steps = ("received", "in_progress", "done")
    reached: dict[str, int] = {}
    due = time.monotonic()
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        while time.monotonic() < stop:
            time.sleep(max(0.0, due - time.monotonic()))
            due += 1 / rate
            tid = rng.choice(task_ids)
            if reached.get(tid, 0) >= len(steps):
                continue
            start = time.monotonic()
            try:
                code = c.patch(f"/tasks/{tid}/status", json={
                    "status": steps[reached.get(tid, 0)], "note": "soak"}).status_code
            except httpx.HTTPError:
                code = 0
            if code == 200:
                reached[tid] = reached.get(tid, 0) + 1
            log.writes.append((start - t0, time.monotonic() - start, code))


def _rss_mb(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss / 2**20
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak the API through a graph restart.")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--writes", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--down", type=float, default=5.0,
                        help="seconds between stopping and starting the graph")
    parser.add_argument("--every", type=float, default=30.0, help="timeline step, seconds")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="ecobrain-bench-soak-"))
    os.environ["ECOBRAIN_DATA_DIR"] = str(tmp)
    os.environ.pop("ECOBRAIN_GRAPH_URI", None)
    os.environ["ECOBRAIN_API_KEYS_FILE"] = str(tmp / "api_keys.json")
    os.environ["ECOBRAIN_GRAPH_DATABASE"] = f"bench_soak_{uuid.uuid4().hex[:10]}"
    print(f"# API soak through a graph restart — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{machine_line()}; {args.workers} workers, {args.clients} readers, "
          f"{args.writes:g} status writes/s, {args.seconds:g} s, graph down {args.down:g} s "
          "at the middle")
    run_dir = Path(tempfile.gettempdir()) / f"ecobrain-bench-decide-run-{args.days}d"
    truth = run_dir / "sample-truth.json"
    if not (truth.exists() and json.loads(truth.read_text())["days"] == args.days):
        write_sample_run(run_dir, days=args.days, seed=0, start=dt.date(2026, 11, 26))
    graph = EmbeddedServer(tmp)
    store = open_store()
    server = None
    try:
        load_bundled(store)
        d = decide_run(store, run_dir).decision
        # issued, so that the bureau can report on the tasks
        review.approve(store, d.id, by="soak", override_legal_review=True, reason="benchmark")
        store.close()
        task_ids = [t.id for t in d.tasks]
        regions = sorted({t.region_code for t in d.tasks})
        pages = [f"/decisions/{d.id}/tasks?region={r}&limit=50" for r in regions]
        tasks = [f"/tasks/{t}" for t in task_ids]
        keys = KeyStore()
        reader_key = keys.create("soak-reader", ["commander"])
        writer_key = keys.create("soak-bureau", ["commander"])
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "ecobrain"), "serve", "--port", str(port),
             "--workers", str(args.workers), "--no-access-log"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=os.environ.copy())
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        print(f"decision {d.id}: {len(task_ids)} tasks, {len(regions)} regions")
        api = psutil.Process(server.pid)
        log = Log()
        t0 = time.monotonic()
        stop = t0 + args.seconds
        threads = [threading.Thread(target=_reader, args=(
            i, base, {"X-API-Key": reader_key}, pages, tasks, t0, stop, log))
            for i in range(args.clients)]
        threads.append(threading.Thread(target=_writer, args=(
            base, {"X-API-Key": writer_key}, task_ids, args.writes, t0, stop, log)))
        for th in threads:
            th.start()

        def sample() -> None:
            while time.monotonic() < stop:
                procs = [api, *api.children(recursive=True)]
                info = graph.status()
                graph_mb = _rss_mb([psutil.Process(info.pid)]) if info else float("nan")
                log.memory.append((time.monotonic() - t0, _rss_mb(procs), graph_mb))
                time.sleep(min(10.0, args.every / 3))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(args.seconds / 2)
        down_at = time.monotonic() - t0
        graph.stop()
        stopped = time.monotonic() - t0
        time.sleep(args.down)
        graph.ensure_running()
        back_at = time.monotonic() - t0
        for th in threads:
            th.join()
    finally:
        if server is not None:
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(10)
            if server.poll() is None:
                server.kill()
        graph.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\ngraph stop requested at {down_at:.1f} s (stopped at {stopped:.1f} s), "
          f"answering again at {back_at:.1f} s")
    print(f"\n{'from s':>7}{'reads':>8}{'errors':>8}{'p95 ms':>8}{'writes':>8}{'w.err':>7}"
          f"{'API MB':>8}{'graph MB':>9}")
    step = args.every
    for start in [i * step for i in range(int(args.seconds // step) + 1)]:
        rs = [r for r in log.reads if start <= r[0] < start + step]
        ws = [w for w in log.writes if start <= w[0] < start + step]
        ms = [m for m in log.memory if start <= m[0] < start + step]
        if not rs and not ws:
            continue
        ok = [r[1] for r in rs if r[2] == 200]
        print(f"{start:>7.0f}{len(rs):>8}{sum(r[2] != 200 for r in rs):>8}"
              f"{_pct(ok, 95) * 1e3:>8.1f}{len(ws):>8}{sum(w[2] != 200 for w in ws):>7}"
              f"{(ms[-1][1] if ms else float('nan')):>8.0f}"
              f"{(ms[-1][2] if ms else float('nan')):>9.0f}")
    first_ok_after = min((r[0] + r[1] for r in log.reads if r[0] >= back_at and r[2] == 200),
                         default=float("nan"))
    recovered = max((r[0] + r[1] for r in log.reads
                     if r[0] <= first_ok_after + 5 and r[2] != 200), default=back_at)
    before = [r for r in log.reads if r[0] + r[1] < down_at]
    during = [r for r in log.reads if down_at <= r[0] + r[1] and r[0] < recovered]
    after = [r for r in log.reads if r[0] >= recovered]
    codes: dict[int, int] = {}
    for r in during:
        codes[r[2]] = codes.get(r[2], 0) + 1
    print(f"\nreads: {len(log.reads)} ({len(log.reads) / args.seconds:.0f}/s); errors before "
          f"the restart {sum(r[2] != 200 for r in before)} of {len(before)}, while the graph "
          f"was away {sum(r[2] != 200 for r in during)} of {len(during)} (by status: "
          f"{dict(sorted(codes.items()))}), after recovery {sum(r[2] != 200 for r in after)} "
          f"of {len(after)}")
    print(f"recovery: first 200 {first_ok_after - back_at:.2f} s after the graph answered "
          f"again; last error {recovered - back_at:.2f} s after it; graph away "
          f"{back_at - down_at:.1f} s in all (stop + {args.down:g} s + start)")
    w_after = [w for w in log.writes if w[0] >= recovered]
    print(f"status writes: {len(log.writes)}, refused while the graph was away "
          f"{sum(w[2] != 200 for w in log.writes if down_at <= w[0] < recovered)}, errors "
          f"after recovery {sum(w[2] != 200 for w in w_after)} of {len(w_after)}")
    if log.memory:
        first, last = log.memory[0], log.memory[-1]
        print(f"memory: API (master + workers) {first[1]:.0f} -> {last[1]:.0f} MB, graph "
              f"server {first[2]:.0f} -> {last[2]:.0f} MB (start -> end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
