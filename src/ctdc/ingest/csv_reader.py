"""CSV/TSV: pyarrow's fast parser for clean files, Python's ``csv`` module for the rest.

The fast path (pyarrow, multi-threaded, an order of magnitude faster than
``pandas.read_csv(dtype=str)``) is taken only when it is known to be exact:
no NUL in the file (pyarrow cuts a cell there), an even number of quotes (an
odd one means a quote never closes) and every row with the header's number
of fields (pyarrow reports any other row and the read restarts on the exact
path). The exact path walks the records with ``csv.reader``, keeps each
record's raw text, and turns what pyarrow would refuse into row errors:

- a row with too many or too few fields -> ``bad-field-count`` (row quarantined,
  the rest of the file goes on);
- a quote still open at the end of the file -> ``unterminated-quote`` for the
  whole file (every row after it would silently have become one value);
- a single value over ``MAX_FIELD_BYTES`` -> the read stops (``value-too-long``).

Row numbers are the ones a spreadsheet shows: the header is row 1, every
record after it one row (a value with a line break stays one row), blank
lines count as rows but are not records. Line endings ``\\n``, ``\\r\\n`` and
``\\r`` may be mixed: both paths read them alike and no value keeps a stray
``\\r``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ctdc.errors import CtdcError
from ctdc.ingest.mapping import SourceSpec
from ctdc.ingest.raw import (
    TEXT,
    RawTable,
    check_header,
    empty_errors,
    error_rows,
    python_encoding,
    shown,
    text_frame,
)
from ctdc.ingest.sniff import check_text, scan
from ctdc.limits import MAX_FIELD_BYTES

QUOTE = '"'


@contextmanager
def _field_limit() -> Iterator[None]:
    """Raise ``csv``'s 128 KiB per-value limit to ``MAX_FIELD_BYTES`` for this read only."""
    old = csv.field_size_limit(MAX_FIELD_BYTES)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _header(path: Path, source: SourceSpec) -> list[str]:
    try:
        with (
            _field_limit(),
            open(path, encoding=python_encoding(source.encoding), newline="") as fh,
        ):
            header = next(csv.reader(fh, delimiter=source.delimiter), None)
    except UnicodeDecodeError as exc:
        raise CtdcError(
            "unreadable-file", f"not {source.encoding} text ({exc.reason})", file=path, row=1
        ) from exc
    except csv.Error as exc:
        raise CtdcError(
            "unreadable-file", f"the header cannot be read: {exc}", file=path, row=1
        ) from exc
    if not header or not any(h.strip() for h in header):
        raise CtdcError("empty-file", "the file is empty (no header row)", file=path)
    return check_header(path, header)


def _fast(path: Path, source: SourceSpec, names: list[str]) -> pa.Table | None:
    """The whole file through pyarrow, or None when it meets a row it cannot place."""
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=source.encoding, column_names=names, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=source.delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,  # a blank line is a row number, dropped below
                invalid_row_handler=lambda _row: "error",
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None  # the exact path says precisely what is wrong, and where


def _drop_blank(table: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """Drop all-empty rows (blank lines); return the table and its spreadsheet row numbers."""
    rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
    if table.num_rows == 0 or table.num_columns == 0:
        return table, rows
    blank = pc.equal(pc.binary_length(table.column(0)), 0)
    for col in table.columns[1:]:
        blank = pc.and_(blank, pc.equal(pc.binary_length(col), 0))
    keep = pc.invert(blank)
    if pc.all(keep).as_py():
        return table, rows
    return table.filter(keep), rows[keep.to_numpy()]


class _Lines:
    """The file's lines for ``csv.reader``, keeping those the current record used."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self._it = iter(fh)
        self._taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self._taken.append(line)
        return line

    def take(self) -> str:
        text = "".join(self._taken)
        self._taken.clear()
        return text


def _quote_left_open(text: str, delimiter: str) -> bool:
    """True when ``text`` (one record) ends inside a quoted value."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _exact(path: Path, source: SourceSpec, names: list[str]) -> RawTable:
    """Record by record with ``csv.reader``: slower, but exact about every defect."""
    width = len(names)
    records: list[list[str]] = []
    rows: list[int] = []
    bad: list[tuple[int, str, str, str]] = []  # (pos, column, value, expected)
    row_no, fields, text = 1, 0, ""
    try:
        with (
            _field_limit(),
            open(path, encoding=python_encoding(source.encoding), newline="") as fh,
        ):
            lines = _Lines(fh)
            reader = csv.reader(lines, delimiter=source.delimiter)
            next(reader, None)  # the header, already checked
            lines.take()
            for rec in reader:
                row_no += 1
                text = lines.take()
                fields = len(rec)
                if not any(rec):
                    continue  # a blank line: a row number, not a record
                if len(rec) != width:
                    missing = names[len(rec)] if len(rec) < width else ""
                    bad.append(
                        (
                            len(records),
                            missing,
                            shown(text.rstrip("\r\n")),
                            f"{width} fields like the header, found {len(rec)}",
                        )
                    )
                    rec = (rec + [""] * width)[:width]
                records.append(rec)
                rows.append(row_no)
    except UnicodeDecodeError as exc:
        raise CtdcError(
            "unreadable-file",
            f"not {source.encoding} text ({exc.reason})",
            file=path,
            row=row_no + 1,
        ) from exc
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise CtdcError(
                "value-too-long",
                f"a value of more than {MAX_FIELD_BYTES:,} bytes:"
                " the file cannot be read as a table",
                file=path,
                row=row_no + 1,
            ) from exc
        raise CtdcError("unreadable-file", f"CSV error: {exc}", file=path, row=row_no + 1) from exc
    if fields and QUOTE in text and _quote_left_open(text, source.delimiter):
        column = names[min(fields, width) - 1]
        raise CtdcError(
            "unterminated-quote",
            "the quote opened in this row never closes: the rest of the file "
            f"({text.count(chr(10)):,} lines) would become one value",
            file=path,
            row=row_no,
            column=column,
        )
    columns = list(zip(*records, strict=True)) if records else [() for _ in names]
    frame = pd.DataFrame(
        {n: pd.array(list(c), dtype=TEXT) for n, c in zip(names, columns, strict=True)}
    )
    errors = (
        error_rows(
            [b[0] for b in bad],
            [b[1] for b in bad],
            "bad-field-count",
            [b[2] for b in bad],
            [b[3] for b in bad],
        )
        if bad
        else empty_errors()
    )
    return RawTable(frame, np.array(rows, dtype=np.int64), path, errors)


def read_csv(path: Path, source: SourceSpec) -> RawTable:
    """Read a delimited text export as pinned by ``source``."""
    check_text(path, source.encoding, source.format)
    names = _header(path, source)
    found = scan(path, source.encoding, QUOTE)
    table = None
    if not found.has_nul and found.quotes % 2 == 0:
        table = _fast(path, source, names)
    if table is None:
        raw = _exact(path, source, names)
    else:
        table, rows = _drop_blank(table)
        raw = RawTable(text_frame(table, names), rows, path)
    return RawTable(raw.frame, raw.rows, path, raw.errors, may_have_controls=found.has_controls)
