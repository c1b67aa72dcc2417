"""The graph explorer (/ui/graph) in headless chromium against a live API server on a decided
graph: an investigator searches "杭州", expands the city to its tasks, opens a task's evidence
chain and reads the article's text; the shortest path, the map mode, a deep link and a saved
scene; English when asked. Assertions are on what is drawn (Cytoscape's nodes, pixels of the
kinds' colours, Leaflet's outlines), with the expected sets read from the graph by hand-written
queries here."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kb_fixture import Decided
from web_helpers import LiveServer, browser_page, live_server, skip_without_browser

CITY = "330100"
TASK_RED = (0xC0, 0x39, 0x2B)      # COLOURS.Task in graph.js
CITY_GREEN = (0x27, 0xAE, 0x60)    # COLOURS.City
ENTERPRISE = (0x2C, 0x3E, 0x50)    # COLOURS.Enterprise


@pytest.fixture
def server(module_decided: Decided, tmp_path: Path) -> Iterator[LiveServer]:
    skip_without_browser()
    with live_server(module_decided.store, tmp_path) as s:
        yield s


def _sign_in(page: Any, server: LiveServer, suffix: str = "") -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/ui/graph{suffix}")
    page.get_by_label("API 密钥").fill(server.keys["investigator"])
    page.get_by_role("button", name="使用此密钥").click()
    page.wait_for_selector("#content:not([hidden])", timeout=15000)
    return errors


def _scene_ids(page: Any) -> set[str]:
    return set(page.evaluate("() => window.explorer.cy.nodes().map(n => n.id())"))


def _pixels(png: bytes, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(n for n, c in image.getcolors(maxcolors=1 << 22) or []
               if all(abs(a - b) <= tolerance for a, b in zip(c, rgb, strict=True)))


def _city_tasks(store: Any) -> list[str]:
    rows = store.read("MATCH (t:Task)-[:ASSIGNED_TO]->(g:AdminRegion {id: $c}) RETURN t.id AS id",
                      {"c": CITY})
    return sorted(r["id"] for r in rows)


def _click_node(page: Any, node_id: str) -> None:
    """The node's button in the (keyboard) node list, which may sit in a closed <details>."""
    page.evaluate("id => document.querySelector(`#node-list button[data-node='${id}']`).click()",
                  node_id)


def test_an_investigator_follows_hangzhou_to_a_tasks_evidence_chain_and_its_article(
        server: LiveServer, module_decided: Decided, tmp_path: Path) -> None:
    store = module_decided.store
    tasks = _city_tasks(store)
    assert tasks, "the decided sample assigns tasks to Hangzhou city"
    with browser_page(1400, 1000) as page:
        errors = _sign_in(page, server)
        page.get_by_label("搜索（名称、编号、代码）").fill("杭州")
        page.wait_for_selector("#suggestions:not([hidden]) [role=option]", timeout=15000)
        first = page.locator("#suggestions [role=option]").first
        assert first.get_attribute("data-id") == CITY and "杭州市" in first.inner_text()
        page.get_by_label("搜索（名称、编号、代码）").press("Enter")
        page.wait_for_selector("#props-body:not([hidden])")
        assert _scene_ids(page) == {CITY}
        assert page.locator("#p-caption").inner_text() == "杭州市"
        assert page.locator("#p-kind").inner_text() == "设区市"

        # expand to tasks only: the city and exactly its tasks, captioned with their subjects
        page.get_by_label("展开时只看").select_option("Task")
        page.get_by_role("button", name="展开", exact=True).click()
        page.wait_for_function(f"() => window.explorer.cy.nodes().length === {1 + len(tasks)}",
                               timeout=15000)
        assert _scene_ids(page) == {CITY, *tasks}
        assert page.evaluate("() => window.explorer.cy.edges().length") >= len(tasks)
        captions = page.evaluate(
            "() => window.explorer.cy.nodes('[kind = \"Task\"]').map(n => n.data('label'))")
        assert all(c.startswith("任务：") for c in captions) and len(captions) == len(tasks)
        shot = page.locator("#cy").screenshot(path=str(tmp_path / "explorer-expanded.png"))
        assert _pixels(shot, TASK_RED) > 100 * len(tasks)  # the task diamonds are drawn
        assert _pixels(shot, CITY_GREEN) > 100

        # one click from the task to its evidence chain; the article's text is on the page
        task = tasks[0]
        page.locator("summary").click()
        page.locator(f"#node-list button[data-node='{task}']").click()
        page.wait_for_function("() => document.querySelector('#p-kind').textContent === '任务'")
        page.get_by_role("button", name="证据链").first.click()
        page.wait_for_selector("#chain-panel:not([hidden]) blockquote", timeout=30000)
        articles = store.read("MATCH (:Task {id: $t})-[:GROUNDED_IN]->(a:Article) "
                              "RETURN a.id AS id, a.text AS text", {"t": task})
        assert articles
        shown = page.locator("#chain-steps").inner_text()
        for a in articles:
            assert a["text"].splitlines()[0] in shown
        rules = {r["id"] for r in store.read(
            "MATCH (:Task {id: $t})-[:MADE_BY]->(r:Rule) RETURN r.id AS id", {"t": task})}
        ids = _scene_ids(page)
        assert rules <= ids and {a["id"] for a in articles} <= ids
        kinds = set(page.evaluate("() => window.explorer.cy.nodes().map(n => n.data('kind'))"))
        assert {"Task", "Rule", "Article", "Decision"} <= kinds
        page.screenshot(path=str(tmp_path / "explorer-chain.png"), full_page=True)  # README
        assert "#" in page.url and "chain=" in page.url
    assert errors == []


