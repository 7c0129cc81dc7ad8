"""Cell checks every reader shares: control characters and overlong values.

Both are vectorized per column with pyarrow compute (no loop over rows), and
the expensive one (a regex per column) runs only when the reader could not
rule control characters out. A failing cell sends its row to the quarantine
(``control-character``, ``value-too-long``) instead of stopping the ingest:
one damaged cell should not cost the organization the rest of its export.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ctdc.formats.chunk import CONTROL_CLASS, shown
from ctdc.limits import MAX_CELL_CHARS
from ctdc.row_errors import RowErrors, joined, no_row_errors, row_errors


def _positions(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def cell_errors(table: pa.Table, *, check_controls: bool = True) -> RowErrors:
    """One error row per cell with a control character or more than ``MAX_CELL_CHARS``."""
    parts: list[RowErrors] = []
    if table.num_rows == 0:
        return no_row_errors()
    for column, arr in zip(table.column_names, table.columns, strict=True):
        # bytes >= characters, so a cheap max of byte lengths rules most columns out
        longest = pc.max(pc.binary_length(arr)).as_py() or 0
        if longest > MAX_CELL_CHARS:
            mask = pc.greater(pc.utf8_length(arr), MAX_CELL_CHARS)
            expected = f"at most {MAX_CELL_CHARS:,} characters"
            parts.append(_flagged(arr, mask, column, "value-too-long", expected))
        if check_controls:
            mask = pc.match_substring_regex(arr, CONTROL_CLASS)
            expected = "text without control characters"
            parts.append(_flagged(arr, mask, column, "control-character", expected))
    return joined(parts)


def _flagged(
    arr: pa.ChunkedArray, mask: pa.ChunkedArray, column: str, slug: str, expected: str
) -> RowErrors:
    """Error rows for the cells of ``arr`` where ``mask`` holds."""
    pos = _positions(mask)
    if not len(pos):
        return no_row_errors()
    values = arr.take(pa.array(pos)).to_pylist()
    return row_errors(
        pos, column=column, reason=slug, value=[shown(v) for v in values], expected=expected
    )
