"""Graph exploration (search, node, neighbourhood, paths) on the real embedded FalkorDB."""

from __future__ import annotations

import pytest

from ecobrain.ontology import explore
from ecobrain.ontology.graph.store import GraphStore


@pytest.fixture
def small_graph(store: GraphStore) -> GraphStore:
    store.write_rows(
        "UNWIND $rows AS r MERGE (c:Concept {id: r.id}) SET c.label_zh = r.zh, "
        "c.label_en = r.en, c.aliases = r.aliases",
        [
            {"id": "VOCs", "zh": "挥发性有机物", "en": "volatile organic compounds",
             "aliases": ["VOC", "挥发性有机化合物"]},
            {"id": "Benzene", "zh": "苯", "en": "benzene", "aliases": []},
            {"id": "O3", "zh": "臭氧", "en": "ozone", "aliases": ["O₃"]},
            {"id": "NOx", "zh": "氮氧化物", "en": "nitrogen oxides", "aliases": []},
        ],
    )
    store.write_rows(
        "UNWIND $rows AS r MATCH (a {id: r.a}), (b {id: r.b}) MERGE (a)-[:PRECURSOR_OF]->(b)",
        [{"a": "VOCs", "b": "O3"}, {"a": "NOx", "b": "O3"}],
    )
    store.write("MATCH (a {id: 'Benzene'}), (b {id: 'VOCs'}) MERGE (a)-[:SUBCLASS_OF]->(b)")
    return store


def test_search_by_chinese_label_alias_and_id(small_graph: GraphStore) -> None:
    assert [r["id"] for r in explore.search(small_graph, "臭氧")] == ["O3"]
    assert [r["id"] for r in explore.search(small_graph, "挥发性有机化合物")] == ["VOCs"]
    hits = explore.search(small_graph, "o")
    assert {"O3", "VOCs", "NOx"} <= {h["id"] for h in hits}
    assert explore.search(small_graph, "   ") == []
    assert explore.search(small_graph, "臭氧", labels=["Enterprise"]) == []
    # more hits than the limit: the best ones by the ranking (exact, then shorter name: 臭氧 2,
    # 氮氧化物 4, 挥发性有机物 6 characters), not the first ones the server happens to send
    assert [r["id"] for r in explore.search(small_graph, "o", limit=1)] == ["O3"]
    assert [r["id"] for r in explore.search(small_graph, "o", limit=2)] == ["O3", "NOx"]
    assert [r["id"] for r in explore.search(small_graph, "vocs", limit=1)] == ["VOCs"]


def test_node_with_relationship_counts(small_graph: GraphStore) -> None:
    n = explore.node(small_graph, "O3")
    assert n["labels"] == ["Concept"] and n["properties"]["label_zh"] == "臭氧"
    assert n["relationship_counts"] == {"PRECURSOR_OF": 2}
    with pytest.raises(explore.NotFound):
        explore.node(small_graph, "nope")


def test_neighbourhood_depth_filters_and_cap(small_graph: GraphStore) -> None:
    one = explore.neighbourhood(small_graph, "O3", depth=1)
    assert [n["id"] for n in one.nodes] == ["O3", "NOx", "VOCs"]
    assert {(r["source"], r["type"], r["target"]) for r in one.relationships} == {
        ("NOx", "PRECURSOR_OF", "O3"), ("VOCs", "PRECURSOR_OF", "O3")}
    two = explore.neighbourhood(small_graph, "O3", depth=2)
    assert "Benzene" in {n["id"] for n in two.nodes}
    only_precursors = explore.neighbourhood(small_graph, "O3", depth=2,
                                            rel_types=["PRECURSOR_OF"])
    assert "Benzene" not in {n["id"] for n in only_precursors.nodes}
    capped = explore.neighbourhood(small_graph, "O3", depth=2, limit=1)
    assert capped.truncated and len({r["source"] for r in capped.relationships}) == 1
    # which paths a cap keeps is the same on every backend: shortest first, then by node ids
    # (O3-NOx, O3-VOCs, O3-VOCs-Benzene), not the server's row order
    assert [n["id"] for n in capped.nodes] == ["O3", "NOx"]
    assert [n["id"] for n in explore.neighbourhood(small_graph, "O3", depth=2, limit=2).nodes] \
        == ["O3", "NOx", "VOCs"]
    with pytest.raises(ValueError):
        explore.neighbourhood(small_graph, "O3", depth=9)


def test_shortest_path_either_direction(small_graph: GraphStore) -> None:
    found = explore.paths(small_graph, "Benzene", "O3")
    assert found[0]["length"] == 2
    assert [n["id"] for n in found[0]["nodes"]] == ["Benzene", "VOCs", "O3"]
    assert explore.paths(small_graph, "O3", "Benzene")[0]["length"] == 2
    # relationships are followed either way, on FalkorDB too: NOx → O3 ← VOCs ← Benzene
    mixed = explore.paths(small_graph, "NOx", "Benzene")[0]
    assert [n["id"] for n in mixed["nodes"]] == ["NOx", "O3", "VOCs", "Benzene"]
    assert mixed["relationships"] == ["PRECURSOR_OF", "PRECURSOR_OF", "SUBCLASS_OF"]
    assert explore.paths(small_graph, "NOx", "Benzene", max_depth=2) == []
    # a node to itself: that one node, on every backend
    assert explore.paths(small_graph, "O3", "O3") == [
        {"nodes": [{"id": "O3", "labels": ["Concept"], "name": "臭氧"}], "relationships": [],
         "length": 0}]
    with pytest.raises(explore.NotFound):
        explore.paths(small_graph, "O3", "missing")


def test_cli_search_node_and_path(small_graph: GraphStore) -> None:
    from typer.testing import CliRunner

    from ecobrain.api.cli.app import app

    runner = CliRunner()
    found = runner.invoke(app, ["graph", "search", "臭氧"])
    assert found.exit_code == 0 and "O3" in found.output
    shown = runner.invoke(app, ["graph", "node", "O3", "--type", "PRECURSOR_OF"])
    assert shown.exit_code == 0 and "臭氧" in shown.output and "NOx" in shown.output
    path = runner.invoke(app, ["graph", "path", "Benzene", "O3"])
    assert path.exit_code == 0 and "-[SUBCLASS_OF]- VOCs" in path.output
    missing = runner.invoke(app, ["graph", "node", "nope"])
    assert missing.exit_code == 2 and "no node" in missing.output
