"""Reader's text of the task-list documents: sensible rounding and no internal tags.

The rule base and the model adapters write conclusions for machines as much as for people:
source shares with four decimals (``贡献11.7675%``), ratios with three (``HCHO/NO2均值4.486``),
grid cell ids (``网格ZJ3KM:r50c59``), the key of a threshold set (``阈值来源 Wang2021``), the
source-quality tag of a statute (``来源等级 CODE``), the internal label of a sample run
(``CMAQ 5.4 (ecobrain synthetic sample)``). A county bureau signs what it reads, so every text
the documents show goes through :func:`reader_text`; the ids stay in the documents'
machine-readable parts (HTML ids and ``data-*`` attributes, the JSON in the graph).

The rules are deliberately narrow patterns, not a general number formatter: coordinates
(``119.806°E``), dates, article numbers and ids are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Source-quality tags of docs/regulations.md, as a reader understands them.
SOURCE_QUALITY_ZH = {
    "PRIMARY": "官方文本",
    "SECONDARY": "新闻或转载",
    "CODE": "仅见公开代码转录",
    "UNCONFIRMED": "未经核实",
}

# Context keys whose values are ids or machine data: never rewritten.
MACHINE_KEYS = frozenset({
    "id", "code", "region_code", "decision_id", "run_id", "article_id", "subject_id",
    "subject_kind", "status_code", "priority_band", "cell_id", "task_id", "sort",
    "scenario_run_id", "baseline_run_id", "anchor", "measure_key", "grade_key",
})


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(value: float) -> str:
    """A share in per cent as a bureau writes it: 12%, 3.5%, 0.4% (never 11.7675%)."""
    return _number(value, 0 if abs(value) >= 10 else 1) + "%"


def ratio_percent(value: float) -> str:
    """A fraction (0.1) as a percentage (10%)."""
    return percent(value * 100)


def _sub_percent(m: re.Match[str]) -> str:
    return percent(float(m.group(1)))


def _sub_long_decimal(m: re.Match[str]) -> str:
    return _number(float(m.group(0)), 1)


def _sub_aqi(m: re.Match[str]) -> str:
    return f"{m.group(1)}{round(float(m.group(2)))}"


def _sub_distance(m: re.Match[str]) -> str:
    return f"{_number(float(m.group(1)), 1)}{m.group(2)}"


def _sub_citation_key(m: re.Match[str]) -> str:
    return f"判别阈值引自{m.group(1)}等{m.group(2)}年发表的研究"


def _sub_quality(m: re.Match[str]) -> str:
    return f"来源：{SOURCE_QUALITY_ZH.get(m.group(1), '未注明')}"


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # model-run labels of the bundled sample
    (re.compile(r"\s*\(ecobrain synthetic sample\)"), "（合成示例数据）"),
    (re.compile(r"ecobrain synthetic sample"), "合成示例数据"),
    # grid cell ids: 网格ZJ3KM:r50c59（119.8°E…） -> 网格（119.8°E…）; a bare id is left out
    (re.compile(r"\s*[A-Z][A-Z0-9_]*:r\d+c\d+"), ""),
    # citation keys of threshold sets
    (re.compile(r"阈值来源\s*([A-Z][a-z]+)(\d{4})\b"), _sub_citation_key),
    (re.compile(r"(?<![A-Za-z])([A-Z][a-z]+)((?:19|20)\d{2})(?![\d.])"), r"\1等（\2）"),
    # source-quality codes
    (re.compile(r"来源等级\s*(PRIMARY|SECONDARY|CODE|UNCONFIRMED)"), _sub_quality),
    (re.compile(r"（(PRIMARY|SECONDARY|CODE|UNCONFIRMED)）"),
     lambda m: f"（{SOURCE_QUALITY_ZH[m.group(1)]}）"),
    # rounding
    (re.compile(r"(?<![\d.])(\d+\.\d+)\s*%"), _sub_percent),
    (re.compile(r"(AQI\s*(?:[为:：]\s*)?)(\d+\.\d+)"), _sub_aqi),
    (re.compile(r"(?<![\d.])(\d+\.\d{2,})\s*(公里|千米|km|米)"), _sub_distance),
    # any other number with three or more decimals that is not a coordinate
    (re.compile(r"(?<![\d.])\d+\.\d{3,}(?![\d°])"), _sub_long_decimal),
)


def reader_text(text: str) -> str:
    """`text` as the reader of a signed document sees it (module docstring)."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return text


def reader_context(value: Any, key: str | None = None) -> Any:
    """Every string of a template context through :func:`reader_text`, ids left alone."""
    if key in MACHINE_KEYS:
        return value
    if isinstance(value, str):
        return reader_text(value)
    if isinstance(value, dict):
        return {k: reader_context(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [reader_context(v, key) for v in value]
    if isinstance(value, tuple):
        return tuple(reader_context(v, key) for v in value)
    return value
