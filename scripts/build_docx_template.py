"""Build ``api/templates/task_list.docx``: the Word template of a task list (docxtpl).

docxtpl renders Jinja2 inside a .docx; the template itself is an ordinary Word file. Building
it with python-docx here (instead of keeping a hand-edited binary) keeps it reviewable: the
layout is this script, the generated file is committed beside the other templates, and
``tests/test_documents.py`` checks that the two agree.

    .venv/bin/python scripts/build_docx_template.py      # rewrites api/templates/task_list.docx

Tags used (see ``api/documents/task_list.py`` for the context): ``{{ x }}`` values, ``{%p ... %}``
paragraph-level blocks (loops and conditions around paragraphs and tables) and ``{%tr ... %}``
table-row loops. Fonts: 宋体 for body text, 黑体 for headings (East Asian), Times New Roman for
Latin text — what Chinese government documents use; Word and LibreOffice substitute a CJK
font where these are missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

OUT = Path(__file__).resolve().parents[1] / "api" / "templates" / "task_list.docx"

# The task table's columns on A4 landscape (267 mm between the margins). Widths are written
# into the table's grid (w:tblGrid/w:gridCol), every cell (w:tcW) and the table (w:tblW, fixed
# layout): with only cell widths, LibreOffice and WPS lay the grid out in equal columns and
# squeeze 任务内容 into an eighth of the page. 任务编号 fits a full id (task-<16 hex>) on one
# line at 7.5 pt, so a bureau can copy it into a status report.
TASK_COLUMNS = (  # header, context field, width (mm), font size (pt)
    ("序号", "no", 9, 9),
    ("任务编号", "id", 30, 7.5),
    ("对象", "subject", 27, 9),
    ("位置", "location", 24, 9),
    ("任务内容", "action", 86, 9),
    ("期限", "deadline", 18, 8),
    ("优先级", "priority", 12, 9),
    ("法律依据", "legal", 46, 8),  # up to five references: wide, or it sets every row's height
    ("状态", "status", 15, 9),
)
CELL_MARGIN_MM = 1.0  # left and right padding of every cell (Word's default is 1.9 mm)
TEXT_WIDTH_MM = 267
OVERVIEW_TABLES = (  # id, loop, columns: (header, field, width mm)
    ("alerts", "overview.alerts", (("区域", "name", 40), ("预警等级", "level", 40),
                                   ("预警时段", "period", 60), ("首要污染物", "driver", 40),
                                   ("任务数", "tasks", 20))),
    ("measures", "overview.measures", (("措施", "measure", 90), ("任务数", "tasks", 25),
                                       ("涉及区域数", "regions", 25))),
    ("grades", "overview.grades", (("绩效分级", "grade", 40), ("企业数", "enterprises", 25))),
)


def _fonts(style, latin: str, east_asian: str, size: float | None = None,
           bold: bool | None = None) -> None:
    style.font.name = latin
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    if size:
        style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold


def _para(doc, text: str, style: str | None = None, *, bold: bool = False,
          size: float | None = None, colour: RGBColor | None = None,
          align: WD_ALIGN_PARAGRAPH | None = None):
    p = doc.add_paragraph(style=style)
    run = p.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    if colour is not None:
        run.font.color.rgb = colour
    if align is not None:
        p.alignment = align
    return p


def _cell_text(cell, text: str, *, bold: bool = False, size: float = 9) -> None:
    p = cell.paragraphs[0]
    run = p.add_run(text)
    run.bold = bold
    run.font.size = Pt(size)


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = tcpr.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto",
                                         qn("w:fill"): fill})
    tcpr.append(shd)


def _twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


def _widths(table, widths_mm) -> None:
    """Real column widths: the grid, every cell, the table's own width and a fixed layout."""
    table.autofit = False  # w:tblLayout w:type="fixed"
    for col, mm in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_mm, strict=True):
        col.set(qn("w:w"), str(_twips(mm)))
    tblpr = table._tbl.tblPr
    tblw = tblpr.find(qn("w:tblW"))  # python-docx's default table has one
    tblw.set(qn("w:type"), "dxa")
    tblw.set(qn("w:w"), str(_twips(sum(widths_mm))))
    margins = tblpr.makeelement(qn("w:tblCellMar"), {})
    for side in ("left", "right"):
        margins.append(margins.makeelement(qn(f"w:{side}"), {
            qn("w:w"): str(_twips(CELL_MARGIN_MM)), qn("w:type"): "dxa"}))
    # schema order (CT_TblPr): … tblLayout, tblCellMar, tblLook — Word rejects other orders
    look = tblpr.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(margins)
    else:
        tblpr.append(margins)
    for row in table.rows:
        for cell, mm in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(mm)


