#!/usr/bin/env python
"""Benchmark: "why not" and change impact on a 15-day province decision.

A fresh graph with the bundled knowledge, the 15-day sample run (the one ``bench_decide.py``
writes, reused), decided once (not timed here beyond the save's share), then:

1. the working memory stored with the decision: facts, JSON and stored (gzip + base64) bytes,
   and what saving it adds to the save;
2. why-not answers — a county without an alert, an alerted county, an enterprise without a
   task, a hotspot: reading the memory once, then each answer the first time (compiles the
   versions for the date) and again;
3. the impact report of a draft (the yellow grading made looser) on that decision, beside
   its floor: one engine re-run of the decision with the current rules (a report is two).

    .venv/bin/python benchmarks/bench_why_not.py [--days 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench_common import machine_line, private_graph

from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.model_adapters import collect_findings
from ecobrain.model_adapters.sample_run import write_sample_run
from ecobrain.ontology.graph.connect import open_store
from ecobrain.reasoning.authoring import impact
from ecobrain.reasoning.authoring.rule_store import rule_version, save_rule_version
from ecobrain.reasoning.decisions.memory import load_memory, memory_statement
from ecobrain.reasoning.decisions.pipeline import decide, decision_memories
from ecobrain.reasoning.decisions.run_decision import decide_run, rule_base_for
from ecobrain.reasoning.decisions.why_not import why_not
from ecobrain.reasoning.language.concept_index import ConceptIndex

# a looser yellow grading: one day above 150 is enough (adds alerts, measures and tasks)
DRAFT_CONDITION = "(days_over_200 >= 1 or longest_run_over_150 >= 1) and driver == PM2_5"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark why-not and change impact.")
    parser.add_argument("--days", type=int, default=15)
    args = parser.parse_args(argv)
    with private_graph():
        return _bench(args)


def _timed(fn, *a, **kw):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t


def _bench(args: argparse.Namespace) -> int:
    print(f"# why-not and change-impact benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(machine_line())
    run_dir = Path(tempfile.gettempdir()) / f"ecobrain-bench-decide-run-{args.days}d"
    truth = run_dir / "sample-truth.json"
    if not (truth.exists() and json.loads(truth.read_text())["days"] == args.days):
        write_sample_run(run_dir, days=args.days, seed=0, start=dt.date(2026, 11, 26))
    def findings_of(path: Path):  # type: ignore[no-untyped-def]
        return collect_findings(path, stations=[], include_hourly=False)

    store = open_store(graph=f"bench_whynot_{uuid.uuid4().hex[:10]}")
    try:
        load_bundled(store)
        outcome = decide_run(store, run_dir)
        d = outcome.decision
        print(f"decision {d.id}: {len(d.alerts)} alerts, {len(d.tasks)} tasks; "
              f"save {outcome.timings['save_s']:.2f} s, reasoning "
              f"{outcome.timings['decide_s']:.2f} s")
        row = store.read_one("MATCH (m:DecisionMemory) RETURN m.facts AS n, m.bytes AS b, "
                             "size(m.data) AS z")
        trace = store.read_one("MATCH (t:DecisionTrace) RETURN t.bytes AS b, size(t.data) AS z")
        print(f"\n## working memory\n{row['n']} facts, {row['b'] / 1e6:.1f} MB JSON, "
              f"{row['z'] / 1e6:.2f} MB stored (trace: {trace['b'] / 1e6:.1f} MB JSON, "
              f"{trace['z'] / 1e6:.2f} MB stored)")
        # what keeping it costs the save: building and writing the node again, alone
        _timed(decide, findings_of(run_dir), store, rules=rule_base_for(store)[0])
        payload = decision_memories.pop(d.id)
        statement, encode_s = _timed(memory_statement, payload)
        _, write_s = _timed(store.write_all, [statement])
        print(f"encoding {encode_s:.2f} s + writing {write_s:.2f} s (the save: "
              f"{outcome.timings['save_s']:.2f} s)")

        alerted = {a.region_code for a in d.alerts}
        memory, read_s = _timed(load_memory, store, d.id)
        counties = sorted({f["region_code"] for f in memory.of_type("alert_assessment")
                           if f.get("region_level") == "county"})
        quiet = next(c for c in counties if c not in alerted
                     and c[:4] + "00" not in alerted)
        loud = next(c for c in counties if c in alerted)
        with_task = {t.subject.id for t in d.tasks}
        enterprise = store.read_one(
            "MATCH (e:Enterprise) WHERE e.county_code = $c RETURN e.id AS id ORDER BY id "
            "LIMIT 1", {"c": quiet})["id"]
        assert enterprise not in with_task
        hotspot = memory.of_type("hotspot")[0]["hotspot_id"] if memory.of_type("hotspot") \
            else None
        print(f"\n## why not (seconds; reading and unpacking the memory first: {read_s:.2f} s,"
              " kept per process)")
        for name, subject in (("county without an alert", quiet), ("alerted county", loud),
                              ("enterprise without a task", enterprise),
                              ("hotspot", hotspot)):
            if subject is None:
                continue
            answer, first = _timed(why_not, store, d.id, subject)
            _, again = _timed(why_not, store, d.id, subject)
            print(f"{name:<28} {subject:<48} first {first:6.2f}  again {again:6.2f}  "
                  f"({len(answer.verdicts)} versions)")

        yellow = rule_version(store, "alert.heavy-pollution.yellow", 2)["yaml"]
        text = yellow.replace("version: 2", "version: 3").replace(
            "(days_over_200 >= 1 or longest_run_over_150 >= 2) and driver == PM2_5",
            DRAFT_CONDITION)
        save_rule_version(store, text, by="bench", activate=False)
        base = rule_base_for(store)[0]
        concepts = ConceptIndex.for_store(store)
        _, floor = _timed(impact.rerun, store, memory, base, concepts, d.run_id)
        report, seconds = _timed(impact.impact_report, store, "alert.heavy-pollution.yellow",
                                 3, by="bench", last=1)
        c = report["counts"]
        print(f"\n## impact report (1 decision)\n{seconds:.2f} s (floor: one re-run of the "
              f"decision {floor:.2f} s; a report is two); "
              + "; ".join(f"{k}: +{v['added']} -{v['removed']} ~{v['changed']}"
                          for k, v in c.items()))
    finally:
        store.drop_graph()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