def test_the_property_panel_speaks_plain_words(server: LiveServer,
                                               module_decided: Decided) -> None:
    store = module_decided.store
    share = store.read_one(
        "MATCH (f:Finding {kind: 'attribution_share'}) WHERE f.json CONTAINS '\"tag\":\"HZIND\"' "
        "RETURN f.id AS id LIMIT 1")
    aqi = store.read_one("MATCH (f:Finding {kind: 'daily_aqi'}) RETURN f.id AS id LIMIT 1")
    assert share and aqi
    with browser_page() as page:
        _sign_in(page, server, f"#n={share['id']}~{aqi['id']}&sel={share['id']}")
        page.wait_for_selector("#props-body:not([hidden])", timeout=15000)
        legend = page.locator("#p-legend").inner_text()
        assert "HZIND" in legend and "杭州市（330100）" in legend and "工业" in legend
        _click_node(page, aqi["id"])
        page.wait_for_function("() => document.querySelector('#p-rows').textContent"
                               ".includes('24小时平均')", timeout=15000)
        rows = page.locator("#p-rows").inner_text()
        assert "PM2.5 24小时平均" in rows and "µg/m³" in rows and "PM2_5" not in rows
        assert "CO 24小时平均" in rows and "mg/m³" in rows


def test_shortest_path_map_mode_deep_link_and_saved_scene(
        server: LiveServer, module_decided: Decided, tmp_path: Path) -> None:
    store = module_decided.store
    task = store.read_one("MATCH (t:Task)-[:ABOUT]->(e:Enterprise) "
                          "MATCH (t)-[:GROUNDED_IN]->(a:Article) "
                          "RETURN e.id AS e, a.id AS a, t.id AS t LIMIT 1")
    assert task
    with browser_page(1400, 1000) as page:
        errors = _sign_in(page, server, f"#n={task['e']}~{task['a']}")
        page.wait_for_function("() => window.explorer.cy.nodes().length === 2", timeout=15000)
        for node, button in ((task["e"], "设为起点"), (task["a"], "设为终点")):
            _click_node(page, node)
            page.wait_for_function(f"() => location.hash.includes('sel={node}')", timeout=15000)
            page.get_by_role("button", name=button).click()
        page.get_by_role("button", name="查找最短路径").click()
        page.wait_for_function("() => window.explorer.cy.nodes('.path').length > 0",
                               timeout=15000)
        # enterprise ← task → article: two steps through a task
        assert page.evaluate("() => window.explorer.cy.nodes('.path').length") == 3
        assert page.evaluate("() => window.explorer.cy.edges('.path').length") == 2
        assert "最短路径 2 步" in page.locator("#path-result").inner_text()

        # map mode: the province's counties outlined, the enterprise placed as a marker
        page.get_by_role("button", name="地图").click()
        page.wait_for_function("() => document.querySelector('#geo').dataset.features",
                               timeout=15000)
        outlines = page.locator("#geo .leaflet-overlay-pane path").count()
        assert outlines >= 90 + 1  # 90 counties and the enterprise's marker
        shot = page.locator("#geo").screenshot(path=str(tmp_path / "explorer-map.png"))
        assert _pixels(shot, ENTERPRISE, tolerance=10) > 30

        # the deep link restores the scene in a fresh tab
        link = page.url
        assert "mode=map" in link
        scene = _scene_ids(page)
        page.locator("#scene-name").fill("企业到条文")
        page.get_by_role("button", name="保存场景").click()
        page.wait_for_function("() => [...document.querySelectorAll('#scenes option')]"
                               ".some(o => o.value === '企业到条文')", timeout=15000)
    with browser_page(1400, 1000) as page:
        _sign_in(page, server, "#" + link.split("#", 1)[1])
        page.wait_for_function(f"() => window.explorer.cy.nodes().length === {len(scene)}",
                               timeout=15000)
        assert _scene_ids(page) == scene
        page.wait_for_function("() => !document.querySelector('#geo').hidden")
        assert page.evaluate("() => window.explorer.cy.nodes('.path').length") == 3
        # the saved scene comes back after clearing
        page.get_by_role("button", name="清空").click()
        page.wait_for_function("() => window.explorer.cy.nodes().length === 0")
        page.get_by_label("已保存的场景").select_option("企业到条文")
        page.get_by_role("button", name="打开").click()
        page.wait_for_function(f"() => window.explorer.cy.nodes().length === {len(scene)}",
                               timeout=15000)
        assert _scene_ids(page) == scene
    assert errors == []


