"""One Arrow type per column across every input file (CSV and Parquet alike):
``unified_schema`` checks the files have the same columns and merges their types.

Rules (``unify_types``; ``None`` means "refuse: schema mismatch"):

- equal types, or a null (all-empty) column with anything -> that type;
- numbers (signed/unsigned integers, floats) -> the smallest type that holds every
  column's values, decided over all files at once so the order of the files never
  matters: int32 + int64 -> int64, uint8 + int8 -> int16, int16 + float32 -> float32,
  int32/int64 + float -> float64, uint64 + a signed int -> float64, float16 + anything
  else -> at least float32. This is numpy's (and ``pandas.concat``'s) promotion for two
  types, except float16 + int8/uint8 (float32, not float16); for three or more types
  numpy's pairwise promotion depends on their order (int8, uint16, float32 gives
  float64 one way round and float32 the other) and this rule does not.
  Reading casts *safely*: an integer that a float64 cannot hold exactly
  (beyond 2**53) is refused with the file's name, never rounded silently;
- timestamps with the same time zone (or both naive) -> the finest unit
  (s + ms -> ms, ms + ns -> ns); a value outside the finer unit's range is refused;
  timestamps with different zones -> the finest unit in UTC (the same instants; an
  --append keeps the dataset's zone, so the two agree); naive + zoned is refused;
- string + large_string -> large_string; binary likewise;
- dictionary (pandas category) of T + T, or two dictionaries of T -> T; a dictionary column
  alone is read as T too, so the stored type never depends on the writer;
- decimals -> the decimal with the most digits before and after the point that any of them has
  (decimal128(5, 2) + decimal128(12, 2) -> decimal128(12, 2); (5, 2) + (6, 1) -> (7, 2)); decimal256
  when any is one or above 38 digits, refused above 76 (every value keeps its exact value);
- lists (list, large_list) -> a list of the unified element type (large_list if any is large),
  structs with the same field names in the same order -> a struct of the unified field types: what
  pandas and Polars write for the same data (list<string> and large_list<large_string>) merges;
- anything else (string + int, bool + int, date + timestamp, naive + zoned timestamps, a list with
  a non-list) is refused. Text is never widened from numbers: the
  text of a number depends on how each file was written ("1" vs "1.0"), so a silent
  conversion would make groups and values depend on the file format.
"""

from __future__ import annotations

import pyarrow as pa

from datagen.contract.errors import SchemaError

from .sources import SourceFile

