"""``where`` filters on group values, parsed safely (an AST whitelist, never ``eval``).

A string such as ``"month <= 10 and day in [1, 2]"`` or ``"date >= '2024-03-01'"``,
or a dict ``{"month": [1, 2], "carrier": "AA"}`` (a value or a list of allowed
values per column). Names must be group columns of the dataset, so the filter
is decided from the manifest alone and pruned shards are never opened.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Callable

from .errors import FilterError

Predicate = Callable[[dict], bool]

_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def _literal(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return tuple(_literal(e, text) for e in node.elts)
    raise FilterError(f"where {text!r}: expected a number, string, None or a list of them, "
                      f"got {ast.unparse(node)!r}")


def _compile(node: ast.AST, names: set[str], text: str) -> Callable[[dict], Any]:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, names, text) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda g: all(p(g) for p in parts)
        return lambda g: any(p(g) for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand, names, text)
        return lambda g: not inner(g)
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        getters = [_operand(o, names, text) for o in operands]
        ops = []
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise FilterError(f"where {text!r}: operator {type(op).__name__} is not allowed")
            ops.append(_COMPARE[type(op)])

        def compare(g: dict) -> bool:
            values = [get(g) for get in getters]
            try:
                return all(op(a, b) for op, a, b in zip(ops, values, values[1:]))
            except TypeError:
                raise FilterError(f"where {text!r}: cannot compare {values!r} (types differ)") from None

        return compare
    if isinstance(node, ast.Name):
        return _operand(node, names, text)
    raise FilterError(f"where {text!r}: expected comparisons joined by and/or/not, got {ast.unparse(node)!r}")


def _operand(node: ast.AST, names: set[str], text: str) -> Callable[[dict], Any]:
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise FilterError(f"where {text!r}: unknown column {node.id!r}; filters apply to the group "
                              f"columns {', '.join(sorted(names))}")
        key = node.id
        return lambda g: g[key]
    value = _literal(node, text)
    return lambda g: value


def compile_where(where: str | dict | None, group_names: list[str]) -> Predicate:
    """A predicate over a shard's group dict; raises FilterError on anything unsafe or unknown."""
    names = set(group_names)
    if where is None:
        return lambda g: True
    if isinstance(where, dict):
        allowed = {}
        for key, value in where.items():
            if key not in names:
                raise FilterError(f"where: unknown column {key!r}; filters apply to the group columns "
                                  f"{', '.join(sorted(names))}")
            allowed[key] = set(value) if isinstance(value, (list, tuple, set)) else {value}
        return lambda g: all(g[k] in vals for k, vals in allowed.items())
    if not isinstance(where, str) or not where.strip():
        raise FilterError(f"where: expected a filter string or a dict, got {where!r}")
    try:
        tree = ast.parse(where.strip(), mode="eval")
    except SyntaxError as exc:
        raise FilterError(f"where {where!r}: not a valid filter ({exc.msg})") from None
    return _compile(tree.body, names, where)
