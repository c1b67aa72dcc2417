"""Task-list documents of a real decision, opened and checked: HTML parsed, Word read with
python-docx, Markdown tables, the PNGs, the legal appendix against the graph's article text,
escaping, the expected-effect section, the Word template against its build script."""

from __future__ import annotations

import base64
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doc_pages import Page
from docx import Document
from kb_fixture import Decided

from ecobrain.api.documents import task_list as D
from ecobrain.api.documents.charts import FontChoice, cjk_font
from ecobrain.api.documents.text import SOURCE_QUALITY_ZH, reader_text
from ecobrain.ontology.graph.store import GraphStore

CITY, COUNTY = "330100", "330102"  # Hangzhou and its Shangcheng district
PNG = b"\x89PNG\r\n\x1a\n"
TASK_HEADER = ("序号", "任务编号", "对象", "位置", "任务内容", "期限", "优先级", "法律依据", "状态")


def _word_task_tables(word: Any) -> list[Any]:
    """The Word document's task tables (the overview's tables have other headers)."""
    return [t for t in word.tables if tuple(c.text for c in t.rows[0].cells) == TASK_HEADER]


@pytest.fixture(scope="module")
def rendered(decided: Decided, tmp_path_factory: pytest.TempPathFactory) -> Iterator[D.DocumentSet]:
    out = tmp_path_factory.mktemp("docs")
    yield D.render_documents(decided.store, decided.decision_id, out, regions=[CITY, COUNTY],
                             workers=1)


def _doc(docs: D.DocumentSet, code: str) -> D.RenderedRegion:
    return next(d for d in docs.documents if d.code == code)


def _tasks_in(store: GraphStore, decision: str, codes: list[str]) -> int:
    return store.read_one("MATCH (t:Task) WHERE t.decision_id = $d AND t.region_code IN $c "
                          "RETURN count(t) AS n", {"d": decision, "c": codes})["n"]


def test_the_county_page_has_the_header_alert_tasks_advice_pictures_and_law(
        decided: Decided, rendered: D.DocumentSet) -> None:
    doc = _doc(rendered, COUNTY)
    page = Page((rendered.folder / doc.files["html"]).read_text(encoding="utf-8"))
    d = decided.outcome.decision
    assert page.meta["ecobrain:decision"] == d.id and page.meta["ecobrain:region"] == COUNTY
    assert page.ids["decision-id"] == d.id and page.ids["run-id"].startswith(d.run_id)
    assert page.ids["decision-date"] == d.decision_date
    alert = next(a for a in d.alerts if a.region_code == COUNTY)
    assert alert.level_label in page.all_text and alert.start in page.all_text
    tables = page.task_tables()
    assert all(t["region"] == COUNTY for t in tables)
    assert {tuple(t["header"]) for t in tables} == {TASK_HEADER}
    rows = [r for t in tables for r in t["rows"]]
    expected = [t for t in d.tasks if t.region_code == COUNTY]
    assert len(rows) == len(expected) == doc.tasks
    assert {r["id"] for r in rows} == {t.id for t in expected}
    first = next(t for t in expected if t.id == rows[0]["id"])
    cells = rows[0]["cells"]
    assert cells[0] == "1" and cells[1] == first.id
    assert (first.subject.name or first.subject.id) in cells[2]
    assert first.items[0].text[:12] in cells[4] and cells[5] == first.deadline
    assert cells[6] == str(first.priority) and cells[8] == "待审核"
    # the Air Law is reported repealed before the decision date (2026-11-25): the grounds in
    # force lead, the Air Law article is history, never current law, and nothing is flagged
    # because a ground in force remains (issue 12; was: every task marked 待法律审查)
    refs = cells[7].split("\n")
    assert refs[0].startswith("《浙江省大气污染防治条例》")
    assert any(r.startswith("原依据《大气污染防治法》第") and "已废止" in r for r in refs)
    assert "待法律审查" not in cells[7]
    assert not any(t.legal_review_required for t in expected)
    assert "没有现行有效的法律依据" not in page.all_text
    if any(e.legal_review_required for t in expected for e in t.escalations):
        assert "处理依据待法务复核" in page.all_text  # a penalty without an in-force ground
    # advice of the county (its text as the reader sees it: rounded, no internal tags)
    for a in (a for a in d.advice if a.region_code == COUNTY):
        assert reader_text(a.texts[0])[:20] in page.all_text
    # two pictures, inline PNGs
    assert len(page.images) == 2
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG


