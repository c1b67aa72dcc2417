"""Rule authoring over HTTP on the real knowledge graph: read versions, validate (lines and
fields in the text sent), dry-run through the real engine, save a new version, activate and
deactivate with overlap checks, the audit trail, and the decisions' use of the graph's versions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ApiClient, api_client

from ecobrain.api.http.routes.rules import EXAMPLE_RULE
from ecobrain.kb_loaders.bundle import load_bundled_rules
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.reasoning.decisions.run_decision import rule_base_for

FACTS = [
    {"type": "hotspot", "id": "h1", "hotspot_id": "h1", "species": "VOCs",
     "cell_id": "ZJ3KM:r80c95", "county_code": "330102", "city_code": "330100",
     "excess": 1.5, "ratio": 2.5, "rank": 1},
    {"type": "hotspot_enterprise", "id": "he1", "hotspot_id": "h1", "enterprise_id": "E-1",
     "enterprise_name": "上城涂装", "county_code": "330102", "sector": "Coating",
     "emits_species": True, "ring": 0},
]


@pytest.fixture
def api(module_rules_kb: GraphStore, tmp_path: Path) -> Iterator[ApiClient]:
    """Laws, concepts and rules of the module's own: the tests save versions of distinct rules."""
    with api_client(module_rules_kb, tmp_path) as client:
        yield client


def test_rule_routes_are_for_experts(api: ApiClient) -> None:
    gets = ["/rules", "/rules/task.hotspot.vocs", "/rules/task.hotspot.vocs/versions/1",
            "/rules/task.hotspot.vocs/audit"]
    posts = [("/rules/validate", {"yaml": EXAMPLE_RULE}),
             ("/rules/dry-run", {"yaml": EXAMPLE_RULE, "facts": FACTS, "on": "2026-12-02"})]
    for url in gets:
        assert api.get(url).status_code == 401
        for role in ("commander", "investigator"):
            r = api.get(url, role)
            assert r.status_code == 403 and "needs one of: expert" in r.json()["message"]
        for role in ("expert", "admin"):
            assert api.get(url, role).status_code == 200, (url, role)
    for url, body in posts:
        assert api.post(url, json=body).status_code == 401
        assert api.post(url, "commander", json=body).status_code == 403
        assert api.post(url, "expert", json=body).status_code == 200, url
    for url in ("/rules/task.hotspot.vocs/versions/1/activate",
                "/rules/task.hotspot.vocs/versions/1/deactivate"):
        assert api.post(url).status_code == 401
        assert api.post(url, "investigator").status_code == 403
    assert api.post("/rules", "commander", json={"yaml": EXAMPLE_RULE}).status_code == 403


def test_legal_coverage_on_a_date(api: ApiClient) -> None:
    assert api.get("/rules/coverage?on=2026-12-01").status_code == 401
    assert api.get("/rules/coverage?on=2026-12-01", "commander").status_code == 403
    assert api.get("/rules/coverage?on=2026-13-01", "expert").status_code == 422
    dec = api.get("/rules/coverage?on=2026-12-01", "expert").json()
    assert dec["on"] == "2026-12-01" and dec["rules"] >= 25
    assert dec["uncovered"] == [] and dec["warnings"] == []
    by_rule = {r["rule"]: r for r in dec["coverage"]}
    yellow = by_rule["alert.heavy-pollution.yellow@2"]
    assert [(g["citation_id"], g["in_force"]) for g in yellow["grounds"]] == [
        ("zj.air-reg.2020.art54.p1", True), ("cn.mee.2024-6.differentiated", True),
        ("cn.mee.2024-6.grading", True), ("cn.air-law.2018.art95.p1", False)]
    assert yellow["grounds"][-1]["status"] == "reported_repealed"
    june = api.get("/rules/coverage?on=2026-06-01", "expert").json()
    yellow = {r["rule"]: r for r in june["coverage"]}["alert.heavy-pollution.yellow@2"]
    assert yellow["grounds"][0]["citation_id"] == "cn.air-law.2018.art95.p1"  # law first


