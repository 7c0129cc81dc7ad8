"""Cell checks every reader shares: control characters and overlong values.

Both are vectorized per column with pyarrow compute (no loop over rows), and
the expensive one (a regex per column) runs only when the reader could not
rule control characters out. A failing cell sends its row to the quarantine
(``control-character``, ``value-too-long``) instead of stopping the ingest:
one damaged cell should not cost the organization the rest of its export.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctdc.ingest.raw import CONTROL_CLASS, empty_errors, error_rows, shown
from ctdc.limits import MAX_CELL_CHARS


def _positions(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def cell_errors(table: pa.Table, *, check_controls: bool = True) -> pd.DataFrame:
    """One error row per cell with a control character or more than ``MAX_CELL_CHARS``."""
    parts = []
    if table.num_rows == 0:
        return empty_errors()
    for column, arr in zip(table.column_names, table.columns, strict=True):
        # bytes >= characters, so a cheap max of byte lengths rules most columns out
        longest = pc.max(pc.binary_length(arr)).as_py() or 0
        if longest > MAX_CELL_CHARS:
            pos = _positions(pc.greater(pc.utf8_length(arr), MAX_CELL_CHARS))
            if len(pos):
                values = arr.take(pa.array(pos)).to_pylist()
                parts.append(
                    error_rows(
                        pos,
                        column,
                        "value-too-long",
                        [shown(v) for v in values],
                        f"at most {MAX_CELL_CHARS:,} characters",
                    )
                )
        if check_controls:
            pos = _positions(pc.match_substring_regex(arr, CONTROL_CLASS))
            if len(pos):
                values = arr.take(pa.array(pos)).to_pylist()
                parts.append(
                    error_rows(
                        pos,
                        column,
                        "control-character",
                        [shown(v) for v in values],
                        "text without control characters",
                    )
                )
    return pd.concat(parts, ignore_index=True) if parts else empty_errors()
