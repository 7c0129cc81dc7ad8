"""Row errors: one row per offending cell, the one shape in which every stage reports bad data.

The readers (a record with too many fields, a control character), the
mapping (a value outside its vocabulary), the contract (a value the schema
forbids) and the chunk loop (a duplicate case id) each find bad cells; the
quarantine stores them and the summary shows the first ones. They all build
their errors with :func:`row_errors` against :data:`ROW_ERROR_SCHEMA`, so no
stage can drop a column, rename one or hand on a value that is not text, and
the quarantine's Parquet schema is this one plus where the row came from.

The frame is pandas, not Arrow, because what is done with it (concatenate,
sort by position, drop rows the reader already flagged, count per reason) is
small and row-wise; the Arrow schema is the contract its columns keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

ROW_ERROR_SCHEMA = pa.schema(
    [
        # the row's position in the chunk (or table) the errors belong to
        ("pos", pa.int64()),
        # the export's own column name; "" when the whole row is at fault
        ("column", pa.string()),
        # the schema field the column maps to; "" before the mapping
        ("field", pa.string()),
        # the catalogue slug (docs/errors.md)
        ("reason", pa.string()),
        # the offending value as text; "" when there is none (a missing value)
        ("value", pa.string()),
        # what would have been accepted, in words a data officer can act on
        ("expected", pa.string()),
    ]
)

#: a DataFrame with exactly :data:`ROW_ERROR_SCHEMA`'s columns, built by :func:`row_errors`
RowErrors: TypeAlias = pd.DataFrame

#: one text for every row, or one per row
Texts: TypeAlias = str | Sequence[object] | np.ndarray | pd.Series


def _text(values: Texts, n: int) -> str | np.ndarray:
    """A scalar stays one (pandas repeats it); a column gets its nulls as ""."""
    if isinstance(values, str):
        return values
    column = np.asarray(values, dtype=object)
    if len(column) != n:
        raise ValueError(f"{len(column)} texts for {n} row errors")
    nulls = pd.isna(column)
    if nulls.any():
        column = np.where(nulls, "", column)
    return column


def row_errors(
    pos: Sequence[int] | np.ndarray,
    *,
    reason: Texts,
    column: Texts = "",
    field: Texts = "",
    value: Texts = "",
    expected: Texts = "",
) -> RowErrors:
    """Row errors at positions ``pos``; every other argument is one text or one per position."""
    positions = np.asarray(pos, dtype=np.int64)
    n = len(positions)
    return pd.DataFrame(
        {
            "pos": positions,
            "column": _text(column, n),
            "field": _text(field, n),
            "reason": _text(reason, n),
            "value": _text(value, n),
            "expected": _text(expected, n),
        },
        index=range(n),
    )


_NONE = row_errors(np.empty(0, dtype=np.int64), reason="")


def no_row_errors() -> RowErrors:
    """An empty frame of the type: a copy of one built once (building one costs ~2 ms, and
    every column of every chunk without a bad cell asks for one)."""
    return _NONE.copy()


def joined(parts: Sequence[RowErrors]) -> RowErrors:
    """``parts`` one after the other, renumbered; no errors for no parts."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return no_row_errors()
    return pd.concat(parts, ignore_index=True)
