"""Checking the options' columns against the unified input schema, before anything is
written: the time, label and group columns exist and are of a usable kind, and no input
column clashes with a lineage column or a derived group part. Raises ColumnError (a
usage error: the option names a column the data does not have, or one of the wrong kind)."""

from __future__ import annotations

import pyarrow as pa

from datagen.contract.errors import ColumnError
from datagen.contract.format import SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN

from .config import DERIVED_PARTS, OutputSettings
from .groupvalues import check_group_type
from .sources import SourceFile
from .timekeys import check_time_type


def check_columns(cfg: OutputSettings, schema: pa.Schema, sources: list[SourceFile]) -> None:
    names = set(schema.names)
    where = sources[0].url if len(sources) == 1 else f"{len(sources)} input files"
    for reserved in (SOURCE_ID_COLUMN, SOURCE_ROW_COLUMN):
        if reserved in names:
            raise ColumnError(f"input column {reserved!r} clashes with the lineage column of that name; rename it")
    if cfg.time_column is not None and cfg.time_column not in names:
        raise ColumnError(f"time column {cfg.time_column!r} not found in {where}"
                          f"{_other_form(cfg.time_column, schema.names)} (columns: {listed(schema.names)})")
    if cfg.label is not None and cfg.label not in names:
        raise ColumnError(f"label column {cfg.label!r} not found in {where}{_other_form(cfg.label, schema.names)} "
                          f"(columns: {listed(schema.names)})")
    if cfg.label is not None:
        check_label_type(cfg.label, schema.field(cfg.label).type)
    for g in cfg.group_by:  # a name that is a column means that column; else a calendar part is derived
        if g in DERIVED_PARTS and g not in names:
            if cfg.time_column is None:
                raise ColumnError(f"group part {g!r} is a calendar part, which needs --time-column to derive it "
                                  f"from ({where} has no column {g!r}); pass --time-column NAME or group by columns "
                                  f"of the table ({', '.join(schema.names)})")
            continue
        if g not in names:
            raise ColumnError(f"group column {g!r} not found in {where}{_near(g, schema.names)}; expected a column "
                              f"(columns: {listed(schema.names)}) or one of {', '.join(DERIVED_PARTS)}")
        else:
            check_group_type(g, schema.field(g).type)
    if cfg.time_column is not None and not pa.types.is_null(schema.field(cfg.time_column).type):
        # a column of type null (every cell empty) holds only missing times (missing_times.py)
        check_time_type(cfg.time_column, schema.field(cfg.time_column).type, cfg.time_unit, cfg.time_format)


def listed(names: list[str], first: int = 10) -> str:
    """The first ``first`` column names, quoted (so spaces show), and how many more there are."""
    shown = ", ".join(repr(n) for n in names[:first])
    return shown + (f" and {len(names) - first:,} more" if len(names) > first else "")


def _other_form(name: str, names: list[str]) -> str:
    """A hint when a column differs from ``name`` only in its Unicode form (NFC 'é' vs NFD 'e' +
    U+0301: they look identical), both spellings escaped; else ''."""
    import unicodedata

    nfc = unicodedata.normalize("NFC", name)
    twin = [n for n in names if n != name and unicodedata.normalize("NFC", n) == nfc]
    if not twin:
        return ""
    return (f" (the input has {twin[0]!r} spelt in another Unicode form: {ascii(twin[0])}, not {ascii(name)}; "
            "give the name as the input spells it, or normalize the header to NFC)")


def _near(name: str, names: list[str]) -> str:
    """A hint when a column differs from ``name`` only in its Unicode form or surrounding spaces."""
    other = _other_form(name, names)
    if other:
        return other
    near = [n for n in names if n.strip() == name.strip() and n != name]
    if not near:
        return ""
    return (f" (did you mean {near[0]!r}? a comma-separated --group-by strips spaces around names; "
            f"name it exactly in a --config list: group_by: [{near[0]!r}])")


def check_label_type(label: str, dtype: pa.DataType) -> None:
    """A label is a number, a bool or a class name: anything else (struct, list, binary) is refused."""
    value = dtype.value_type if pa.types.is_dictionary(dtype) else dtype
    if not (pa.types.is_integer(value) or pa.types.is_floating(value) or pa.types.is_boolean(value)
            or pa.types.is_decimal(value) or pa.types.is_string(value) or pa.types.is_large_string(value)):
        raise ColumnError(f"label column {label!r} has type {value}; a label must be a number, a bool "
                          "or a class name (string)")
