"""Property tests of the output conversions (datagen/outputs.py) against exact references:
labels hold every value of their column type, float outputs are the nearest float32/float64
(decimals: their nearest float64), lineage stays int64 — for random Arrow arrays."""

import decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.reader.outputs import float_matrix, label_array, lineage_int64

INT_TYPES = {"int8": (pa.int8(), -2**7, 2**7 - 1), "int16": (pa.int16(), -2**15, 2**15 - 1),
             "int32": (pa.int32(), -2**31, 2**31 - 1), "int64": (pa.int64(), -2**63, 2**63 - 1),
             "uint8": (pa.uint8(), 0, 2**8 - 1), "uint32": (pa.uint32(), 0, 2**32 - 1),
             "uint64": (pa.uint64(), 0, 2**64 - 1)}


@st.composite
def int_columns(draw, nulls=True):
    name = draw(st.sampled_from(sorted(INT_TYPES)))
    kind, lo, hi = INT_TYPES[name]
    edges = [st.integers(lo, hi), st.integers(max(lo, hi - 5), hi), st.integers(lo, min(hi, lo + 5))]
    for centre in (2**24, 2**53):  # where float32 / float64 stop holding every integer
        if centre < hi:
            edges.append(st.integers(centre - 3, centre + 3))
    near_edges = st.one_of(*edges)
    values = draw(st.lists(st.one_of(st.none(), near_edges) if nulls else near_edges, min_size=1, max_size=12))
    return name, pa.array(values, kind), values


@st.composite
def decimal_columns(draw):
    precision = draw(st.integers(1, 38))
    scale = draw(st.integers(0, precision))
    digits = st.integers(-(10**precision - 1), 10**precision - 1)
    exact = decimal.Context(prec=80)  # the default context would round beyond 28 digits
    values = [decimal.Decimal(v).scaleb(-scale, exact) for v in draw(st.lists(digits, min_size=1, max_size=12))]
    arr = pa.array([format(v, "f") for v in values]).cast(pa.decimal128(precision, scale))
    assert arr.to_pylist() == values
    return f"decimal128({precision}, {scale})", arr, values


def nearest(value, dtype) -> float:
    """The nearest ``dtype`` value to an exact number, ties to even, by exact arithmetic."""
    exact = Fraction(value)
    guess = dtype(float(exact))
    candidates = {guess, np.nextafter(guess, dtype(np.inf)), np.nextafter(guess, dtype(-np.inf))}
    bits = np.uint32 if dtype is np.float32 else np.uint64

    def key(c):
        return abs(Fraction(float(c)) - exact), int(np.array(c).view(bits)) & 1

    return float(min((c for c in candidates if np.isfinite(c)), key=key))


@settings(max_examples=60, deadline=None)
@given(column=int_columns(), dtype=st.sampled_from(["float32", "float64"]))
def test_integer_features_are_the_nearest_float(column, dtype):
    _, arr, values = column
    got = float_matrix([pa.chunked_array([arr[:1], arr[1:]])], dtype)[:, 0]
    assert got.dtype == np.dtype(dtype)
    np_type = np.float32 if dtype == "float32" else np.float64
    for g, v in zip(got.tolist(), values):
        assert (np.isnan(g) if v is None else g == nearest(v, np_type)), (g, v)


@settings(max_examples=60, deadline=None)
@given(column=decimal_columns())
def test_decimals_are_their_nearest_float64(column):
    name, arr, values = column
    assert float_matrix([arr], "float64")[:, 0].tolist() == [float(v) for v in values]
    assert label_array(arr, name, None, "y", "here").tolist() == [float(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(column=int_columns(nulls=False))
def test_integer_labels_keep_every_value(column):
    name, arr, values = column
    out = label_array(pa.chunked_array([arr]), name, None, "y", "here")
    assert out.tolist() == values and out.dtype.kind in "iu"


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=12), split=st.integers(0, 12))
def test_lineage_is_exact_int64(values, split):
    arr = pa.chunked_array([values[:split], values[split:]], pa.int64())
    out = lineage_int64(arr, "_source_row", "shard 'x'")
    assert out.dtype == np.int64 and out.tolist() == values
