"""Every YAML file the project reads keeps NO, ON, Y as strings (YAML 1.2 booleans).

PyYAML's YAML 1.1 read ``[NO, NO2]`` in hotspots.yaml as ``[False, 'NO2']`` and a NO2-only
inversion failed with a message listing ``False`` as a variable name. These tests load every
bundled configuration, rule and knowledge file with the project's loader and reject a boolean
anywhere but in the known yes/no fields.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecobrain.model_adapters.files.emission_species import parse_variable_sets
from ecobrain.model_adapters.inversion import default_hotspot_path, load_hotspot_config
from ecobrain.yaml12 import _C_LOADERS, Yaml12Loader, Yaml12NoDatesLoader, load_yaml

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(p for folder in ("knowledge", "rules", "hpc_jobs", "api")
                 for p in (ROOT / folder).rglob("*.y*ml"))
# the only fields of the bundle that are yes/no
FLAGS = {"colour_alert", "emits_species", "key_enterprise", "leading", "lower_bound",
         "online_monitoring", "synthetic", "text_available",
         "missing", "complete"}  # decision tables: an input may be missing; gaps are errors


def booleans(x: Any, path: tuple = ()) -> list[tuple[tuple, bool]]:
    out: list[tuple[tuple, bool]] = []
    if isinstance(x, dict):
        for k, v in x.items():
            if isinstance(k, bool):
                out.append((path, k))
            out += booleans(v, (*path, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out += booleans(v, (*path, i))
    elif isinstance(x, bool):
        out.append((path, x))
    return out


def test_yaml_1_2_booleans_only() -> None:
    assert load_yaml("[NO, ON, OFF, Y, N, yes, no, true, False]") == [
        "NO", "ON", "OFF", "Y", "N", "yes", "no", True, False]
    assert load_yaml("{on: 2025-06-01}") == {"on": dt.date(2025, 6, 1)}
    assert load_yaml("{on: 2025-06-01}", dates=False) == {"on": "2025-06-01"}


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_yaml_has_booleans_only_in_flag_fields(path: Path) -> None:
    bad = [(p, v) for p, v in booleans(load_yaml(path.read_text(encoding="utf-8")))
           if not p or p[-1] not in FLAGS]
    assert not bad, f"{path}: booleans where names are expected: {bad[:5]}"


def test_hotspot_species_names_are_strings() -> None:
    cfg = load_hotspot_config()
    for sid, sc in cfg.species.items():
        for vs in sc.alternatives:
            assert all(isinstance(n, str) for n in vs.names), (sid, vs)
    nox = [vs.names for vs in cfg.species["NOx"].alternatives]
    assert ("NO", "NO2") in nox and ("NO2",) in nox
    assert [vs.lower_bound for vs in cfg.species["NOx"].alternatives if vs.names == ("NO2",)
            ] == [True]


def test_a_boolean_where_a_species_is_expected_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"hotspots\.yaml: species NOx: variables\[1\].*False"):
        parse_variable_sets([["NOX"], [False, "NO2"]], "hotspots.yaml: species NOx")
    # a file written for YAML 1.1 with unquoted names still reads right with the project's loader
    text = default_hotspot_path().read_text(encoding="utf-8").replace('"NO", "NO2"', "NO, NO2")
    own = tmp_path / "hotspots.yaml"
    own.write_text(text, encoding="utf-8")
    assert ("NO", "NO2") in [vs.names for vs in load_hotspot_config(own)
                             .species["NOx"].alternatives]


@pytest.mark.parametrize("dates", [True, False])
def test_libyaml_reads_every_bundled_file_as_python_does(dates: bool) -> None:
    """The fast path (libyaml) and PyYAML's Python parser give equal values, of equal types,
    for every bundled file, with and without implicit dates."""
    python = Yaml12Loader if dates else Yaml12NoDatesLoader
    assert _C_LOADERS[python] is not None, "PyYAML without libyaml: the fast path is not tested"
    for path in BUNDLED:
        text = path.read_text(encoding="utf-8")
        fast = yaml.load(text, Loader=_C_LOADERS[python])
        slow = yaml.load(text, Loader=python)
        assert fast == slow, path
        assert repr(fast) == repr(slow), path  # same types too (1 vs 1.0, date vs str)


def test_a_bad_text_gets_the_python_parsers_error_with_its_line() -> None:
    text = "a: 1\nb: [2, 3\nc: 4\n"
    with pytest.raises(yaml.YAMLError) as python:
        yaml.load(text, Loader=Yaml12Loader)
    with pytest.raises(yaml.YAMLError) as ours:
        load_yaml(text)
    assert str(ours.value) == str(python.value)
    assert ours.value.problem_mark.line == python.value.problem_mark.line
    # a file object is read once and parsed from its text
    assert load_yaml(io.StringIO("x: [NO, 2026-03-01]")) == {"x": ["NO", dt.date(2026, 3, 1)]}
