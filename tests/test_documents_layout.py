"""Issue 11: task lists a bureau chief would sign. The documents of a real decision, opened and
measured: the overview and contents, tasks grouped by county and measure with the task id on
every row, one numbering shared with the map, reader text (rounding, no internal tags), a stable
order, the Word table's column widths in its XML and in LibreOffice's PDF rendering, and the HTML
on a phone. Expected values are worked out from the decision and the graph, not copied from the
output."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doc_pages import Page
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm
from kb_fixture import Decided

from ecobrain.api.documents import task_list as D
from ecobrain.api.documents.charts import (
    MapEnterprise,
    MapHotspot,
    MapPlace,
    map_labels,
    scale_bar_km,
)
from ecobrain.api.documents.overview import GRADE_ZH, advice_sort_key, task_measure
from ecobrain.api.documents.text import percent, reader_text

CITY, COUNTY = "330100", "330102"  # Hangzhou and its Shangcheng district
TASK_HEADER = ("序号", "任务编号", "对象", "位置", "任务内容", "期限", "优先级", "法律依据", "状态")
INTERNAL_TAGS = re.compile(r"ZJ3KM:|来源等级|\bCODE\b|\bSECONDARY\b|\bPRIMARY\b|Wang2021|"
                           r"synthetic sample|\d+\.\d{3,}\s*%")


@pytest.fixture(scope="module")
def docs(decided: Decided, tmp_path_factory: pytest.TempPathFactory) -> Iterator[D.DocumentSet]:
    out = tmp_path_factory.mktemp("layout")
    yield D.render_documents(decided.store, decided.decision_id, out, regions=[CITY, COUNTY],
                             workers=1)


def _file(docs: D.DocumentSet, code: str, fmt: str) -> Path:
    doc = next(d for d in docs.documents if d.code == code)
    return docs.folder / doc.files[fmt]


def _page(docs: D.DocumentSet, code: str) -> Page:
    return Page(_file(docs, code, "html").read_text(encoding="utf-8"))


def _scope(decided: Decided, code: str) -> list[str]:
    """The regions a document covers: the city and its counties with tasks, or the county."""
    if code != CITY:
        return [code]
    counties = sorted({t.region_code for t in decided.outcome.decision.tasks
                       if t.region_code.startswith(code[:4]) and t.region_code != code})
    return [code, *counties]


def _measure(task: Any) -> str:
    return task_measure(task.model_dump())


# -- overview, contents, grouping, codes -----------------------------------------------------------

def test_the_city_document_opens_with_an_overview_worked_out_from_the_decision(
        decided: Decided, docs: D.DocumentSet) -> None:
    page = _page(docs, CITY)
    d = decided.outcome.decision
    scope = _scope(decided, CITY)
    tasks = [t for t in d.tasks if t.region_code in scope]
    alerts = {a.region_code: a for a in d.alerts}
    # alert by county: one row per region, its own alert or none, its task count
    rows = page.table("overview-alerts")["rows"]
    assert [r["attrs"]["data-region"] for r in rows] == scope
    for r in rows:
        code = r["attrs"]["data-region"]
        a = alerts.get(code)
        assert r["cells"][1] == (a.level_label if a else "无单独预警")
        assert int(r["cells"][4]) == sum(1 for t in tasks if t.region_code == code)
    # counts by measure, most tasks first
    expected = Counter(_measure(t) for t in tasks)
    shown = {r["cells"][0]: int(r["cells"][1]) for r in page.table("overview-measures")["rows"]}
    assert shown == dict(expected)
    counts = [int(r["cells"][1]) for r in page.table("overview-measures")["rows"]]
    assert counts == sorted(counts, reverse=True)
    # tasked enterprises by performance grade, from the graph's Enterprise nodes
    ents = sorted({t.subject.id for t in tasks if t.subject.kind == "enterprise"})
    assert ents
    grades = Counter(GRADE_ZH.get(r["g"] or "", "未分级") for r in decided.store.read(
        "MATCH (e:Enterprise) WHERE e.id IN $ids RETURN e.id AS id, e.performance_grade AS g",
        {"ids": ents}))
    shown = {r["cells"][0]: int(r["cells"][1]) for r in page.table("overview-grades")["rows"]}
    assert shown == dict(grades) and sum(shown.values()) == len(ents)


def test_the_table_of_contents_links_every_section_and_county(
        decided: Decided, docs: D.DocumentSet) -> None:
    page = _page(docs, CITY)
    assert page.links and all(link in page.anchors for link in page.links)
    for code in _scope(decided, CITY):
        assert f"tasks-{code}" in page.links
    for section in ("overview", "alert", "tasks", "advice", "figures", "appendix", "notes"):
        assert section in page.links


def test_tasks_are_grouped_by_county_and_measure_with_their_id_on_every_row(
        decided: Decided, docs: D.DocumentSet) -> None:
    page = _page(docs, CITY)
    d = decided.outcome.decision
    by_id = {t.id: t for t in d.tasks}
    tables = page.task_tables()
    seen: list[tuple[str, str]] = []
    numbers = []
    for table in tables:
        assert tuple(table["header"]) == TASK_HEADER
        key = (table["region"], table["measure"])
        assert key not in seen  # one table per county and measure
        seen.append(key)
        for r in table["rows"]:
            task = by_id[r["id"]]
            assert task.region_code == table["region"] and _measure(task) == table["measure"]
            assert r["cells"][1] == task.id  # the id the API takes: GET /tasks/{id}
            numbers.append(int(r["cells"][0]))
            priorities = [by_id[x["id"]].priority for x in table["rows"]]
            assert priorities == sorted(priorities, reverse=True)
    # counties in code order, the city's own tasks first; one numbering through the document
    regions = list(dict.fromkeys(r for r, _ in seen))
    assert regions == _scope(decided, CITY)
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == sum(1 for t in d.tasks if t.region_code in regions)


def test_word_has_the_overview_contents_and_the_task_id_on_every_row(
        decided: Decided, docs: D.DocumentSet) -> None:
    word = Document(str(_file(docs, CITY, "docx")))
    headings = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert headings[:3] == ["目　录", "概　况", "一、预警与应急措施"]
    paras = [p.text for p in word.paragraphs]
    contents = paras[paras.index("目　录") + 1:paras.index("概　况")]
    for code in _scope(decided, CITY):  # every county group is listed with its task count
        n = sum(1 for t in decided.outcome.decision.tasks if t.region_code == code)
        assert any(line.endswith(f"（{n} 项）") and (code in line or "市级" in line)
                   for line in contents), code
    ids = {t.id for t in decided.outcome.decision.tasks if t.region_code in _scope(decided, CITY)}
    task_tables = [t for t in word.tables
                   if tuple(c.text for c in t.rows[0].cells) == TASK_HEADER]
    shown = [r.cells[1].text for t in task_tables for r in t.rows[1:]]
    assert sorted(shown) == sorted(ids)


# -- reader text and order -------------------------------------------------------------------------

def test_no_internal_tags_and_sensible_rounding_in_what_the_reader_sees(
        decided: Decided, docs: D.DocumentSet, tmp_path: Path) -> None:
    for code in (CITY, COUNTY):
        page = _page(docs, code)
        text = page.all_text
        assert not INTERNAL_TAGS.search(text), INTERNAL_TAGS.search(text)
        md = _file(docs, code, "md").read_text(encoding="utf-8")
        assert not INTERNAL_TAGS.search(md)
        word = Document(str(_file(docs, code, "docx")))
        body = "\n".join([p.text for p in word.paragraphs]
                         + [c.text for t in word.tables for r in t.rows for c in r.cells])
        assert not INTERNAL_TAGS.search(body)
    # a source share the rules wrote with 4 decimals is shown rounded
    raw = " ".join(x for a in decided.outcome.decision.advice if a.region_code == COUNTY
                   for x in a.texts)
    shares = re.findall(r"(\d+\.\d{3,})%", raw)
    assert shares, "the sample run's advice carries source shares"
    text = _page(docs, COUNTY).all_text
    for s in shares:
        assert f"{s}%" not in text
    assert f"贡献{percent(float(shares[0]))}" in text
    # the grid cell of a hotspot task stays machine-readable, out of the reader's text
    grid_tasks = [t for t in decided.outcome.decision.tasks if t.subject.kind == "grid_cell"]
    assert grid_tasks, "the sample run has hotspot-inspection tasks on grid cells"
    code = min(t.region_code for t in grid_tasks)
    data = D.gather(decided.store, decided.decision_id, prefix=code)
    doc = D.render_region(decided.store, data, code, tmp_path, ["html"])
    page = Page((tmp_path / doc.files["html"]).read_text(encoding="utf-8"))
    assert not INTERNAL_TAGS.search(page.all_text)
    cells = {r["id"]: r for t in page.task_tables() for r in t["rows"]
             if r["attrs"].get("data-subject-kind") == "grid_cell"}
    assert set(cells) == {t.id for t in grid_tasks if t.region_code == code}
    for t in grid_tasks:
        if t.region_code == code:
            assert cells[t.id]["attrs"]["data-subject"] == t.subject.id
            assert "排放热点网格，中心" in cells[t.id]["cells"][3]
            assert t.subject.id not in cells[t.id]["cells"][4]


def test_reader_text_rules() -> None:
    assert reader_text("贡献11.7675%，省外2.7871%，本地0%") == "贡献12%，省外2.8%，本地0%"
    assert reader_text("网格ZJ3KM:r50c59（119.806°E，28.333°N）") == "网格（119.806°E，28.333°N）"
    assert reader_text("HCHO/NO2均值4.486") == "HCHO/NO2均值4.5"
    assert reader_text("峰值AQI 278.46，距离3.14159公里") == "峰值AQI 278，距离3.1公里"
    assert "Wang2021" not in reader_text("（阈值来源 Wang2021）")
    assert reader_text("（据报道，来源等级 CODE，待核实）") == \
        "（据报道，来源：仅见公开代码转录，待核实）"
    assert reader_text("CMAQ 5.4 (ecobrain synthetic sample)") == "CMAQ 5.4（合成示例数据）"
    assert reader_text("120.2251°E, 30.3779°N；2026-12-05；第55条") == \
        "120.2251°E, 30.3779°N；2026-12-05；第55条"
    assert percent(10.0) == "10%" and percent(2.7871) == "2.8%" and percent(0.0) == "0%"


def test_advice_is_in_a_defined_order(decided: Decided, docs: D.DocumentSet) -> None:
    d = decided.outcome.decision
    advice = sorted((a.model_dump() for a in d.advice if a.region_code == COUNTY),
                    key=advice_sort_key)
    html = _file(docs, COUNTY, "html").read_text(encoding="utf-8")
    section = html[html.index('id="advice"'):html.index('id="figures"')]
    items = re.findall(r"<li><strong>(.*?)</strong>", section)
    assert advice and len(items) == len(advice)
    for item, a in zip(items, advice, strict=True):
        assert item.startswith(a["measure_label"])


def test_documents_do_not_depend_on_the_graphs_row_order(decided: Decided,
                                                         tmp_path: Path) -> None:
    """Every list of the decision shuffled: the same document, byte for byte (time fixed)."""
    def render(shuffle: bool, folder: Path) -> str:
        data = D.gather(decided.store, decided.decision_id, prefix=CITY[:4])
        data.generated_at = "2026-12-04 08:00（北京时间）"
        if shuffle:
            rnd = random.Random(11)
            for groups in (data.tasks, data.measures, data.advice):
                for v in groups.values():
                    rnd.shuffle(v)
            rnd.shuffle(data.hotspots)
        job = D.prepare_region(decided.store, data, CITY)
        ctx = job.ctx
        return D._env(True).get_template("task_list.html.j2").render(
            **ctx, font_note="", map_src="m", aqi_src="a") + repr(job.charts)

    assert render(False, tmp_path / "a") == render(True, tmp_path / "b")


# -- the map ---------------------------------------------------------------------------------------

def test_the_map_numbers_its_points_with_the_table_rows_and_names_the_counties(
        decided: Decided, docs: D.DocumentSet) -> None:
    data = D.gather(decided.store, decided.decision_id, prefix=CITY[:4])
    job = D.prepare_region(decided.store, data, CITY, forecast=[])
    page = _page(docs, CITY)
    row_no = {r["id"]: int(r["cells"][0]) for t in page.task_tables() for r in t["rows"]}
    subject_no: dict[str, set[int]] = {}
    for t in page.task_tables():
        for r in t["rows"]:
            subject_no.setdefault(r["attrs"]["data-subject"], set()).add(int(r["cells"][0]))
    ents = job.charts.enterprises
    assert ents and all(e[4] is not None for e in ents)
    names = {t.subject.id: t.subject.name for t in decided.outcome.decision.tasks}
    for lon, lat, _, name, no in ents:
        ent_id = next(i for i, n in names.items() if n == name)
        assert no in subject_no[ent_id]
        assert (lon, lat) == data.enterprises[ent_id]
    assert sorted(e[4] for e in ents) == sorted(
        n for tid, n in row_no.items()
        if next(t for t in decided.outcome.decision.tasks if t.id == tid).subject.kind
        == "enterprise")
    counties = {data.regions[c].name for c in data.regions
                if data.regions[c].parent_code == CITY and data.regions[c].boundary_wkt}
    assert {p[0] for p in job.charts.place_labels} == counties
    labels = map_labels([MapPlace(*p) for p in job.charts.place_labels],
                        [MapHotspot(h["cell_polygon"], h["lon"], h["lat"], h["species"],
                                    h["excess"], h["number"]) for h in job.charts.hotspots],
                        [MapEnterprise(*e) for e in ents])
    numbers = [int(lab.text) for lab in labels if lab.kind == "number"]
    assert numbers == sorted(set(numbers)) and set(numbers) >= {e[4] for e in ents}


def test_scale_bar_lengths_are_round_and_about_a_fifth_of_the_map() -> None:
    assert scale_bar_km(2.0, 30.0) == 25  # 2° at 30°N ≈ 193 km: a fifth ≈ 39 km
    assert scale_bar_km(0.15, 30.0) == 2
    assert scale_bar_km(0.001, 30.0) == 1


# -- Word: real column widths ----------------------------------------------------------------------

def _widths_mm(table: Any) -> list[float]:
    grid = table._tbl.tblGrid.findall(qn("w:gridCol"))
    return [int(c.get(qn("w:w"))) * 25.4 / 1440 for c in grid]


def test_the_word_task_table_has_real_column_widths(docs: D.DocumentSet) -> None:
    word = Document(str(_file(docs, COUNTY, "docx")))
    section = word.sections[0]
    text_width = (section.page_width - section.left_margin - section.right_margin) / Mm(1)
    tables = [t for t in word.tables if tuple(c.text for c in t.rows[0].cells) == TASK_HEADER]
    assert tables
    for table in tables:
        widths = _widths_mm(table)
        assert len(set(round(w) for w in widths)) > 3  # not one width for every column
        assert abs(sum(widths) - text_width) < 1
        content = widths[TASK_HEADER.index("任务内容")]
        assert content == max(widths) and content > 0.3 * text_width
        layout = table._tbl.tblPr.find(qn("w:tblLayout"))
        assert layout is not None and layout.get(qn("w:type")) == "fixed"
        for row in table.rows:
            cells = [c.width / Mm(1) for c in row.cells]
            assert [round(c) for c in cells] == [round(w) for w in widths]


def _bbox_words(pdf: Path) -> list[tuple[str, float, float, float, int]]:
    """Words of a PDF with their box (pdftotext -bbox): text, xMin, xMax, yMin, page."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    words, page = [], 0
    for line in out.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*)</word>',
                      line)
        if m:
            words.append((m.group(4), float(m.group(1)), float(m.group(3)), float(m.group(2)),
                          page))
    return words


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or poppler (pdftotext) is not installed: "
                           "./dev.sh setup installs libreoffice-writer-nogui and poppler-utils "
                           "as root")
