"""Missing times: a time cell that holds nothing is missing, not bad.

A time is MISSING when the cell is null (a Parquet null, an Arrow null) or, for text, empty,
whitespace only, or one of the usual NA spellings (:data:`NA_TEXT`, pandas' ``read_csv``
defaults; compared after stripping whitespace). pandas reads an empty CSV cell and those
spellings as NaN; it keeps a whitespace-only cell as text, but that cell holds no time
either, so it is missing here too. Any other value that cannot be parsed is BAD
(``--on-bad-time``).

With ``--on-missing-time group`` (the default) a row with a missing time is kept: every
calendar part derived from the time is null for it (the hive default partition, like a null
group value), its time is null in the shard, and it sorts after the timed rows of its shard
(then in source file and row order). In the staged batches its time is the sentinel
:data:`MISSING_TIME` (int64 max, which no supported time reaches), so ordering by the staged
time puts such rows last with no other change. ``drop`` drops them (counted as dropped
rows), ``error`` stops the split naming the first file and row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.contract.format import is_text

from .timescale import iso_time

MISSING_TIME = np.iinfo(np.int64).max
NA_TEXT = ("#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
           "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


def missing_mask(column: pa.Array | pa.ChunkedArray, any_unparsed: bool = True) -> np.ndarray:
    """True for the rows whose time is missing (see the module docstring). ``any_unparsed=False``
    (every value of the batch parsed) skips the scan of text cells: none of them is blank."""
    nulls = pc.is_null(column)
    if is_text(column.type) and any_unparsed:
        stripped = pc.utf8_trim_whitespace(column)
        blank = pc.or_(pc.equal(pc.utf8_length(stripped), 0), pc.is_in(stripped, value_set=pa.array(NA_TEXT)))
        nulls = pc.or_(nulls, pc.fill_null(blank, False))
    return np.asarray(nulls.to_numpy(zero_copy_only=False), dtype=bool)


def missing_in(ns: np.ndarray | None) -> np.ndarray | None:
    """The rows of a staged batch whose time is missing, or None when none is."""
    if ns is None:
        return None
    missing = ns == MISSING_TIME
    return missing if missing.any() else None


def time_range(ns: np.ndarray | None, res: str, ordered: bool = False) -> tuple[str | None, str | None]:
    """(time_min, time_max) of a shard's rows (ticks at resolution ``res``; MISSING_TIME for a row
    without a time); (None, None) when there is no time column or no row of the shard has a time.
    ``ordered``: the ticks are sorted (a shard's rows: by time, missing times last), so the ends are
    looked up, not searched for."""
    if ns is None or not len(ns):
        return None, None
    if ordered:
        timed = int(np.searchsorted(ns, MISSING_TIME))   # the rows with a time come first
        if not timed:
            return None, None
        return iso_time(int(ns[0]), res), iso_time(int(ns[timed - 1]), res)
    timed = ns[ns != MISSING_TIME]
    if not len(timed):
        return None, None
    return iso_time(int(timed.min()), res), iso_time(int(timed.max()), res)
