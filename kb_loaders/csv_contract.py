"""Reading a user's CSV file against its contract, with every problem located.

The enterprise and station files (``docs/reference-data.md``) are made by people, often in a
spreadsheet, so the reader is strict about what matters and forgiving about what does not:

- UTF-8 (a byte-order mark is fine); the first line is the header; columns may come in any
  order; extra columns are ignored and reported; blank lines are skipped; values are trimmed.
- Every problem in the file is collected — wrong number of values, a bad boolean, an unknown
  code, a duplicate id — and raised together as one :class:`LoadErrors`, each naming file, line
  and field, before anything is written.

A sidecar ``<name>.meta.yaml`` beside the CSV describes the file as a whole (for the bundled
sample: ``synthetic: true``). A comment line inside the CSV would break the contract for every
other CSV reader, so that note lives beside the file, not in it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecobrain.kb_loaders.errors import LoadError, LoadErrors
from ecobrain.kb_loaders.text_checks import refuse_control_characters
from ecobrain.ontology.geography import regions_by_code

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否"})
LIST_SEPARATOR = ";"
MAX_ID_LENGTH = 64


class Problems:
    """The problems found in one file, in the order found; raised all at once."""

    def __init__(self, file: str | Path):
        self.file = str(file)
        self.errors: list[LoadError] = []

    def add(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        self.errors.append(LoadError(message, file=self.file, line=line, field=field))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            ordered = sorted(self.errors, key=lambda e: (e.line or 0, e.field or ""))
            raise LoadErrors(ordered, file=self.file)


@dataclass(frozen=True)
class CsvRow:
    """One data record: its line number in the file (1 = header) and its trimmed values."""

    line: int
    values: dict[str, str]


@dataclass
class CsvTable:
    path: Path
    columns: list[str]
    rows: list[CsvRow]
    ignored_columns: list[str] = field(default_factory=list)


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read the file: {exc.strerror or exc}", file=path) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadError(
            f"not valid UTF-8 at byte {exc.start}: save the file as UTF-8 "
            "(in Excel: 'CSV UTF-8'; GBK/GB18030 files need converting first)",
            file=path,
            line=line,
        ) from exc
    refuse_control_characters(text, path)
    return text


def read_table(path: str | Path, columns: Sequence[str], problems: Problems) -> CsvTable:
    """Read `path`, checking the header against the contract's `columns`.

    A missing file or header column stops at once (nothing else can be checked); a record with
    the wrong number of values is added to `problems` and left out.
    """
    path = Path(path)
    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise LoadError("the file is empty (expected a header line)", file=path, line=1) from None
    except csv.Error as exc:
        raise LoadError(f"malformed CSV header: {exc}", file=path, line=1) from exc
    header = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen and name:
            raise LoadError(
                f"column {name!r} appears twice in the header (columns {seen[name] + 1} and "
                f"{i + 1})",
                file=path, line=1, field=name,
            )
        seen[name] = i
    missing = [c for c in columns if c not in seen]
    if missing:
        raise LoadError(
            f"header lacks column(s) {', '.join(missing)}; expected {','.join(columns)}",
            file=path, line=1, field=missing[0],
        )
    ignored = [h for h in header if h not in columns]
    rows: list[CsvRow] = []
    next_line = reader.line_num + 1
    while True:
        start = next_line
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.add(f"malformed CSV: {exc}", line=start)
            next_line = reader.line_num + 1  # the reader resumes on the next line
            continue
        next_line = reader.line_num + 1
        if not record or all(not v.strip() for v in record):
            continue
        if len(record) != len(header):
            where = header[len(record)] if len(record) < len(header) else None
            problems.add(
                f"{len(record)} values, but the header has {len(header)} columns"
                + (f" (first missing: {where})" if where else " (too many values)"),
                line=start, field=where or header[-1],
            )
            continue
        values = {name: record[seen[name]].strip() for name in columns}
        rows.append(CsvRow(start, values))
    return CsvTable(path, header, rows, ignored)


# ---------------------------------------------------------------------------------------------
# Field parsers: each takes the trimmed text and returns a value or raises ValueError with a
# message for the user (the caller adds file, line and field).


def parse_id(text: str) -> str:
    if not text:
        raise ValueError("empty id")
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(f"id longer than {MAX_ID_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"id {text!r} contains whitespace or control characters")
    return text


def parse_text(text: str) -> str:
    if not text:
        raise ValueError("empty value")
    return text


def parse_bool(text: str) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not a boolean (use true/false, 1/0, yes/no or 是/否)")


def parse_float(text: str, lo: float, hi: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{text} is out of range [{lo:g}, {hi:g}]")
    return value


def parse_longitude(text: str) -> float:
    return parse_float(text, -180.0, 180.0)


def parse_latitude(text: str) -> float:
    return parse_float(text, -90.0, 90.0)


def parse_choice(text: str, allowed: dict[str, Any], *, empty: Any = ...) -> Any:
    """Map `text` through `allowed` (case-insensitive keys); `empty` is the value for ''."""
    if not text:
        if empty is ...:
            raise ValueError(f"empty value (allowed: {', '.join(_shown(allowed))})")
        return empty
    for key, value in allowed.items():
        if key.lower() == text.lower():
            return value
    raise ValueError(f"{text!r} is not allowed (allowed: {', '.join(_shown(allowed))})")


def _shown(allowed: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(allowed))


def parse_list(text: str, sep: str = LIST_SEPARATOR) -> list[str]:
    """A `sep`-separated list; empty items and repeats are dropped, order kept."""
    return list(dict.fromkeys(item.strip() for item in text.split(sep) if item.strip()))


def parse_county_code(text: str) -> str:
    """One of Zhejiang's 90 county-level codes; a city or province code is named as such."""
    if not (len(text) == 6 and text.isdigit()):
        raise ValueError(f"{text!r} is not a 6-digit GB/T 2260 code")
    region = regions_by_code().get(text)
    if region is None:
        raise ValueError(f"{text} is not a county-level code of Zhejiang (GB/T 2260, 33xxxx)")
    if region.level != "county":
        raise ValueError(
            f"{text} is the {region.level} {region.name_zh}, not a county: give the code of the "
            "county-level unit (区/县/县级市) the site is in"
        )
    return text


