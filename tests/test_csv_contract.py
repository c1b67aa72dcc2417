"""The CSV reader every user file goes through: header, line numbers, parsers, sidecar."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecobrain.kb_loaders.csv_contract import (
    Problems,
    RowReader,
    check_unique,
    parse_bool,
    parse_choice,
    parse_county_code,
    parse_id,
    parse_latitude,
    parse_list,
    read_meta,
    read_table,
)
from ecobrain.kb_loaders.errors import LoadError, LoadErrors

COLUMNS = ("id", "name", "n")


def write(tmp_path: Path, text: str, name: str = "f.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_reads_rows_with_their_line_numbers_in_any_column_order(tmp_path: Path) -> None:
    path = write(tmp_path, "name,n,id,extra\nA,1,a1,x\n\nB,2,b1,y\n")
    problems = Problems(path)
    table = read_table(path, COLUMNS, problems)
    assert not problems
    assert [(r.line, r.values) for r in table.rows] == [
        (2, {"id": "a1", "name": "A", "n": "1"}),
        (4, {"id": "b1", "name": "B", "n": "2"}),
    ]
    assert table.ignored_columns == ["extra"]


def test_quoted_multiline_value_keeps_following_line_numbers_right(tmp_path: Path) -> None:
    path = write(tmp_path, 'id,name,n\na,"two\nlines",1\nb,"x, y",2\n')
    table = read_table(path, COLUMNS, problems := Problems(path))
    assert not problems
    assert [(r.line, r.values["name"]) for r in table.rows] == [(2, "two\nlines"), (4, "x, y")]


def test_byte_order_mark_and_whitespace_are_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff id , name ,n\n a1 , 名称 , 3 \n")
    table = read_table(path, COLUMNS, Problems(path))
    assert table.rows[0].values == {"id": "a1", "name": "名称", "n": "3"}


def test_missing_header_column_names_the_column_and_line_1(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name\na,b\n")
    with pytest.raises(LoadError) as exc:
        read_table(path, COLUMNS, Problems(path))
    assert (exc.value.file, exc.value.line, exc.value.field) == (str(path), 1, "n")
    assert "lacks column(s) n" in str(exc.value)


def test_duplicate_header_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name,n,name\na,b,1,c\n")
    with pytest.raises(LoadError, match="appears twice") as exc:
        read_table(path, COLUMNS, Problems(path))
    assert exc.value.field == "name"


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    empty = write(tmp_path, "")
    with pytest.raises(LoadError, match="empty"):
        read_table(empty, COLUMNS, Problems(empty))
    with pytest.raises(LoadError, match="cannot read") as exc:
        read_table(tmp_path / "nope.csv", COLUMNS, Problems(tmp_path / "nope.csv"))
    assert exc.value.file.endswith("nope.csv")


def test_gbk_file_is_refused_with_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name,n\na,ok,1\nb,杭州,2\n", encoding="gbk")
    with pytest.raises(LoadError, match="UTF-8") as exc:
        read_table(path, COLUMNS, Problems(path))
    assert exc.value.line == 3


def test_wrong_number_of_values_is_collected_per_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'id,name,n\na,b\nc,d,1\ne,f,2,3\ng,"h"x,4\n')
    problems = Problems(path)
    table = read_table(path, COLUMNS, problems)
    assert [r.line for r in table.rows] == [3]
    found = [(e.line, e.field) for e in problems.errors]
    assert (2, "n") in found  # too few values: the first missing column is named
    assert (4, "n") in found  # too many values
    assert any(line == 5 for line, _ in found)  # broken quoting
    with pytest.raises(LoadErrors) as exc:
        problems.raise_if_any()
    assert len(exc.value.errors) == 3
    assert f"{path}:2 [n]" in str(exc.value)


def test_row_reader_records_failures_against_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "id,name,n\na b,x,maybe\n")
    problems = Problems(path)
    row = read_table(path, COLUMNS, problems).rows[0]
    rd = RowReader(row, problems)
    assert rd.get("id", parse_id) is None
    assert rd.get("n", parse_bool) is None
    assert not rd.ok
    assert [(e.line, e.field) for e in problems.errors] == [(2, "id"), (2, "n")]


@pytest.mark.parametrize("text,value", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("是", True),
    ("false", False), ("0", False), ("No", False), ("否", False),
])
def test_booleans(text: str, value: bool) -> None:
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["", "2", "t", "对"])
def test_bad_booleans(text: str) -> None:
    with pytest.raises(ValueError, match="not a boolean"):
        parse_bool(text)


def test_choice_list_and_numbers() -> None:
    grades = {"A": "A", "引领性": "leading"}
    assert parse_choice("a", grades) == "A"
    assert parse_choice("引领性", grades) == "leading"
    assert parse_choice("", grades, empty=None) is None
    with pytest.raises(ValueError, match="allowed: A, 引领性"):
        parse_choice("E", grades)
    assert parse_list(" SO2; NOx;;SO2 ") == ["SO2", "NOx"]
    assert parse_latitude("30.25") == 30.25
    for bad in ("north", "91", "nan"):
        with pytest.raises(ValueError):
            parse_latitude(bad)


def test_county_codes() -> None:
    assert parse_county_code("330106") == "330106"
    with pytest.raises(ValueError, match="city 杭州市, not a county"):
        parse_county_code("330100")
    with pytest.raises(ValueError, match="province"):
        parse_county_code("330000")
    with pytest.raises(ValueError, match="not a county-level code of Zhejiang"):
        parse_county_code("320106")
    with pytest.raises(ValueError, match="6-digit"):
        parse_county_code("33010")


def test_duplicates_name_both_lines(tmp_path: Path) -> None:
    problems = Problems(tmp_path / "f.csv")
    repeats = check_unique([(2, "a"), (3, "b"), (7, "a")], problems)
    assert repeats == {7}
    (err,) = problems.errors
    assert (err.line, err.field) == (7, "id")
    assert "first on line 2, again on line 7" in str(err)


def test_sidecar_meta(tmp_path: Path) -> None:
    csv_path = write(tmp_path, "id,name,n\n", name="things.csv")
    assert read_meta(csv_path) == {}
    (tmp_path / "things.meta.yaml").write_text("synthetic: true\nseed: 3\n", encoding="utf-8")
    assert read_meta(csv_path) == {"synthetic": True, "seed": 3}
    (tmp_path / "things.meta.yaml").write_text("synthetic: perhaps\n", encoding="utf-8")
    with pytest.raises(LoadError, match="'synthetic' must be true or false"):
        read_meta(csv_path)