def test_the_appendix_has_every_cited_article_once_with_the_graphs_text(
        decided: Decided, rendered: D.DocumentSet) -> None:
    page = Page((rendered.folder / _doc(rendered, COUNTY).files["html"]).read_text("utf-8"))
    d = decided.outcome.decision
    cited = {g.article_id for c in d.conclusions() if c.region_code == COUNTY
             for g in c.legal_grounds}
    assert set(page.articles) == cited
    texts = {r["id"]: r for r in decided.store.read(
        "MATCH (a:Article) WHERE a.id IN $ids RETURN a.id AS id, a.text AS text, "
        "a.citation AS citation", {"ids": sorted(cited)})}
    for aid, art in page.articles.items():
        assert art["text"] == texts[aid]["text"]
        assert art["title"] == texts[aid]["citation"]
        assert "决策日（2026-11-25）状态" in art["status"]
    art96 = page.articles["cn.air-law.2018.art96"]["status"]
    assert "已废止" in art96
    # the repeal is only reported (CODE-level sources): the end date says so, never as fact,
    # and the source-quality code is said in words
    assert (f"至 2026-08-14 止（据报道，来源：{SOURCE_QUALITY_ZH['CODE']}，待核实）") in art96
    assert "CODE" not in art96


def test_the_city_page_groups_its_counties_tasks(decided: Decided,
                                                 rendered: D.DocumentSet) -> None:
    doc = _doc(rendered, CITY)
    page = Page((rendered.folder / doc.files["html"]).read_text(encoding="utf-8"))
    regions = list(dict.fromkeys(t["region"] for t in page.task_tables()))
    assert regions[0] == CITY and set(regions[1:]) >= {COUNTY, "330109"}
    assert regions[1:] == sorted(regions[1:])  # counties by code
    assert all(r.startswith("3301") for r in regions)
    total = sum(len(t["rows"]) for t in page.task_tables())
    assert total == doc.tasks == _tasks_in(decided.store, decided.decision_id, regions)
    assert "杭州市（330100）" in page.all_text


def test_markdown_has_the_same_tables(rendered: D.DocumentSet) -> None:
    doc = _doc(rendered, COUNTY)
    md = (rendered.folder / doc.files["md"]).read_text(encoding="utf-8")
    assert md.startswith("# 上城区大气污染防治任务清单")
    rows = [line for line in md.splitlines() if re.match(r"^\| \d+ \| `task-", line)]
    assert len(rows) == doc.tasks
    assert all(line.count(" | ") >= 8 for line in rows)
    assert "## 概况" in md and "## 目录" in md
    assert "![" in md and f"({COUNTY}-map.png)" in md
    assert "## 附录　引用条款全文" in md
    assert "> 县级以上地方人民政府应当依据重污染天气的预警等级" in md


def test_markdown_cells_and_text_are_escaped() -> None:
    assert D._md_cell("a | b\nc") == "a \\| b<br>c"
    assert D._md_text("# not a heading <b>") == "\\# not a heading &lt;b&gt;"


def test_word_document_opens_with_tables_chinese_text_pictures_and_law(
        decided: Decided, rendered: D.DocumentSet) -> None:
    doc = _doc(rendered, CITY)
    word = Document(str(rendered.folder / doc.files["docx"]))
    paras = [p.text for p in word.paragraphs]
    assert paras[0] == "杭州市大气污染防治任务清单"
    assert any(decided.decision_id in p for p in paras)
    assert "二、任务清单" in paras and "附录　引用条款全文" in paras
    tables = _word_task_tables(word)
    rows = sum(len(t.rows) - 1 for t in tables)
    assert rows == doc.tasks
    county_row = next(r for t in tables for r in t.rows[1:] if "°E" in r.cells[3].text)
    cells = [c.text for c in county_row.cells]
    assert cells[1].startswith("task-") and "原依据《大气污染防治法》" in cells[7]
    assert "待法律审查" not in cells[7]
    art96 = decided.store.read_one("MATCH (a:Article {id: 'cn.air-law.2018.art96'}) "
                                   "RETURN a.text AS t")["t"]
    body = "\n".join(paras)
    assert art96 in body
    assert len(word.inline_shapes) == 2
    assert not any("{{" in p or "{%" in p for p in paras)


def test_pictures_exist_and_are_real_pngs(rendered: D.DocumentSet) -> None:
    import matplotlib.image as mpimg

    for doc in rendered.documents:
        for key in ("map", "aqi"):
            path = rendered.folder / doc.files[key]
            data = path.read_bytes()
            assert data[:8] == PNG and len(data) > 10_000, path
            img = mpimg.imread(str(path))
            assert img.shape[0] > 300 and img.shape[1] > 600
            assert img[..., :3].std() > 0.05  # not a blank canvas


