"""libyaml's events feed the bounded composer (ecobrain.safe_yaml): the same nodes — tags,
values, styles, every mark's line, column and index — as PyYAML's own parser, for every YAML
file the project ships; and a text libyaml refuses gets the Python parser's own error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ecobrain import safe_yaml
from ecobrain.yaml12 import Yaml12Loader, Yaml12NoDatesLoader

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for folder in ("knowledge", "rules", "docs")
                 for p in (ROOT / folder).rglob("*.y*ml"))


def _tree(node: yaml.Node) -> tuple:
    def mark(m: yaml.Mark) -> tuple[int, int, int]:
        return (m.line, m.column, m.index)

    head = (type(node).__name__, node.tag, mark(node.start_mark), mark(node.end_mark),
            getattr(node, "style", None), getattr(node, "flow_style", None))
    if isinstance(node, yaml.ScalarNode):
        return (*head, node.value)
    if isinstance(node, yaml.SequenceNode):
        return (*head, *(_tree(c) for c in node.value))
    return (*head, *((_tree(k), _tree(v)) for k, v in node.value))


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("loader", [Yaml12Loader, Yaml12NoDatesLoader])
def test_libyaml_events_compose_the_same_nodes(loader: type[yaml.SafeLoader]) -> None:
    assert len(SHIPPED) > 20  # rule files, standards, sidecars, docs' source lists
    python, fast = safe_yaml._loaders(loader, True, safe_yaml.MAX_DEPTH)
    assert fast is not None
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        assert _tree(safe_yaml._compose_with(fast, text)) == \
            _tree(safe_yaml._compose_with(python, text)), path


def test_a_bad_text_gets_the_python_parsers_error() -> None:
    text = "rules:\n  - id: a\n    when: [x, y\n  - id: b\n"
    with pytest.raises(yaml.YAMLError) as python:
        yaml.compose(text, Loader=yaml.SafeLoader)
    with pytest.raises(yaml.YAMLError) as ours:
        safe_yaml.compose(text, Yaml12Loader)
    assert str(ours.value) == str(python.value)
    assert ours.value.problem_mark.line == python.value.problem_mark.line  # type: ignore[attr-defined]


def test_plain_and_quoted_scalars_keep_their_style() -> None:
    root = safe_yaml.compose("a: x\nb: 'y'\nc: \"z\"\nd: NO\n", Yaml12Loader)
    styles = {k.value: v.style for k, v in root.value}
    assert styles == {"a": None, "b": "'", "c": '"', "d": None}
    assert safe_yaml.load("d: NO\ne: true\n", Yaml12Loader) == {"d": "NO", "e": True}
