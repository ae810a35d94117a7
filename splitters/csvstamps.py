"""The unit of a CSV timestamp column, the same whatever --blocksize. Arrow infers timestamp[s]
for a piece whose values have no fraction of a second and timestamp[ns] when some have one, and
text when ns cannot hold a value (a 9999 sentinel next to fractions), so the join of the pieces'
types alone would depend on how rows fall into pieces (ns + s is ns, which cannot read 9999).

So each piece also reports, per timestamp (or date) column, whether it holds fractions of a
second, whether any value has digits below the microsecond, and its least and greatest value (in
ns, as Python ints); a text piece whose first value looks like a date is read again as
timestamp[us] (naive, then UTC) to learn whether it is all timestamps. The joined facts decide:
no fractions -> s; fractions, all within ns's range (1677-09-21 .. 2262-04-11) -> ns; else
microseconds -> us; digits below the microsecond outside ns's range -> text (exact characters)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .missing_times import NA_TEXT

NS_LO, NS_HI = -(2 ** 63) + 1, 2 ** 63 - 1
_PER_NS = {"s": 10 ** 9, "ms": 10 ** 6, "us": 10 ** 3, "ns": 1}
_LOOKS_LIKE_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Stamps:
    fraction: bool      # some value has a fraction of a second (Arrow did not read it as seconds)
    sub_us: bool        # some value has digits below the microsecond
    lo: int | None      # least and greatest value in ns (None: all null)
    hi: int | None

    def merge(self, other: "Stamps") -> "Stamps":
        los = [v for v in (self.lo, other.lo) if v is not None]
        his = [v for v in (self.hi, other.hi) if v is not None]
        return Stamps(self.fraction or other.fraction, self.sub_us or other.sub_us,
                      min(los) if los else None, max(his) if his else None)


def _facts(col, fraction: bool) -> Stamps:
    t = col.type
    per_ns = 86_400 * 10 ** 9 if pa.types.is_date32(t) else _PER_NS[t.unit]
    ints = col.cast(pa.int32() if pa.types.is_date32(t) else pa.int64())
    mm = pc.min_max(ints).as_py()
    sub_us = pa.types.is_timestamp(t) and t.unit == "ns" and bool(
        pc.any(pc.not_equal(pc.subtract(ints, pc.multiply(pc.divide(ints, 1000), 1000)), 0)).as_py())
    lo = None if mm["min"] is None else mm["min"] * per_ns
    hi = None if mm["max"] is None else mm["max"] * per_ns
    return Stamps(fraction, sub_us, lo, hi)


def piece_stamps(table: pa.Table, reopen, options) -> tuple[dict[str, pa.DataType], dict[str, Stamps]]:
    """(column -> the type a text column of this piece really has when all its values are
    timestamps, column -> Stamps of every timestamp or date column); ``reopen()`` gives the piece's
    text again, ``options`` the (read, parse) options it was read with."""
    retyped, facts = {}, {}
    for f, col in zip(table.schema, table.columns):
        if pa.types.is_timestamp(f.type) or pa.types.is_date32(f.type):
            facts[f.name] = _facts(col, pa.types.is_timestamp(f.type) and f.type.unit != "s")
        elif pa.types.is_string(f.type):
            first = next((v for v in pc.drop_null(col).to_pylist() if v), None)
            if first is None or not _LOOKS_LIKE_DATE.match(first):
                continue
            stamps = _as_stamps(f.name, reopen, options)
            if stamps is not None:
                retyped[f.name] = stamps.type
                facts[f.name] = _facts(stamps, True)   # Arrow could not read it as s: fractions
    return retyped, facts


def _as_stamps(name: str, reopen, options):
    read, parse = options
    for tz in (None, "UTC"):
        convert = pacsv.ConvertOptions(include_columns=[name], column_types={name: pa.timestamp("us", tz)},
                                       null_values=["", *NA_TEXT])
        try:
            with reopen() as fh:
                return pacsv.read_csv(fh, read_options=read, parse_options=parse,
                                      convert_options=convert).column(name)
        except pa.ArrowInvalid:
            continue
    return None


def stamp_type(joined: pa.DataType, facts: Stamps | None) -> pa.DataType:
    """The timestamp type ``joined`` (a join of pieces' types) with the unit the facts call for."""
    if not pa.types.is_timestamp(joined) or facts is None:
        return joined
    if not facts.fraction:
        return pa.timestamp("s", joined.tz)
    fits = facts.lo is None or (NS_LO <= facts.lo and facts.hi <= NS_HI)
    if fits:
        return pa.timestamp("ns", joined.tz)
    return pa.string() if facts.sub_us else pa.timestamp("us", joined.tz)


def merge_stamps(into: dict[str, Stamps], facts: dict[str, Stamps]) -> None:
    for name, s in facts.items():
        into[name] = into[name].merge(s) if name in into else s
