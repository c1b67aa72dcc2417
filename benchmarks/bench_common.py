"""What the benchmarks share: a graph of their own, and one line about the machine.

Each benchmark is a script run on its own (``.venv/bin/python benchmarks/bench_x.py``), so
this module is imported from the scripts' folder, not from the ecobrain package.
"""

from __future__ import annotations

import os
import platform
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from ecobrain.ontology.graph.embedded import EmbeddedServer


@contextmanager
def private_graph() -> Iterator[None]:
    """An embedded graph server in a temporary data directory for the benchmark, stopped at the
    end — unless ``ECOBRAIN_GRAPH_URI`` names a server to measure instead. A benchmark must
    neither read nor disturb the user's own graph."""
    if os.environ.get("ECOBRAIN_GRAPH_URI"):
        yield
        return

    tmp = tempfile.mkdtemp(prefix="ecobrain-bench-")
    os.environ["ECOBRAIN_DATA_DIR"] = tmp
    try:
        yield
    finally:
        EmbeddedServer(Path(tmp)).stop()


def machine_line(*, load: bool = True) -> str:
    """Python, CPUs, memory (and the load average: figures on a shared machine need it)."""
    line = (f"python {platform.python_version()}, {platform.machine()}, "
            f"{psutil.cpu_count(logical=True)} cpus, "
            f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM")
    return line + (f", load average {os.getloadavg()[0]:.1f}" if load else "")
