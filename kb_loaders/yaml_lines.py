"""YAML that remembers where each value was written, so errors can name the line.

Experts edit the statute sidecars, the succession mapping and the standards tables by hand; an
error like "valid_from: not a date" is only useful with the line it is on. PyYAML's composer
keeps marks on every node, so we build the plain data and a path -> line map in one walk.
Dates are kept as the strings the expert wrote (the loaders validate them), never converted by
YAML's implicit timestamp rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ecobrain import safe_yaml
from ecobrain.kb_loaders.errors import LoadError
from ecobrain.yaml12 import Yaml12NoDatesLoader

Path_ = tuple[str | int, ...]


class _NoDatesLoader(Yaml12NoDatesLoader):
    """'2024-01-23' stays a string; YAML 1.2 booleans (``NO`` is not false)."""


@dataclass
class YamlDoc:
    """A parsed YAML file: its data and the line (1-based) of every value and key."""

    file: Path
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int | None:
        """Line of the value at `path`, or of the nearest enclosing value that has one."""
        p: Path_ = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def error(self, message: str, *path: str | int, field: str | None = None) -> LoadError:
        """A LoadError at `path`; its field is the last key of the path (the line says where)."""
        name = field or next((x for x in reversed(path) if isinstance(x, str)), None)
        return LoadError(message, file=self.file, line=self.line(*path), field=name)


def read_yaml(file: Path) -> YamlDoc:
    """Parse `file`; a syntax error becomes a LoadError with the line YAML reports."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=file) from exc
    try:
        node = safe_yaml.compose(text, _NoDatesLoader)  # bounded: a sidecar is user input
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise LoadError(f"YAML syntax error: {problem}", file=file, line=line) from exc
    doc = YamlDoc(file=file, data=None)
    if node is None:
        return doc
    loader = _NoDatesLoader("")
    doc.data = _walk(node, (), doc.lines, loader)
    return doc


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], loader: yaml.SafeLoader) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key = str(key)
            out[key] = _walk(value_node, (*path, key), lines, loader)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, (*path, i), lines, loader) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
