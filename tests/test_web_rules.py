"""The experts' rule editor (/ui/rules) in headless chromium against a live API server on a
decided graph: rule versions by their standing on a date; a draft edited in CodeMirror shows the
server's validation error at its line; fixed, its tests run with the generated Chinese text; it
is saved, its impact report on the sample run's decision is shown (the alerts it removes,
worked out from the forecast table), and it is activated with that report — the graph has the
change. An investigator's key gets no editor."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kb_fixture import Decided
from web_helpers import LiveServer, browser_page, live_server, skip_without_browser

from ecobrain.api.web.pages import WEBUI_DIR
from ecobrain.reasoning.authoring import rule_store
from ecobrain.reasoning.decisions.store import region_forecast

RULE = "alert.heavy-pollution.yellow"
ROOT = Path(__file__).resolve().parents[1]
DRAFT = """\
family: alert.heavy-pollution
rules:
  - id: alert.heavy-pollution.yellow
    version: 3
    title: 黄色预警（PM2.5主导，峰值须超过210的草案）
    effective_from: 2024-01-23
    priority: 70
    legal_basis: [cn.mee.2024-6.grading, cn.air-law.2018.art95.p1, zj.air-reg.2020.art54.p1]
    concerns: [PM2_5]
    when:
      fact: alert_assessment
      as: a
      if: days_over_200 >= 1 and peak_aqi > 210 and driver == DRIVER
    then:
      - alert:
          level: AlertYellow
          region_code: "{a.region_code}"
          start: "{a.alert_start}"
          end: "{a.alert_end}"
          driver: "{a.driver}"
          note: "预测日AQI峰值{a.peak_aqi}（{a.peak_date}），AQI>200共{a.days_over_200}天"
tests:
  - name: 峰值215、一天超过200 → 黄色
    on: 2024-03-01
    given:
      - {type: alert_assessment, region_code: "330100", region_level: city, days_over_150: 1,
         days_over_200: 1, days_over_300: 0, longest_run_over_150: 1, longest_run_over_200: 1,
         longest_run_over_300: 0, peak_aqi: 215, peak_date: "2024-03-02", driver: PM2_5,
         alert_start: "2024-03-02", alert_end: "2024-03-02"}
    expect:
      - alert: {level: AlertYellow, region_code: "330100"}
"""


@pytest.fixture
def server(module_decided: Decided, tmp_path: Path) -> Iterator[LiveServer]:
    skip_without_browser()
    with live_server(module_decided.store, tmp_path) as s:
        yield s


def _sign_in(page, server: LiveServer, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/ui/rules")
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="使用此密钥").click()


def _type(page, text: str) -> None:  # type: ignore[no-untyped-def]
    """Replace the editor's text as a user does: select all, type (paste) the new text."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def _removed_yellow(d: Decided) -> set[str]:
    """Yellow regions the draft leaves out: no day above 200, or a peak of 210 or less."""
    out = set()
    for a in d.outcome.decision.alerts:
        if a.level == "AlertYellow":
            aqis = [x["aqi"] for x in region_forecast(d.store, d.outcome.run_id, a.region_code)]
            if not (any(v > 200 for v in aqis) and max(aqis) > 210):
                out.add(a.region_code)
    return out


