"""``ctdc query``: an answer as a table, cut at ``max_rows`` with a caption that says so."""

from __future__ import annotations

import pandas as pd
from rich.table import Table
from rich.text import Text

from ctdc.report.cells import cell


def frame_table(frame: pd.DataFrame, max_rows: int = 200) -> Table:
    """Numbers right-aligned, NULL shown as such, every value escaped (``cell``)."""
    table = Table(show_lines=False)
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(cell(col), justify="right" if numeric else "left")
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*[Text("NULL") if pd.isna(v) else cell(v) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame):,} rows, first {max_rows} shown (use --format csv for all)"
    return table
