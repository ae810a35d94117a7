"""Property tests of the ``where`` compiler: random filters over random group values agree with a
direct evaluation of the generated expression tree (and with ``pandas.DataFrame.query`` where
pandas has the same semantics), and no string whatsoever raises anything but FilterError."""

import math
import operator

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from datagen.contract.errors import FilterError
from datagen.reader.where import compile_where

NAMES = ["n", "s", "b"]
TYPES = {"n": "double", "s": "string", "b": "bool"}
ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

numbers = st.one_of(st.integers(-5, 5), st.sampled_from([0.5, -0.0, 2.25, -3.5]))
strings = st.sampled_from(["a", "b", "ab", "", "B", "é"])
literal_of = {"n": numbers, "s": strings, "b": st.booleans()}
values_of = {"n": st.one_of(numbers, st.just(math.nan)), "s": strings, "b": st.booleans()}


def group(nulls: bool):
    return st.fixed_dictionaries({k: (st.one_of(st.none(), v) if nulls else v) for k, v in values_of.items()})


# -- expression trees: ("cmp", [operand, op, operand, ...]) | ("in", col, negated, values) | ("bare", col)
#    | ("not", e) | ("and"/"or", [e, ...]); operands are ("col", name) or ("lit", value)
def comparison(with_none: bool):
    @st.composite
    def build(draw):
        col = draw(st.sampled_from(NAMES))
        lits = literal_of[col] if not with_none else st.one_of(literal_of[col], st.none())
        kind = draw(st.sampled_from(["cmp", "cmp", "chain", "in", "bare"] if col == "b" else ["cmp", "chain", "in"]))
        if kind == "bare":
            return ("bare", col)
        if kind == "in":
            return ("in", col, draw(st.booleans()), draw(st.lists(lits, max_size=4)))
        ops = list(ORDER) + ["==", "!="]
        lit = draw(lits)
        eq_only = lit is None
        op = draw(st.sampled_from(["==", "!="] if eq_only else ops))
        parts = [("lit", lit), op, ("col", col)] if draw(st.booleans()) else [("col", col), op, ("lit", lit)]
        if kind == "chain" and not eq_only:
            parts += [draw(st.sampled_from(ops)), ("lit", draw(literal_of[col]))]
        return ("cmp", parts)

    return build()


def expressions(with_none: bool):
    return st.recursive(
        comparison(with_none),
        lambda inner: st.one_of(st.tuples(st.just("not"), inner),
                                st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3))),
        max_leaves=6)


def render(e) -> str:
    tag = e[0]
    if tag == "bare":
        return e[1]
    if tag == "not":
        return f"not ({render(e[1])})"
    if tag in ("and", "or"):
        return f" {tag} ".join(f"({render(x)})" for x in e[1])
    if tag == "in":
        return f"{e[1]} {'not in' if e[2] else 'in'} [{', '.join(repr(v) for v in e[3])}]"
    return " ".join(p if isinstance(p, str) else (p[1] if p[0] == "col" else repr(p[1])) for p in e[1])


def ref_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b  # the generator only compares values of one kind; NaN equals nothing


def evaluate(e, g: dict) -> bool:
    """The documented semantics, evaluated on the tree (not on the string)."""
    tag = e[0]
    if tag == "bare":
        return g[e[1]] is True
    if tag == "not":
        return not evaluate(e[1], g)
    if tag == "and":
        return all(evaluate(x, g) for x in e[1])
    if tag == "or":
        return any(evaluate(x, g) for x in e[1])
    if tag == "in":
        found = any(ref_equal(g[e[1]], v) for v in e[3])
        return not found if e[2] else found
    parts = [g[p[1]] if isinstance(p, tuple) and p[0] == "col" else p[1] if isinstance(p, tuple) else p
             for p in e[1]]
    for i in range(0, len(parts) - 2, 2):
        a, op, b = parts[i], parts[i + 1], parts[i + 2]
        if op == "==":
            ok = ref_equal(a, b)
        elif op == "!=":
            ok = not ref_equal(a, b)
        else:
            ok = a is not None and b is not None and ORDER[op](a, b)
        if not ok:
            return False
    return True


def _stored(g: dict) -> dict:
    """As a manifest may hold it: NaN group values written as the string "NaN"."""
    return {k: ("NaN" if isinstance(v, float) and math.isnan(v) else v) for k, v in g.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions(with_none=True), groups=st.lists(group(nulls=True), min_size=1, max_size=8))
