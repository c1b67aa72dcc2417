"""Jobs over HTTP: create, list, read, cancel; commander and admin only; scoped keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import jobs_client
from fastapi.testclient import TestClient
from hpc_helpers import baseline_run, settings, test_request, wait_for

from ecobrain.ontology.graph.store import GraphStore


@pytest.fixture
def api(store: GraphStore, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict]]]:
    with jobs_client(store, tmp_path, settings(tmp_path)) as both:
        yield both


def test_create_read_list_cancel(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    r = client.post("/jobs", json=test_request("quick"), headers=h["commander"])
    assert r.status_code == 201, r.text
    job = r.json()["job"]
    assert r.json()["created"] and job["state"] == "PENDING" and job["executor"] == "local"
    r = client.post("/jobs", json=test_request("quick"), headers=h["commander"])
    assert r.status_code == 200 and not r.json()["created"]
    assert r.json()["job"]["id"] == job["id"]

    def registered() -> bool:
        got = client.get(f"/jobs/{job['id']}?refresh=true", headers=h["admin"]).json()
        return got["state"] == "REGISTERED"

    wait_for(registered, 30, what="the job to be registered")
    got = client.get(f"/jobs/{job['id']}", headers=h["commander"]).json()
    assert got["script"].startswith("#!/bin/bash") and got["outputs_checked"]
    assert [x["state"] for x in got["history"]][-1] == "REGISTERED"

    r = client.post("/jobs", json=test_request("sleeper", start_hour=5), headers=h["admin"])
    sleeper = r.json()["job"]["id"]
    r = client.post(f"/jobs/{sleeper}/cancel", headers=h["commander"])
    assert r.status_code == 200 and r.json()["state"] == "CANCELLED"
    r = client.post(f"/jobs/{sleeper}/cancel", headers=h["commander"])
    assert r.status_code == 409 and "already CANCELLED" in r.json()["message"]

    listed = client.get("/jobs", headers=h["commander"]).json()
    assert {j["id"] for j in listed} == {job["id"], sleeper}
    assert all(j["script"] is None for j in listed)
    assert [j["id"] for j in client.get("/jobs?state=CANCELLED",
                                        headers=h["commander"]).json()] == [sleeper]
    assert client.get("/jobs/nope", headers=h["commander"]).status_code == 404


def test_roles(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    assert client.get("/jobs").status_code == 401
    for role in ("expert", "investigator"):
        r = client.post("/jobs", json=test_request("quick"), headers=h[role])
        assert r.status_code == 403, role
        assert client.get("/jobs", headers=h[role]).status_code == 403


def test_invalid_requests_list_every_problem(api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    bad = {"kind": "scenario", "model": "standin",
           "scenario": {"baseline_run": str(tmp_path / "none"), "factors": [
               {"region": "339999", "sector": "Petrochemical", "species": "VOCs", "factor": 0.8}]}}
    r = client.post("/jobs", json=bad, headers=h["commander"])
    assert r.status_code == 422
    fields = {p["field"] for p in r.json()["problems"]}
    assert fields == {"scenario.factors[0].region", "scenario.baseline_run"}
    bad["scenario"]["factors"][0]["factor"] = -1
    r = client.post("/jobs", json=bad, headers=h["commander"])
    assert r.status_code == 422 and "factor" in r.json()["message"]
    assert client.get("/jobs", headers=h["commander"]).json() == []


def test_scoped_keys_only_for_their_regions(api) -> None:  # type: ignore[no-untyped-def]
    client, h = api
    scenario = {"kind": "scenario", "model": "standin",
                "scenario": {"baseline_run": str(baseline_run()), "factors": [
                    {"region": "330100", "sector": "Power", "species": "NOx", "factor": 0.8}]}}
    r = client.post("/jobs", json=scenario, headers=h["ningbo"])
    assert r.status_code == 403 and "region 330100" in r.json()["message"]
    scenario["scenario"]["factors"][0]["region"] = "330203"  # a county of Ningbo
    r = client.post("/jobs", json=json.loads(json.dumps(scenario)), headers=h["ningbo"])
    assert r.status_code == 201, r.text
    client.post(f"/jobs/{r.json()['job']['id']}/cancel", headers=h["admin"])