def test_read_rules_and_versions(api: ApiClient, module_rules_kb: GraphStore) -> None:
    rules = {r["rule_id"]: r for r in api.get("/rules", "expert").json()}
    assert len(rules) >= 20
    red = rules["alert.heavy-pollution.red"]
    assert [v["version"] for v in red["versions"]] == [1, 2]
    assert red["versions"][0]["effective_to"] == "2024-01-22"
    assert all(v["origin"] == "bundle" and v["status"] == "active" for v in red["versions"])
    # issue 16: "active" in the YAML, but the 2017 version is expired on a 2025 date
    on = {r["rule_id"]: r for r in api.get("/rules?on=2025-06-01", "expert").json()}
    assert [v["state"] for v in on["alert.heavy-pollution.red"]["versions"]] == [
        "expired", "in force"]
    old = {r["rule_id"]: r for r in api.get("/rules?on=2023-06-01", "expert").json()}
    assert [v["state"] for v in old["alert.heavy-pollution.red"]["versions"]] == [
        "in force", "not yet in force"]
    assert red["versions"][1]["table"] == "alert.heavy-pollution.grading@2"
    full = api.get("/rules/alert.heavy-pollution.red", "expert").json()
    assert [v["key"] for v in full["versions"]] == ["alert.heavy-pollution.red@1",
                                                    "alert.heavy-pollution.red@2"]
    v2 = api.get("/rules/alert.heavy-pollution.red/versions/2", "expert").json()
    assert v2["yaml"].startswith("id: alert.heavy-pollution.grading\nversion: 2")  # its table
    assert v2["table"] == "alert.heavy-pollution.grading@2"
    assert "cn.air-law.2018.art95.p1" in v2["legal_basis"]
    assert api.get("/rules/no.such.rule", "expert").status_code == 404
    r = api.get("/rules/alert.heavy-pollution.red/versions/9", "expert")
    assert r.status_code == 404 and "version 9" in r.json()["message"]
    assert api.get("/rules/alert.heavy-pollution.red/versions/0", "expert").status_code == 422


def test_validate_reports_lines_and_fields_of_the_text_sent(api: ApiClient) -> None:
    ok = api.post("/rules/validate", "expert", json={"yaml": EXAMPLE_RULE}).json()
    assert ok["ok"] and ok["rules"] == ["task.hotspot.vocs@2"] and ok["errors"] == []
    assert ok["inherited_parameters_from"] == "rules/hotspot_inspection.yaml"
    bad = EXAMPLE_RULE.replace("if: species is_a VOCs", "if: speces is_a VOCs")
    r = api.post("/rules/validate", "expert", json={"yaml": bad}).json()
    assert not r["ok"]
    [err] = r["errors"]
    line = bad.splitlines().index("    if: speces is_a VOCs") + 1
    assert err["line"] == line and err["field"] == "when[0].if" and "speces" in err["message"]
    cite = EXAMPLE_RULE.replace("cn.air-law.2018.art45", "cn.air-law.2018.art450")
    r = api.post("/rules/validate", "expert", json={"yaml": cite}).json()
    assert not r["ok"] and any("art450" in e["message"] and e["field"] == "legal_basis[2]"
                               for e in r["errors"])
    unknown = EXAMPLE_RULE.replace("priority: 75", "priority: 75\npriorty: 3")
    r = api.post("/rules/validate", "expert", json={"yaml": unknown}).json()
    assert any("priorty" in e["message"] and e["line"] == 6 for e in r["errors"])
    syntax = api.post("/rules/validate", "expert", json={"yaml": "id: [x\n"}).json()
    assert not syntax["ok"] and syntax["errors"][0]["line"] is not None
    r = api.post("/rules/validate", "expert", json={"yaml": ""})
    assert r.status_code == 422 and "yaml" in r.json()["message"]
    assert api.post("/rules/validate", "expert", json={}).status_code == 422


def test_dry_run_concludes_without_saving(api: ApiClient, module_rules_kb: GraphStore) -> None:
    before = module_rules_kb.read_one("MATCH (n) RETURN count(n) AS n")["n"]
    r = api.post("/rules/dry-run", "expert",
                 json={"yaml": EXAMPLE_RULE, "facts": FACTS, "on": "2026-12-02"})
    assert r.status_code == 200, r.text
    body = r.json()
    [task] = body["conclusions"]
    assert task["kind"] == "task" and task["subject"]["id"] == "E-1"
    assert task["region_code"] == "330102" and task["deadline"] == "2026-12-05"
    assert task["legal_grounds"][0]["text"]  # the article's text from the graph
    assert body["rules_in_force"] == ["task.hotspot.vocs@2"] and body["firings"] == 1
    early = api.post("/rules/dry-run", "expert",
                     json={"yaml": EXAMPLE_RULE, "facts": FACTS, "on": "2026-11-01"}).json()
    assert early["conclusions"] == [] and "in force" in early["notes"][0]
    assert module_rules_kb.read_one("MATCH (n) RETURN count(n) AS n")["n"] == before
    r = api.post("/rules/dry-run", "expert",
                 json={"yaml": EXAMPLE_RULE, "facts": [{"type": "hotspt"}]})
    assert r.status_code == 422 and "facts[0].type" in r.json()["message"]
    r = api.post("/rules/dry-run", "expert", json={
        "yaml": EXAMPLE_RULE, "facts": [{**FACTS[0], "speed": 3}]})
    assert r.status_code == 422 and "speed" in r.json()["message"]
    r = api.post("/rules/dry-run", "expert", json={
        "yaml": EXAMPLE_RULE.replace("version: 2", "version: two"), "facts": FACTS})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "version"
    assert api.post("/rules/dry-run", "expert", json={"yaml": EXAMPLE_RULE,
                                                      "facts": []}).status_code == 422


