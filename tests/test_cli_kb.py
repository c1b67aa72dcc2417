"""`ecobrain kb check`: the OWL and SHACL checks from the command line, on the real graph."""

from __future__ import annotations

from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.kb_loaders.semantics.ontology_loader import load_ontology
from ecobrain.ontology.graph.store import GraphStore

runner = CliRunner()


def test_kb_check_passes_on_the_ontology_and_fails_on_a_broken_node(store: GraphStore) -> None:
    load_ontology(store)
    ok = runner.invoke(app, ["kb", "check"])
    assert ok.exit_code == 0, ok.output
    assert "consistent" in ok.output and "conforms" in ok.output
    store.write("MATCH (c:Concept {id: 'O3'}) REMOVE c.label_zh")
    bad = runner.invoke(app, ["kb", "check"])
    assert bad.exit_code == 1
    assert "does not conform" in bad.output and "O3" in bad.output


def test_kb_stats_counts_labels(store: GraphStore) -> None:
    load_ontology(store)
    result = runner.invoke(app, ["kb", "stats", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"Pollutant"' in result.output and '"SUBCLASS_OF"' in result.output