def _loop_table(doc, loop: str, columns, *, size: float = 9):
    """A table whose body row repeats over `loop` (docxtpl {%tr %}), header repeated."""
    table = doc.add_table(rows=3, cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header, start, body = table.rows
    _repeat_header(header)
    for i, col in enumerate(columns):
        title, field = col[0], col[1]
        _cell_text(header.cells[i], title, bold=True)
        _shade(header.cells[i], "D9E2F3")
        _cell_text(body.cells[i], f"{{{{ r.{field} }}}}",
                   size=col[3] if len(col) > 3 else size)
    _cell_text(start.cells[0], f"{{%tr for r in {loop} %}}")
    end = table.add_row()
    _cell_text(end.cells[0], "{%tr endfor %}")
    _widths(table, [c[2] for c in columns])
    return table


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def build(out: Path = OUT) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Mm(15))
    section.top_margin = section.bottom_margin = Mm(15)
    styles = doc.styles
    _fonts(styles["Normal"], "Times New Roman", "宋体", 10.5)
    _fonts(styles["Title"], "Times New Roman", "黑体", 20, True)
    _fonts(styles["Heading 1"], "Times New Roman", "黑体", 15, True)
    _fonts(styles["Heading 2"], "Times New Roman", "黑体", 12, True)
    _fonts(styles["Heading 3"], "Times New Roman", "黑体", 10.5, True)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        styles[name].font.color.rgb = RGBColor(0, 0, 0)

    _para(doc, "{{ title }}", "Title", align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "承办单位：{{ region_label }}　　决策编号：{{ decision_id }}")
    _para(doc, "模型运行：{{ run_id }}（{{ model }}）　　决策日期：{{ decision_date }}　　"
               "生成时间：{{ generated_at }}")
    _para(doc, "审核状态：{{ review_status }}", bold=True)
    _para(doc, "{%p for w in warnings %}")
    _para(doc, "{{ w }}", bold=True, colour=RGBColor(0xC0, 0x60, 0))
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p if legal_review %}")
    _para(doc, "{{ legal_review }}", bold=True, colour=RGBColor(0xC0, 0, 0))
    _para(doc, "{%p endif %}")

    _para(doc, "目　录", "Heading 1")
    _para(doc, "{%p for e in contents %}")
    _para(doc, "{{ e.indent }}{{ e.title }}")
    _para(doc, "{%p endfor %}")

    _para(doc, "概　况", "Heading 1")
    _para(doc, "共 {{ overview.task_total }} 项任务，涉及企业 {{ overview.enterprise_total }} 家。")
    titles = {"alerts": "预警情况", "measures": "任务按措施统计",
              "grades": "任务企业按绩效分级统计"}
    for key, loop, columns in OVERVIEW_TABLES:
        if key == "grades":
            _para(doc, "{%p if overview.grades %}")
        _para(doc, titles[key], "Heading 2")
        _loop_table(doc, loop, columns)
        if key == "grades":
            _para(doc, "{%p endif %}")

    _para(doc, "一、预警与应急措施", "Heading 1")
    _para(doc, "{{ alert_text }}")
    _para(doc, "{%p for m in measures %}")
    _para(doc, "{{ m.text }}", "List Bullet")
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p if effects %}")
    _para(doc, "措施预期效果（情景模拟）", "Heading 2")
    _para(doc, "{%p for e in effects %}")
    _para(doc, "{{ e.text }}", "List Bullet")
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p endif %}")

    _para(doc, "二、任务清单", "Heading 1")
    _para(doc, "{{ tasks_summary }}")
    _para(doc, "{%p for g in groups %}")
    _para(doc, "{{ g.title }}", "Heading 2")
    _para(doc, "{{ g.summary }}")
    _para(doc, "{%p for m in g.measures %}")
    _para(doc, "{{ m.title }}", "Heading 3")
    _loop_table(doc, "m.tasks", TASK_COLUMNS)
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p endfor %}")

    _para(doc, "三、管控建议", "Heading 1")
    _para(doc, "{%p if not advice %}")
    _para(doc, "本区域本次决策无管控建议。")
    _para(doc, "{%p endif %}")
    _para(doc, "{%p for a in advice %}")
    _para(doc, "{{ a.title }}", bold=True)
    _para(doc, "{{ a.text }}")
    _para(doc, "{%p endfor %}")

    _para(doc, "四、图件", "Heading 1")
    _para(doc, "{{ map_image }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "图1　{{ map_caption }}", align=WD_ALIGN_PARAGRAPH.CENTER, size=9)
    _para(doc, "{{ aqi_image }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "图2　{{ aqi_caption }}", align=WD_ALIGN_PARAGRAPH.CENTER, size=9)
    _para(doc, "{%p if font_note %}")
    _para(doc, "{{ font_note }}", size=9)
    _para(doc, "{%p endif %}")

    _para(doc, "附录　引用条款全文", "Heading 1")
    _para(doc, "{%p for a in articles %}")
    _para(doc, "{{ a.citation }}", "Heading 2")
    _para(doc, "{{ a.status_line }}", size=9, colour=RGBColor(0x40, 0x40, 0x40))
    _para(doc, "{{ a.text }}")
    _para(doc, "{%p endfor %}")

    _para(doc, "说明", "Heading 1")
    _para(doc, "{%p for n in notes %}")
    _para(doc, "{{ n }}", "List Bullet", size=9)
    _para(doc, "{%p endfor %}")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.core_properties.title = "ecobrain 任务清单模板"
    doc.core_properties.author = "ecobrain"
    doc.save(str(out))
    return out


if __name__ == "__main__":
    path = build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {path}")