def test_save_activate_deactivate_with_overlap_checks_and_audit(api: ApiClient,
                                                               module_rules_kb: GraphStore) -> None:
    r = api.post("/rules", "expert", json={"yaml": EXAMPLE_RULE, "activate": False})
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert v2["key"] == "task.hotspot.vocs@2" and v2["status"] == "draft"
    assert v2["origin"] == "api" and v2["created_by"] == "test-expert"
    again = api.post("/rules", "expert", json={"yaml": EXAMPLE_RULE})
    assert again.status_code == 409 and "version 3" in again.json()["message"]
    unseen = api.post("/rules/task.hotspot.vocs/versions/2/activate", "expert")
    assert unseen.status_code == 428 and "impact report" in unseen.json()["message"]
    off = api.post("/rules/task.hotspot.vocs/versions/1/deactivate", "expert").json()
    assert off["status"] == "retired" and off["changed"]
    # the impact report (no decision in this graph: nothing to compare, said so)
    report = api.post("/rules/task.hotspot.vocs/versions/2/impact", "expert").json()
    assert report["decisions"] == [] and report["retires"] == [] and report["notes"]
    on = api.post("/rules/task.hotspot.vocs/versions/2/activate", "admin",
                  json={"impact_report": report["id"]}).json()
    assert on["status"] == "active" and on["changed_by"] == "test-admin"
    same = api.post("/rules/task.hotspot.vocs/versions/2/activate", "expert").json()
    assert same["changed"] is False
    audit = api.get("/rules/task.hotspot.vocs/audit", "expert").json()
    assert [(a["action"], a["target"], a["by"]) for a in audit] == [
        ("rule.activate", "task.hotspot.vocs@2", "test-admin"),
        ("rule.deactivate", "task.hotspot.vocs@1", "test-expert"),
        ("rule.create", "task.hotspot.vocs@2", "test-expert")]
    assert audit[0]["detail"] == {"from": "draft", "to": "active",
                                  "impact_report": report["id"]}
    # decisions use the graph's versions: v2 from its first day, v1 nowhere
    base, source = rule_base_for(module_rules_kb)
    assert source.startswith("graph")
    in_force = {e.key for e in base.in_force(dt.date(2026, 12, 2))}
    assert "task.hotspot.vocs@2" in in_force and "task.hotspot.vocs@1" not in in_force
    assert "task.hotspot.vocs@1" not in {e.key for e in base.in_force(dt.date(2026, 11, 2))}
    # reloading the bundle (ecobrain kb load) keeps the experts' lifecycle changes
    load_bundled_rules(module_rules_kb)
    v1 = api.get("/rules/task.hotspot.vocs/versions/1", "expert").json()
    assert v1["status"] == "retired" and v1["declared_status"] == "active"
    versions = api.get("/rules/task.hotspot.vocs", "expert").json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "retired"), (2, "active")]


def test_saving_refuses_bad_rules_and_active_overlaps(api: ApiClient) -> None:
    ldar = EXAMPLE_RULE.replace("id: task.hotspot.vocs\n", "id: task.hotspot.vocs-ldar\n")
    r = api.post("/rules", "expert", json={"yaml": ldar.replace("VOCs\n", "VOC\n", 1)})
    assert r.status_code == 422 and r.json()["problems"]
    r = api.post("/rules", "expert", json={"yaml": ldar, "activate": True})
    assert r.status_code == 428 and "saved as a draft" in r.json()["message"]
    rule = ldar.replace("{param.inspection_days}", "3")  # a whole file: no inheritance
    two = "rules:\n  - " + rule.replace("\n", "\n    ").rstrip() + "\n  - " + \
        rule.replace("version: 2", "version: 3\nstatus: draft").replace("\n", "\n    "
                                                                     ).rstrip() + "\n"
    r = api.post("/rules", "expert", json={"yaml": two, "activate": False})
    assert r.status_code == 422 and "one rule version at a time" in r.json()["message"]
    assert api.get("/rules/task.hotspot.vocs-ldar/audit", "expert").json() == []
    assert api.post("/rules/no.such/versions/1/activate", "expert").status_code == 404


def test_the_rule_list_by_standing_on_a_date(api: ApiClient) -> None:
    """The 2017 grading is active but expired after 2024-01-22; the 2024 one not yet in force
    before 2024-01-23: the list says which version decisions use on the date."""
    def yellow(on: str) -> dict[int, tuple[str, str]]:
        rules = api.get("/rules", "expert", params={"on": on}).json()
        r = next(r for r in rules if r["rule_id"] == "alert.heavy-pollution.yellow")
        return {v["version"]: (v["standing"], v["standing_note"]) for v in r["versions"]}

    assert yellow("2026-12-01") == {1: ("not_in_force", "2024-01-22 止，已失效，由 v2 取代"),
                                    2: ("in_force", "当日生效")}
    assert yellow("2023-06-01") == {1: ("in_force", "当日生效"),
                                    2: ("not_in_force", "2024-01-23 起生效，尚未生效")}
    plain = api.get("/rules", "expert").json()
    assert all(v["standing"] is None for r in plain for v in r["versions"])
    assert api.get("/rules", "expert", params={"on": "soon"}).status_code == 422
