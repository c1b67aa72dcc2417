"""A commander's review before anything is issued (issue 11): a decision is a draft, approving
it issues its tasks (held where the legal grounds need review, unless overridden with a reason),
re-deciding shows what changed against the approved decision. Over HTTP and the CLI, on a
decided sample run in the real graph; expected counts come from the decision itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ApiClient, api_client
from kb_fixture import Decided
from typer.testing import CliRunner

from ecobrain.api.auth import KeyStore
from ecobrain.api.cli.app import app
from ecobrain.reasoning.decisions import review
from ecobrain.reasoning.decisions.run_decision import decide_run


@pytest.fixture
def api(module_decided: Decided, tmp_path: Path) -> Iterator[ApiClient]:
    with api_client(module_decided.store, tmp_path) as client:
        client.client.app.state.documents_dir = tmp_path / "documents"  # type: ignore[attr-defined]
        keys = KeyStore(tmp_path / "keys.json")
        client.keys["hz-bureau"] = keys.create("hz-bureau", ["commander"], ["330100"])
        yield client


def _statuses(api: ApiClient, decision_id: str) -> dict[str, int]:
    return api.get(f"/decisions/{decision_id}", "commander").json()["tasks_by_status"]


def test_draft_then_approved_with_held_tasks_and_an_override_per_task(
        api: ApiClient, module_decided: Decided) -> None:
    d = module_decided.outcome.decision
    held = [t for t in d.tasks if t.legal_review_required]
    clear = [t for t in d.tasks if not t.legal_review_required]
    assert _statuses(api, d.id) == {"draft": len(d.tasks)}
    state = api.get(f"/decisions/{d.id}/review", "commander").json()
    assert state["review_status"] == "draft" and state["approved_by"] is None

    # nothing can be reported on a draft's task
    some = d.tasks[0]
    refused = api.patch(f"/tasks/{some.id}/status", "commander", json={"status": "received"})
    assert refused.status_code == 409 and "not issued yet" in refused.json()["message"]
    # the html says draft
    page = api.get(f"/decisions/{d.id}/documents/{some.region_code}", "commander").text
    assert "草稿：待指挥人员审核" in page and "已下发" not in page

    # a city bureau cannot approve the province's decision; an override needs a reason
    assert api.post(f"/decisions/{d.id}/approve", "hz-bureau", json={}).status_code == 403
    no_reason = api.post(f"/decisions/{d.id}/approve", "commander",
                         json={"override_legal_review": True})
    assert no_reason.status_code == 409 and "reason" in no_reason.json()["message"]

    ok = api.post(f"/decisions/{d.id}/approve", "commander", json={"note": "经会商同意"})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["review_status"] == "approved" and body["approved_by"] == "test-commander"
    expected = {k: v for k, v in (("issued", len(clear)), ("held", len(held))) if v}
    assert body["tasks_by_status"] == expected
    assert _statuses(api, d.id) == expected
    again = api.post(f"/decisions/{d.id}/approve", "commander", json={})
    assert again.status_code == 409 and "approved already" in again.json()["message"]

    # the document is rendered again: approved, rows issued (or held)
    page = api.get(f"/decisions/{d.id}/documents/{some.region_code}", "commander").text
    assert "已审核：test-commander于" in page and "（北京时间）" in page
    assert ("已下发" if clear else "暂缓下发") in page

    if clear:
        task = clear[0]
        step = api.patch(f"/tasks/{task.id}/status", "commander", json={"status": "received"})
        assert step.status_code == 200 and step.json()["from"] == "issued"
    if held:
        task = held[0]
        refused = api.patch(f"/tasks/{task.id}/status", "commander",
                            json={"status": "received"})
        assert refused.status_code == 409
        assert api.post(f"/tasks/{task.id}/issue", "commander",
                        json={"reason": ""}).status_code == 422
        issued = api.post(f"/tasks/{task.id}/issue", "commander",
                          json={"reason": "法务审查：省条例可作依据"})
        assert issued.status_code == 200 and issued.json()["to"] == "issued"
        history = api.get(f"/tasks/{task.id}/history", "commander").json()
        assert [(h["from"], h["to"]) for h in history] == [("draft", "held"),
                                                           ("held", "issued")]
        assert history[1]["note"] == "法务审查：省条例可作依据"


def test_redeciding_on_another_day_is_a_new_draft_showing_changes(
        module_decided: Decided, tmp_path: Path) -> None:
    store, first = module_decided.store, module_decided.outcome.decision
    if review.review_state(store, first.id)["review_status"] != review.APPROVED:
        review.approve(store, first.id, by="duty", override_legal_review=True, reason="test")
    later = dt.date.fromisoformat(first.decision_date) + dt.timedelta(days=1)
    outcome = decide_run(store, module_decided.run_dir, on=later)
    second = outcome.decision
    assert second.id != first.id and outcome.review_status == "draft"
    assert review.review_state(store, second.id)["review_status"] == review.DRAFT

    def keyed(dec):
        return {(t.region_code, t.subject.id, ",".join(sorted(t.measure_types))):
                ("；".join(i.text for i in t.items), t.deadline) for t in dec.tasks}

    a, b = keyed(first), keyed(second)
    result = review.changes(store, second.id)
    assert result["compared_with"] == first.id
    assert len(result["added"]) == len(b.keys() - a.keys())
    assert len(result["removed"]) == len(a.keys() - b.keys())
    assert len(result["changed"]) == sum(1 for k in a.keys() & b.keys() if a[k] != b[k])
    assert result["added"] or result["removed"] or result["changed"]

    runner = CliRunner()
    out = runner.invoke(app, ["decisions", "changes", second.id])
    assert out.exit_code == 0, out.output
    assert f"against {first.id}" in out.output
    out = runner.invoke(app, ["decisions", "approve", second.id, "--by", "值班指挥",
                              "--override-legal-review"])
    assert out.exit_code == 1 and "reason" in out.output
    out = runner.invoke(app, ["decisions", "approve", second.id, "--by", "值班指挥",
                              "--override-legal-review", "--reason", "演练"])
    assert out.exit_code == 0, out.output
    assert "approved by 值班指挥" in out.output and f"已下发 {len(second.tasks)}" in out.output
    out = runner.invoke(app, ["decisions", "review", second.id])
    assert "approved, approved by 值班指挥" in out.output
    # deciding the same run on the same day again: the same decision, still approved
    again = decide_run(store, module_decided.run_dir, on=later)
    assert again.existed and again.decision_id == second.id
    assert again.review_status == "approved"
