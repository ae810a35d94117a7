"""``where`` filters on group values, parsed safely (an AST whitelist, never ``eval``).

A string such as ``"month <= 10 and day in [1, 2]"`` or ``"date >= '2024-03-01'"``,
or a dict ``{"month": [1, 2], "carrier": "AA"}`` (a value or a list of allowed
values per column). Names must be group columns of the dataset, so the filter
is decided from the manifest alone and pruned shards are never opened.

Semantics (decided for every shard, never an error once compiled):

* ``==``, ``!=``, ``in``, ``not in`` compare values; ``None`` is the null group, so
  ``month == None`` selects it and ``month != 3`` matches it. NaN is a group of its own in a
  float column: ``f == 'NaN'`` (or ``{"f": ["NaN"]}``, ``f == 'Infinity'``) selects it, as the
  manifest spells those values (and ``gen.config`` writes non-finite floats of a ``where`` dict).
* ``<``, ``<=``, ``>``, ``>=`` never match a null or NaN group value.
* Values of different kinds (number, string, true/false) are never equal and never
  ordered. A literal of a kind that a column does not hold (``month == 'a'`` when
  month holds numbers) is refused with a FilterError naming the column.
* Decimal, timestamp, date and time columns compare by value, never as text: a literal compared
  with one is read as the column's type (typed_values.py: ``price >= 2`` and ``price == '2.0'``
  match 2.00; ``'2024-01-01T10:00+01:00'`` is 09:00 UTC; text without an offset is UTC), and one
  that does not parse as that type is refused.
* ``and``, ``or``, ``not`` are plain two-valued logic over those results; a bare name
  (``flag``) is allowed for true/false columns and means ``flag == True``.
* A column name that is not a Python identifier goes in backticks: `Primary Type` == 'THEFT' (where_parse.py).

Anything else, including over-long (more than MAX_LENGTH characters) or too deeply
nested (more than MAX_DEPTH levels) expressions, is a one-line FilterError.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Callable, Iterable

from datagen.contract.errors import FilterError
from .filter_values import equal, group_kinds, kind, non_finite, normaliser, ordered, python_value
from .outputs import FLOAT_TYPES, INT_BITS
from .typed_values import typed_kind, typed_value
from .where_parse import MAX_DEPTH, MAX_LENGTH, parse_where  # noqa: F401  (the limits are documented here)

Predicate = Callable[[dict], bool]
_ORDER = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_EQUALITY = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _columns(kinds: dict) -> str:
    if not kinds:
        return "this dataset has no group columns to filter on"
    return f"filters apply to the group columns {', '.join(sorted(kinds))}"


def _show(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


class _Compiler:
    def __init__(self, text: str, kinds: dict[str, set[str]], types: dict[str, str]):
        self.text = text
        self.kinds = kinds   # column -> kinds of its non-null values (empty: unknown)
        self.types = types   # column -> manifest type: how a literal compared with that column is read

    def fail(self, message: str) -> FilterError:
        return FilterError(f"where {_show(self.text)}: {message}")

    def node(self, node: ast.AST) -> Callable[[dict], bool]:
        if isinstance(node, ast.BoolOp):
            parts = [self.node(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda g: all(p(g) for p in parts)
            return lambda g: any(p(g) for p in parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.node(node.operand)
            return lambda g: not inner(g)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            key = self.name(node)
            if self.kinds[key] - {"bool"}:
                raise self.fail(f"a bare column name is a filter only for a true/false column; {key!r} holds "
                                f"{'/'.join(sorted(self.kinds[key]))} values (write e.g. {key} == ...)")
            return lambda g: g.get(key) is True
        raise self.fail(f"expected comparisons joined by and/or/not, got {_show(_unparse(node))}")

    def name(self, node: ast.Name) -> str:
        if node.id not in self.kinds:
            raise self.fail(f"unknown column {node.id!r}; {_columns(self.kinds)}")
        return node.id

    def compare(self, node: ast.Compare) -> Callable[[dict], bool]:
        operands = [node.left, *node.comparators]
        checks = []
        for op, left, right in zip(node.ops, operands, operands[1:]):
            if type(op) not in _ORDER and not isinstance(op, _EQUALITY):
                raise self.fail(f"operator {type(op).__name__} is not allowed (use == != < <= > >= in, not in)")
            is_in = isinstance(op, (ast.In, ast.NotIn))
            if isinstance(left, (ast.List, ast.Tuple, ast.Set)):
                raise self.fail(f"a list may only follow 'in' or 'not in', got {_show(_unparse(left))}")
            if is_in != isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                raise self.fail(f"'in' and 'not in' take a list such as [1, 2] and lists go nowhere else, "
                                f"got {_show(_unparse(right))}")
            column = next((n.id for n in (left, right) if isinstance(n, ast.Name)), None)
            get_left, left_kinds = self.operand(left, column)
            get_right, right_kinds = self.operand(right, column)
            clash = not right_kinds <= left_kinds if is_in else not left_kinds & right_kinds
            if left_kinds and right_kinds and clash:
                raise self.fail(self.mismatch(left, left_kinds, right, right_kinds))
            checks.append(_check(op, get_left, get_right))
        return lambda g: all(c(g) for c in checks)

    @staticmethod
    def mismatch(left: ast.AST, left_kinds: set[str], right: ast.AST, right_kinds: set[str]) -> str:
        if not isinstance(left, ast.Name) and isinstance(right, ast.Name):
            left, left_kinds, right, right_kinds = right, right_kinds, left, left_kinds
        what = f"column {left.id!r}" if isinstance(left, ast.Name) else _show(_unparse(left))
        return (f"{what} holds {'/'.join(sorted(left_kinds))} values, cannot compare it with "
                f"{_show(_unparse(right))} ({'/'.join(sorted(right_kinds))})")

    def operand(self, node: ast.AST, column: str | None = None) -> tuple[Callable[[dict], Any], set[str]]:
        """A getter and the kinds of value it can give (empty: not known); a literal compared with
        ``column`` is read as that column's type (floats: "NaN"; decimals, timestamps, dates, times)."""
        spell = _literal_reader(column, self.types.get(column or ""), self.fail)
        if isinstance(node, ast.Name):
            key = self.name(node)
            return (lambda g: g.get(key)), set(self.kinds[key])
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            values = tuple(spell(self.literal(e)) for e in node.elts)
            return (lambda g: values), {kind(v) for v in values} - {"null"}
        value = spell(self.literal(node))
        return (lambda g: value), {kind(value)} - {"null"}

    def literal(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and kind(node.value) != "other":
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.literal(node.operand)
            if kind(value) == "number":
                return -value if isinstance(node.op, ast.USub) else value
        raise self.fail(f"expected a column, a number, a string, True/False/None or (after 'in') a list of them, "
                        f"got {_show(_unparse(node))}")


def _literal_reader(column: str | None, type_name: str | None, fail: Callable[[str], Exception]) -> Callable:
    """How a literal compared with ``column`` is read: as is, a number column's "NaN" (an integer column
    never holds one: such a literal matches nothing, as the float does), or a typed value."""
    if type_name in FLOAT_TYPES or type_name in INT_BITS:
        return non_finite
    typed = typed_kind(type_name)
    if not typed:
        return lambda v: v

    def read(v: Any) -> Any:
        if kind(v) in ("null", "other"):
            return v
        try:
            return typed_value(v, typed)
        except (ValueError, ArithmeticError, TypeError, OverflowError):
            spelled = "a number or text such as '2.50'" if typed == "number" else f"ISO-8601 {typed} text" + (
                " without an offset (the column holds zone-less times)" if typed == "wall-clock timestamp" else "")
            raise fail(f"column {column!r} is {type_name}, compared by value: {v!r} is not {spelled}") from None
    return read


def _check(op: ast.cmpop, get_left: Callable, get_right: Callable) -> Callable[[dict], bool]:
    if isinstance(op, ast.Eq):
        return lambda g: equal(get_left(g), get_right(g))
    if isinstance(op, ast.NotEq):
        return lambda g: not equal(get_left(g), get_right(g))
    if isinstance(op, ast.In):
        return lambda g: any(equal(get_left(g), v) for v in get_right(g))
    if isinstance(op, ast.NotIn):
        return lambda g: not any(equal(get_left(g), v) for v in get_right(g))
    fn = _ORDER[type(op)]
    return lambda g: ordered(fn, get_left(g), get_right(g))


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (RecursionError, ValueError):
        return type(node).__name__


def compile_where(where: str | dict | None, group_names: list[str], groups: Iterable[dict] = (),
                  types: dict[str, str] | None = None) -> Predicate:
    """A predicate over a shard's group dict; raises FilterError on anything unsafe or unknown.

    ``groups`` (the shards' group dicts) tells which kinds of value each column holds, so a literal of
    another kind is refused here; ``types`` (column -> manifest type) lets "NaN" strings count as NaN."""
    types = types or {}
    norm = normaliser(types)
    kinds = group_kinds(group_names, (norm(g) for g in groups))
    if where is None:
        return lambda g: True
    if isinstance(where, dict):
        return _compile_dict(where, kinds, types, norm)
    if not isinstance(where, str) or not where.strip():
        raise FilterError(f"where: expected a filter string or a dict, got {where!r}")
    tree = parse_where(where, lambda m: FilterError(f"where {_show(where)}: {m}"))
    compiled = _Compiler(where, kinds, types).node(tree.body)
    return lambda g: bool(compiled(norm(g)))


def _compile_dict(where: dict, kinds: dict[str, set[str]], types: dict[str, str],
                  norm: Callable[[dict], dict]) -> Predicate:
    allowed: dict[str, tuple] = {}
    for key, value in where.items():
        if not isinstance(key, str) or key not in kinds:
            raise FilterError(f"where: unknown column {key!r}; {_columns(kinds)}")
        values = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)
        spell = _literal_reader(key, types.get(key), lambda m: FilterError(f"where[{key!r}]: {m}"))
        values = tuple(spell(python_value(v)) for v in values)
        for v in values:
            k = kind(v)
            if k == "other":
                raise FilterError(f"where[{key!r}]: expected a number, string, True/False, None or a list of them, "
                                  f"got {v!r}")
            if k != "null" and kinds[key] and k not in kinds[key]:
                raise FilterError(f"where[{key!r}]: column {key!r} holds {'/'.join(sorted(kinds[key]))} values, "
                                  f"cannot match {v!r} ({k})")
        allowed[key] = values

    def predicate(g: dict) -> bool:
        g = norm(g)
        return all(any(equal(g.get(k), v) for v in vals) for k, vals in allowed.items())

    return predicate
