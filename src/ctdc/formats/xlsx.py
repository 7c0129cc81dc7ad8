"""XLSX: cached cell values (formulas are never evaluated), after a zip bomb check.

Three guards against a crafted workbook, because openpyxl trusts the file:

- the zip central directory is checked first (:func:`check_archive`): total
  size, compression ratio and member count, before anything is inflated;
- the sheet's declared dimension is ignored (``reset_dimensions``): a tiny
  sheet claiming ``A1:XFD1048576`` would otherwise make openpyxl pad every
  row to 16,384 cells;
- a row number beyond Excel's 1,048,576 stops the read: openpyxl yields an
  empty row for every number it skips, so ``<row r="999999999">`` would spin.

Formulas are read as the value the spreadsheet saved with them. A formula
saved without one (a workbook written by a program, never opened in Excel)
would read as an empty cell: when the workbook holds any formula, a second
read of the sheet with the formulas themselves runs alongside, and such a cell
quarantines its row (``uncached-formula``) instead of losing the value.

Anything openpyxl raises on a damaged workbook becomes ``unreadable-file``.
The sheet is streamed (openpyxl's read-only mode parses the XML as it goes)
and handed on in chunks of ``CHUNK_ROWS`` records (fewer if wide).
"""

from __future__ import annotations

import itertools
import re
import zipfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ctdc.errors import CtdcError
from ctdc.formats.archive import check_archive
from ctdc.formats.chunk import (
    Chunk,
    check_header,
    records_per_chunk,
    text_table,
)
from ctdc.formats.options import XlsxOptions
from ctdc.formats.values import cell_text
from ctdc.limits import EXCEL_MAX_ROWS
from ctdc.row_errors import row_errors
from ctdc.text import without_quoted


def _unreadable(path: Path, exc: Exception) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"not a readable XLSX workbook ({type(exc).__name__}: {without_quoted(str(exc))[:200]})",
        file=path,
        fix="open the file in Excel and save it again as .xlsx, or pin its real `source.format`",
    )


_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula (a streamed scan of its XML)."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with zf.open(name) as fh:
                tail = b""
                while block := fh.read(1 << 20):
                    if _FORMULA.search(tail + block):
                        return True
                    tail = block[-16:]
    return False


def _formula_rows(
    path: Path, options: XlsxOptions
) -> Generator[tuple[Any, ...] | None, None, None]:
    """The sheet's rows with formulas as text (``=...``), in step with the values' rows;
    None for every row when the workbook has no formula at all."""
    if _has_formulas(path):
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
        try:
            ws = wb[options.sheet] if options.sheet is not None else wb.worksheets[0]
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()
            yield from ws.iter_rows(min_row=options.header_row, values_only=True)
        finally:
            wb.close()
    yield from itertools.repeat(None)


def _sheet_chunks(path: Path, options: XlsxOptions) -> Iterator[Chunk]:
    import openpyxl  # imported here: only XLSX ingests pay its import time

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    formulas = None
    try:
        if options.sheet is not None and options.sheet not in wb.sheetnames:
            raise CtdcError(
                "missing-column",
                f"no sheet {options.sheet!r}; sheets: {', '.join(wb.sheetnames)}",
                file=path,
                fix="correct `source.sheet` in the mapping",
            )
        ws = wb[options.sheet] if options.sheet is not None else wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        it = ws.iter_rows(min_row=options.header_row, values_only=True)
        formulas = _formula_rows(path, options)
        rows_above = [next(it, None) for _ in range(options.header_rows)]
        for _ in range(options.header_rows):
            next(formulas, None)
        if rows_above[0] is None:
            raise CtdcError("empty-file", "the sheet is empty", file=path)
        header = header_names([tuple(r or ()) for r in rows_above])
        if not header:
            raise CtdcError(
                "empty-file",
                f"row {options.header_row} (the header) is empty",
                file=path,
                row=options.header_row,
            )
        last = options.header_row + options.header_rows - 1
        names = check_header(path, header, row=last)
        width = len(names)
        size = records_per_chunk(width)
        rows: list[int] = []
        cols: list[list[str]] = [[] for _ in names]
        bad: list[tuple[int, str, str]] = []  # (pos in chunk, column, formula)
        for row_no, values in enumerate(it, start=last + 1):
            written = next(formulas, None)
            if len(rows) >= size:
                yield _chunk(names, cols, rows, bad)
                rows, cols, bad = [], [[] for _ in names], []
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
            uncached = [
                (j, f)
                for j, f in enumerate((written or ())[:width])
                if cells[j] is None and isinstance(f, str) and f.startswith("=")
            ]
            if not uncached and all(v is None or v == "" for v in cells):
                continue  # an empty spreadsheet row is not a record
            bad += [(len(rows), names[j], f) for j, f in uncached]
            rows.append(row_no)
            for j, v in enumerate(cells):
                cols[j].append(cell_text(v))
        if rows:
            yield _chunk(names, cols, rows, bad)
    finally:
        if formulas is not None:
            formulas.close()
        wb.close()


def header_names(rows: list[tuple[Any, ...]]) -> list[str]:
    """Column names from one or more header rows (the last holds the column names).

    A cell merged across columns holds its label in its first cell only, so in the
    rows above the last an empty cell continues the label to its left, as the merge
    shows it; the labels of a column are then joined with " / ", empty ones skipped
    and a label repeated below (a cell merged down) kept once. Trailing empty
    columns are dropped; an empty name in between stays empty (check_header refuses it).
    """
    width = max((len(r) for r in rows), default=0)
    grid = [[("" if v is None else str(v).strip()) for v in r] + [""] * (width - len(r))
            for r in rows]  # fmt: skip
    for r in grid[:-1]:
        for j in range(1, width):
            if not r[j]:
                r[j] = r[j - 1]
    names = []
    for j in range(width):
        parts: list[str] = []
        for r in grid:
            if r[j] and (not parts or parts[-1] != r[j]):
                parts.append(r[j])
        names.append(" / ".join(parts))
    while names and not grid[-1][len(names) - 1] and not any(r[len(names) - 1] for r in grid):
        names.pop()
    return names


def _chunk(
    names: list[str], cols: list[list[str]], rows: list[int], bad: list[tuple[int, str, str]]
) -> Chunk:
    errors = row_errors(
        [b[0] for b in bad],
        column=[b[1] for b in bad],
        reason="uncached-formula",
        value=[b[2] for b in bad],
        expected="the formula's value, saved in the workbook",
    )
    return Chunk(text_table(names, cols), np.array(rows, dtype=np.int64), errors)


def iter_xlsx(path: Path, options: XlsxOptions) -> Iterator[Chunk]:
    """Read the pinned sheet in chunks; refuse a zip bomb before opening it."""
    check_archive(path)
    try:
        yield from _sheet_chunks(path, options)
    except CtdcError:
        raise
    except Exception as exc:  # openpyxl, zipfile and the XML parser raise many types
        raise _unreadable(path, exc) from exc
