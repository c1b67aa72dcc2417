#!/usr/bin/env python
"""Benchmark: the web workbench in Debian's chromium (headless, software rendering, via
Playwright) against ``ecobrain serve`` on a decided 15-day run — the issue's quality bar.

Set-up (not timed): an embedded graph server in a temporary directory, the bundled knowledge,
the sample run decided (``--days``, default 15: 90 counties × 15 days) and approved, keys for a
commander, an investigator and a county bureau (上城区), ``ecobrain serve`` in a subprocess.

Measured, each ``--repeat`` times in a fresh browser context (median and worst):

- **interactive**: from pressing "使用此密钥" to the page's first useful state — the map with
  every county filled and the alerts listed (/ui/map), the bureau's task list (/ui/tasks), the
  explorer ready with 杭州市 found and drawn (/ui/graph, search included); and the
  navigation's DOMContentLoaded (the vendored scripts parsed);
- **map day slider**: the map's 15 days stepped through with the keyboard, each step timed
  in the page from the key event to the frame after the counties are recoloured;
- **explorer with 2,000 nodes**: enterprises and their grid cells restored as a scene (the
  deep-link path: /graph/subgraph, then drawing), then 3 s of continuous pan and zoom driven
  by requestAnimationFrame: frames per second and the 95th-percentile frame interval, for the
  first 2 s after drawing (Cytoscape still builds its caches) and the 3 s after.

The floor, measured in the same run: a blank page's frame interval (what this machine's
headless chromium paints at most) and the static /ui page's load.

    .venv/bin/python benchmarks/bench_workbench.py [--days 15] [--repeat 5] [--nodes 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_common import machine_line

from ecobrain.api.auth import KeyStore
from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.ontology.graph.connect import open_store
from ecobrain.ontology.graph.embedded import EmbeddedServer
from ecobrain.reasoning.decisions import review
from ecobrain.reasoning.decisions.run_decision import decide_run

FRAMES_JS = """async (seconds) => {
  const cy = window.explorer ? window.explorer.cy : null;
  const times = [];
  const end = performance.now() + seconds * 1000;
  let i = 0;
  await new Promise((done) => {
    const step = (t) => {
      times.push(t);
      if (cy) {
        cy.panBy({ x: Math.sin(i / 10) * 12, y: Math.cos(i / 13) * 9 });
        cy.zoom({ level: cy.zoom() * (i % 60 < 30 ? 1.01 : 0.99),
                  renderedPosition: { x: 400, y: 300 } });
      }
      i += 1;
      if (t < end) requestAnimationFrame(step); else done();
    };
    requestAnimationFrame(step);
  });
  const gaps = times.slice(1).map((t, k) => t - times[k]);
  return gaps;
}"""

SLIDER_JS = """async () => {
  const day = document.getElementById('day');
  const out = [];
  for (let d = 1; d <= Number(day.max); d++) {
    const t0 = performance.now();
    day.focus();
    day.value = String(d);
    day.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    out.push(performance.now() - t0);
  }
  return out;
}"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet: asked again until the deadline
        time.sleep(0.3)
    raise RuntimeError("the server did not start")


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms, worst {max(values):.0f} ms"


def _frames(gaps: list[float]) -> str:
    return (f"{1000 / statistics.mean(gaps):.0f} frames/s, frame interval median "
            f"{statistics.median(gaps):.1f} ms, p95 {statistics.quantiles(gaps, n=20)[18]:.1f} "
            f"ms, worst {max(gaps):.0f} ms")


