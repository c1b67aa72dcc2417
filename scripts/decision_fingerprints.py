#!/usr/bin/env python
"""Fingerprints of whole decisions, to prove that a speed-up changed no output.

Optimising the reasoning step (facts → engine → decision) must leave every decision
byte-identical: ids, ordering, evidence, reasons, JSON key order. This decides fixed
workloads and prints, per workload, the SHA-256 of ``decision.model_dump_json()`` and of the
trace body the graph stores (``decision_trace.trace_statement``), plus a few counts:

* ``bench100k``: the rule benchmark's 100,000 facts (``benchmarks/bench_rules.py`` data),
  facts → engine → ``build_decision`` as the benchmark runs them, with the legal grounds
  resolved without a graph (so the grounds path is exercised too);
* ``heavy400``: ``hotspot_load(400, seed=3, heavy_cities=3, shuffle=True)`` through
  ``pipeline.decide`` (alerts → measures → enterprise tasks, context added on alerts);
* ``sample3d``: a 3-day synthetic model run (``write_sample_run``: daily AQI, episodes,
  hotspots, attribution, O3 regimes) with the bundled register, through ``pipeline.decide``.

    .venv/bin/python scripts/decision_fingerprints.py --save /tmp/fp-before.json
    .venv/bin/python scripts/decision_fingerprints.py --check /tmp/fp-before.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ecobrain.kb_loaders.places.enterprises import bundled_path, read_enterprises
from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.reasoning.authoring.rulebase import load_rule_base
from ecobrain.reasoning.decisions.conclusions import build_decision
from ecobrain.reasoning.decisions.legal_grounds import resolve_grounds
from ecobrain.reasoning.decisions.pipeline import decide
from ecobrain.reasoning.decisions.trace import trace_statement
from ecobrain.reasoning.engine.facts import assemble_facts
from ecobrain.reasoning.engine.runner import Engine
from ecobrain.reasoning.engine.synthetic_load import hotspot_load
from ecobrain.reasoning.language.compiler import compile_rule_base
from ecobrain.reasoning.language.concept_index import ConceptIndex


def _fingerprint(decision: Any) -> dict[str, Any]:
    body = decision.model_dump_json().encode("utf-8")
    _, params = trace_statement(decision)
    return {"decision_sha256": hashlib.sha256(body).hexdigest(),
            "decision_bytes": len(body), "trace_sha256": params["sha"],
            "trace_bytes": params["bytes"], "id": decision.id,
            "tasks": len(decision.tasks), "firings": len(decision.firings)}


def bench100k() -> Any:
    findings, enterprises = hotspot_load(10_000, seed=42, run_id="bench", id_prefix="B")
    concepts = ConceptIndex.from_ontology()
    on = dt.date(2026, 1, 15)
    compiled = compile_rule_base(load_rule_base()[0], on, concepts)
    factset = assemble_facts(findings, None, concepts, enterprises=enterprises)
    result = Engine(compiled).run(factset.facts, decision_date=on)
    grounds = resolve_grounds(None, compiled.citations(), on)
    return build_decision(result=result, compiled=compiled, factset=factset, grounds=grounds,
                          run_id=findings.run_id, on=on)


def heavy400() -> Any:
    findings, enterprises = hotspot_load(400, seed=3, heavy_cities=3, shuffle=True)
    return decide(findings, None, concepts=ConceptIndex.from_ontology(), enterprises=enterprises)


def sample3d() -> Any:
    # a fixed directory, written once: the run directory is part of the decision
    run_dir = Path(tempfile.gettempdir()) / "ecobrain-fingerprints-sample3d"
    if not (run_dir / "run.json").exists():
        write_sample_run(run_dir, days=3, seed=0, start=dt.date(2026, 1, 15))
    findings = collect_findings(run_dir, stations=[], include_hourly=False)
    enterprises = [r.properties() for r in read_enterprises(bundled_path())[0]]
    return decide(findings, None, concepts=ConceptIndex.from_ontology(), enterprises=enterprises)


WORKLOADS = {"bench100k": bench100k, "heavy400": heavy400, "sample3d": sample3d}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save", help="write the fingerprints to this JSON file")
    ap.add_argument("--check", help="compare with fingerprints saved earlier (exit 1 if not)")
    ap.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), default=None)
    args = ap.parse_args()
    names = args.only or list(WORKLOADS)
    out: dict[str, Any] = {}
    for name in names:
        t = time.perf_counter()
        out[name] = _fingerprint(WORKLOADS[name]())
        print(f"{name}: {json.dumps(out[name])} ({time.perf_counter() - t:.1f} s)", flush=True)
    if args.save:
        Path(args.save).write_text(json.dumps(out, indent=2) + "\n")
    if args.check:
        expected = json.loads(Path(args.check).read_text())
        bad = [n for n in names if expected.get(n) != out[n]]
        print("IDENTICAL" if not bad else f"DIFFERENT: {', '.join(bad)}")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
