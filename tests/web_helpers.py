"""Browser tests of the web workbench: a live API server (uvicorn, in a thread, on 127.0.0.1 and
a free port, on the test's own graph) and Debian's chromium driven by Playwright.

Playwright (pip) drives the system's ``/usr/bin/chromium`` through ``executable_path``: no
``playwright install`` (it downloads a browser, which this network does not allow), no
chromedriver whose version must match the browser's. Tests skip, saying why, when chromium or
playwright is missing.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from api_helpers import _SharedStore

from ecobrain.api.auth import ROLES, KeyStore
from ecobrain.api.http.app import create_app
from ecobrain.ontology.graph.store import GraphStore


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def skip_without_browser() -> None:
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; dev.sh does as root)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                        "(pip install -e .[dev])")


@dataclass
class LiveServer:
    url: str
    keys: dict[str, str]
    key_store: KeyStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(store: GraphStore, tmp_path: Path) -> Iterator[LiveServer]:
    """The real app on the test's graph, with a key per role (``test-<role>``)."""
    keys = KeyStore(tmp_path / "keys.json")
    tokens = {role: keys.create(f"test-{role}", [role]) for role in ROLES}
    app = create_app(store_factory=lambda: _SharedStore(store), key_store=keys)  # type: ignore[arg-type,return-value]
    app.state.documents_dir = tmp_path / "documents"
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, loop="asyncio"))
    thread = threading.Thread(target=server.run, name="live-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live API server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", tokens, keys)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def browser_page(width: int = 1280, height: int = 900, mobile: bool = False) -> Iterator[Any]:
    """A fresh page of headless chromium (one browser per call: tests stay independent)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height},
                                          is_mobile=mobile, has_touch=mobile, locale="zh-CN")
            yield context.new_page()
        finally:
            browser.close()
