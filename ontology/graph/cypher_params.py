"""Query parameters as FalkorDB's ``CYPHER k=v …`` header text: exact, or refused with the place.

FalkorDB's native protocol has no binary parameters: a query's parameters travel as Cypher
literals in a header the server parses (``CYPHER rows=[{`id`:"a"}] UNWIND $rows …``). The
client library's formatter (``falkordb.helpers.stringify_param_value``) walks every value with
a chain of ``isinstance`` tests; a decision's save sends ~60 MB this way, and the walk was a
tenth of the save. This one dispatches on the exact type, keeps the formatted map keys, and
formats the same text for the values both accept — so the server stores what it stored before.

What the server's header parser does, measured on the embedded FalkorDB (tests in
``tests/test_cypher_params.py`` read every kind back):

- in a double-quoted string it decodes ``\\\\``, ``\\"``, ``\\'``, ``\\n``, ``\\r``, ``\\t``,
  ``\\b``, ``\\f`` and keeps any other backslash as it is (``\\u00e9`` stays six characters);
  every other character, control characters and all of Unicode included, is taken as sent.
  So a string is exact with only ``\\`` and ``"`` escaped — what the client does too;
- a NUL character ends the query text (the server then reports a syntax error far from the
  cause), so a string holding one is refused here;
- integers outside 64 bits are silently clamped to the nearest bound: refused here;
- floats are read back exactly from Python's shortest repr (``repr(x)``; ``-0.0`` keeps its
  sign, subnormals are fine); ``nan`` and ``±inf`` have no literal and are refused here (the
  client sent ``nan``, a syntax error);
- map keys go in backticks, which cannot be escaped: an empty key or one holding a backtick is
  refused (as the client does).

Values of other types (a date, a set, an object) are refused with their place, where the client
sent ``str(value)`` unquoted — a date as ``2026-01-01``, which the server reads as arithmetic.
Only the FalkorDB store uses this: the Bolt driver sends parameters in binary.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# Formatted map keys ("`id`:"), kept: a save sends the same few keys hundreds of thousands of
# times. Bounded, because maps saved with `+=` carry keys chosen by data.
_KEYS: dict[str, str] = {}
_KEYS_KEPT = 4096


class ParameterError(ValueError):
    """A parameter value the server cannot take exactly; the message names where it is."""

    def __init__(self, problem: str, where: list[str] | None = None):
        self.problem = problem
        self.where = where or []
        super().__init__(problem)

    def at(self, name: str) -> ParameterError:
        place = "$" + name + "".join(reversed(self.where))
        return ParameterError(f"parameter {place}: {self.problem}")


def params_header(params: Mapping[str, Any]) -> str:
    """``CYPHER``'s parameter list for `params` (without the word ``CYPHER``)."""
    parts = []
    for name, value in params.items():
        try:
            parts.append(f"{_key(name)[:-1]}={_value(value)}")
        except ParameterError as exc:
            raise exc.at(str(name)) from None
    return " ".join(parts)


def cypher_literal(value: Any) -> str:
    """One value as the header's Cypher literal (see the module docstring)."""
    try:
        return _value(value)
    except ParameterError as exc:
        raise exc.at("value") from None


def _key(key: Any) -> str:
    done = _KEYS.get(key) if type(key) is str else None
    if done is not None:
        return done
    if not isinstance(key, str):
        raise ParameterError(f"a map key must be a string, not {type(key).__name__} {key!r}")
    if not key:
        raise ParameterError("a map key cannot be empty")
    if "`" in key:
        raise ParameterError(f"a map key cannot hold a backtick: {key!r}")
    done = f"`{key}`:"
    if len(_KEYS) < _KEYS_KEPT:
        _KEYS[key] = done
    return done


def _string(value: str) -> str:
    if "\x00" in value:
        raise ParameterError(
            f"a string holds a NUL character (U+0000), which FalkorDB cannot take: "
            f"{value[:60]!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _map(value: Mapping[Any, Any]) -> str:
    parts = []
    for k, v in value.items():
        try:
            parts.append(_key(k) + _value(v))
        except ParameterError as exc:
            exc.where.append(f".{k}")
            raise
    return "{" + ",".join(parts) + "}"


def _list(value: list[Any] | tuple[Any, ...]) -> str:
    try:
        return "[" + ",".join([_value(v) for v in value]) + "]"
    except ParameterError as exc:
        # the failing item, found again only on the way out (the list comprehension is fast)
        for i, v in enumerate(value):
            try:
                _value(v)
            except ParameterError:
                exc.where.append(f"[{i}]")
                break
        raise


def _int(value: int) -> str:
    if _INT64_MIN <= value <= _INT64_MAX:
        return str(int(value))
    raise ParameterError(f"integer {value} is outside 64 bits (FalkorDB would clamp it)")


def _float(value: float) -> str:
    if math.isfinite(value):
        return repr(float(value))
    raise ParameterError(f"{value!r} has no Cypher literal (only finite numbers can be sent)")


def _value(value: Any) -> str:
    t = type(value)
    if t is str:
        if "\x00" in value:
            return _string(value)  # raises, with the message
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if t is dict:
        return _map(value)
    if t is list or t is tuple:
        return _list(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return _int(value)
    if t is float:
        return _float(value)
    return _other(value)


def _other(value: Any) -> str:
    """Subclasses and numeric types of other libraries (numpy scalars register as numbers)."""
    if isinstance(value, str):
        return _string(value)  # the string's content (an enum's str() is its name)
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return _map(value)
    if isinstance(value, (list, tuple)):
        return _list(value)
    if isinstance(value, numbers.Integral):
        return _int(int(value))
    if isinstance(value, numbers.Real):
        return _float(float(value))
    raise ParameterError(
        f"a {type(value).__module__}.{type(value).__qualname__} value has no Cypher literal "
        f"({str(value)[:60]!r}); send a string, number, boolean, null, list or map")
