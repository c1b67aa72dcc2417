"""Findings built from values the adapters computed themselves, without validating them again.

A run yields tens of thousands of findings (daily AQI per region and day, attribution shares
per receptor, day and tag, hourly series). Their fields come from arrays and tables whose
types the code fixes (codes and levels from the region mapper, dates from the day axis,
floats rounded from ``tolist()``, ints), so validating each finding in pydantic — or even
``model_construct``, which walks every field's default machinery per call — costs more than
reading the gridded data they summarise (docs/benchmarks.md, issue 18).

:func:`trusted` fills a field's default the way pydantic would (a fresh value from a
``default_factory``), records the fields the caller gave as the "set" fields exactly like
``model_construct``, and writes the instance's slots directly. The tests validate every
finding the adapters produce (``model_validate`` of its dump), so a value of the wrong type
fails there rather than silently here.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_UNSET = object()
_SPECS: dict[type, tuple[dict[str, Any], tuple[tuple[str, Any], ...]]] = {}

# pydantic keeps these in slots of BaseModel: set through their descriptors
_new = object.__new__
_setattr = object.__setattr__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _spec(cls: type[BaseModel]) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...]]:
    spec = _SPECS.get(cls)
    if spec is None:
        if cls.__pydantic_post_init__ is not None or cls.__private_attributes__:
            raise TypeError(f"{cls.__name__} has private attributes or a post-init hook; "
                            "build it with model_construct")
        # every field in declaration order (JSON keys come out as pydantic orders them)
        template = {n: (f.default if f.default_factory is None and not f.is_required()
                        else _UNSET) for n, f in cls.model_fields.items()}
        factories = tuple((n, f.default_factory) for n, f in cls.model_fields.items()
                          if f.default_factory is not None)
        spec = _SPECS[cls] = (template, factories)
    return spec


def trusted(cls: type[M], values: dict[str, Any], *, every_field_set: bool = False) -> M:
    """``cls.model_construct(**values)`` for a model without private attributes or hooks,
    at a fraction of its cost. ``values`` must name fields of ``cls`` only. With
    ``every_field_set`` the defaults count as set too (as after validating a full dump)."""
    template, factories = _spec(cls)
    fields = template.copy()
    fields.update(values)
    for name, factory in factories:
        if fields[name] is _UNSET:
            fields[name] = factory()
    obj = _new(cls)
    _setattr(obj, "__dict__", fields)
    _set_fields_set(obj, set(fields) if every_field_set else set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building findings in bulk.

    Findings hold no reference cycles, but each allocation counts towards a collection pass
    over every object alive, and tens of thousands of them trigger passes that cost as much
    as building them. Reference counting still frees everything as usual. Runs collected in
    parallel threads (an API server's) share one pause: the collector comes back when the
    last one ends."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
