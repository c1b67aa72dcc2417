"""YAML from users, parsed with bounds: no alias bombs, no nesting that exhausts the stack.

PyYAML's safe loader is safe against code execution, not against size: an alias (``*a``) is a
reference to an anchored node, so ten levels of ten aliases each is a 300-byte text whose tree
has 10^10 nodes. The loader itself shares the node, but everything that walks the tree (the
rule reader records a line for every value; validation and JSON encoding copy it) expands it —
an issue-14 finding was 31 s and 1.9 GB in the API for 282 bytes.

Two policies, both enforced while composing (before anything walks the tree):

- ``aliases=False`` refuses any alias, naming its line. Rule files use it: rules never need
  aliases, and the rule store keeps each rule's own YAML text, which would lose the anchored
  part an alias in another rule points to.
- ``aliases=True`` allows them while the expanded tree (every alias counted as a copy of what
  it points to) stays under ``max_nodes``, for files where an anchor may save typing (run
  requests, advice lists, the jobs configuration, DESID mappings).

Both bound the nesting depth (``max_depth``) and refuse control characters in values (other
than tab and newlines). Errors are :class:`YamlLimitError`, a
``yaml.MarkedYAMLError``, so callers that report YAML errors with their line keep working.

This module is the one place that says how user YAML is bounded; which YAML version's
implicit types apply (``NO``/``ON`` as strings, no timestamps) stays the caller's ``Loader``.

Events come from libyaml (PyYAML's ``CParser``) when PyYAML was built with it: scanning and
parsing in Python was most of the time of reading the rule files and knowledge tables. The
composing — the bounds above, the caller's implicit types, the marks every line number comes
from — stays PyYAML's Python code, fed libyaml's events (the same events, with the same
marks). A text libyaml refuses is parsed again by the pure-Python parser, so a bad file gets
the same error, with the same line, as before.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
import yaml.cyaml

MAX_NODES = 100_000
MAX_DEPTH = 64
# Escapes in quoted scalars ("\0", "\x01") make control characters the reader itself refuses;
# none belongs in a rule or a request, and a NUL in a value broke the graph query it went into.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class YamlLimitError(yaml.MarkedYAMLError):
    """The text exceeds a bound (an alias where none is allowed, too large an expansion, too
    deep a nesting); ``problem`` says which, ``problem_mark`` where."""


def _bounded(loader_cls: type[yaml.SafeLoader], *, aliases: bool, max_depth: int
             ) -> type[yaml.SafeLoader]:
    """`loader_cls` with a composer that checks aliases and depth as nodes are composed."""

    class Bounded(loader_cls):  # type: ignore[valid-type,misc]
        _depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.ScalarEvent):
                event = self.peek_event()
                if _CONTROL.search(event.value):
                    raise YamlLimitError(None, None, "control characters (such as NUL, written "
                                         "\\0 or \\x00) are not allowed in values",
                                         event.start_mark)
            if self.check_event(yaml.AliasEvent) and not aliases:
                event = self.peek_event()
                raise YamlLimitError(None, None, "aliases (*name) are not allowed here; "
                                     "write the value out", event.start_mark)
            if self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
                self._depth += 1
                if self._depth > max_depth:
                    raise YamlLimitError(None, None, f"nested deeper than {max_depth} levels",
                                         self.peek_event().start_mark)
                try:
                    return super().compose_node(parent, index)
                finally:
                    self._depth -= 1
            return super().compose_node(parent, index)

    Bounded.__name__ = f"Bounded{loader_cls.__name__}"
    return Bounded


def _as_python(event: Any) -> Any:
    """libyaml marks a plain scalar's style '' where PyYAML's parser writes None."""
    if isinstance(event, yaml.ScalarEvent) and event.style == "":
        event.style = None
    return event


def _with_c_events(loader_cls: type[yaml.SafeLoader]) -> type[yaml.SafeLoader] | None:
    """`loader_cls` taking its events from libyaml (None without it). The Python reader still
    reads the text first (its refusal of unprintable characters is kept)."""
    if not yaml.__with_libyaml__:
        return None
    c_parser = yaml.cyaml.CParser

    class CEvents(loader_cls):  # type: ignore[valid-type,misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._events = c_parser(stream)

        def check_event(self, *choices: Any) -> bool:
            return self._events.check_event(*choices)

        def peek_event(self) -> Any:
            return _as_python(self._events.peek_event())

        def get_event(self) -> Any:
            return _as_python(self._events.get_event())

        def dispose(self) -> None:
            self._events.dispose()
            super().dispose()

    CEvents.__name__ = f"CEvents{loader_cls.__name__}"
    return CEvents


_LOADERS: dict[tuple[type, bool, int], tuple[type[yaml.SafeLoader], type[yaml.SafeLoader] | None]]
_LOADERS = {}


def _loaders(loader_cls: type[yaml.SafeLoader], aliases: bool, max_depth: int
             ) -> tuple[type[yaml.SafeLoader], type[yaml.SafeLoader] | None]:
    """The bounded pure-Python loader and its libyaml-fed twin, made once per policy."""
    key = (loader_cls, aliases, max_depth)
    made = _LOADERS.get(key)
    if made is None:
        bounded = _bounded(loader_cls, aliases=aliases, max_depth=max_depth)
        made = _LOADERS[key] = (bounded, _with_c_events(bounded))
    return made


def _compose_with(loader_cls: type[yaml.SafeLoader], text: str) -> yaml.Node | None:
    loader = loader_cls(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def expanded_size(root: yaml.Node | None, limit: int) -> int:
    """Nodes in the tree with every alias expanded, counted once per node in the graph
    (memoised), so the count is linear in the text; stops early past `limit`."""
    if root is None:
        return 0
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                total += size(key) + size(value)
                if total > limit:
                    break
        sizes[id(node)] = total
        return total

    return size(root)


def compose(text: str, loader_cls: type[yaml.SafeLoader] = yaml.SafeLoader, *,
            aliases: bool = True, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
            ) -> yaml.Node | None:
    """``yaml.compose`` within the bounds (see the module doc); raises yaml.YAMLError."""
    python, fast = _loaders(loader_cls, aliases, max_depth)
    try:
        root = _compose_with(fast or python, text)
    except yaml.YAMLError:
        if fast is None:
            raise
        root = _compose_with(python, text)  # the error as the Python parser words it
    if aliases and root is not None:
        try:
            n = expanded_size(root, max_nodes)
        except RecursionError:  # aliases chained through nesting: no legitimate file does this
            n = max_nodes + 1
        if n > max_nodes:
            raise YamlLimitError(None, None, f"aliases expand to more than {max_nodes} nodes",
                                 root.start_mark)
    return root


def load(text: str, loader_cls: type[yaml.SafeLoader] = yaml.SafeLoader, *,
         aliases: bool = True, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """``yaml.safe_load`` within the bounds (see the module doc); raises yaml.YAMLError."""
    root = compose(text, loader_cls, aliases=aliases, max_nodes=max_nodes, max_depth=max_depth)
    if root is None:
        return None
    constructor = loader_cls("")
    try:
        return constructor.construct_document(root)
    finally:
        constructor.dispose()
