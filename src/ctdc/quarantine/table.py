"""The quarantine's on-disk form: one Parquet row per offending cell, with the raw source row.

A data officer must be able to fix a row without the original file at hand,
so each entry keeps the source file and row number, the column in the
organization's own name, the reason slug, the offending value, what was
expected, and the whole source row as read (``raw``: a JSON object in the
export's own column names and order). Cells over ``MAX_CELL_CHARS`` are cut
in that copy (with a marker): the quarantine is read in spreadsheets, and a
hostile megabyte cell should not be copied on to whoever opens it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ctdc.formats.chunk import text_frame
from ctdc.limits import MAX_CELL_CHARS
from ctdc.row_errors import ROW_ERROR_SCHEMA, RowErrors

#: the row errors (where the row came from instead of its position in a chunk) and the raw row
QUARANTINE_SCHEMA = pa.schema(
    [
        ("batch_id", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        *(f for f in ROW_ERROR_SCHEMA if f.name != "pos"),
        ("raw", pa.string()),
    ]
)

CUT_MARK = f"…[cut at {MAX_CELL_CHARS:,} characters]"


def cut_long_cells(raw: pa.Table) -> pa.Table:
    """``raw`` (text columns) with every cell over ``MAX_CELL_CHARS`` characters cut and marked.

    Bytes >= characters, so a cheap max of byte lengths rules most columns out
    (per column in Arrow: a chunk's quarantined rows are often few and wide).
    """
    for i, arr in enumerate(raw.columns):
        if (pc.max(pc.binary_length(arr)).as_py() or 0) <= MAX_CELL_CHARS:
            continue
        long = pc.greater(pc.utf8_length(arr), MAX_CELL_CHARS)
        cut = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(arr, 0, MAX_CELL_CHARS), CUT_MARK, ""
        )
        raw = raw.set_column(i, raw.field(i), pc.if_else(long, cut, arr))
    return raw


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """Each row as a compact JSON object (for the quarantine's raw copy).

    Split on ``\n`` only: JSON escapes it inside values, but not U+2028 or
    U+0085, which ``str.splitlines`` would also split on.
    """
    if len(frame) == 0:
        return []
    buf = io.StringIO()
    frame.to_json(buf, orient="records", lines=True, force_ascii=False)
    return buf.getvalue().rstrip("\n").split("\n")


def quarantine_table(
    raw: pa.Table, rows: np.ndarray, source: Path, errors: RowErrors, batch_id: str
) -> pa.Table:
    """Error rows (``pos`` into ``raw``, the rows as read: text columns in the export's own
    names) -> the quarantine table, sorted by row."""
    errors = errors.sort_values(["pos", "column", "reason"], kind="stable")
    pos = errors["pos"].to_numpy(dtype=np.int64)
    unique_pos = np.unique(pos)
    frame = text_frame(cut_long_cells(raw.take(pa.array(unique_pos))), raw.column_names)
    raw_json = np.array(_json_lines(frame), dtype=object)
    return pa.table(
        {
            "batch_id": pa.array([batch_id] * len(errors), pa.string()),
            "source_file": pa.array([source.name] * len(errors), pa.string()),
            "source_row": rows[pos],
            "column": errors["column"].fillna("").astype(str).to_list(),
            "field": errors["field"].fillna("").astype(str).to_list(),
            "reason": errors["reason"].astype(str).to_list(),
            "value": errors["value"].fillna("").astype(str).to_list(),
            "expected": errors["expected"].fillna("").astype(str).to_list(),
            "raw": raw_json[np.searchsorted(unique_pos, pos)].tolist(),
        },
        schema=QUARANTINE_SCHEMA,
    )
