"""The bureaus' task board (/ui/tasks) in headless chromium, at a phone's size, against a live
API server on a decided and approved graph: a county's key sees its county's tasks only, opens
one (requirements, deadline, legal text, history) and reports it received with a note — and the
graph has the change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kb_fixture import Decided, issue_all
from web_helpers import LiveServer, browser_page, live_server, skip_without_browser

from ecobrain.reasoning.decisions import task_status

COUNTY = "330102"
PHONE = {"width": 390, "height": 844, "mobile": True}


@pytest.fixture
def server(module_decided: Decided, tmp_path: Path) -> Iterator[LiveServer]:
    skip_without_browser()
    issue_all(module_decided)
    with live_server(module_decided.store, tmp_path) as s:
        s.keys["county"] = s.key_store.create("sc-bureau", ["commander"], [COUNTY])
        yield s


def _sign_in(page, server: LiveServer, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/ui/tasks")
    page.get_by_label("API 密钥").fill(key)
    page.get_by_role("button", name="使用此密钥").click()
    page.wait_for_selector("#tasks button[data-task]", timeout=15000)


def test_a_county_key_sees_its_tasks_and_reports_one_received_on_a_phone(
        server: LiveServer, module_decided: Decided, tmp_path: Path) -> None:
    county_tasks = {t.id for t in module_decided.outcome.decision.tasks
                    if t.region_code == COUNTY}
    assert 0 < len(county_tasks) <= 500
    with browser_page(**PHONE) as page:
        _sign_in(page, server, server.keys["county"])
        assert "sc-bureau" in page.locator("#who").inner_text()
        shown = page.eval_on_selector_all("#tasks button[data-task]",
                                          "bs => bs.map(b => b.dataset.task)")
        assert set(shown) == county_tasks and len(shown) == len(county_tasks)
        assert f"共 {len(county_tasks)} 项" in page.locator("#count").inner_text()
        # every form control has a label; the page fits the phone's width
        unlabelled = page.eval_on_selector_all(
            "input, select, textarea", "es => es.filter(e => !e.labels.length).map(e => e.id)")
        assert unlabelled == []
        assert page.evaluate("() => document.scrollingElement.scrollWidth") <= PHONE["width"]

        tid = shown[0]
        page.locator(f"#tasks button[data-task='{tid}']").click()
        page.wait_for_selector("#detail-body:not([hidden])")
        assert page.locator("#d-id").inner_text() == tid
        assert page.locator("#d-status").inner_text() == "已下发"
        assert page.locator("#d-actions li").count() >= 1
        assert page.locator("#d-deadline").inner_text().strip()
        assert page.locator("#d-legal blockquote").count() >= 1
        assert page.locator("#d-history li").count() == 1  # the commander's approval

        note = "已接收，安排执法大队现场核查"
        page.get_by_label("情况说明").fill(note)
        page.get_by_role("button", name="确认接收（→ 已接收）").click()
        page.wait_for_function(
            "() => document.querySelector('#d-status').textContent === '已接收'", timeout=15000)
        assert page.locator("#d-history li").count() == 2
        assert note in page.locator("#d-history").inner_text()
        assert page.locator(f"#tasks button[data-task='{tid}'] .badge").inner_text() == "已接收"
        page.screenshot(path=str(tmp_path / "tasks-phone.png"), full_page=True)

        # the status filter: the received task alone
        page.get_by_label("状态").select_option("received")
        page.wait_for_function(
            "() => document.querySelectorAll('#tasks button[data-task]').length === 1",
            timeout=15000)
    assert (tmp_path / "tasks-phone.png").stat().st_size > 20_000
    history = task_status.history(module_decided.store, tid)
    assert (history[-1]["from"], history[-1]["to"]) == ("issued", "received")
    assert history[-1]["by"] == "sc-bureau" and history[-1]["note"] == note


def _tab_to(page, selector: str, presses: int = 40) -> None:  # type: ignore[no-untyped-def]
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_board_works_from_the_keyboard_alone(server: LiveServer,
                                                 module_decided: Decided) -> None:
    with browser_page() as page:
        page.goto(f"{server.url}/ui/tasks")
        _tab_to(page, "#key")
        page.keyboard.type(server.keys["county"])
        page.keyboard.press("Enter")
        page.wait_for_selector("#tasks button[data-task]", timeout=15000)
        # to the first task still waiting to be received
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("() => !!document.activeElement.dataset.task && document"
                             ".activeElement.querySelector('.badge').textContent === '已下发'"):
                break
        else:
            raise AssertionError("no issued task reached with Tab")
        tid = page.evaluate("() => document.activeElement.dataset.task")
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => document.querySelector('#d-id').textContent === '{tid}'")
        assert page.evaluate("() => document.activeElement.id") == "detail"
        _tab_to(page, "#note")
        page.keyboard.type("键盘操作：已接收")
        _tab_to(page, "#step")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#d-status').textContent === '已接收'", timeout=15000)
    assert task_status.history(module_decided.store, tid)[-1]["note"] == "键盘操作：已接收"


def test_a_wrong_key_is_told_so_and_nothing_is_shown(server: LiveServer) -> None:
    with browser_page() as page:
        page.goto(f"{server.url}/ui/tasks")
        page.get_by_label("API 密钥").fill("eb_not-a-key")
        page.get_by_role("button", name="使用此密钥").click()
        page.wait_for_function(
            "() => document.querySelector('#error').textContent.includes('401')", timeout=15000)
        assert page.locator("#board").is_hidden()
