"""Read an export into all-text chunks, whatever its format.

Every value is read as text (``NA`` stays Namibia, ``00123`` keeps its zeros);
typing is the mapping's job. Each row keeps its source row number as a data
officer would find it: for CSV and XLSX the row a spreadsheet shows (header =
row 1 unless ``header_row`` says otherwise), for JSON/Parquet the 1-based
record number, for NDJSON the line number.

One module per format (``csv``, ``xlsx``, ``json``, ``parquet``),
each a generator of :class:`~ctdc.formats.chunk.Chunk` (``iter_export``), so that
ingest holds one chunk at a time; ``read_export`` joins them for small files
and tests. This module dispatches and runs the checks they share: hostile input either
stops the read with one catalogued error (binary file, zip bomb, unclosed
quote, duplicate columns) or marks single rows for the quarantine (wrong
field count, broken NDJSON line, control characters, overlong values). See
docs/errors.md, "Hostile input".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from ctdc.errors import CtdcError
from ctdc.formats.cells import cell_errors
from ctdc.formats.chunk import Chunk, RawTable, text_frame
from ctdc.formats.csv import iter_csv
from ctdc.formats.hints import sheet_hint
from ctdc.formats.json import iter_json, iter_ndjson
from ctdc.formats.options import (
    CsvOptions,
    FormatOptions,
    JsonOptions,
    ParquetOptions,
    XlsxOptions,
)
from ctdc.formats.parquet import iter_parquet
from ctdc.formats.xlsx import iter_xlsx
from ctdc.row_errors import joined
from ctdc.slugs import Slug

__all__ = ["Chunk", "RawTable", "check_export_file", "iter_export", "read_export"]


def _chunks(path: Path, options: FormatOptions) -> Iterator[Chunk]:
    """The reader of ``options``' format; ``match`` lets mypy check every format has one."""
    match options:
        case CsvOptions():
            return iter_csv(path, options)
        case JsonOptions(lines=True):
            return iter_ndjson(path, options)
        case JsonOptions():
            return iter_json(path, options)
        case XlsxOptions():
            return iter_xlsx(path, options)
        case ParquetOptions():
            return iter_parquet(path, options)


def check_export_file(path: Path) -> None:
    """Refuse a path that is not one regular file, saying which case it is.

    A folder given for the export (``ctdc ingest --org x exports/``) used to be
    reported as ``file-not-found``, which sends the officer looking for a typo
    in a path that exists; ``not-a-file`` says what to give instead. A device
    or a pipe is refused the same way: ingest reads a file twice (hash, then
    data) and a pipe cannot be read again.
    """
    if path.is_dir():
        raise CtdcError(Slug.NOT_A_FILE, "is a directory: give one export file", file=path)
    if not path.exists():
        raise CtdcError(Slug.FILE_NOT_FOUND, "no such file", file=path)
    if not path.is_file():
        raise CtdcError(Slug.NOT_A_FILE, "is not a regular file (a device, pipe or socket): "
                        "give one export file", file=path)  # fmt: skip


def iter_export(path: Path, options: FormatOptions) -> Iterator[Chunk]:
    """The export as ``options`` say to read it, chunk by chunk, with the shared cell checks.

    Raises a catalogued error if it cannot be read; ``empty-file`` once the end
    is reached without a single record.
    """
    check_export_file(path)
    if path.stat().st_size == 0:
        raise CtdcError("empty-file", "the file is empty (0 bytes)", file=path)
    records = 0
    try:
        for chunk in _chunks(path, options):
            if chunk.num_rows == 0:
                continue
            records += chunk.num_rows
            cells = cell_errors(chunk.table, check_controls=chunk.may_have_controls)
            if len(cells):
                errors = joined([chunk.errors, cells])
                chunk = Chunk(chunk.table, chunk.rows, errors, chunk.may_have_controls, chunk.done)
            yield chunk
    except CtdcError as exc:  # raised by a helper that did not know the file
        raise _in_sheet(exc.located(path), path, options) from exc.__cause__
    if records == 0:
        what = "an empty array: no records" if options.name == "json" else "no data rows"
        if isinstance(options, CsvOptions | XlsxOptions):
            what = "a header but no data rows"
        raise _in_sheet(CtdcError("empty-file", f"the file has {what}", file=path), path, options)


def _in_sheet(exc: CtdcError, path: Path, options: FormatOptions) -> CtdcError:
    """An ``empty-file`` of a workbook of several sheets, with the sheet read and the sheets.

    The wrong sheet (a summary first, the cases second) reads as an empty export;
    said alone, that sends the officer to export again what was right.
    """
    if exc.slug is not Slug.EMPTY_FILE or not isinstance(options, XlsxOptions):
        return exc
    hint = sheet_hint(path, options)
    if hint is None:
        return exc
    return CtdcError(Slug.EMPTY_FILE, f"{exc.detail}; {hint.detail}", file=exc.file or path,
                     row=exc.row, column=exc.column, fix=hint.fix)  # fmt: skip


def read_export(path: Path, options: FormatOptions) -> RawTable:
    """The whole export as one :class:`RawTable` (small files and tests; ingest streams)."""
    chunks = list(iter_export(path, options))
    offsets = np.cumsum([0] + [c.num_rows for c in chunks])
    errors = [
        c.errors.assign(pos=c.errors["pos"] + off) for c, off in zip(chunks, offsets, strict=False)
    ]
    table = pa.concat_tables([c.table for c in chunks])
    return RawTable(
        text_frame(table, table.column_names),
        np.concatenate([c.rows for c in chunks]),
        path,
        joined(errors),
        any(c.may_have_controls for c in chunks),
    )
