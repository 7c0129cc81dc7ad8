"""The quarantine export in the organization's own format, so that its mapping reads it back.

A mapping pins one format (``source.format``); a corrected file in another
would be refused by it. So the export is written the way the organization's
exports are read: a CSV or TSV in its encoding and delimiter, a workbook
whose sheet and header row are the mapping's, a JSON array or NDJSON lines
of objects, or a Parquet file of text columns. Every value is text, as the
readers read it; a missing cell is empty in a CSV, null in JSON and Parquet,
and an empty cell in a workbook.

The frame given is already neutralized (``quarantine.export.neutralize``):
no cell starts a formula and control characters are visible, in every format,
since any of them may end up in a spreadsheet.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from ctdc.mapping.source import SourceSpec

#: formats written as text (standard output allowed)
TEXT_FORMATS = ("csv", "tsv", "json", "ndjson")


def export_format(source: SourceSpec | None) -> str:
    """The format the export is written in: the mapping's, CSV without a mapping."""
    return "csv" if source is None else source.format


def _records(frame: pd.DataFrame) -> list[dict[str, str | None]]:
    cells = frame.astype(object).where(frame.notna(), None)
    return cells.to_dict(orient="records")


def _json(frame: pd.DataFrame, lines: bool, encoding: str) -> bytes:
    records = _records(frame)
    if lines:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    else:
        text = json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    return text.encode(encoding, errors="replace")


def _parquet(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame.astype("string"), preserve_index=False)
    table = table.cast(pa.schema([(n, pa.string()) for n in table.column_names]))
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _xlsx(frame: pd.DataFrame, source: SourceSpec) -> bytes:
    """A workbook the mapping's ``sheet``/``header_row``/``header_rows`` read back.

    Rows above the header are left empty; with several header rows the full
    column names go on the last one (the reader joins a column's labels with
    " / " and skips the empty ones, so the names read back as they were).
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(source.sheet or "Sheet1")
    for _ in range(source.header_row - 1 + source.header_rows - 1):
        sheet.append([])
    sheet.append([str(c) for c in frame.columns])
    for record in _records(frame):
        sheet.append(list(record.values()))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render(frame: pd.DataFrame, source: SourceSpec | None, *, encoding: str,
           delimiter: str) -> bytes:  # fmt: skip
    """The neutralized ``frame`` as the bytes of the organization's format.

    ``encoding`` and ``delimiter`` are the CSV dialect (``export_dialect``).
    """
    fmt = export_format(source)
    if fmt in ("json", "ndjson"):
        assert source is not None
        return _json(frame, fmt == "ndjson", source.encoding)
    if fmt == "parquet":
        return _parquet(frame)
    if fmt == "xlsx":
        assert source is not None
        return _xlsx(frame, source)
    text = frame.to_csv(index=False, sep=delimiter, lineterminator="\r\n")
    return text.encode(encoding, errors="replace")
