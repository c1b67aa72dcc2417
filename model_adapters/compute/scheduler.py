"""Where the adapters' gridded work runs: threads in this process, or a dask.distributed cluster.

A cluster is worth its start-up (worker processes, imports, a second or more) only when the
work is large, so the choice is made per computation from the bytes it will decode:

* ``ECOBRAIN_DASK_SCHEDULER`` unset or ``auto`` (default): below
  ``ECOBRAIN_DASK_CLUSTER_MIN_MB`` (default 4096 MB of decoded values) dask's threaded
  scheduler in this process — no start-up at all; above it a ``LocalCluster`` of
  ``ECOBRAIN_DASK_WORKERS`` single-threaded worker processes (default: one per CPU), started
  on first need and reused by every later computation of the process (closed at exit);
* ``threads``: always the threaded scheduler; ``local``: always the local cluster;
* anything else is a scheduler address (``tcp://host:8786``): every computation goes to that
  cluster, whose workers must see the run's files at the same paths and have ecobrain
  installed (docs/scale-out.md).

Why 4 GB (docs/benchmarks.md, issue 18): on one machine threads already keep up with the
read — a 3.1 GB national 3-day run reduced at 1.07× its netCDF4 floor on threads, at 1.58×
on a 2-worker local cluster plus 1.9 s of start-up, and a 1.6 GB 1 km nest took 5.7 s of
findings on threads against 11.8 s with the cluster's start — so the cluster is for work
whose size makes separate worker memory and parallel reads worth a start-up (a national
15-day run decodes ≈16 GB), and for a real cluster named by address.

A :class:`distributed.Client` made here is never the process's default, so other dask work
(an eager ``.values``, a test) is not sent to a cluster by accident.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import dask
from distributed import Client, LocalCluster

ENV_SCHEDULER = "ECOBRAIN_DASK_SCHEDULER"
ENV_CLUSTER_MIN_MB = "ECOBRAIN_DASK_CLUSTER_MIN_MB"
ENV_WORKERS = "ECOBRAIN_DASK_WORKERS"
DEFAULT_CLUSTER_MIN_MB = 4096.0

_lock = threading.Lock()
_clients: dict[str, Client] = {}
_local: LocalCluster | None = None


def cluster_min_bytes() -> float:
    raw = os.environ.get(ENV_CLUSTER_MIN_MB)
    try:
        return (float(raw) if raw else DEFAULT_CLUSTER_MIN_MB) * 1e6
    except ValueError as exc:
        raise ValueError(f"{ENV_CLUSTER_MIN_MB}={raw!r} is not a number of MB") from exc


def choose(nbytes: float) -> str:
    """'threads', 'local' or a scheduler address, for work decoding ``nbytes``."""
    setting = (os.environ.get(ENV_SCHEDULER) or "auto").strip()
    if setting == "auto":
        return "local" if nbytes >= cluster_min_bytes() else "threads"
    return setting


def _local_client() -> Client:
    global _local
    if "local" not in _clients:
        workers = int(os.environ.get(ENV_WORKERS) or os.cpu_count() or 1)
        _local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None, silence_logs=logging.WARNING)
        _clients["local"] = Client(_local, set_as_default=False)
    return _clients["local"]


def client_for(where: str) -> Client:
    """The (cached) client of a cluster: ``local`` or a scheduler address."""
    with _lock:
        if where == "local":
            return _local_client()
        if where not in _clients:
            _clients[where] = Client(where, set_as_default=False)
        return _clients[where]


def shared(value: Any, nbytes: float) -> Any:
    """``value`` as an argument of every task of a computation decoding ``nbytes``: a graph key
    on threads; on a cluster, sent to every worker once (``scatter``), beside the graph rather
    than inside it — the national region weights (64 MB) inside a graph went through the
    scheduler with it."""
    where = choose(nbytes)
    if where == "threads":
        return dask.delayed(value, pure=False)
    return client_for(where).scatter(value, broadcast=True, hash=False)


def compute(tasks: Sequence[Any], nbytes: float) -> list[Any]:
    """Compute dask collections (delayed tasks) where :func:`choose` says."""
    where = choose(nbytes)
    if where == "threads":
        return list(dask.compute(*tasks, scheduler="threads"))
    client = client_for(where)
    return list(client.gather(client.compute(list(tasks))))


def shutdown() -> None:
    """Close every client and the local cluster this process started."""
    global _local
    with _lock:
        for c in _clients.values():
            c.close()
        _clients.clear()
        if _local is not None:
            _local.close()
            _local = None


atexit.register(shutdown)