def test_libreoffice_lays_the_word_table_out_with_the_content_column_wide(
        decided: Decided, docs: D.DocumentSet, tmp_path: Path) -> None:
    docx = _file(docs, COUNTY, "docx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
                   capture_output=True, check=True, timeout=180)
    pdf = tmp_path / (docx.stem + ".pdf")
    assert pdf.exists()
    words = _bbox_words(pdf)
    word = Document(str(docx))
    section = word.sections[0]
    pt_per_mm = 72 / 25.4
    text_width = (section.page_width - section.left_margin - section.right_margin) / Mm(1)
    # the first task table's header: each header word starts at its cell's left edge (+ the
    # same padding), so the distance between two neighbours is the first one's column width
    header = next(w for w in words if w[0] == "任务内容")
    row = [w for w in words if w[4] == header[4] and abs(w[3] - header[3]) < 2]
    x = {w[0]: w[1] for w in row}
    content_mm = (x["期限"] - x["任务内容"]) / pt_per_mm
    designed = _widths_mm(next(t for t in word.tables
                               if tuple(c.text for c in t.rows[0].cells) == TASK_HEADER))
    assert abs(content_mm - designed[TASK_HEADER.index("任务内容")]) < 2, content_mm
    assert content_mm > 0.3 * text_width  # not an eighth of the page
    code_mm = (x["对象"] - x["任务编号"]) / pt_per_mm
    assert abs(code_mm - designed[TASK_HEADER.index("任务编号")]) < 2
    # every task id is drawn whole, on one line (a bureau copies it into its report)
    ids = {t.id for t in decided.outcome.decision.tasks if t.region_code == COUNTY}
    drawn = {w[0] for w in words}
    assert ids and ids <= drawn


