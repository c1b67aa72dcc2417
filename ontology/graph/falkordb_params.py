"""Query parameters as FalkorDB's ``CYPHER k=v …`` header text, written faster.

The FalkorDB client sends parameters as Cypher literals in front of the query, made by
``falkordb.helpers.stringify_param_value`` — a recursive function that asks ``isinstance``
of every value in turn. A bulk load's rows are thousands of flat maps of strings and numbers,
and formatting them that way cost about as much as the server took to write them.
:func:`param_text` writes the same text (character for character: a test compares the two on
the whole bundled knowledge and on awkward values) by dispatching on each value's exact type,
with each map key's ```key`:`` prefix made once; any value it has no fast path for goes to the
client's own function, so what it does not know it writes exactly as the client does.
"""

from __future__ import annotations

from typing import Any

from falkordb.helpers import stringify_param_value

_KEYS: dict[str, str] = {}  # map key -> "`key`:" (keys are few: the loaders' property names)


def _quoted(value: str) -> str:
    # falkordb.helpers.quote_string: backslashes, then double quotes, escaped
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(key: Any) -> str | None:
    prefix = _KEYS.get(key) if type(key) is str else None
    if prefix is None:
        if type(key) is not str or not key or "`" in key:
            return None  # the client's function raises its own error, or formats it its way
        prefix = _KEYS[key] = f"`{key}`:"
    return prefix


def param_text(value: Any) -> str:
    """``stringify_param_value(value)``, the same text."""
    kind = type(value)
    if kind is str:
        return _quoted(value)
    if kind is int or kind is float or kind is bool:
        return str(value)
    if value is None:
        return "null"
    if kind is dict:
        parts = []
        for k, v in value.items():
            prefix = _key(k)
            if prefix is None:
                return stringify_param_value(value)
            parts.append(prefix + param_text(v))
        return "{" + ",".join(parts) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join([param_text(v) for v in value]) + "]"
    return stringify_param_value(value)
