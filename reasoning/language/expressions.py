"""The condition language of rules: a small, safe subset of Python expressions.

An author writes the ``if`` of a condition block as one line an environmental engineer can
read::

    days_over_200 >= 3 and longest_run_over_300 >= 1 and driver == PM2_5
    sector is_a VOCsKeyIndustry and grade in [GradeC, GradeD]
    pollutants has_a NOx and not online_monitoring
    region_code == a.region_code            # a join on an earlier block named `a`

Grammar (parsed with Python's :mod:`ast` into a whitelist; anything else is refused with its
column): comparisons ``== != < <= > >=`` (chains allowed), ``and or not``, parentheses,
``x in [..]`` / ``x not in [..]``, ``"VOCs" in pollutants`` (a list field contains a value),
numbers, ``"strings"``, ``true false null``, field names of the block's fact type, fields of an
earlier block as ``alias.field``, dated rule parameters as ``param.name``, and two class
tests: ``x is_a Class`` (a concept field is the class or one of its subclasses) and
``xs has_a Class`` (a list field has an item that is_a the class); ``is_a(x, Class)`` and
``has_a(xs, Class)`` are the same tests in function form. A bare name that is not a field is a
concept id (``driver == PM2_5``); it must exist in the ontology with the field's kind.

Compilation: to a durable_rules JSON condition. Class tests are expanded at compile time into
an ``$or`` over the class and all its descendants, so a rule on a parent class matches facts
about its subclasses without the engine knowing the ontology. Negation is pushed to the
leaves (the engine has no ``not``): ``not (x == v)`` becomes ``x != v or x is missing``,
because a comparison with a missing field is false — the same semantics :func:`evaluate` gives
in Python, which the tests use to check the compiler against.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ecobrain.reasoning.language.errors import ExpressionError
from ecobrain.reasoning.language.fact_types import FACT_TYPES, FieldSpec, field_spec

_INFIX = {"is_a": "<<", "has_a": ">>"}
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_DURABLE = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_BOOL_NAMES = {"true": True, "True": True, "false": False, "False": False}
_NULL_NAMES = {"null", "None"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- the typed tree ------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldRef:
    name: str
    alias: str | None = None  # None: the block's own fact


@dataclass(frozen=True)
class Compare:
    field: str  # a field of the block's own fact
    op: str
    value: Any = None  # a literal (str, int, float, bool)
    ref: FieldRef | None = None  # or another field (own: alias None; earlier block: alias)


@dataclass(frozen=True)
class Exists:
    field: str
    present: bool = True


@dataclass(frozen=True)
class AnyOf:
    """The field equals one of the values (``in [..]`` and the expansion of ``is_a``)."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class ListHas:
    """The list field has an item equal to one of the values (``in`` a list, ``has_a``)."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass
class Context:
    """What a condition may read: its own fact type, earlier blocks, parameters, concepts."""

    fact_type: str
    aliases: Mapping[str, str] = field(default_factory=dict)  # earlier alias -> fact type
    own_alias: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)  # name -> value (or None: unknown)
    concepts: Any = None  # ConceptIndex; None skips concept checks and expansion


@dataclass(frozen=True)
class Condition:
    """A compiled condition: the typed tree, its durable JSON, the fields and aliases it reads."""

    text: str
    tree: Any
    durable: dict[str, Any] | None  # None when the condition is empty (always true)
    reads: frozenset[str]
    joins: frozenset[str]
    join_reads: frozenset[tuple[str, str]] = frozenset()  # (block, field) of earlier blocks


# -- parsing ---------------------------------------------------------------------------------

def _rewrite_infix(text: str) -> str:
    """`x is_a C` -> `x << C`, `xs has_a C` -> `xs >> C`, keeping every column in place."""
    lines = text.split("\n")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text
    significant = [t for t in tokens if t.type in (tokenize.NAME, tokenize.NUMBER,
                                                    tokenize.STRING, tokenize.OP)]
    for i, tok in enumerate(significant):
        if tok.type == tokenize.NAME and tok.string in _INFIX:
            prev = significant[i - 1] if i else None
            infix = prev is not None and (
                (prev.type == tokenize.NAME and prev.string not in ("and", "or", "not", "in"))
                or prev.type in (tokenize.NUMBER, tokenize.STRING)
                or (prev.type == tokenize.OP and prev.string in (")", "]")))
            if not infix:
                continue  # the function form is_a(x, C)
            row, col = tok.start
            op = _INFIX[tok.string].ljust(len(tok.string))
            line = lines[row - 1]
            lines[row - 1] = line[:col] + op + line[col + len(tok.string):]
    return "\n".join(lines)


def parse(text: str) -> ast.expr:
    """Parse the text as one expression; syntax errors carry the column."""
    source = " ".join(text.strip().splitlines()) if "\n" in text.strip() else text.strip()
    if not source:
        raise ExpressionError("empty condition")
    rewritten = _rewrite_infix(source)
    try:
        tree = ast.parse(rewritten, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}", exc.offset or None) from None
    return tree.body


def _col(node: ast.AST) -> int:
    return getattr(node, "col_offset", 0) + 1


def _describe(node: ast.AST) -> str:
    try:
        return ast.unparse(node).replace("<<", "is_a").replace(">>", "has_a")
    except Exception:  # pragma: no cover - ast.unparse handles every expr
        return type(node).__name__


class _Resolver:
    """AST -> typed tree, checking names, fields, types and concepts against the context."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.reads: set[str] = set()
        self.joins: set[str] = set()
        self.join_reads: set[tuple[str, str]] = set()
        own = FACT_TYPES.get(ctx.fact_type)
        if own is None:
            raise ExpressionError(f"unknown fact type {ctx.fact_type!r}")

    # values --------------------------------------------------------------------------------

    def operand(self, node: ast.AST) -> tuple[str, Any]:
        """('field', FieldRef) | ('literal', value) | ('concept', id) | ('list', [...])."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str | int | float | bool) or node.value is None:
                return "literal", node.value
            raise ExpressionError(f"unsupported constant {node.value!r}", _col(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd) \
                and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, int | float) \
                and not isinstance(node.operand.value, bool):
            v = node.operand.value
            return "literal", -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Name):
            name = node.id
            if name in _BOOL_NAMES:
                return "literal", _BOOL_NAMES[name]
            if name in _NULL_NAMES:
                return "literal", None
            if field_spec(self.ctx.fact_type, name) is not None:
                self.reads.add(name)
                return "field", FieldRef(name)
            if name in self.ctx.aliases or name == self.ctx.own_alias:
                raise ExpressionError(f"'{name}' is a condition block; name one of its "
                                      f"fields, e.g. {name}.region_code", _col(node))
            if name == "param":
                raise ExpressionError("name a parameter: param.<name>", _col(node))
            return "concept", name
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            head, attr = node.value.id, node.attr
            if head == "param":
                if attr not in self.ctx.params:
                    known = ", ".join(sorted(self.ctx.params)) or "none"
                    raise ExpressionError(f"unknown parameter param.{attr} (parameters of "
                                          f"this file: {known})", _col(node))
                return "literal", self.ctx.params[attr]
            if head == self.ctx.own_alias:
                return self.operand(ast.Name(id=attr, col_offset=node.col_offset))
            if head in self.ctx.aliases:
                ftype = self.ctx.aliases[head]
                if field_spec(ftype, attr) is None:
                    raise ExpressionError(
                        f"unknown field '{attr}' of {ftype} (block '{head}')"
                        + _suggest_field(ftype, attr), _col(node))
                self.joins.add(head)
                self.join_reads.add((head, attr))
                return "field", FieldRef(attr, head)
            raise ExpressionError(f"unknown block '{head}' in '{head}.{attr}' (earlier blocks: "
                                  f"{', '.join(sorted(self.ctx.aliases)) or 'none'})",
                                  _col(node))
        if isinstance(node, ast.List | ast.Tuple):
            out = []
            for elt in node.elts:
                kind, v = self.operand(elt)
                if kind == "field":
                    raise ExpressionError("a list holds values, not fields", _col(elt))
                if kind == "list":
                    raise ExpressionError("nested lists are not allowed", _col(elt))
                out.append((kind, v, elt))
            return "list", out
        raise ExpressionError(f"not allowed in a condition: {_describe(node)}", _col(node))

    def spec(self, ref: FieldRef) -> FieldSpec:
        ftype = self.ctx.fact_type if ref.alias is None else self.ctx.aliases[ref.alias]
        s = field_spec(ftype, ref.name)
        assert s is not None
        return s

    def check_value(self, spec: FieldSpec, fname: str, kind: str, value: Any,
                    node: ast.AST, op: str = "==") -> Any:
        """A literal or concept compared with a field of type `spec`: check and normalise."""
        if kind == "concept":
            if spec.type not in ("concept", "concept_list"):
                hint = (f"; to compare '{fname}' with the text, quote it: \"{value}\""
                        if spec.type in ("str", "str_list") else "")
                raise ExpressionError(
                    f"unknown field '{value}' of {self.ctx.fact_type}"
                    + (_suggest_field(self.ctx.fact_type, value) or hint), _col(node))
            return self.concept(spec, value, node)
        if value is None:
            raise ExpressionError("null can only be tested with == or != (missing field)",
                                  _col(node))
        t = spec.type
        if t in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ExpressionError(f"'{fname}' is a number; {value!r} is not", _col(node))
        elif t == "bool":
            if not isinstance(value, bool):
                raise ExpressionError(f"'{fname}' is true/false; {value!r} is not", _col(node))
            if op not in ("==", "!="):
                raise ExpressionError(f"'{fname}' is true/false: use == or !=", _col(node))
        elif t == "date":
            if not isinstance(value, str) or not _DATE.match(value):
                raise ExpressionError(f"'{fname}' is a date: compare with \"YYYY-MM-DD\"",
                                      _col(node))
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ExpressionError(f"not a date: {value!r}", _col(node)) from None
        elif t in ("str", "str_list"):
            if not isinstance(value, str):
                raise ExpressionError(f"'{fname}' is text: quote the value", _col(node))
        elif t in ("concept", "concept_list"):
            if not isinstance(value, str):
                raise ExpressionError(f"'{fname}' holds a concept id, not {value!r}",
                                      _col(node))
            if op not in ("==", "!="):
                raise ExpressionError(f"'{fname}' holds concepts: use ==, !=, in or is_a",
                                      _col(node))
            return self.concept(spec, value, node)
        return value

    def concept(self, spec: FieldSpec, cid: str, node: ast.AST) -> str:
        concepts = self.ctx.concepts
        if cid in spec.extra_values or concepts is None:
            return cid
        if cid not in concepts:
            raise ExpressionError(f"unknown concept '{cid}'"
                                  + concepts.suggest(cid, spec.kinds), _col(node))
        if spec.kinds and not any(concepts.has_kind(cid, k) for k in spec.kinds):
            kinds = sorted(concepts.concepts[cid].kinds)
            raise ExpressionError(f"'{cid}' is a {'/'.join(kinds)}, not a "
                                  f"{'/'.join(spec.kinds)}", _col(node))
        return cid

    def class_values(self, spec: FieldSpec, classes: list[tuple[str, Any, ast.AST]],
                     node: ast.AST) -> tuple[str, ...]:
        out: set[str] = set()
        for kind, cid, elt in classes:
            if kind not in ("concept", "literal") or not isinstance(cid, str):
                raise ExpressionError("is_a/has_a need a class (a concept id)", _col(elt))
            self.concept(spec, cid, elt)
            if self.ctx.concepts is not None and cid in self.ctx.concepts:
                out.update(self.ctx.concepts.descendants(cid))
            else:
                out.add(cid)
        return tuple(sorted(out))

    # boolean structure -----------------------------------------------------------------------

    def node(self, node: ast.AST) -> Any:
        if isinstance(node, ast.BoolOp):
            items = tuple(self.node(v) for v in node.values)
            return And(items) if isinstance(node.op, ast.And) else Or(items)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Not(self.node(node.operand))
        if isinstance(node, ast.Compare):
            parts = []
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                parts.append(self.compare(left, op, right, node))
                left = right
            return parts[0] if len(parts) == 1 else And(tuple(parts))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.LShift | ast.RShift):
            return self.class_test(node.left, node.right, isinstance(node.op, ast.RShift), node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = node.func.id
            if fn in ("is_a", "has_a"):
                if len(node.args) != 2 or node.keywords:
                    raise ExpressionError(f"{fn}(field, Class) takes two arguments", _col(node))
                return self.class_test(node.args[0], node.args[1], fn == "has_a", node)
            if fn == "exists":
                if len(node.args) != 1:
                    raise ExpressionError("exists(field) takes one field", _col(node))
                kind, ref = self.operand(node.args[0])
                if kind != "field" or ref.alias is not None:
                    raise ExpressionError("exists() takes a field of this fact", _col(node))
                return Exists(ref.name)
            raise ExpressionError(f"unknown function '{fn}' (allowed: is_a, has_a, exists)",
                                  _col(node))
        if isinstance(node, ast.Name | ast.Attribute):
            kind, ref = self.operand(node)
            if kind == "literal" and isinstance(ref, bool):
                return And(()) if ref else Or(())
            if kind == "field" and ref.alias is None and self.spec(ref).type == "bool":
                return Compare(ref.name, "==", True)
            if kind == "field":
                raise ExpressionError(f"'{_describe(node)}' is not true/false; compare it "
                                      "with something", _col(node))
            raise ExpressionError(f"unknown field '{_describe(node)}' of {self.ctx.fact_type}"
                                  + _suggest_field(self.ctx.fact_type, _describe(node)),
                                  _col(node))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return And(()) if node.value else Or(())
        raise ExpressionError(f"not allowed in a condition: {_describe(node)}", _col(node))

    def class_test(self, left: ast.AST, right: ast.AST, has: bool, node: ast.AST) -> Any:
        word = "has_a" if has else "is_a"
        kind, ref = self.operand(left)
        if kind == "concept":
            raise ExpressionError(f"unknown field '{ref}' of {self.ctx.fact_type}"
                                  + _suggest_field(self.ctx.fact_type, ref), _col(left))
        if kind != "field" or ref.alias is not None:
            raise ExpressionError(f"{word} tests a field of this fact: <field> {word} <Class>",
                                  _col(left))
        spec = self.spec(ref)
        if has and spec.type != "concept_list":
            raise ExpressionError(f"has_a needs a list of concepts; '{ref.name}' is "
                                  f"{spec.type} (use is_a)", _col(left))
        if not has and spec.type != "concept":
            hint = " (use has_a for a list)" if spec.type == "concept_list" else ""
            raise ExpressionError(f"is_a needs a concept field; '{ref.name}' is "
                                  f"{spec.type}{hint}", _col(left))
        rkind, rv = self.operand(right)
        classes = rv if rkind == "list" else [(rkind, rv, right)]
        values = self.class_values(spec, classes, right)
        return ListHas(ref.name, values) if has else AnyOf(ref.name, values)

    def compare(self, left: ast.AST, op_node: ast.cmpop, right: ast.AST, node: ast.AST) -> Any:
        if isinstance(op_node, ast.In | ast.NotIn):
            out = self.membership(left, right, node)
            return Not(out) if isinstance(op_node, ast.NotIn) else out
        if type(op_node) not in _OPS:
            raise ExpressionError(f"operator not allowed: {_describe(node)}", _col(node))
        op = _OPS[type(op_node)]
        lk, lv = self.operand(left)
        rk, rv = self.operand(right)
        if lk != "field" and rk == "field":  # put the field on the left
            lk, lv, rk, rv, left, right = rk, rv, lk, lv, right, left
            op = _MIRROR[op]
        if lk != "field":
            if lk == "concept":
                raise ExpressionError(f"unknown field '{lv}' of {self.ctx.fact_type}"
                                      + _suggest_field(self.ctx.fact_type, lv), _col(left))
            raise ExpressionError("a comparison needs a field of the fact", _col(node))
        if rk == "list":
            raise ExpressionError("compare with a list using 'in'", _col(right))
        if rk == "concept" and lv.alias is not None:
            raise ExpressionError(f"unknown field '{rv}' of {self.ctx.fact_type}"
                                  + _suggest_field(self.ctx.fact_type, rv), _col(right))
        if rk == "field":
            if lv.alias is not None and rv.alias is None:
                lv, rv, op = rv, lv, _MIRROR[op]
            if lv.alias is not None:
                raise ExpressionError(
                    f"a condition of this block must test a field of its own fact "
                    f"({self.ctx.fact_type}); move the test on '{lv.alias}.{lv.name}' to "
                    f"block '{lv.alias}'", _col(node))
            ls, rs = self.spec(lv), self.spec(rv)
            if not _comparable(ls, rs):
                raise ExpressionError(f"cannot compare '{lv.name}' ({ls.type}) with "
                                      f"'{_ref_text(rv)}' ({rs.type})", _col(node))
            if ls.is_list:
                raise ExpressionError(f"'{lv.name}' is a list: use 'in' or has_a", _col(node))
            return Compare(lv.name, op, ref=rv)
        spec = self.spec(lv)
        if lv.alias is not None:
            raise ExpressionError(
                f"a condition of this block must test a field of its own fact "
                f"({self.ctx.fact_type}); move the test on '{lv.alias}.{lv.name}' to block "
                f"'{lv.alias}'", _col(node))
        if spec.is_list:
            raise ExpressionError(f"'{lv.name}' is a list: use 'in' or has_a", _col(node))
        if rk == "literal" and rv is None:
            if op not in ("==", "!="):
                raise ExpressionError("null can only be tested with == or !=", _col(right))
            return Exists(lv.name, present=(op == "!="))
        value = self.check_value(spec, lv.name, rk, rv, right, op)
        return Compare(lv.name, op, value)

    def membership(self, left: ast.AST, right: ast.AST, node: ast.AST) -> Any:
        rk, rv = self.operand(right)
        lk, lv = self.operand(left)
        if rk == "list":
            if lk != "field" or lv.alias is not None:
                raise ExpressionError("'x in [..]' needs a field of this fact on the left",
                                      _col(left))
            spec = self.spec(lv)
            if spec.is_list:
                raise ExpressionError(f"'{lv.name}' is a list: use has_a", _col(left))
            values = tuple(self.check_value(spec, lv.name, k, v, elt) for k, v, elt in rv)
            return AnyOf(lv.name, values)
        if rk == "field" and rv.alias is None and self.spec(rv).is_list:
            spec = self.spec(rv)
            if lk not in ("literal", "concept"):
                raise ExpressionError("'<value> in <list field>' needs a value on the left",
                                      _col(left))
            item_spec = FieldSpec("concept" if spec.type == "concept_list" else "str",
                                  spec.description, spec.kinds, spec.extra_values)
            value = self.check_value(item_spec, rv.name, lk, lv, left)
            return ListHas(rv.name, (value,))
        raise ExpressionError("'in' needs a list: a field that holds a list, or [v1, v2, ...]",
                              _col(right))


def _ref_text(ref: FieldRef) -> str:
    return ref.name if ref.alias is None else f"{ref.alias}.{ref.name}"


def _comparable(a: FieldSpec, b: FieldSpec) -> bool:
    if a.is_number and b.is_number:
        return True
    text = {"str", "date", "concept"}
    if a.type in text and b.type in text:
        return True
    return a.type == b.type


def _suggest_field(fact_type: str, name: str) -> str:
    import difflib

    ft = FACT_TYPES.get(fact_type)
    if ft is None:
        return ""
    close = difflib.get_close_matches(name, list(ft.fields), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def compile_condition(text: str | None, ctx: Context) -> Condition:
    """Parse, check and compile one condition (``None``/empty: the fact type alone)."""
    if text is None or not str(text).strip():
        return Condition(text="", tree=And(()), durable=None, reads=frozenset(),
                         joins=frozenset())
    resolver = _Resolver(ctx)
    tree = resolver.node(parse(str(text)))
    return Condition(text=str(text), tree=tree, durable=to_durable(tree),
                     reads=frozenset(resolver.reads), joins=frozenset(resolver.joins),
                     join_reads=frozenset(resolver.join_reads))


# -- to durable_rules JSON ---------------------------------------------------------------------

def _rvalue(c: Compare) -> Any:
    if c.ref is None:
        return c.value
    if c.ref.alias is None:
        return {"$m": c.ref.name}
    return {c.ref.alias: c.ref.name}


def _leaf(c: Compare) -> dict[str, Any]:
    if c.op == "==":
        return {c.field: _rvalue(c)}
    return {_DURABLE[c.op]: {c.field: _rvalue(c)}}


def _any(field_name: str, values: tuple[Any, ...]) -> dict[str, Any]:
    if len(values) == 1:
        return {field_name: values[0]}
    return {"$or": [{field_name: v} for v in values]}


def _items(values: tuple[Any, ...]) -> dict[str, Any]:
    if len(values) == 1:
        return {"$i": values[0]}
    return {"$or": [{"$i": v} for v in values]}


_NEVER = {"$and": [{"$ex": {"id": 1}}, {"$nex": {"id": 1}}]}


def to_durable(tree: Any) -> dict[str, Any] | None:
    """The durable_rules condition for a tree (``None`` = no constraint)."""
    return _emit(_nnf(tree, False))


def _nnf(t: Any, neg: bool) -> Any:
    """Push `not` to the leaves, missing-aware: not(x == v) = x != v or x missing."""
    if isinstance(t, Not):
        return _nnf(t.item, not neg)
    if isinstance(t, And | Or):
        items = tuple(_nnf(i, neg) for i in t.items)
        flip = isinstance(t, And) == neg  # De Morgan
        return Or(items) if flip else And(items)
    if not neg:
        return t
    if isinstance(t, Compare):
        missing: tuple[Any, ...] = (Exists(t.field, False),)
        if t.ref is not None and t.ref.alias is None:
            missing += (Exists(t.ref.name, False),)
        return Or((Compare(t.field, _NEGATE[t.op], t.value, t.ref), *missing))
    if isinstance(t, Exists):
        return Exists(t.field, not t.present)
    if isinstance(t, AnyOf):
        return Or((And(tuple(Compare(t.field, "!=", v) for v in t.values)),
                   Exists(t.field, False)))
    if isinstance(t, ListHas):
        return Or((_NoneOf(t.field, t.values), Exists(t.field, False)))
    raise TypeError(t)  # pragma: no cover


@dataclass(frozen=True)
class _NoneOf:
    """Every item of the list differs from all values (negated ListHas)."""

    field: str
    values: tuple[Any, ...]


def _emit(t: Any) -> dict[str, Any] | None:
    if isinstance(t, Compare):
        return _leaf(t)
    if isinstance(t, Exists):
        return {("$ex" if t.present else "$nex"): {t.field: 1}}
    if isinstance(t, AnyOf):
        return _any(t.field, t.values)
    if isinstance(t, ListHas):
        return {"$iany": {t.field: _items(t.values)}}
    if isinstance(t, _NoneOf):
        inner = [{"$neq": {"$i": v}} for v in t.values]
        return {"$iall": {t.field: inner[0] if len(inner) == 1 else {"$and": inner}}}
    if isinstance(t, And | Or):
        parts = [p for p in (_emit(i) for i in t.items) if p is not None] \
            if isinstance(t, And) else [_emit(i) for i in t.items]
        if isinstance(t, And):
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else {"$and": parts}
        if any(p is None for p in parts):
            return None  # an always-true branch
        if not parts:
            return _NEVER
        return parts[0] if len(parts) == 1 else {"$or": parts}
    raise TypeError(t)  # pragma: no cover


# -- evaluation in Python (the reference semantics) ---------------------------------------------

def _cmp(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    try:
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                ">=": a >= b}[op]
    except TypeError:
        return False


def evaluate(tree: Any, fact: Mapping[str, Any],
             bindings: Mapping[str, Mapping[str, Any]] | None = None) -> bool:
    """Does `fact` satisfy the condition (with earlier blocks bound as `bindings`)?"""
    b = bindings or {}
    if isinstance(tree, And):
        return all(evaluate(i, fact, b) for i in tree.items)
    if isinstance(tree, Or):
        return any(evaluate(i, fact, b) for i in tree.items)
    if isinstance(tree, Not):
        return not evaluate(tree.item, fact, b)
    if isinstance(tree, Exists):
        return (fact.get(tree.field) is not None) == tree.present
    if isinstance(tree, Compare):
        if tree.ref is None:
            other = tree.value
        elif tree.ref.alias is None:
            other = fact.get(tree.ref.name)
        else:
            other = b.get(tree.ref.alias, {}).get(tree.ref.name)
        return _cmp(tree.op, fact.get(tree.field), other)
    if isinstance(tree, AnyOf):
        v = fact.get(tree.field)
        return v is not None and v in tree.values
    if isinstance(tree, ListHas):
        items = fact.get(tree.field) or []
        return any(i in tree.values for i in items)
    raise TypeError(tree)  # pragma: no cover


def walk(tree: Any, visit: Callable[[Any], None]) -> None:
    visit(tree)
    if isinstance(tree, And | Or):
        for i in tree.items:
            walk(i, visit)
    elif isinstance(tree, Not):
        walk(tree.item, visit)