# -- HTML on a phone -------------------------------------------------------------------------------

def test_the_html_has_a_viewport_and_a_phone_layout(docs: D.DocumentSet) -> None:
    html = _file(docs, COUNTY, "html").read_text(encoding="utf-8")
    page = Page(html)
    assert page.meta.get("viewport") == "width=device-width, initial-scale=1"
    assert re.search(r"@media \(max-width: \d+px\)", html)
    assert re.search(r"table\.tasks[^{]*tr[^{]*\{ display: block", html)
    assert 'class="table-wrap"' in html and "overflow-x: auto" in html
    index = Page(docs.index.read_text(encoding="utf-8"))
    assert index.meta.get("viewport") == "width=device-width, initial-scale=1"
    assert not INTERNAL_TAGS.search(index.all_text)
    # every cell carries its column name, shown before it when the row becomes a card
    for m in re.finditer(r"<tr id=\"task-[^\"]+\".*?</tr>", html, re.S):
        labels = re.findall(r'<td data-label="([^"]+)"', m.group(0))
        assert tuple(labels) == TASK_HEADER


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None,
                    reason="chromium is not installed (apt-get install chromium): the phone "
                           "rendering is checked only through the CSS above")
def test_a_phone_shows_the_page_without_sideways_scrolling(docs: D.DocumentSet,
                                                           tmp_path: Path) -> None:
    """The page in a 390×844 frame (an iPhone 12-15 screen) in headless Chromium: no wider
    than the screen, the task table no wider either (the page before issue 11 was 444 px).
    Headless Chromium does not open windows narrower than 500 px, so the page is framed: the
    frame is the phone's viewport."""
    html = _file(docs, COUNTY, "html").read_text(encoding="utf-8")
    probe = ("<script>window.addEventListener('load', () => parent.postMessage("
             "[document.documentElement.scrollWidth, window.innerWidth, "
             "document.querySelector('table.tasks').scrollWidth], '*'));</script>")
    page = tmp_path / "phone.html"
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    frame = tmp_path / "frame.html"
    frame.write_text(
        "<!DOCTYPE html><html><body style='margin:0'>"
        "<iframe src='phone.html' width='390' height='844' style='border:0'></iframe>"
        "<script>window.addEventListener('message', e => document.body.setAttribute("
        "'data-widths', e.data.join(',')));</script></body></html>", encoding="utf-8")
    common = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
              "--window-size=500,900", "--hide-scrollbars", f"--user-data-dir={tmp_path}/c"]
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom",
                          frame.as_uri()], capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'data-widths="(\d+),(\d+),(\d+)"', dom)
    assert m, dom[:500]
    scroll, inner, table = int(m.group(1)), int(m.group(2)), int(m.group(3))
    assert inner == 390 and scroll <= inner, (scroll, inner)
    assert table <= inner, table  # the tasks reflow as cards, they do not run off the screen
    shot = tmp_path / "phone.png"
    subprocess.run([*common, f"--screenshot={shot}", frame.as_uri()], capture_output=True,
                   timeout=120)
    if shot.exists():
        import matplotlib.image as mpimg

        img = mpimg.imread(str(shot))[:, :390, :3]
        assert img.std() > 0.05  # the page is drawn in the phone's frame


