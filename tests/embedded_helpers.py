"""A private embedded graph server for tests about the server itself, and a hard kill of it.

Shared by the restart and write-lock tests: both make crashes for real (SIGKILL), on a server
of their own so the session's graph is untouched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecobrain.ontology.graph.embedded import EmbeddedServer, EmbeddedServerError, ServerInfo


def kill_server(info: ServerInfo) -> None:
    """SIGKILL the server and wait until it is gone (no clean stop, no compaction)."""
    os.kill(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(info.pid, 0)
        except ProcessLookupError:
            return
        # a zombie of ours? the server runs in its own session, reaped by init
        time.sleep(0.02)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    srv = EmbeddedServer(tmp_path / "data")
    yield srv
    with contextlib.suppress(EmbeddedServerError):
        srv.stop()
