"""Decision tables to CSV/XLSX and back (issue 16): what an expert edits in a spreadsheet comes
back into the rule file only if the result passes the checks."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from ecobrain.api.cli.app import app
from ecobrain.reasoning.authoring.rulebase import bundled_rules_dir, load_rule_base

runner = CliRunner()


def copy_rules(tmp_path: Path, name: str) -> Path:
    p = tmp_path / name
    p.write_text((bundled_rules_dir() / name).read_text(encoding="utf-8"), encoding="utf-8")
    return p


def rules_of(path: Path) -> dict[str, object]:
    base, _ = load_rule_base(path)
    return {e.key: e.rule for e in base.entries}


def test_csv_round_trip_keeps_every_rule(tmp_path: Path) -> None:
    p = copy_rules(tmp_path, "emergency_measures.yaml")
    before = rules_of(p)
    sheet = tmp_path / "grades.csv"
    res = runner.invoke(app, ["rules", "table", "export", str(p), "task.emergency.by-grade",
                              "-o", str(sheet)])
    assert res.exit_code == 0, res.output
    raw = sheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese text
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    # input columns headed by their Chinese label, the field in parentheses
    assert list(rows[0])[-4:] == ["绩效分级 (grade)", "重点排污单位 (key_enterprise)",
                                  "measure_type", "action"]
    rows = [{k.split(" (")[-1].rstrip(")"): v for k, v in r.items()} for r in rows]
    assert [r["grade"] for r in rows] == ["GradeA, GradeLeading", "GradeB", "GradeC", "GradeD",
                                          "null", "null"]
    assert [r["key_enterprise"] for r in rows] == ["", "", "", "", "true", "not true"]
    assert rows[1]["measure_type"] == "LimitProduction" and rows[1]["priority"] == "70"
    res = runner.invoke(app, ["rules", "table", "import", str(p), "task.emergency.by-grade",
                              str(sheet), "--offline"])
    assert res.exit_code == 0, res.output
    assert "6 row(s) imported" in res.output
    assert rules_of(p) == before
    text = p.read_text(encoding="utf-8")
    assert "# 重点行业绩效分级 (FACTS §3.E, SECONDARY)" in text  # comments elsewhere kept


def test_an_xlsx_edit_comes_back_and_a_gap_is_refused(tmp_path: Path) -> None:
    p = copy_rules(tmp_path, "emergency_measures.yaml")
    sheet = tmp_path / "schedule.xlsx"
    res = runner.invoke(app, ["rules", "table", "export", str(p), "measure.public.schedule",
                              "-o", str(sheet)])
    assert res.exit_code == 0, res.output
    book = openpyxl.load_workbook(sheet)
    ws = book.active
    header = [c.value for c in ws[1]]
    col = {h.split(" (")[-1].rstrip(")"): i + 1 for i, h in enumerate(header)}
    assert "预警级别 (level)" in header
    assert [ws.cell(r, col["level"]).value for r in range(2, 6)] == [
        "AlertYellow", "AlertOrange", "AlertRed", "AlertBlue"]
    # the expert adds the school measure to orange ...
    ws.cell(3, col["schools"]).value = "{a.level|label}期间停止幼儿园和学校组织的户外活动"
    book.save(sheet)
    res = runner.invoke(app, ["rules", "table", "import", str(p), "measure.public.schedule",
                              str(sheet), "--offline"])
    assert res.exit_code == 0, res.output
    orange = rules_of(p)["measure.public.orange@1"]
    assert [a.spec.measure_type for a in orange.then][-1] == "SuspendOutdoorSchoolActivities"
    # ... then deletes the blue row: blue alerts (2017 grading) are no longer covered
    book = openpyxl.load_workbook(sheet)
    book.active.delete_rows(5)
    book.save(sheet)
    text = p.read_text(encoding="utf-8")
    res = runner.invoke(app, ["rules", "table", "import", str(p), "measure.public.schedule",
                              str(sheet), "--offline"])
    assert res.exit_code == 1
    out = " ".join(res.output.split())
    assert "gap in table measure.public.schedule@1: no row covers level = AlertBlue" in out
    assert "not changed" in out
    assert p.read_text(encoding="utf-8") == text


def test_a_bad_sheet_names_the_column_and_the_cell(tmp_path: Path) -> None:
    p = copy_rules(tmp_path, "alerts.yaml")
    sheet = tmp_path / "g.csv"
    sheet.write_text("id,levl,driver\nalert.heavy-pollution.red,AlertRed,PM2_5\n",
                     encoding="utf-8")
    res = runner.invoke(app, ["rules", "table", "import", str(p),
                              "alert.heavy-pollution.grading", str(sheet), "--offline"])
    assert res.exit_code == 1
    out = " ".join(res.output.split())
    assert "unknown column 'levl' (columns of alert.heavy-pollution.grading@2:" in out
    sheet.write_text("id,priority,driver,level\nalert.heavy-pollution.red,high,PM2_5,AlertRed\n",
                     encoding="utf-8")
    res = runner.invoke(app, ["rules", "table", "import", str(p),
                              "alert.heavy-pollution.grading", str(sheet), "--offline"])
    out = " ".join(res.output.split())
    assert res.exit_code == 1 and "g.csv:2: priority is a whole number 0-100, not 'high'" in out
    # a cell the type check refuses: ordering a grade (no rank) is an error, with its row
    sheet.write_text("id,driver,longest_run_over_200,level,text\n"
                     "alert.heavy-pollution.red,>= PM2_5,>= 3,AlertRed,红\n,,,,\n"
                     ",-,-,,\n", encoding="utf-8")
    res = runner.invoke(app, ["rules", "table", "import", str(p),
                              "alert.heavy-pollution.grading", str(sheet), "--offline"])
    out = " ".join(res.output.split())
    assert res.exit_code == 1
    assert "row 1 (alert.heavy-pollution.red), column driver: 'driver' holds Pollutant " \
        "concepts, which have no order" in out


def test_a_bad_rule_id_in_a_sheet_names_the_row(tmp_path: Path) -> None:
    p = copy_rules(tmp_path, "alerts.yaml")
    sheet = tmp_path / "g.csv"
    sheet.write_text("id,driver,level\nRed Alert!,PM2_5,AlertRed\n,-,\n", encoding="utf-8")
    res = runner.invoke(app, ["rules", "table", "import", str(p),
                              "alert.heavy-pollution.grading", str(sheet), "--offline"])
    out = " ".join(res.output.split())
    assert res.exit_code == 1
    assert "g.csv:2 column id: String should match pattern" in out and "'Red Alert!'" in out
