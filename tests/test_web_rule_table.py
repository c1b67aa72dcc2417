"""The rule editor's decision-table grid (/ui/rules) in headless chromium against a live API
server on the decided sample run: the grading table's yellow row opens as a grid (hit policy,
labelled cells), the expert makes the yellow row stricter in one cell and bumps the version,
the server writes the grid back into the YAML, the expert's tests run with the Chinese text
the row writes, the table is saved as drafts, the yellow row's impact report lists the alerts
it removes (worked out by hand from the run's daily AQI forecast) and it is activated. The
grid endpoint itself: a bad cell is an error naming its row and column; an investigator's key
gets neither the editor nor the endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ApiClient, api_client
from kb_fixture import Decided
from web_helpers import LiveServer, browser_page, live_server, skip_without_browser

from ecobrain.reasoning.authoring import rule_store
from ecobrain.reasoning.decisions.store import region_forecast

RULE = "alert.heavy-pollution.yellow"  # the first yellow row of the grading table
TABLE = "alert.heavy-pollution.grading"
ASSESSMENT = ('{type: alert_assessment, region_code: "330100", region_level: city, '
              "days_over_150: %d, days_over_200: %d, days_over_300: 0, longest_run_over_150: 1, "
              "longest_run_over_200: 1, longest_run_over_300: 0, peak_aqi: 215, "
              'peak_date: "2024-03-02", driver: PM2_5, alert_start: "2024-03-02", '
              'alert_end: "2024-03-04"}')
# the expert's tests for the stricter row, typed under the table the grid wrote
TESTS = f"""\
tests:
  - name: 仅一天AQI>200且未持续48小时 → 不再发布黄色
    on: 2024-03-01
    given:
      - {ASSESSMENT % (1, 1)}
    forbid:
      - alert: {{level: AlertYellow}}
  - name: 两天AQI>200（不连续）→ 黄色
    on: 2024-03-01
    given:
      - {ASSESSMENT % (2, 2)}
    expect:
      - alert: {{level: AlertYellow, region_code: "330100", rule: {RULE}}}
