"""POST /runs on the real knowledge graph: a model run registered and decided over HTTP, the same
run again gives the same decision, documents on request; bad requests named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ApiClient, api_client
from kb_fixture import graph_counts, sample_run_dir

from ecobrain.ontology.graph.store import GraphStore


@pytest.fixture
def api(module_kb: GraphStore, tmp_path: Path) -> Iterator[ApiClient]:
    """The knowledge in the module's own graph; the first test decides the sample run in it."""
    with api_client(module_kb, tmp_path) as client:
        client.client.app.state.documents_dir = tmp_path / "documents"  # type: ignore[attr-defined]
        yield client


def test_post_a_run_decides_it_once(api: ApiClient, module_kb: GraphStore) -> None:
    run = sample_run_dir()
    body = {"run_dir": str(run)}
    for role in ("expert", "investigator"):
        assert api.post("/runs", role, json=body).status_code == 403
    assert api.post("/runs", json=body).status_code == 401
    r = api.post("/runs", "commander", json=body)
    assert r.status_code == 200, r.text
    first = r.json()
    d = first["decision"]
    assert first["run_id"] == d["run_id"] == "zj3km-2026112512" and not first["existed"]
    assert d["decision_date"] == "2026-11-25" and d["tasks"] > 100 and d["alerts"] > 0
    assert first["rule_source"].startswith("graph") and first["documents"] is None
    assert first["timings"]["total_s"] > 0 and first["findings"]["days"] == 2
    counts = graph_counts(module_kb)
    again = api.post("/runs", "admin", json=body).json()
    assert again["existed"] and again["decision"] == d
    assert graph_counts(module_kb) == counts
    runs = api.get("/runs", "commander").json()
    assert runs["total"] == 1 and runs["items"][0]["decisions"] == [d["id"]]
    assert api.get(f"/decisions/{d['id']}", "commander").status_code == 200
    # as of another day: another decision of the same run
    other = api.post("/runs", "commander",
                     json={**body, "decision_date": "2026-11-26"}).json()["decision"]
    assert other["id"] != d["id"] and other["decision_date"] == "2026-11-26"
    assert api.get(f"/runs/{d['run_id']}", "commander").json()["decisions"] == sorted(
        [d["id"], other["id"]])


def test_post_a_run_with_documents(api: ApiClient, tmp_path: Path) -> None:
    r = api.post("/runs", "commander", json={"run_dir": str(sample_run_dir()),
                                             "render_documents": True, "formats": ["md"]})
    assert r.status_code == 200, r.text
    body = r.json()
    docs = {doc["region_code"]: doc for doc in body["documents"]}
    assert {"330100", "330102"} <= set(docs)
    assert Path(body["documents_folder"]).parent == tmp_path / "documents"
    cities = sum(doc["tasks"] for doc in docs.values() if doc["level"] == "city")
    assert cities == body["decision"]["tasks"]  # a city's document holds its counties' tasks
    assert all(doc["tasks"] > 0 for doc in docs.values())
    county = docs["330102"]
    assert set(county["files"]) == {"md", "map", "aqi"}
    md = api.get(county["urls"]["md"], "commander")
    assert md.status_code == 200 and md.text.startswith("# 上城区大气污染防治任务清单")
    assert (Path(body["documents_folder"]) / "index.html").exists()


def test_bad_run_requests(api: ApiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                          ) -> None:
    r = api.post("/runs", "commander", json={})
    assert r.status_code == 422 and "run_dir" in r.json()["message"]
    r = api.post("/runs", "commander", json={"run_dir": str(tmp_path / "nope")})
    assert r.status_code == 404 and "no such directory" in r.json()["message"]
    r = api.post("/runs", "commander", json={"run_dir": str(tmp_path)})
    assert r.status_code == 422 and "run.json" in r.json()["message"]
    (tmp_path / "run.json").write_text(json.dumps({"id": "x", "outputs": [{"kind": "forecast"}]}),
                                       encoding="utf-8")
    r = api.post("/runs", "commander", json={"run_dir": str(tmp_path)})
    assert r.status_code == 422 and "outputs[0]" in r.json()["message"]
    r = api.post("/runs", "commander", json={"run_dir": str(sample_run_dir()),
                                             "decision_date": "26.11.2026"})
    assert r.status_code == 422 and "decision_date" in r.json()["message"]
    r = api.post("/runs", "commander", json={"run_dir": str(sample_run_dir()),
                                             "formats": ["pdf"]})
    assert r.status_code == 422 and "formats" in r.json()["message"]
    monkeypatch.setenv("ECOBRAIN_RUN_ROOTS", str(tmp_path))
    r = api.post("/runs", "commander", json={"run_dir": str(sample_run_dir())})
    assert r.status_code == 403 and "ECOBRAIN_RUN_ROOTS" in r.json()["message"]
    assert api.get("/runs").status_code == 401