def test_the_law_is_quoted_verbatim_even_where_it_looks_like_a_number_to_round(
        decided: Decided, tmp_path: Path) -> None:
    data = D.gather(decided.store, decided.decision_id, prefix=COUNTY)
    aid = next(iter(sorted(data.articles)))
    quoted = "排放总量削减12.3456%，距离3.14159公里，网格ZJ3KM:r1c2"
    data.articles[aid] = {**data.articles[aid], "text": quoted}
    ctx = D.region_context(decided.store, data, COUNTY)
    art = next(a for a in ctx["articles"] if a["article_id"] == aid)
    assert art["text"] == quoted


def test_the_drawn_map_has_county_names_numbers_a_scale_bar_and_a_north_arrow(
        decided: Decided) -> None:
    import matplotlib.pyplot as plt

    from ecobrain.api.documents.charts import cjk_font, map_figure
    from ecobrain.api.documents.pictures import _geometry

    data = D.gather(decided.store, decided.decision_id, prefix=CITY[:4])
    ci = D.prepare_region(decided.store, data, CITY, forecast=[]).charts
    fig, _ = map_figure(ci.map_title, _geometry(ci.boundary_wkt),
                        [_geometry(w) for w in ci.inner_wkt],
                        [MapHotspot(h["cell_polygon"], h["lon"], h["lat"], h["species"],
                                    h["excess"], h["number"]) for h in ci.hotspots],
                        [MapEnterprise(*e) for e in ci.enterprises],
                        [MapPlace(*p) for p in ci.place_labels])
    try:
        ax = fig.axes[0]
        texts = [t.get_text() for t in ax.texts]
        # every numbered point's row number, once
        numbers = sorted(int(t) for t in texts if t.isdigit())
        assert numbers == sorted({e[4] for e in ci.enterprises}
                                 | {h["number"] for h in ci.hotspots if h["number"]})
        if cjk_font().family:
            assert {p[0] for p in ci.place_labels} <= set(texts)  # county names
            assert "北" in texts
        else:
            assert "N" in texts
        bars = [t for t in texts if re.fullmatch(r"\d+ km", t)]
        assert len(bars) == 1
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        assert int(bars[0].split()[0]) == scale_bar_km(x1 - x0, (y0 + y1) / 2)
        assert any(a.arrow_patch is not None for a in ax.texts if hasattr(a, "arrow_patch"))
    finally:
        plt.close(fig)
