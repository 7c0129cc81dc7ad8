"""The release frame -> an Arrow table of exactly the release schema, column by column.

The anonymizer keeps a quasi-identifier's dtype when it publishes it only as
leaves or NULL, and makes it text once it generalizes some of it. So a year
column may reach the release as ``Int16`` (every cell a leaf, or every cell
suppressed) where the release schema says string, and a whole-table
``pa.Table.from_pandas`` then fails. Each column is cast on its own instead:
an all-NULL column becomes typed NULLs, a number or flag meant as text
becomes its leaf label (``2015``), anything else converts as Arrow does.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def _label(value: object) -> str:
    """A leaf value as its hierarchy label: ``2015`` for 2015 or 2015.0, ``True`` as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def release_column(series: pd.Series, field: pa.Field) -> pa.Array:
    """``series`` as an Arrow array of ``field.type``."""
    if series.isna().all():
        return pa.nulls(len(series), type=field.type)
    text = pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
    if text and not pd.api.types.is_string_dtype(series):  # an object column is inspected
        labels = [None if pd.isna(v) else _label(v) for v in series.tolist()]
        return pa.array(labels, type=field.type)
    return pa.Array.from_pandas(series, type=field.type)


def to_release_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame``'s columns in ``schema``'s order and types; no pandas metadata (stable bytes)."""
    arrays = [release_column(frame[field.name], field) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema.remove_metadata())
