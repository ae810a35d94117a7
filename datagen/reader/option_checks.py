"""Checks of the generator's options against the manifest, made once when it is built.

Everything the manifest can show is refused (or announced) here, never in the middle
of an epoch: unknown or wrongly typed columns, group values that do not fit their
column type, null labels and labels outside ``num_classes`` (from the shards'
``label_counts`` and the footers' statistics), nulls in sample_weight, and integer columns
that float32 outputs may round (not when the footers' min/max show every value exact).
"""

from __future__ import annotations

import warnings

from datagen.contract.errors import ColumnError
from datagen.contract.format import Manifest, is_text
from .footer_stats import ColumnStats, value_range
from .options import GeneratorOptions
from .outputs import MANTISSA_BITS, check_label_counts, group_value, inexact_integer_columns, is_numeric


def column_type(types: dict[str, str], name: str, role: str) -> str:
    if name not in types:
        known = ", ".join(c for c in types if not c.startswith("_"))
        raise ColumnError(f"{role} column {name!r} is not in the dataset (columns: {known})")
    return types[name]


def check_columns(types: dict[str, str], o: GeneratorOptions) -> None:
    """Every named column exists and has a type its role can use."""
    if isinstance(o.features, dict):
        for name, cols in o.features.items():
            kinds = {("text" if is_text(column_type(types, c, f"feature {name!r}")) else
                      "numeric" if is_numeric(types[c]) else types[c]) for c in cols}
            bad = kinds - {"text", "numeric"}
            if bad or len(kinds) > 1:
                raise ColumnError(f"features[{name!r}]: columns {cols} must be all numeric or all text, "
                                  f"got types {[types[c] for c in cols]}")
    else:
        for c in o.features:
            t = column_type(types, c, "feature")
            if not is_numeric(t):
                raise ColumnError(f"feature column {c!r} has type {t}; a plain feature list needs numeric "
                                  "columns (use a dict of inputs for text columns)")
    for role, col in (("label", o.label), ("sample_weight", o.sample_weight)):
        if col is not None:
            t = column_type(types, col, role)
            if not is_numeric(t):
                raise ColumnError(f"{role} column {col!r} has type {t}; expected a numeric column")


def checked_group_values(m: Manifest, selected: list[int], types: dict[str, str],
                         o: GeneratorOptions) -> dict[int, dict]:
    """Per selected shard, the group values the outputs use, checked against their column types."""
    groups = set(m.group_names)
    used = [c for c in dict.fromkeys(o.feature_columns + [o.label, o.sample_weight]) if c in groups]
    return {i: {c: group_value(m.shards[i].group[c], types[c], c, m.shards[i].path) for c in used}
            for i in selected}


def check_labels(m: Manifest, selected: list[int], group_values: dict[int, dict], o: GeneratorOptions) -> None:
    """Refuse what the manifest already shows: null labels, labels outside num_classes."""
    if o.label is None:
        return
    for i in selected:
        shard = m.shards[i]
        if o.label in m.group_names:
            value = group_values[i][o.label]
            key = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            counts = {key: shard.rows}
        elif o.label == m.label_column and isinstance(shard.label_counts, dict):
            counts = shard.label_counts
        else:
            continue
        check_label_counts(counts, o.num_classes, o.label, f"shard {shard.path!r}")


def check_footer_stats(m: Manifest, group_values: dict[int, dict], stats: dict[str, ColumnStats],
                       o: GeneratorOptions) -> None:
    """Refuse what the footers' statistics show: nulls in the label or sample_weight column (a null
    group value too), label values outside [0, num_classes). Without statistics the batch checks."""
    for role, col in (("label", o.label), ("sample_weight", o.sample_weight)):
        if col is None:
            continue
        if col in m.group_names:
            shards = [m.shards[i].path for i, v in group_values.items() if v[col] is None]
            if shards:
                raise ColumnError(f"{role} column {col!r} is a group column with a null value in shard "
                                  f"{shards[0]!r}; every row needs a {role}")
            continue
        s = stats.get(col)
        if s is not None and s.nulls:
            raise ColumnError(f"{role} column {col!r} has {s.nulls:,} null values in the selected shards "
                              f"(Parquet statistics); every row needs a {role}")
        if s is not None and s.nans:
            raise ColumnError(f"{role} column {col!r} has {s.nans:,} NaN values in the selected shards, the first "
                              f"in shard {s.nan_shard!r} (recorded NaN counts); every row needs a {role}: drop "
                              f"or fix those rows in the input and split again, or exclude the shards with where=")
        if s is not None and s.nans is None and m.column_types.get(col) in ("halffloat", "float", "double"):
            warnings.warn(f"{role} column {col!r}: some selected shards were written without NaN counts (before "
                          f"datagen recorded them), so NaN {role}s are not refused here (num_classes stops the batch "
                          f"holding one; without it they reach training); `datagen verify DIR` finds them, and "
                          f"splitting again records the counts", UserWarning, stacklevel=4)
    if o.label is not None and o.num_classes is not None and o.label not in m.group_names:
        span = value_range(stats.get(o.label))
        if span is not None:
            for bad in span:
                if not 0 <= bad < o.num_classes:
                    raise ColumnError(f"label column {o.label!r} has value {bad!r} (Parquet statistics), "
                                      f"expected an integer class in [0, {o.num_classes}) for "
                                      f"num_classes={o.num_classes}")


def within(span, limit: int) -> bool:
    return span is not None and all(isinstance(v, int) and abs(v) <= limit for v in span)


def warn_inexact(types: dict[str, str], groups: set[str], group_values: dict[int, dict],
                 o: GeneratorOptions, stats: dict[str, ColumnStats] | None = None) -> None:
    """Announce the integer columns that float32 outputs may round (see outputs.py); dtype="float64"
    is the remedy, so it warns of nothing (it rounds only integers beyond 2**53)."""
    if o.dtype != "float32":
        return
    cols = [c for c in o.feature_columns if not is_text(types[c])] + ([o.sample_weight] if o.sample_weight else [])
    limit = 2 ** MANTISSA_BITS[o.dtype]
    inexact = [c for c in inexact_integer_columns(types, [c for c in cols if c not in groups], o.dtype)
               if not within(value_range((stats or {}).get(c)), limit)]  # footers show all values exact
    for c in dict.fromkeys(c for c in cols if c in groups):
        values = [v[c] for v in group_values.values()]
        if any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > limit for v in values):
            inexact.append(c)
    if inexact:
        kinds = sorted({types[c] for c in inexact})
        warnings.warn(f"columns {inexact} ({'/'.join(kinds)}) become float32: integers beyond ±{limit:,} round "
                      "to the nearest float32 value; pass dtype='float64' to keep integers up to 2**53 exact",
                      UserWarning, stacklevel=4)
