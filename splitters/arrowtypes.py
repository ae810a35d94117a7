"""Questions about Arrow types asked in several steps of the split, answered once."""

from __future__ import annotations

import pyarrow as pa


def is_text(dtype: pa.DataType) -> bool:
    """A text column: ``string`` or ``large_string`` (not a dictionary of text)."""
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
