"""The bureaus' side of the loop over HTTP: task status updates (allowed steps only, history with
who and when, region-scoped keys), and documents showing the current status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ApiClient, api_client
from kb_fixture import Decided, issue_all

from ecobrain.api.auth import KeyStore

COUNTY, CITY = "330102", "330100"


@pytest.fixture
def api(module_decided: Decided, tmp_path: Path) -> Iterator[ApiClient]:
    """The module's decided graph, approved: each test moves tasks of its own."""
    issue_all(module_decided)
    with api_client(module_decided.store, tmp_path) as client:
        client.client.app.state.documents_dir = tmp_path / "documents"  # type: ignore[attr-defined]
        keys = KeyStore(tmp_path / "keys.json")
        client.keys["hz-bureau"] = keys.create("hz-bureau", ["commander"], [CITY])
        client.keys["sc-bureau"] = keys.create("sc-bureau", ["commander"], [COUNTY])
        client.keys["jx-bureau"] = keys.create("jx-bureau", ["commander"], ["330400"])
        yield client


def _task(d: Decided, region: str = COUNTY, index: int = 0) -> str:
    return [t.id for t in d.outcome.decision.tasks if t.region_code == region][index]


def test_a_task_goes_received_in_progress_done_and_keeps_its_history(
        api: ApiClient, module_decided: Decided) -> None:
    tid = _task(module_decided)
    url = f"/tasks/{tid}/status"
    steps = [("received", "已接收，安排现场核查"), ("in_progress", "执法大队已进场"),
             ("done", "现场核查：治理设施运行正常；已督促落实停产")]
    for i, (status, note) in enumerate(steps):
        r = api.patch(url, "sc-bureau", json={"status": status, "note": note})
        assert r.status_code == 200, r.text
        change = r.json()
        assert change["from"] == (["issued"] + [s for s, _ in steps])[i]
        assert change["to"] == status and change["by"] == "sc-bureau" and change["note"] == note
    history = api.get(f"/tasks/{tid}/history", "commander").json()
    assert [(h["from"], h["to"]) for h in history] == [
        ("draft", "issued"), ("issued", "received"), ("received", "in_progress"),
        ("in_progress", "done")]
    assert history[0]["by"] == "test-fixture"  # the commander's approval issued it
    assert all(h["by"] == "sc-bureau" and h["at"] for h in history[1:])
    assert history[-1]["note"] == steps[-1][1]
    task = api.get(f"/tasks/{tid}", "commander", params={"explain": False}).json()
    assert task["status"] == "done" and task["status_by"] == "sc-bureau"
    done = api.get(f"/decisions/{module_decided.decision_id}/tasks", "commander",
                   params={"status": "done"}).json()
    assert [t["id"] for t in done["items"]] == [tid]
    summary = api.get(f"/decisions/{module_decided.decision_id}", "commander").json()
    assert summary["tasks_by_status"]["done"] == 1
    # the county's document, rendered fresh, shows the new status
    html = api.get(f"/decisions/{module_decided.decision_id}/documents/{COUNTY}", "commander",
                   params={"format": "html", "fresh": True}).text
    assert "已办结" in html
    # done is final; nothing goes back
    r = api.patch(url, "commander", json={"status": "in_progress"})
    assert r.status_code == 409 and "final" in r.json()["message"]


def test_only_the_next_step_is_allowed(api: ApiClient, module_decided: Decided) -> None:
    tid = _task(module_decided, index=1)
    r = api.patch(f"/tasks/{tid}/status", "commander", json={"status": "done"})
    assert r.status_code == 409
    assert "'issued'" in r.json()["message"] and "'received'" in r.json()["message"]
    assert api.patch(f"/tasks/{tid}/status", "commander",
                     json={"status": "received"}).status_code == 200
    r = api.patch(f"/tasks/{tid}/status", "commander", json={"status": "received"})
    assert r.status_code == 409
    assert len(api.get(f"/tasks/{tid}/history", "commander").json()) == 2  # issued, received


def test_region_scoped_keys_update_only_their_regions(api: ApiClient,
                                                      module_decided: Decided) -> None:
    hz = _task(module_decided, COUNTY, index=2)
    other = next(t for t in module_decided.outcome.decision.tasks
                 if not t.region_code.startswith("3301"))
    assert api.patch(f"/tasks/{hz}/status", "hz-bureau",
                     json={"status": "received"}).status_code == 200  # city key, county task
    r = api.patch(f"/tasks/{other.id}/status", "hz-bureau", json={"status": "received"})
    assert r.status_code == 403 and other.region_code in r.json()["message"]
    r = api.patch(f"/tasks/{other.id}/status", "sc-bureau", json={"status": "received"})
    assert r.status_code == 403
    city_task = _task(module_decided, CITY)
    r = api.patch(f"/tasks/{city_task}/status", "sc-bureau", json={"status": "received"})
    assert r.status_code == 403  # a county bureau does not act for its city
    assert [h["to"] for h in api.get(f"/tasks/{other.id}/history", "commander").json()] == [
        "issued"]


@pytest.mark.parametrize("method", ["patch", "get"])
def test_status_roles_unknown_tasks_and_bad_bodies(api: ApiClient, module_decided: Decided,
                                                   method: str) -> None:
    tid = _task(module_decided, index=3 if method == "patch" else 4)
    url = f"/tasks/{tid}/status" if method == "patch" else f"/tasks/{tid}/history"
    call = getattr(api, method)
    kw = {"json": {"status": "received"}} if method == "patch" else {}
    assert call(url, **kw).status_code == 401
    for role in ("expert", "investigator"):
        r = call(url, role, **kw)
        assert r.status_code == 403 and "commander" in r.json()["message"]
    assert call(url, "admin", **kw).status_code == 200
    missing = url.replace(tid, "task-unknown")
    r = call(missing, "commander", **kw)
    assert r.status_code == 404 and "task-unknown" in r.json()["message"]
    if method == "patch":
        r = api.patch(url, "commander", json={"status": "closed"})
        assert r.status_code == 422 and "status" in r.json()["message"]
        r = api.patch(url, "commander", json={"note": "no status"})
        assert r.status_code == 422 and "status" in r.json()["message"]
        r = api.patch(url, "commander", json={"status": "in_progress", "note": "x" * 5000})
        assert r.status_code == 422 and "note" in r.json()["message"]