def test_an_expert_edits_checks_tests_sees_the_impact_and_activates(
        server: LiveServer, module_decided: Decided, tmp_path: Path) -> None:
    removed = _removed_yellow(module_decided)
    assert removed
    with browser_page() as page:
        _sign_in(page, server, server.keys["expert"])
        page.wait_for_selector("#groups button[data-key]", timeout=15000)
        # the list by standing on a date: on 2026-11-25 the 2024 grading is in force, the 2017
        # one is not; on 2023-06-01 the other way round
        page.get_by_label("按日期查看状态").fill("2026-11-25")
        page.get_by_label("按日期查看状态").dispatch_event("change")
        in_force = "[data-standing='in_force'] button[data-key='{}']"
        page.wait_for_selector(in_force.format(f"{RULE}@2"))
        assert page.locator(f"[data-standing='not_in_force'] button[data-key='{RULE}@1']"
                            ).count() == 1
        page.get_by_label("按日期查看状态").fill("2023-06-01")
        page.get_by_label("按日期查看状态").dispatch_event("change")
        page.wait_for_selector(in_force.format(f"{RULE}@1"))

        page.locator(f"button[data-key='{RULE}@2']").click()
        page.wait_for_function("() => document.querySelector('.cm-content').textContent"
                               f".includes('{RULE}')")
        # the 2024 grading is a decision table: its row's version opens as the table's text
        shown = page.locator(".cm-content").inner_text()
        assert "id: alert.heavy-pollution.grading" in shown and "hit_policy: first" in shown

        # a draft with a wrong concept: the server's error, at its line, as you type
        _type(page, DRAFT.replace("DRIVER", "PM25"))
        page.wait_for_selector("#problems li.error", timeout=20000)
        problem = page.locator("#problems li.error").first.inner_text()
        assert "PM25" in problem and "第 13 行" in problem
        page.wait_for_selector(".cm-lint-marker-error", timeout=20000)

        # completion offers the fact type's fields
        page.locator(".cm-content").click()
        page.keyboard.press("Control+End")
        page.keyboard.insert_text("\n# longest_ru")
        page.keyboard.press("Control+Space")
        page.wait_for_selector(".cm-tooltip-autocomplete li", timeout=10000)
        options = page.locator(".cm-tooltip-autocomplete li").all_inner_texts()
        assert any("longest_run_over_150" in o for o in options)
        page.keyboard.press("Escape")

        # fixed: the tests run and show the Chinese text the rule writes
        _type(page, DRAFT.replace("DRIVER", "PM2_5"))
        page.get_by_role("button", name="校验并运行测试").click()
        page.wait_for_selector("#tests li.ok[data-test]", timeout=30000)
        assert "通过：峰值215、一天超过200 → 黄色" in page.locator("#tests").inner_text()
        assert "预测日AQI峰值215（2024-03-02），AQI>200共1天" in \
            page.locator("#tests li.generated").first.inner_text()
        assert page.locator("#problems li.error").count() == 0

        page.get_by_role("button", name="保存为草稿").click()
        page.wait_for_function("() => document.querySelector('#status').textContent"
                               f".includes('已保存 {RULE}@3')", timeout=20000)
        assert page.locator("#activate").is_disabled()
        page.get_by_role("button", name="影响评估").click()
        page.wait_for_selector("#impact-id", timeout=120000)
        report_id = page.locator("#impact-id").get_attribute("data-report")
        removed_alerts = page.locator("#impact-counts tr[data-kind='alert'] td").nth(1)
        assert removed_alerts.inner_text() == str(len(removed))
        assert f"启用时将停用：{RULE}@2" in page.locator("#impact-report").inner_text()
        assert page.locator("#impact-changes li[data-change='removed']").count() >= len(removed)
        page.screenshot(path=str(tmp_path / "rules-impact.png"), full_page=True)

        page.get_by_role("button", name="启用此版本").click()
        page.wait_for_function("() => document.querySelector('#status').textContent"
                               f".includes('已启用 {RULE}@3')", timeout=20000)
        assert page.locator("#error").inner_text() == ""
        # the rule's audit trail: who saved, activated and retired what
        activated = f"#audit li[data-action='rule.activate'][data-target='{RULE}@3']"
        page.wait_for_selector(activated, timeout=15000)
        assert "test-expert" in page.locator(activated).inner_text()
        assert "影响评估 impact-" in page.locator(activated).inner_text()
        assert page.locator(f"#audit li[data-action='rule.deactivate'][data-target='{RULE}@2']"
                            ).count() == 1
        assert page.locator(f"#audit li[data-action='rule.create'][data-target='{RULE}@3']"
                            ).count() == 1
    assert rule_store.rule_version(module_decided.store, RULE, 3)["status"] == "active"
    assert rule_store.rule_version(module_decided.store, RULE, 2)["status"] == "retired"
    audit = rule_store.audit_events(module_decided.store, RULE)
    assert audit[0]["action"] in ("rule.activate", "rule.deactivate")
    assert any(a["action"] == "rule.activate" and a["detail"].get("impact_report") == report_id
               for a in audit)
    assert (tmp_path / "rules-impact.png").stat().st_size > 20_000


def test_an_investigator_key_gets_no_editor(server: LiveServer) -> None:
    with browser_page() as page:
        _sign_in(page, server, server.keys["investigator"])
        page.wait_for_function("() => document.querySelector('#error').textContent", timeout=15000)
        assert "403" in page.locator("#error").inner_text()
        assert page.locator("#board").is_hidden()


def test_the_vendored_editor_bundle_is_the_one_its_script_built() -> None:
    folder = WEBUI_DIR / "vendor" / "codemirror"
    digest = hashlib.sha256((folder / "codemirror.bundle.js").read_bytes()).hexdigest()
    assert (folder / "SHA256SUMS").read_text().split() == [digest, "codemirror.bundle.js"]
    licence = (folder / "LICENSE").read_text(encoding="utf-8")
    for package in ("@codemirror/view", "@codemirror/lang-yaml", "@lezer/yaml", "crelt"):
        assert f"== {package} " in licence
    lock = json.loads((ROOT / "scripts" / "webui-codemirror" / "package-lock.json"
                       ).read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/@codemirror/view"]["version"] in licence