class RowReader:
    """Parses one row's fields, recording each failure against the row's line and the field."""

    def __init__(self, row: CsvRow, problems: Problems):
        self.row = row
        self.problems = problems
        self.ok = True

    def get(self, name: str, parser: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return parser(self.row.values[name], *args, **kwargs)
        except ValueError as exc:
            self.fail(name, str(exc))
            return None

    def fail(self, name: str, message: str) -> None:
        self.ok = False
        self.problems.add(message, line=self.row.line, field=name)


def check_unique(rows: Iterable[tuple[int, str]], problems: Problems, *, field: str = "id"
                 ) -> set[int]:
    """Report every repeated value with both line numbers; returns the lines of the repeats."""
    first: dict[str, int] = {}
    repeats: set[int] = set()
    for line, value in rows:
        if value in first:
            problems.add(f"duplicate {field} {value!r} (first on line {first[value]}, again on "
                         f"line {line})", line=line, field=field)
            repeats.add(line)
        else:
            first[value] = line
    return repeats


def read_meta(csv_path: str | Path) -> dict[str, Any]:
    """The sidecar ``<stem>.meta.yaml`` beside a CSV, or {} when there is none."""
    path = Path(csv_path)
    meta_path = path.with_name(path.stem + ".meta.yaml")
    if not meta_path.is_file():
        return {}
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LoadError(f"cannot read the sidecar: {exc}", file=meta_path) from exc
    if not isinstance(meta, dict):
        raise LoadError("the sidecar must be a YAML mapping", file=meta_path)
    if "synthetic" in meta and not isinstance(meta["synthetic"], bool):
        raise LoadError("'synthetic' must be true or false", file=meta_path, field="synthetic")
    return meta