UNITS = ("s", "ms", "us", "ns")


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def unify_types(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The one type both ``a`` and ``b`` columns are read as, or ``None`` when they cannot be merged."""
    return unify_all([a, b])


def unify_all(types: list[pa.DataType]) -> pa.DataType | None:
    """The one type all of ``types`` are read as (the same for any order), or ``None``."""
    types = [t for t in types if not pa.types.is_null(t)]
    if not types:
        return pa.null()
    if len(set(types)) == 1:
        return types[0]
    plain = [_value_type(t) for t in types]  # a category column merges as its values
    if len(set(plain)) == 1:
        return plain[0]
    if all(_is_number(t) for t in plain):
        return _join_numbers(set(plain))
    if all(pa.types.is_decimal(t) for t in plain):
        return _join_decimals(plain)
    if all(_is_list(t) for t in plain):
        value = unify_all([t.value_type for t in plain])
        large = any(pa.types.is_large_list(t) for t in plain)
        return None if value is None else (pa.large_list(value) if large else pa.list_(value))
    if all(pa.types.is_struct(t) for t in plain):
        names = [[f.name for f in t] for t in plain]
        if any(n != names[0] for n in names):
            return None
        fields = [unify_all([t.field(i).type for t in plain]) for i in range(len(names[0]))]
        return None if any(f is None for f in fields) else pa.struct(list(zip(names[0], fields)))
    out = plain[0]
    for t in plain[1:]:
        out = _plain_unify(out, t) if out is not None else None
    return out


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


def _join_decimals(types: list[pa.DataType]) -> pa.DataType | None:
    """Digits before the point and after it: the most of either; decimal256 beyond 38 digits."""
    scale = max(t.scale for t in types)
    whole = max(t.precision - t.scale for t in types)
    precision = whole + scale
    if precision > 76:
        return None
    wide = precision > 38 or any(isinstance(t, pa.Decimal256Type) for t in types)
    return pa.decimal256(precision, scale) if wide else pa.decimal128(precision, scale)


_SIGNED = (pa.int8(), pa.int16(), pa.int32(), pa.int64())
_UNSIGNED = (pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())
_FLOAT_MANTISSA = {32: 24, 64: 53}


def _join_numbers(types: set[pa.DataType]) -> pa.DataType:
    """The smallest of int8..int64 (or uint8..uint64 when no type is signed), float32, float64 that holds
    every type's values exactly; float64 when none does (int64 + a float, uint64 + a signed int)."""
    floats = [t.bit_width for t in types if pa.types.is_floating(t)]
    ints = [t for t in types if pa.types.is_integer(t)]
    if not floats:
        signed = any(pa.types.is_signed_integer(t) for t in ints)
        for candidate in (_SIGNED if signed else _UNSIGNED):
            if all(_int_fits(t, candidate) for t in ints):
                return candidate
        return pa.float64()
    for bits in (32, 64):
        if max(floats) <= bits and all(t.bit_width + (0 if pa.types.is_unsigned_integer(t) else -1)
                                       <= _FLOAT_MANTISSA[bits] for t in ints):
            return pa.float32() if bits == 32 else pa.float64()
    return pa.float64()


def _int_fits(t: pa.DataType, into: pa.DataType) -> bool:
    if pa.types.is_signed_integer(t) == pa.types.is_signed_integer(into):
        return t.bit_width <= into.bit_width
    return pa.types.is_unsigned_integer(t) and t.bit_width < into.bit_width  # uint into a wider int


def _plain_unify(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    if a == b:
        return a
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        if a.tz != b.tz and (a.tz is None or b.tz is None):
            return None                   # a wall-clock time and an instant: not the same kind of value
        unit = UNITS[max(UNITS.index(a.unit), UNITS.index(b.unit))]
        return pa.timestamp(unit, a.tz if a.tz == b.tz else "UTC")
    for small, large in ((pa.string(), pa.large_string()), (pa.binary(), pa.large_binary())):
        if {a, b} == {small, large}:
            return large
    return None


def unified_schema(sources: list[SourceFile], schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for all sources (the rules are in ``unify``); every source is read as it.
    A mismatch names the column and both files."""
    ref_src, ref = sources[0], schemas[0]
    fields = {f.name: f.type for f in ref}
    origin = {f.name: ref_src.url for f in ref}
    seen: dict[str, list[pa.DataType]] = {n: [t] for n, t in fields.items()}
    for src, schema in zip(sources[1:], schemas[1:]):
        names = schema.names
        missing = [n for n in ref.names if n not in names]
        extra = [n for n in names if n not in ref.names]
        if missing or extra:
            what = f"lacks column {missing[0]!r}" if missing else f"has an extra column {extra[0]!r}"
            twin = unicode_twin(missing[0], names, src.url, ref_src.url) if missing else \
                unicode_twin(extra[0], ref.names, ref_src.url, src.url)
            raise SchemaError(f"schema mismatch: {src.url!r} {what} (compared with {ref_src.url!r}){twin}")
        for f in schema:
            if f.type == fields[f.name]:
                continue
            merged = unify_all(seen[f.name] + [f.type])  # all files at once: the order of the files never matters
            if merged is None:
                raise SchemaError(
                    f"schema mismatch: column {f.name!r} is {f.type} in {src.url!r} "
                    f"but {fields[f.name]} in {origin[f.name]!r}; convert one of them"
                )
            seen[f.name].append(f.type)
            if merged != fields[f.name]:
                origin[f.name] = src.url
            fields[f.name] = merged
    return pa.schema([pa.field(n, _stored(t)) for n, t in fields.items()])


def unicode_twin(name: str, names: list[str], where: str, name_from: str) -> str:
    """When ``names`` (the columns of ``where``) hold ``name`` (a column of ``name_from``) spelt in
    another Unicode form (NFC 'é' vs NFD 'e' + U+0301: they look identical), a note saying so with
    both spellings escaped; the columns are not merged. Else ''."""
    import unicodedata

    nfc = unicodedata.normalize("NFC", name)
    twin = next((n for n in names if n != name and unicodedata.normalize("NFC", n) == nfc), None)
    if twin is None:
        return ""
    return (f": it has {twin!r} spelt in another Unicode form, {ascii(twin)} in {where!r} but {ascii(name)} in "
            f"{name_from!r} (the same name once normalized to NFC); rename the column so every file spells it the "
            "same, e.g. normalize the headers to NFC")


def _stored(t: pa.DataType) -> pa.DataType:
    """The type a column is read and stored as: a null column as string; a dictionary
    (categorical) as its values' type, whichever writer made it (pandas int8 codes, Polars uint32)."""
    if pa.types.is_null(t):
        return pa.string()
    return t.value_type if pa.types.is_dictionary(t) else t


def csv_join(types: list[pa.DataType]) -> pa.DataType:
    """The type of a CSV column whose blocks (of every CSV file) Arrow read as ``types``: the
    ``unify_all`` type when there is one (int64 + float64 -> float64, timestamps -> the finest
    unit), else text, which holds every file's exact characters (int64 + bool, date + timestamp,
    number + text, ...); binary (text not in the encoding) stays binary, to be refused. Dates
    and time-zone-less timestamps give a timestamp (Arrow reads a date as its midnight).

    Arrow infers the first of null, int64, bool, date32, time32, timestamp (s, ns; naive, then
    with a zone), float64, text that holds every value, so the type of all the rows is this join
    of the types of any split of them into blocks: the type never depends on --blocksize."""
    if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in types):
        return pa.binary()
    present = [t for t in types if not pa.types.is_null(t)]
    if any(pa.types.is_date32(t) for t in present) and all(
            pa.types.is_date32(t) or (pa.types.is_timestamp(t) and t.tz is None) for t in present):
        stamps = [t for t in present if pa.types.is_timestamp(t)]
        if stamps:
            return unify_all(stamps)
    return unify_all(list(types)) or pa.string()
