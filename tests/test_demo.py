"""`ecobrain demo`, the README's main command, end to end on an empty graph: the knowledge is
loaded, a sample run written, decided on, the task lists rendered, and their place printed."""

from __future__ import annotations

import re
from pathlib import Path

from kb_fixture import graph_counts
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.ontology.graph.store import GraphStore


def test_demo_runs_to_the_end(store: GraphStore, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "--days", "2", "--start", "2026-11-26", "--out",
                                   str(out), "--format", "html"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    text = res.output
    assert "knowledge graph ready" in text and "rules" in text
    m = re.search(r"decision (dec-[0-9a-f]{16})", text)
    assert m, text
    decision = m.group(1)
    index = out / "task-lists" / decision / "index.html"
    assert index.exists() and str(index) in text.replace("\n", "")
    assert "done." in text
    pages = sorted((out / "task-lists" / decision).glob("*.html"))
    assert len(pages) > 10 and any(p.name.startswith("330100-杭州市") for p in pages)
    assert (out / "sample-run" / "run.json").exists()
    row = store.read_one("MATCH (d:Decision {id: $id})-[:DECIDED_ON]->(m:ModelRun) "
                         "RETURN m.id AS run, d.tasks AS tasks", {"id": decision})
    assert row["run"] == "zj3km-2026112512" and row["tasks"] > 100
    assert store.read_one("MATCH (r:Rule) RETURN count(r) AS n")["n"] >= 30
    assert graph_counts(store)[0] > 20_000
