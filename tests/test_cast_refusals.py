"""A value that would change when a column is cast to the type it is stored as is refused naming that
value: the first one, in row order, that the Python reference (Decimal quantize, integer range) says
does not fit. Checked on ``readcast.conform`` and once through ``split-datasets --append``."""

import decimal
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from splitters.readcast import conform

cents = st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


def refusal(values: list, have: pa.DataType, target: pa.DataType) -> str | None:
    table = pa.table({"v": pa.array(values, have)})
    try:
        conform(table, pa.schema([("v", target)]), None)
    except pa.ArrowInvalid as exc:
        return str(exc)
    return None


@settings(deadline=None, max_examples=60)
@given(st.lists(st.one_of(cents, st.none()), min_size=1, max_size=30))
def test_decimal_losing_digits_names_the_first_such_value(values):
    lossy = [v for v in values if v is not None and v != v.quantize(decimal.Decimal("0.01"))]
    message = refusal(values, pa.decimal128(12, 3), pa.decimal128(12, 2))
    if not lossy:
        assert message is None
    else:
        assert message is not None and "column 'v'" in message
        assert f"value {lossy[0]} would change" in message, message


@settings(deadline=None, max_examples=60)
@given(st.lists(st.one_of(st.integers(-2**40, 2**40), st.none()), min_size=1, max_size=30))
def test_integer_out_of_range_names_the_first_such_value(values):
    out = [v for v in values if v is not None and not -2**31 <= v < 2**31]
    message = refusal(values, pa.int64(), pa.int32())
    if not out:
        assert message is None
    else:
        assert message is not None and f"value {out[0]} would change" in message, message


def test_append_refusal_names_file_column_and_value(tmp_path):
    def day(path, start, prices):
        stamps = pa.array((np.arange(len(prices)) + start) * 3_600 * 10**9, pa.timestamp("ns", "UTC"))
        pq.write_table(pa.table({"ts": stamps, "p": pa.array(prices, pa.decimal128(10, 3))}), path)

    day(tmp_path / "a.parquet", 0, [decimal.Decimal("1.500")] * 24)
    day(tmp_path / "b.parquet", 24, [decimal.Decimal("1.500")] * 5 + [decimal.Decimal("2.125")] * 19)
    cli = [sys.executable, "-m", "splitters.cli", "--out", str(tmp_path / "out"), "--time-column", "ts",
           "--group-by", "day"]
    pq.write_table(pq.read_table(tmp_path / "a.parquet").cast(
        pa.schema([("ts", pa.timestamp("ns", "UTC")), ("p", pa.decimal128(10, 2))])), tmp_path / "a2.parquet")
    first = subprocess.run([*cli[:3], str(tmp_path / "a2.parquet"), *cli[3:]], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    r = subprocess.run([*cli[:3], str(tmp_path / "b.parquet"), *cli[3:], "--append"], capture_output=True, text=True)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    for needle in ("b.parquet", "column 'p'", "value 2.125 would change"):
        assert needle in r.stderr, r.stderr


@pytest.mark.parametrize("values, have, target", [
    (["abc"], pa.string(), pa.int64()),             # a parse failure: Arrow's own message stands
    ([1.5], pa.float64(), pa.int64()),              # floats into integers: refused by the whole-number check
])
def test_other_refusals_keep_their_messages(values, have, target):
    message = refusal(values, have, target)
    assert message is not None and "column 'v'" in message


@settings(deadline=None, max_examples=60)
@given(st.lists(st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=20))
def test_csv_decimals_beyond_the_precision_are_refused(values):
    """Arrow's CSV reader parses decimal text into decimal128(5, 2) without checking the precision (1234.5
    became an invalid shard that verify passed); conform refuses the first value of 4 or more integer
    digits, naming it, and passes the rest."""
    import io

    from pyarrow import csv

    text = "v\n" + "\n".join(str(v) for v in values) + "\n"
    too_big = [v for v in values if abs(v) >= 1000]
    try:
        table = csv.read_csv(io.BytesIO(text.encode()),
                             convert_options=csv.ConvertOptions(column_types={"v": pa.decimal128(5, 2)}))
    except pa.ArrowInvalid:   # the reader itself refuses some spellings ('1000.00'): also a refusal
        assert too_big
        return
    try:
        conformed = conform(table, pa.schema([("v", pa.decimal128(5, 2))]), None)
    except pa.ArrowInvalid as exc:
        assert too_big and f"holds {table.column(0)[values.index(too_big[0])]}" in str(exc), str(exc)
    else:
        assert not too_big
        conformed.validate(full=True)
