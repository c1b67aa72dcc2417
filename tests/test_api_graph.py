"""The graph-exploration endpoints and the key/role boundaries, over HTTP on the real graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ApiClient, api_client

from ecobrain.api.auth import KeyStore
from ecobrain.ontology.graph.store import GraphStore


@pytest.fixture
def api(store: GraphStore, tmp_path: Path) -> Iterator[ApiClient]:
    store.write_rows(
        "UNWIND $rows AS r MERGE (c:Concept {id: r.id}) SET c.label_zh = r.zh, c.label_en = r.en",
        [{"id": "O3", "zh": "臭氧", "en": "ozone"}, {"id": "NOx", "zh": "氮氧化物", "en": "NOx"}],
    )
    store.write("MATCH (a {id: 'NOx'}), (b {id: 'O3'}) MERGE (a)-[:PRECURSOR_OF]->(b)")
    with api_client(store, tmp_path) as client:
        yield client


def test_health_needs_no_key(api: ApiClient) -> None:
    r = api.get("/health")
    assert r.status_code == 200 and r.json()["nodes"] == 2


@pytest.mark.parametrize("url", ["/graph/search?q=臭氧", "/graph/nodes/O3",
                                 "/graph/nodes/O3/neighbourhood", "/graph/paths?from=NOx&to=O3"])
def test_exploration_roles(api: ApiClient, url: str) -> None:
    assert api.get(url).status_code == 401
    bad = api.client.get(url, headers={"X-API-Key": "eb_not-a-key"})
    assert bad.status_code == 401 and "unknown" in bad.json()["message"]
    for role in ("commander", "expert"):
        denied = api.get(url, role)
        assert denied.status_code == 403, (role, denied.text)
        assert "needs one of: investigator" in denied.json()["message"]
    for role in ("investigator", "admin"):
        assert api.get(url, role).status_code == 200


def test_search_node_neighbourhood_paths(api: ApiClient) -> None:
    hits = api.get("/graph/search", "investigator", params={"q": "臭氧"}).json()
    assert hits == [{"id": "O3", "labels": ["Concept"], "name": "臭氧"}]
    node = api.get("/graph/nodes/O3", "investigator").json()
    assert node["relationship_counts"] == {"PRECURSOR_OF": 1}
    hood = api.get("/graph/nodes/O3/neighbourhood", "investigator",
                   params={"depth": 1, "type": "PRECURSOR_OF"}).json()
    assert hood["relationships"] == [{"source": "NOx", "type": "PRECURSOR_OF", "target": "O3"}]
    path = api.get("/graph/paths", "investigator", params={"from": "O3", "to": "NOx"}).json()
    assert path[0]["length"] == 1


def test_unknown_ids_are_404_and_bad_parameters_422(api: ApiClient) -> None:
    r = api.get("/graph/nodes/missing", "investigator")
    assert r.status_code == 404 and "missing" in r.json()["message"]
    r = api.get("/graph/nodes/O3/neighbourhood", "investigator", params={"depth": 7})
    assert r.status_code == 422 and "depth" in r.json()["message"]
    r = api.get("/graph/search", "investigator")
    assert r.status_code == 422 and "q" in r.json()["message"]
    r = api.get("/graph/search", "investigator", params={"q": "x", "label": "NoSuchLabel"})
    assert r.status_code == 422 and "NoSuchLabel" in r.json()["message"]


def test_read_only_cypher_refuses_writes(api: ApiClient, store: GraphStore) -> None:
    ok = api.post("/graph/query", "investigator",
                  json={"query": "MATCH (c:Concept) RETURN c.id AS id ORDER BY id"})
    assert ok.status_code == 200 and ok.json() == [{"id": "NOx"}, {"id": "O3"}]
    refused = api.post("/graph/query", "investigator",
                       json={"query": "MATCH (c) DETACH DELETE c"})
    assert refused.status_code == 403
    assert store.read_one("MATCH (c:Concept) RETURN count(c) AS n") == {"n": 2}
    broken = api.post("/graph/query", "investigator", json={"query": "MATCH (c RETURN c"})
    assert broken.status_code == 422


def test_key_store_hashes_tokens_and_revokes(tmp_path: Path) -> None:
    ks = KeyStore(tmp_path / "k.json")
    token = ks.create("hz", ["commander"], ["330100"])
    assert token not in (tmp_path / "k.json").read_text()
    p = ks.verify(token)
    assert p is not None and p.roles == ("commander",) and p.may_act_for("330105", ["330100"])
    assert not p.may_act_for("330200")
    with pytest.raises(ValueError, match="roles must be"):
        ks.create("x", ["boss"])
    assert ks.revoke("hz") and ks.verify(token) is None