def test_the_index_lists_every_document(rendered: D.DocumentSet) -> None:
    html = rendered.index.read_text(encoding="utf-8")
    page = Page(html)
    [table] = page.tables
    assert [r["cells"][1] for r in table["rows"]] == [CITY, COUNTY]
    links = re.findall(r'href="([^"]+)"', html)
    assert len(links) == 6 and all((rendered.folder / link).exists() for link in links)


def test_fonts_are_found_or_the_fallback_is_said() -> None:
    assert FontChoice(None, None).note and "CJK" in FontChoice(None, None).note
    font = cjk_font()
    assert font.family is None or font.note is None


def test_text_is_escaped_in_html_and_word(decided: Decided, tmp_path: Path) -> None:
    data = D.gather(decided.store, decided.decision_id, prefix=COUNTY)
    evil = "<script>alert('x')</script> & <b>粗</b>"
    data.tasks[COUNTY][0]["subject"]["name"] = evil
    data.tasks[COUNTY][0]["items"][0]["text"] = evil
    doc = D.render_region(decided.store, data, COUNTY, tmp_path, ["html", "docx", "md"])
    html = (tmp_path / doc.files["html"]).read_text(encoding="utf-8")
    page = Page(html)
    assert "script" not in page.tags and "b" not in page.tags
    assert evil in page.all_text
    word = Document(str(tmp_path / doc.files["docx"]))
    assert any(evil in c.text for t in word.tables for r in t.rows for c in r.cells)
    assert "ZJ3KM:" not in html
    md = (tmp_path / doc.files["md"]).read_text(encoding="utf-8")
    assert "<script>" in md  # inside a table cell, as text; the Markdown renderer escapes it


def test_expected_effect_is_shown_when_a_scenario_tested_the_decision(
        decided: Decided, tmp_path: Path) -> None:
    from ecobrain.hpc_jobs.compare import compare_runs, save_comparison
    from ecobrain.model_adapters import collect_findings

    s = decided.store
    before = D.render_region(s, D.gather(s, decided.decision_id, COUNTY), COUNTY,
                             tmp_path / "before", ["html"])
    assert "措施预期效果" not in (tmp_path / "before" / before.files["html"]).read_text("utf-8")
    base = collect_findings(decided.run_dir, kinds=["forecast"], stations=[],
                            include_hourly=False)
    scenario = base.model_copy(update={"run_id": "scn-test", "daily_aqi": [
        d.model_copy(update={"aqi": max(0, d.aqi - 60)}) for d in base.daily_aqi]})
    cmp = compare_runs(base, scenario, decision_id=decided.decision_id,
                       measure="应急减排30%")
    save_comparison(s, cmp)
    try:
        after = D.render_region(s, D.gather(s, decided.decision_id, COUNTY), COUNTY,
                                tmp_path / "after", ["html", "docx"])
        page = Page((tmp_path / "after" / after.files["html"]).read_text("utf-8"))
        assert "措施预期效果" in page.all_text and "应急减排30%" in page.all_text
        assert "scn-test" in page.all_text and "峰值AQI" in page.all_text
        word = Document(str(tmp_path / "after" / after.files["docx"]))
        assert any("应急减排30%" in p.text for p in word.paragraphs)
    finally:  # the session's decided graph is shared: leave it as it was
        s.write("MATCH (c:ScenarioComparison {id: $id}) DETACH DELETE c", {"id": cmp.id})
        s.write("MATCH (m:ModelRun {id: 'scn-test'}) DETACH DELETE m")


def test_unknown_decisions_and_regions_without_tasks(decided: Decided, tmp_path: Path) -> None:
    with pytest.raises(D.DocumentError):
        D.document_file(decided.store, "dec-unknown", COUNTY, "html", tmp_path)
    with pytest.raises(D.DocumentError, match="no tasks"):
        D.document_file(decided.store, decided.decision_id, "330902", "html", tmp_path)
    with pytest.raises(ValueError, match="format"):
        D.document_file(decided.store, decided.decision_id, COUNTY, "pdf", tmp_path)
    with pytest.raises(D.DocumentError):
        D.render_documents(decided.store, decided.decision_id, tmp_path, regions=["330902"])


def test_the_word_template_is_what_its_script_builds(tmp_path: Path) -> None:
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_docx_template.py"
    spec = importlib.util.spec_from_file_location("build_docx_template", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    built = module.build(tmp_path / "t.docx")

    def part(path: Path, name: str) -> bytes:
        with zipfile.ZipFile(path) as z:
            return z.read(name)

    committed = D.templates_dir() / "task_list.docx"
    for name in ("word/document.xml", "word/styles.xml"):
        assert part(built, name) == part(committed, name), f"rebuild {committed} ({name})"