"""


def _longest_run(aqis: list[float], above: float) -> int:
    best = run = 0
    for v in aqis:
        run = run + 1 if v > above else 0
        best = max(best, run)
    return best


def _removed_by_two_days(d: Decided) -> set[str]:
    """Yellow regions the edited table leaves out: the yellow row now needs two days above
    200, and the other yellow row (AQI > 150 on 2 days running) does not hold either. Their
    PM2.5 driver is unchanged and orange or red regions are graded before the yellow rows."""
    out = set()
    for a in d.outcome.decision.alerts:
        if a.level != "AlertYellow":
            continue
        aqis = [x["aqi"] for x in region_forecast(d.store, d.outcome.run_id, a.region_code)]
        if sum(v > 200 for v in aqis) < 2 and _longest_run(aqis, 150) < 2:
            out.add(a.region_code)
    return out


@pytest.fixture
def server(module_decided: Decided, tmp_path: Path) -> Iterator[LiveServer]:
    skip_without_browser()
    with live_server(module_decided.store, tmp_path) as s:
        yield s


@pytest.fixture
def api(module_decided: Decided, tmp_path: Path) -> Iterator[ApiClient]:
    with api_client(module_decided.store, tmp_path) as client:
        yield client


def _sign_in(page, server: LiveServer, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/ui/rules")
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="使用此密钥").click()


def test_the_grid_endpoint_reads_and_writes_a_table(api: ApiClient) -> None:
    text = api.get(f"/rules/{RULE}/versions/2", "expert").json()["yaml"]
    r = api.post("/rules/tables/grid", "expert", json={"yaml": text})
    assert r.status_code == 200, r.text
    g = r.json()
    assert (g["table"], g["version"], g["hit_policy"]) == (TABLE, 2, "first")
    names = [c["name"] for c in g["columns"]]
    kinds = {c["name"]: c["kind"] for c in g["columns"]}
    assert kinds["days_over_200"] == "input" and kinds["level"] == "output"
    assert kinds["id"] == "meta"
    labels = {c["name"]: c["label"] for c in g["columns"]}
    assert labels["days_over_200"] == "AQI>200天数"
    # red, orange twice, yellow twice, then the "no alert" row
    assert [row[0] for row in g["rows"]] == [
        "alert.heavy-pollution.red", "alert.heavy-pollution.orange",
        "alert.heavy-pollution.orange", RULE, RULE, ""]
    assert g["rows"][3][names.index("days_over_200")] == ">= 1"

    rows = [list(row) for row in g["rows"]]
    rows[3][names.index("days_over_200")] = ">= 2"
    r = api.post("/rules/tables/grid", "expert", json={
        "yaml": text, "columns": names, "rows": rows, "new_version": 3})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["version"] == 3 and out["yaml"].startswith("tables:\n  - id: " + TABLE)
    assert "\n    version: 3\n" in out["yaml"]
    assert '"days_over_200": ">= 2"' in out["yaml"] or "days_over_200: '>= 2'" in out["yaml"]
    assert out["rows"][3][names.index("days_over_200")] == ">= 2"
    assert out["rows"][4] == g["rows"][4]  # the other rows as they were

    rows[3][names.index("priority")] = "high"
    r = api.post("/rules/tables/grid", "expert", json={
        "yaml": text, "columns": names, "rows": rows, "new_version": 3})
    assert r.status_code == 422
    assert "grid row 4" in r.text and "priority" in r.text and "'high'" in r.text
    r = api.post("/rules/tables/grid", "expert", json={
        "yaml": text, "columns": [*names[:-1], "levl"], "rows": [], "new_version": 3})
    assert r.status_code == 422 and "unknown column 'levl'" in r.text
    assert api.post("/rules/tables/grid", "investigator",
                    json={"yaml": text}).status_code == 403


def test_an_expert_edits_the_grid_tests_sees_the_impact_and_activates(
        server: LiveServer, module_decided: Decided, tmp_path: Path) -> None:
    removed = _removed_by_two_days(module_decided)
    yellow = {a.region_code for a in module_decided.outcome.decision.alerts
              if a.level == "AlertYellow"}
    assert removed and removed < yellow  # the sample run has both kinds
    with browser_page() as page:
        _sign_in(page, server, server.keys["expert"])
        page.wait_for_selector(f"#groups button[data-key='{RULE}@2']", timeout=15000)
        page.locator(f"button[data-key='{RULE}@2']").click()
        page.wait_for_selector("#grid tbody tr", timeout=15000)
        assert page.locator("#grid-panel").is_visible()
        meta = page.locator("#grid-meta").inner_text()
        assert f"{TABLE}@2" in meta and "首行命中" in meta and "alert_assessment" in meta
        assert page.locator("#grid tbody tr").count() == 6
        heads = page.locator("#grid thead th").all_inner_texts()
        assert any("条件：AQI>200天数" in h for h in heads)
        assert any("结论：level" in h for h in heads)
        cell = page.get_by_label("第4行（yellow） AQI>200天数")
        assert cell.input_value() == ">= 1"
        assert page.get_by_label("新版本号").input_value() == "3"

        # add a row and remove it again: the grid is back to six rows
        page.get_by_role("button", name="添加一行").click()
        assert page.locator("#grid tbody tr").count() == 7
        page.get_by_role("button", name="删除第7行").click()
        assert page.locator("#grid tbody tr").count() == 6

        cell = page.get_by_label("第4行（yellow） AQI>200天数")
        cell.fill(">= 2")
        page.get_by_role("button", name="表格写回 YAML 并运行测试").click()
        page.wait_for_function("() => document.querySelector('#status').textContent"
                               ".includes('校验通过')", timeout=30000)
        shown = page.locator(".cm-content").inner_text()
        assert "version: 3" in shown and ">= 2" in shown
        assert f"{TABLE}@3" in page.locator("#grid-meta").inner_text()
        assert page.get_by_label("第4行（yellow） AQI>200天数").input_value() == ">= 2"

        # the expert's tests for the stricter row, under the table: they run and show the text
        page.locator(".cm-content").click()
        page.keyboard.press("Control+End")
        page.keyboard.insert_text("\n" + TESTS)
        page.get_by_role("button", name="校验并运行测试").click()
        page.wait_for_selector("#tests li.ok[data-test='两天AQI>200（不连续）→ 黄色']",
                               timeout=30000)
        assert page.locator("#tests li.error").count() == 0
        assert "通过：仅一天AQI>200且未持续48小时 → 不再发布黄色" in \
            page.locator("#tests").inner_text()
        assert "预测日AQI峰值215（2024-03-02），AQI>150最长持续1天，>200共2天" in \
            page.locator("#tests li.generated").first.inner_text()
        assert page.locator("#problems li.error").count() == 0

        page.get_by_role("button", name="保存为草稿").click()
        page.wait_for_function("() => document.querySelector('#status').textContent"
                               ".includes('已保存')", timeout=30000)
        assert page.locator("#error").inner_text() == ""
        # the table's first row is saved first: open the yellow row's new version
        page.wait_for_selector(f"#groups button[data-key='{RULE}@3']", timeout=15000)
        page.locator(f"button[data-key='{RULE}@3']").click()
        page.wait_for_function("() => document.querySelector('#editing').textContent"
                               f".includes('{RULE}@3')", timeout=15000)
        page.get_by_role("button", name="影响评估").click()
        page.wait_for_selector("#impact-id", timeout=120000)
        report_id = page.locator("#impact-id").get_attribute("data-report")
        removed_alerts = page.locator("#impact-counts tr[data-kind='alert'] td")
        assert removed_alerts.nth(0).inner_text() == "0"
        assert removed_alerts.nth(1).inner_text() == str(len(removed))
        assert f"启用时将停用：{RULE}@2" in page.locator("#impact-report").inner_text()
        drawn = page.locator("#impact-changes li[data-change='removed']").all_inner_texts()
        assert sum(t.startswith("取消预警") for t in drawn) == len(removed)
        page.screenshot(path=str(tmp_path / "rule-grid-impact.png"), full_page=True)

        page.get_by_role("button", name="启用此版本").click()
        page.wait_for_function("() => document.querySelector('#status').textContent"
                               f".includes('已启用 {RULE}@3')", timeout=20000)
        assert page.locator("#error").inner_text() == ""
    store = module_decided.store
    assert rule_store.rule_version(store, RULE, 3)["status"] == "active"
    assert rule_store.rule_version(store, RULE, 2)["status"] == "retired"
    assert ">= 2" in rule_store.rule_version(store, RULE, 3)["yaml"]
    assert any(a["action"] == "rule.activate" and a["detail"].get("impact_report") == report_id
               for a in rule_store.audit_events(store, RULE))


def test_an_investigator_key_gets_no_grid(server: LiveServer) -> None:
    with browser_page() as page:
        _sign_in(page, server, server.keys["investigator"])
        page.wait_for_function("() => document.querySelector('#error').textContent",
                               timeout=15000)
        assert "403" in page.locator("#error").inner_text()
        assert page.locator("#board").is_hidden() and page.locator("#grid-panel").is_hidden()