def test_english_when_asked(server: LiveServer) -> None:
    with browser_page() as page:
        page.goto(f"{server.url}/ui/graph?lang=en#n={CITY}&sel={CITY}")
        page.get_by_label("API key").fill(server.keys["investigator"])
        page.get_by_role("button", name="Use this key").click()
        page.wait_for_selector("#props-body:not([hidden])", timeout=15000)
        assert page.locator("h1").inner_text() == "Graph explorer"
        assert page.locator("#p-kind").inner_text() == "city"
        assert "Chinese name" in page.locator("#p-rows").inner_text()
        assert page.evaluate("() => document.documentElement.lang") == "en"


def test_the_explorer_from_the_keyboard_alone_with_every_control_labelled(
        server: LiveServer) -> None:
    with browser_page() as page:
        _sign_in(page, server)
        unlabelled = page.eval_on_selector_all(
            "input, select, textarea", "es => es.filter(e => !e.labels.length).map(e => e.id)")
        assert unlabelled == []
        page.focus("#search")
        page.keyboard.type("杭州市")
        page.wait_for_selector("#suggestions:not([hidden]) [role=option]", timeout=15000)
        page.keyboard.press("ArrowDown")
        assert page.get_attribute("#search", "aria-activedescendant") == "sugg-0"
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => window.explorer.cy.getElementById('{CITY}').nonempty()",
                               timeout=15000)
        page.focus("#expand-kind")
        page.select_option("#expand-kind", "County")  # a native select: arrow keys work
        page.focus("summary")
        page.keyboard.press("Enter")
        page.focus(f"#node-list button[data-node='{CITY}']")
        page.keyboard.press("e")
        # Hangzhou's 13: 上城 拱墅 西湖 滨江 萧山 余杭 临平 钱塘 富阳 临安 桐庐 淳安 建德
        page.wait_for_function("() => window.explorer.cy.nodes('[kind = \"County\"]').length"
                               " === 13", timeout=15000)


def test_a_hotspot_tasks_chain_reaches_the_run_the_cells_and_the_enterprises(
        server: LiveServer, module_decided: Decided, tmp_path: Path) -> None:
    row = module_decided.store.read_one(
        "MATCH (t:Task)-[:EVIDENCED_BY]->(f:Finding {kind: 'emission_hotspot'})-[:IN_CELL]->"
        "(c:GridCell) MATCH (t)-[:ABOUT]->(e:Enterprise) "
        "MATCH (f)-[:FROM_RUN]->(m:ModelRun) "
        "RETURN t.id AS t, f.id AS f, c.id AS c, e.id AS e, m.id AS m LIMIT 1")
    assert row, "the sample run has hotspot inspections of registered enterprises"
    with browser_page(1400, 1000) as page:
        errors = _sign_in(page, server, f"#n={row['t']}&chain={row['t']}")
        page.wait_for_selector("#chain-panel:not([hidden]) blockquote", timeout=30000)
        ids = _scene_ids(page)
        assert {row["t"], row["f"], row["c"], row["e"], row["m"]} <= ids
        # reading order: each step's column lies right of the one before
        xs = page.evaluate("""ids => ids.map(id => window.explorer.cy.getElementById(id)
                              .position().x)""", [row["t"], row["f"], row["m"], row["c"]])
        assert xs == sorted(xs) and len(set(xs)) == 4
        steps = page.locator("#chain-steps > li > strong").all_inner_texts()
        assert [s.split("（")[0] for s in steps][:3] == ["任务", "规则版本", "法规条文"]
        assert {"模式发现", "模式运行", "网格", "企业"} <= {s.split("（")[0] for s in steps}
        page.get_by_role("button", name="地图").click()
        page.wait_for_function("() => Number(document.querySelector('#geo').dataset.features)"
                               " >= 3", timeout=15000)
        page.locator("#geo").screenshot(path=str(tmp_path / "chain-map.png"))
    assert errors == []