def _sign_in(page: Any, base: str, path: str, key: str, ready: str) -> tuple[float, float]:
    """(DOMContentLoaded ms of the navigation, ms from the key's submission to `ready`)."""
    page.goto(f"{base}{path}")
    dcl = page.evaluate("() => performance.getEntriesByType('navigation')[0]"
                        ".domContentLoadedEventEnd")
    page.fill("#key", key)
    t0 = time.perf_counter()
    page.click("#key-form button[type=submit]")
    page.wait_for_function(ready, timeout=60000)
    return dcl, (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=2000)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="ecobrain-bench-web-"))
    os.environ["ECOBRAIN_DATA_DIR"] = str(tmp)
    os.environ.pop("ECOBRAIN_GRAPH_URI", None)
    os.environ["ECOBRAIN_API_KEYS_FILE"] = str(tmp / "api_keys.json")
    os.environ["ECOBRAIN_GRAPH_DATABASE"] = f"bench_web_{uuid.uuid4().hex[:10]}"

    print(f"# Web workbench benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    version = subprocess.run([chromium, "--version"], text=True, capture_output=True).stdout
    print(f"{machine_line()}; {version.strip()} (headless, --disable-gpu)")
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
        review.approve(store, d.id, by="bench", override_legal_review=True, reason="benchmark")
        keys = KeyStore()
        commander = keys.create("bench-commander", ["commander"])
        investigator = keys.create("bench-investigator", ["investigator"])
        county = keys.create("bench-county", ["commander"], ["330102"])
        rows = store.read("MATCH (e:Enterprise)-[:IN_CELL]->(c:GridCell) RETURN e.id AS e, "
                          "c.id AS c ORDER BY e LIMIT $n", {"n": args.nodes})
        scene: list[str] = []
        for r in rows:
            for node in (r["e"], r["c"]):
                if node not in scene and len(scene) < args.nodes:
                    scene.append(node)
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "ecobrain"), "serve", "--port", str(port),
             "--no-access-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=os.environ.copy())
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        print(f"decision {d.id}: {len(d.tasks)} tasks; {args.days} forecast days")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium,
                                        args=["--no-sandbox", "--disable-gpu"])

            def page_of() -> Any:
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                                          locale="zh-CN")
                return ctx, ctx.new_page()

            # the floor: a blank page's frames, the static index page's load
            ctx, page = page_of()
            page.goto("about:blank")
            floor_gaps = page.evaluate(FRAMES_JS, 3)
            loads = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                page.goto(f"{base}/ui")
                loads.append((time.perf_counter() - t0) * 1000)
            ctx.close()
            print(f"floor: blank page {_frames(floor_gaps)}; /ui load {_ms(loads)}")

            ready = {
                "/ui/map": (commander, "() => document.querySelectorAll('#map path[fill]')"
                            ".length >= 90 && document.querySelector('#alerts li')"),
                "/ui/tasks": (county, "() => document.querySelector('#tasks button[data-task]')"),
                "/ui/graph": (investigator, "() => window.explorer && window.explorer.cy "
                              "&& !document.querySelector('#content').hidden"),
            }
            for path, (key, done) in ready.items():
                dcls, times = [], []
                for _ in range(args.repeat):
                    ctx, page = page_of()
                    dcl, ms = _sign_in(page, base, path, key, done)
                    dcls.append(dcl)
                    times.append(ms)
                    ctx.close()
                print(f"{path}: DOMContentLoaded {_ms(dcls)}; interactive after the key "
                      f"{_ms(times)}")
            # explorer: search 杭州 and see it drawn
            searches = []
            for _ in range(args.repeat):
                ctx, page = page_of()
                _sign_in(page, base, "/ui/graph", investigator, ready["/ui/graph"][1])
                t0 = time.perf_counter()
                page.fill("#search", "杭州")
                page.wait_for_selector("#suggestions [role=option]")
                page.press("#search", "Enter")
                page.wait_for_selector("#props-body:not([hidden])")
                searches.append((time.perf_counter() - t0) * 1000)
                ctx.close()
            print(f"/ui/graph: type 杭州 → suggestions → node drawn with its panel "
                  f"{_ms(searches)}")

            # map: 90 counties × 15 days, the slider through every day
            ctx, page = page_of()
            _sign_in(page, base, "/ui/map", commander, ready["/ui/map"][1])
            counties = page.locator("#map path[data-code]").count()
            steps = page.evaluate(SLIDER_JS)
            ctx.close()
            print(f"/ui/map: {counties} counties × {len(steps) + 1} days; a day step "
                  f"(input → recoloured frame) {_ms(steps)}")

            # explorer: 2,000 nodes
            ctx, page = page_of()
            _sign_in(page, base, "/ui/graph", investigator, ready["/ui/graph"][1])
            t0 = time.perf_counter()
            page.evaluate("ids => window.explorer.restore({ nodes: ids })", scene)
            restore_ms = (time.perf_counter() - t0) * 1000
            drawn = page.evaluate("() => [window.explorer.cy.nodes().length, "
                                  "window.explorer.cy.edges().length]")
            first = page.evaluate(FRAMES_JS, 2)
            gaps = page.evaluate(FRAMES_JS, 3)
            ctx.close()
            print(f"/ui/graph: {drawn[0]} nodes, {drawn[1]} edges restored and drawn in "
                  f"{restore_ms:.0f} ms; pan+zoom, first 2 s: {_frames(first)}; "
                  f"then 3 s: {_frames(gaps)}")
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        store.close()
        EmbeddedServer(tmp).stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