def test_where_matches_the_reference(expr, groups):
    text = render(expr)
    stored = [_stored(g) for g in groups]
    predicate = compile_where(text, NAMES, stored, TYPES)
    assert [predicate(g) for g in stored] == [evaluate(expr, g) for g in groups], text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions(with_none=False), groups=st.lists(group(nulls=False), min_size=1, max_size=8))
def test_where_matches_pandas_query(expr, groups):
    """Without nulls, bare names and chained comparisons (which pandas.query does not read as Python
    does: ``s < 'b' == 'b'``), pandas.query has the same semantics (NaN compares false)."""
    text = render(expr)
    assume(not _has_bare(expr) and not _has_chain(expr))
    frame = pd.DataFrame(groups, columns=NAMES).astype({"n": "float64", "s": object, "b": bool})
    expected = frame.index.isin(frame.query(text, engine="python").index).tolist()
    predicate = compile_where(text, NAMES, groups, TYPES)
    assert [predicate(g) for g in groups] == expected, text


def _has_chain(e) -> bool:
    if e[0] == "cmp":
        return len(e[1]) > 3
    if e[0] == "not":
        return _has_chain(e[1])
    return e[0] in ("and", "or") and any(_has_chain(x) for x in e[1])


def _has_bare(e) -> bool:
    if e[0] == "bare":
        return True
    if e[0] == "not":
        return _has_bare(e[1])
    return e[0] in ("and", "or") and any(_has_bare(x) for x in e[1])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(col=st.sampled_from(NAMES), groups=st.lists(group(nulls=True), min_size=1, max_size=5),
       data=st.data())
def test_dict_form_matches_the_reference(col, groups, data):
    allowed = data.draw(st.lists(st.one_of(st.none(), literal_of[col]), max_size=4))
    predicate = compile_where({col: allowed}, NAMES, groups, TYPES)
    assert [predicate(g) for g in groups] == [any(ref_equal(g[col], v) for v in allowed) for g in groups]


@pytest.mark.parametrize("text, column", [("n == 'a'", "n"), ("s < 1", "s"), ("b == 1", "b"), ("n in [1, 'a']", "n"),
                                          ("'a' <= n", "n"), ("n", "n"), ("s", "s")])
def test_literals_of_another_kind_are_refused_naming_the_column(text, column):
    groups = [{"n": 1.5, "s": "a", "b": True}, {"n": None, "s": None, "b": None}]
    with pytest.raises(FilterError, match=f"'{column}'"):
        compile_where(text, NAMES, groups, TYPES)


TOKENS = ["n", "s", "b", "x", "==", "!=", "<", ">=", "in", "not", "and", "or", "is", "(", ")", "[", "]", ",", "-",
          "+", "*", "1", "2.5", "'a'", "None", "True", "1e400", "10**9", "__import__", ".", ":", "lambda", "\x00",
          "if", "else", "{", "}", '"', "\\", "#", "=", "@", "j", "1j", "..."]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)),
       groups=st.lists(group(nulls=True), min_size=1, max_size=4))
def test_garbage_raises_only_filter_error(text, groups):
    stored = [_stored(g) for g in groups]
    try:
        predicate = compile_where(text, NAMES, stored, TYPES)
    except FilterError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("where")
        return
    for g in stored:
        assert predicate(g) in (True, False)


@pytest.mark.parametrize("depth", [10, 60, 200, 3000])
def test_deep_nesting_is_a_filter_error_or_works(depth):
    for text in ("not " * depth + "n == 1", "(" * depth + "n == 1" + ")" * depth, "-" * depth + "1 == n"):
        try:
            predicate = compile_where(text, NAMES, [{"n": 1, "s": "a", "b": True}], TYPES)
        except FilterError as exc:
            assert "\n" not in str(exc)
            continue
        assert predicate({"n": 1, "s": "a", "b": True}) in (True, False)


def test_a_dataset_without_group_columns():
    assert compile_where(None, [])({}) is True
    with pytest.raises(FilterError, match="unknown column 'grp'; this dataset has no group columns"):
        compile_where("grp == 1", [])
    with pytest.raises(FilterError, match="unknown column 'grp'; this dataset has no group columns"):
        compile_where({"grp": 1}, [])
