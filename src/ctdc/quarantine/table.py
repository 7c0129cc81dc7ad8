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


def _cut_long_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        text = out[column].astype("string")
        long = (text.str.len() > MAX_CELL_CHARS).fillna(False).to_numpy(dtype=bool)
        if long.any():
            out[column] = text.where(~long, text.str.slice(0, MAX_CELL_CHARS) + CUT_MARK)
    return out


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
    frame: pd.DataFrame, rows: np.ndarray, source: Path, errors: RowErrors, batch_id: str
) -> pa.Table:
    """Error rows (``pos`` into ``frame``) -> the quarantine table, sorted by row."""
    errors = errors.sort_values(["pos", "column", "reason"], kind="stable")
    pos = errors["pos"].to_numpy(dtype=np.int64)
    unique_pos = np.unique(pos)
    raw_json = np.array(_json_lines(_cut_long_cells(frame.iloc[unique_pos])), dtype=object)
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
