"""Rule base v1 against the real ontology and statutes: it checks clean, every rule's own test
cases pass, every rule version is exercised by a case, and it loads into the graph as Rule
nodes that investigators can query by article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from reasoning_fixtures import load_knowledge
from typer.testing import CliRunner

from ecobrain.api.cli.commands import rules as cli_rules
from ecobrain.ontology.graph.store import GraphStore
from ecobrain.ontology.legal import split_citation
from ecobrain.reasoning.authoring.check import check_rules
from ecobrain.reasoning.authoring.rule_graph import load_rules_into_graph
from ecobrain.reasoning.authoring.rulebase import (
    bundled_rules_dir,
    load_rule_base,
    rules_from_graph,
)
from ecobrain.reasoning.authoring.testing import run_rule_tests


@pytest.fixture
def kb(store: GraphStore) -> GraphStore:
    load_knowledge(store)
    return store


def test_bundled_rules_check_clean_against_the_graph(kb: GraphStore) -> None:
    report = check_rules(store=kb)
    assert report.concepts_source == "graph"
    assert report.articles_checked
    assert [str(e) for e in report.errors] == []
    assert report.rule_count >= 30
    assert {f.split("/")[-1] for f in report.files} == {
        "alerts.yaml", "emergency_measures.yaml", "hotspot_inspection.yaml",
        "attribution_advice.yaml", "o3_regime.yaml"}


def test_every_rule_test_case_passes_and_every_rule_is_exercised(kb: GraphStore) -> None:
    results = run_rule_tests(store=kb)
    failures = [f"{r.where} {r.name}: {r.failures} got {r.conclusions}"
                for r in results if not r.passed]
    assert failures == []
    assert len(results) >= 20
    fired = {f.rule_key for r in results if r.decision for f in r.decision.firings}
    base, _ = load_rule_base()
    assert sorted({e.key for e in base.entries} - fired) == []


def test_every_rule_cites_provisions_the_graph_holds(kb: GraphStore) -> None:
    base, _ = load_rule_base()
    cited = {c for e in base.entries for c in e.rule.legal_basis}
    ids = {r["id"] for r in kb.read("MATCH (a:Article) RETURN a.id AS id")}
    # (split_citation: a naive split on ".p" would cut "….purpose")
    assert {split_citation(c)[0] for c in cited} <= ids
    # the 2024 grading clauses and the Air Law emergency article are among the grounds
    assert {"cn.mee.2024-6.grading", "cn.mee.2024-6.differentiated",
            "cn.mee.2017-alert-grading.grading", "cn.air-law.2018.art96"} <= cited


def test_rules_load_into_the_graph_idempotently_and_answer_by_article(kb: GraphStore) -> None:
    first = load_rules_into_graph(kb)
    assert first["rules"] >= 30 and first["cites"] > first["rules"]
    second = load_rules_into_graph(kb)
    assert second["written"]["nodes_created"] == 0
    assert second["written"]["relationships_created"] == first["cites"] + \
        first["concerns"] + first["targets"]  # edges re-derived: same count, no duplicates
    n = kb.read("MATCH (r:Rule) RETURN count(r) AS n")[0]["n"]
    assert n == first["rules"]
    on_96 = {r["id"] for r in kb.read(
        "MATCH (r:Rule)-[:CITES]->(a:Article {id: 'cn.air-law.2018.art96'}) RETURN r.id AS id")}
    assert {"measure.emergency.reduction@1", "measure.emergency.reduction@2",
            "task.emergency.grade-d@1"} <= on_96
    row = kb.read_one("MATCH (r:Rule {id: 'alert.heavy-pollution.red@1'}) RETURN r.yaml AS yaml, "
                      "r.effective_to AS effective_to, r.checksum AS checksum, "
                      "r.table AS table")
    assert row["effective_to"] == "2024-01-22"
    # a version made by a decision table row keeps the table's YAML (issue 16)
    assert row["yaml"].startswith("id: alert.heavy-pollution.grading\nversion: 1\n")
    assert row["table"] == "alert.heavy-pollution.grading@1"
    assert len(row["checksum"]) == 64
    escal = kb.read("MATCH (r:Rule {id: 'task.hotspot.nox@1'})-[c:CITES]->(a:Article) "
                    "RETURN c.citation AS citation, c.role AS role ORDER BY citation")
    assert {"citation": "cn.ep-law.2014.art25", "role": "escalation"} in escal
    concerns = kb.read("MATCH (r:Rule {id: 'task.hotspot.vocs@1'})-[:CONCERNS]->(c:Concept) "
                       "RETURN c.id AS id")
    assert concerns == [{"id": "VOCs"}]


def test_rules_read_back_from_the_graph_are_the_same_rules(kb: GraphStore) -> None:
    load_rules_into_graph(kb)
    from_graph = rules_from_graph(kb)
    from_files, _ = load_rule_base()
    assert sorted(e.key for e in from_graph.entries) == sorted(e.key for e in from_files.entries)
    assert from_graph.origin == "graph"


def _app() -> typer.Typer:
    app = typer.Typer()
    cli_rules.register(app)
    return app


def _rows_by_key(output: str) -> dict[str, str]:
    return {ln.split()[0]: ln for ln in output.splitlines() if ln.split() and "@" in ln.split()[0]}


def test_cli_check_test_load_list(kb: GraphStore, tmp_path: Path) -> None:
    runner = CliRunner()
    app = _app()
    res = runner.invoke(app, ["rules", "check"])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "0 error(s)" in out and "articles checked against the graph" in out
    res = runner.invoke(app, ["rules", "test"])
    assert res.exit_code == 0, res.output
    assert " 0 failed" in res.output
    # issue 16: -v shows the Chinese text a rule generates, under its conclusion
    res = runner.invoke(app, ["rules", "test", "-v", str(bundled_rules_dir() / "alerts.yaml")])
    assert res.exit_code == 0, res.output
    out = "".join(res.output.split())
    assert "alert330100AlertYellow" in out
    assert "预测日AQI峰值215（2024-03-02），AQI>150最长持续1天，>200共1天" in out
    assert "通过电视、广播、网络、短信等途径告知公众采取健康防护措施" in out
    # legal coverage on a date (issue 12): every rule in force has a ground in force
    res = runner.invoke(app, ["rules", "check", "--on", "2026-12-01", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    cov = report["legal_coverage"]
    assert cov["on"] == "2026-12-01" and cov["uncovered"] == [] and cov["rules"] >= 25
    assert report["warnings"] == []
    res = runner.invoke(app, ["rules", "check", "--on", "2026-12-01"])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "legal coverage on 2026-12-01" in out
    assert "0 without a ground in force" in out and "reported_repealed" in out
    res = runner.invoke(app, ["rules", "check", "--on", "2026-12-01", "--offline"])
    assert res.exit_code != 0
    res = runner.invoke(app, ["rules", "list", "--on", "2023-12-01"])
    assert res.exit_code == 0 and "alert.heavy-pollution.blue" in res.output
    res = runner.invoke(app, ["rules", "list", "--on", "2025-12-01", "--in-force"])
    assert "alert.heavy-pollution.blue" not in res.output
    # issue 16: the 2017 grading is `status: active` in the YAML but expired on 2024-01-22
    res = runner.invoke(app, ["rules", "list", "--on", "2025-12-01"])
    rows = _rows_by_key(res.output)
    assert "expired" in rows["alert.heavy-pollution.red@1"]
    assert "in force" in rows["alert.heavy-pollution.red@2"]
    assert "active" not in rows["alert.heavy-pollution.red@1"]
    res = runner.invoke(app, ["rules", "list", "--on", "2023-12-01"])
    rows = _rows_by_key(res.output)
    assert "not yet in force" in rows["alert.heavy-pollution.red@2"]
    assert "in force" in rows["alert.heavy-pollution.red@1"]
    res = runner.invoke(app, ["rules", "load"])
    assert res.exit_code == 0 and "rule version(s)" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text((bundled_rules_dir() / "o3_regime.yaml").read_text(encoding="utf-8")
                   .replace("regime is_a VOCLimited", "regime is_a VOCLimitd"), encoding="utf-8")
    res = runner.invoke(app, ["rules", "check", str(bad)])
    assert res.exit_code == 1
    out = "".join(res.output.split())
    assert f"{bad}:".replace(" ", "") in out and "unknownconcept'VOCLimitd'" in out
    res = runner.invoke(app, ["rules", "check", str(bad), "--offline", "--json"])
    assert res.exit_code == 1 and '"ok": false' in res.output


def test_check_refuses_article_numbers_and_fines_in_texts(tmp_path: Path) -> None:
    """Texts shown to readers are rendered from the grounds in force, never hard-coded."""
    (tmp_path / "r.yaml").write_text("""family: test.texts
title: t
rules:
  - id: test.texts
    version: 1
    title: 文本中不写条号
    effective_from: 2018-10-26
    priority: 50
    legal_basis: [cn.air-law.2018.art96]
    note: 大气法第九十六条（说明可以写条号）
    when: {fact: alert, as: a}
    then:
      - task:
          subject: {kind: sector, id: Fireworks, name: 烟花爆竹}
          region_code: "{a.region_code}"
          measure_type: BanFireworks
          action: 禁止燃放烟花爆竹（大气法第九十六条）
          escalation:
            text: 拒不执行的，依法处一万元以上十万元以下罚款
            legal_basis: [cn.air-law.2018.art121.p2]
""", encoding="utf-8")
    report = check_rules(tmp_path, store=None)
    found = sorted((p.field, p.message.split(":")[0]) for p in report.errors)
    assert found == [
        ("rules[0].then[0].task.action", "action hard-codes '第九十六条'"),
        ("rules[0].then[0].task.escalation.text",
         "escalation.text hard-codes '一万元以上十万元以下'")]
