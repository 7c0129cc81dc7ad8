"""XLSX: cached cell values (formulas are never evaluated), after a zip bomb check.

Three guards against a crafted workbook, because openpyxl trusts the file:

- the zip central directory is checked first (:func:`check_archive`): total
  size, compression ratio and member count, before anything is inflated;
- the sheet's declared dimension is ignored (``reset_dimensions``): a tiny
  sheet claiming ``A1:XFD1048576`` would otherwise make openpyxl pad every
  row to 16,384 cells;
- a row number beyond Excel's 1,048,576 stops the read: openpyxl yields an
  empty row for every number it skips, so ``<row r="999999999">`` would spin.

Anything openpyxl raises on a damaged workbook becomes ``unreadable-file``.
The sheet is streamed (openpyxl's read-only mode parses the XML as it goes)
and handed on in chunks of ``CHUNK_ROWS`` records (fewer if wide).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ctdc.errors import CtdcError
from ctdc.ingest.archive import check_archive
from ctdc.ingest.mapping import SourceSpec
from ctdc.ingest.raw import Chunk, check_header, records_per_chunk, text_table
from ctdc.ingest.values import cell_text
from ctdc.limits import EXCEL_MAX_ROWS


def _unreadable(path: Path, exc: Exception) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"not a readable XLSX workbook ({type(exc).__name__}: {str(exc)[:200]})",
        file=path,
        fix="open the file in Excel and save it again as .xlsx, or pin its real `source.format`",
    )


def _sheet_chunks(path: Path, source: SourceSpec) -> Iterator[Chunk]:
    import openpyxl  # imported here: only XLSX ingests pay its import time

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if source.sheet is not None and source.sheet not in wb.sheetnames:
            raise CtdcError(
                "missing-column",
                f"no sheet {source.sheet!r}; sheets: {', '.join(wb.sheetnames)}",
                file=path,
                fix="correct `source.sheet` in the mapping",
            )
        ws = wb[source.sheet] if source.sheet is not None else wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        it = ws.iter_rows(min_row=source.header_row, values_only=True)
        header = next(it, None)
        if header is None:
            raise CtdcError("empty-file", "the sheet is empty", file=path)
        header = tuple(header)
        while header and header[-1] is None:
            header = header[:-1]
        if not header:
            raise CtdcError(
                "empty-file",
                f"row {source.header_row} (the header) is empty",
                file=path,
                row=source.header_row,
            )
        names = check_header(path, list(header), row=source.header_row)
        width = len(names)
        size = records_per_chunk(width)
        rows: list[int] = []
        cols: list[list[str]] = [[] for _ in names]
        for row_no, values in enumerate(it, start=source.header_row + 1):
            if len(rows) >= size:
                yield Chunk(text_table(names, cols), np.array(rows, dtype=np.int64))
                rows, cols = [], [[] for _ in names]
            if row_no > EXCEL_MAX_ROWS:
                raise CtdcError(
                    "archive-too-large",
                    f"the sheet has rows beyond Excel's {EXCEL_MAX_ROWS:,}",
                    file=path,
                    row=row_no,
                )
            if not values:
                continue
            cells = list(values[:width]) + [None] * (width - len(values))
            if any(v is not None for v in values[width:]):
                raise CtdcError(
                    "unreadable-file",
                    "a value stands outside the header's columns",
                    file=path,
                    row=row_no,
                    fix="give the column a header, or delete the value",
                )
            if all(v is None or v == "" for v in cells):
                continue  # an empty spreadsheet row is not a record
            rows.append(row_no)
            for j, v in enumerate(cells):
                cols[j].append(cell_text(v))
        if rows:
            yield Chunk(text_table(names, cols), np.array(rows, dtype=np.int64))
    finally:
        wb.close()


def iter_xlsx(path: Path, source: SourceSpec) -> Iterator[Chunk]:
    """Read the pinned sheet in chunks; refuse a zip bomb before opening it."""
    check_archive(path)
    try:
        yield from _sheet_chunks(path, source)
    except CtdcError:
        raise
    except Exception as exc:  # openpyxl, zipfile and the XML parser raise many types
        raise _unreadable(path, exc) from exc
