"""YAML as the project reads it: YAML 1.2 booleans, so species names stay strings.

PyYAML implements YAML 1.1, where ``NO``, ``No``, ``ON``, ``OFF``, ``Y``, ``N``, ``yes`` are
booleans: ``variables: [[NO, NO2]]`` in ``hotspots.yaml`` read as ``[[False, 'NO2']]`` and a
run's NOx inversion silently matched nothing. Every configuration, rule and knowledge file
the project reads goes through :class:`Yaml12Loader`, where only ``true``/``false`` (any of
the three YAML 1.2 spellings) are booleans; a test loads every bundled file with it.

:func:`load_yaml` reads with libyaml (PyYAML's ``CParser``) under the same implicit types when
PyYAML was built with it — the AQI standards alone took 0.08 s to parse in Python, in every
process that reads a run — and a text libyaml refuses is read again in Python, so a bad file
gets the same error, with the same line, as before (a test compares both on every bundled
file).
"""

from __future__ import annotations

import re
from typing import IO, Any

import yaml
import yaml.cyaml

BOOL_TAG = "tag:yaml.org,2002:bool"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _resolvers_without(*tags: str) -> dict[Any, list[tuple[str, Any]]]:
    return {first: [(tag, rx) for tag, rx in resolvers if tag not in tags]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core booleans (``NO``/``ON``/``Y`` stay strings)."""


Yaml12Loader.yaml_implicit_resolvers = _resolvers_without(BOOL_TAG)
Yaml12Loader.add_implicit_resolver(BOOL_TAG, YAML12_BOOL, list("tTfF"))


class Yaml12NoDatesLoader(Yaml12Loader):
    """Also without implicit timestamps: ``2024-01-23`` stays a string (dated knowledge)."""


Yaml12NoDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != TIMESTAMP_TAG]
    for first, resolvers in Yaml12Loader.yaml_implicit_resolvers.items()
}


def _with_libyaml(python: type[yaml.SafeLoader]) -> type | None:
    """A loader with ``python``'s implicit types whose scanning, parsing and composing are
    libyaml's (None when PyYAML was built without it)."""
    if not yaml.__with_libyaml__:
        return None

    class C(yaml.cyaml.CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        def __init__(self, stream: Any) -> None:
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    C.yaml_implicit_resolvers = python.yaml_implicit_resolvers
    C.__name__ = f"C{python.__name__}"
    return C


_C_LOADERS = {Yaml12Loader: _with_libyaml(Yaml12Loader),
              Yaml12NoDatesLoader: _with_libyaml(Yaml12NoDatesLoader)}


def load_yaml(stream: str | bytes | IO[str] | IO[bytes], *, dates: bool = True) -> Any:
    """``yaml.safe_load`` with YAML 1.2 booleans (``dates=False``: dates stay strings)."""
    python = Yaml12Loader if dates else Yaml12NoDatesLoader
    fast = _C_LOADERS[python]
    if fast is None:
        return yaml.load(stream, Loader=python)
    text = stream.read() if hasattr(stream, "read") else stream
    try:
        return yaml.load(text, Loader=fast)
    except yaml.YAMLError:
        return yaml.load(text, Loader=python)  # the error as the Python parser words it
