"""FalkorDB parameter text (ontology/graph/falkordb_params.py) is the client's own text,
character for character: on awkward values, and on every parameter the whole bundled
knowledge load sends."""

from __future__ import annotations

import enum
from collections import OrderedDict
from typing import Any

import pytest
from falkordb.helpers import stringify_param_value

from ecobrain.kb_loaders.bundle import load_bundled
from ecobrain.ontology.graph import falkordb_store
from ecobrain.ontology.graph.falkordb_params import param_text
from ecobrain.ontology.graph.store import GraphStore


class Grade(enum.StrEnum):
    A = "A"


@pytest.mark.parametrize("value", [
    "", "plain", 'say "hi"', "back\\slash", "行\n两行\t", "\\\"", 0, -3, 2**70, 0.1, 1e-05,
    float("nan"), float("inf"), True, False, None, [], [1, "a", None], (1, 2),
    {"id": "e1", "v": 0.5, "xs": ["a", {"k": True}]}, {}, OrderedDict(a=1), Grade.A,
    {"a-b": 1, "@type": "x", "空 格": "y"}, {1: "int key"}, {b"raw": 1}, b"bytes",
    [{"id": f"c{i}", "lon": 120.0 + i / 7, "county_code": None} for i in range(3)],
])
def test_the_same_text_as_the_client(value: Any) -> None:
    assert param_text(value) == stringify_param_value(value)


@pytest.mark.parametrize("bad", [{"": 1}, {"a`b": 1}])
def test_keys_the_client_refuses_are_refused_the_same_way(bad: dict) -> None:
    with pytest.raises(ValueError) as theirs:
        stringify_param_value(bad)
    with pytest.raises(ValueError) as ours:
        param_text(bad)
    assert str(ours.value) == str(theirs.value)


def test_every_parameter_of_the_bundle_load(store: GraphStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(store, "_db"):
        pytest.skip("FalkorDB's parameter text only")
    seen: list[int] = []
    real = falkordb_store._with_params

    def compared(cypher: str, params: Any) -> str:
        for value in (params or {}).values():
            assert param_text(value) == stringify_param_value(value), cypher[:80]
            seen.append(len(param_text(value)))
        return real(cypher, params)

    monkeypatch.setattr(falkordb_store, "_with_params", compared)
    load_bundled(store)
    assert len(seen) > 50 and sum(seen) > 5_000_000  # the bundle's ~9 MB of parameters
