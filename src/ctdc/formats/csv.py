"""CSV/TSV in chunks: pyarrow's streaming parser for clean files, Python's ``csv`` for the rest.

The fast path (pyarrow's streaming reader, an order of magnitude faster than
``pandas.read_csv(dtype=str)``) is taken only when it is known to be exact:
no NUL in the file (pyarrow cuts a cell there) and an even number of quotes
(an odd one means a quote never closes). If pyarrow still meets a row it
cannot place (a row with another number of fields than the header, text that
is not in the pinned encoding), the exact path takes over *from the first
record not yet handed on*: the chunks already yielded were parsed the same
way by both paths, so the read never restarts and memory stays bounded.

The exact path walks the records with ``csv.reader``, keeps each record's raw
text, and turns what pyarrow would refuse into row errors:

- a row with too many or too few fields -> ``bad-field-count`` (row quarantined,
  the rest of the file goes on);
- a quote still open at the end of the file -> ``unterminated-quote`` for the
  whole file (every row after it would silently have become one value);
- a single value over ``MAX_FIELD_BYTES`` -> the read stops (``value-too-long``).

It is streamed too (chunks of ``CHUNK_ROWS`` records, fewer if wide), so hostile files are
also read in bounded memory; only its speed is Python's.

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
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ctdc import limits
from ctdc.errors import CtdcError
from ctdc.formats.chunk import (
    Chunk,
    check_header,
    python_encoding,
    raw_text,
    records_per_chunk,
    text_table,
)
from ctdc.formats.guards import check_text, scan
from ctdc.formats.options import CsvOptions
from ctdc.limits import MAX_FIELD_BYTES
from ctdc.row_errors import no_row_errors, row_errors

QUOTE = '"'


@contextmanager
def _field_limit() -> Iterator[None]:
    """Raise ``csv``'s 128 KiB per-value limit to ``MAX_FIELD_BYTES`` for this read only."""
    old = csv.field_size_limit(MAX_FIELD_BYTES)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _header(path: Path, options: CsvOptions) -> list[str]:
    try:
        with (
            _field_limit(),
            open(path, encoding=python_encoding(options.encoding), newline="") as fh,
        ):
            header = next(csv.reader(fh, delimiter=options.delimiter), None)
    except UnicodeDecodeError as exc:
        raise CtdcError(
            "unreadable-file", f"not {options.encoding} text ({exc.reason})", file=path, row=1
        ) from exc
    except csv.Error as exc:
        raise CtdcError(
            "unreadable-file", f"the header cannot be read: {exc}", file=path, row=1
        ) from exc
    if not header or not any(h.strip() for h in header):
        raise CtdcError("empty-file", "the file is empty (no header row)", file=path)
    return check_header(path, header)


#: pyarrow's read block: a record longer than this sends the rest of the file to the exact path
BLOCK_BYTES = 1024 * 1024


class _Fast:
    """pyarrow's streaming reader, cut into chunks; stops quietly where it cannot go on."""

    def __init__(self, path: Path, options: CsvOptions, names: list[str], controls: bool) -> None:
        self.path, self.options, self.names, self.controls = path, options, names, controls
        self.next_row = 2  # spreadsheet row of the first record not yet yielded
        self.complete = False

    def _open(self, fh: pa.NativeFile) -> pacsv.CSVStreamingReader:
        names = self.names
        return pacsv.open_csv(
            fh,
            read_options=pacsv.ReadOptions(
                encoding=self.options.encoding,
                column_names=names,
                skip_rows=1,
                block_size=BLOCK_BYTES,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.options.delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,  # a blank line is a row number, dropped below
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )

    def chunks(self) -> Iterator[Chunk]:
        """Chunks of the file; ``complete`` tells whether it reached the end."""
        with pa.OSFile(str(self.path)) as fh:
            try:
                reader = self._open(fh)
            except (pa.ArrowInvalid, UnicodeDecodeError):
                return  # the exact path says precisely what is wrong, and where
            buf: pa.Table | None = None
            limit = limits.CHUNK_ROWS
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (pa.ArrowInvalid, UnicodeDecodeError):
                    return  # ... from the first record not yet yielded
                if buf is None:
                    width = max(batch.nbytes // max(batch.num_rows, 1), 1)
                    limit = max(1, min(limits.CHUNK_ROWS, limits.CHUNK_BYTES // width))
                    buf = pa.Table.from_batches([batch])
                else:
                    buf = pa.concat_tables([buf, pa.Table.from_batches([batch])])
                while buf.num_rows >= limit:
                    part, buf = buf.slice(0, limit), buf.slice(limit)
                    yield self._chunk(part, fh.tell())
            if buf is not None and buf.num_rows:
                yield self._chunk(buf, fh.tell())
            self.complete = True

    def _chunk(self, table: pa.Table, done: int) -> Chunk:
        first, self.next_row = self.next_row, self.next_row + table.num_rows
        table, rows = _drop_blank(table.combine_chunks(), first)
        return Chunk(table, rows, may_have_controls=self.controls, done=done)


def _drop_blank(table: pa.Table, first: int) -> tuple[pa.Table, np.ndarray]:
    """Drop all-empty rows (blank lines); return the table and its spreadsheet row numbers."""
    rows = np.arange(first, first + table.num_rows, dtype=np.int64)
    if table.num_rows == 0 or table.num_columns == 0:
        return table, rows
    blank = pc.equal(pc.binary_length(table.column(0)), 0)
    for col in table.columns[1:]:
        blank = pc.and_(blank, pc.equal(pc.binary_length(col), 0))
    keep = pc.invert(blank)
    if pc.all(keep).as_py():
        return table, rows
    return table.filter(keep), rows[keep.to_numpy(zero_copy_only=False)]


class _Lines:
    """The file's lines for ``csv.reader``, keeping those the current record used."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self._it = iter(fh)
        self._taken: list[str] = []
        self.chars = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self._taken.append(line)
        return line

    def take(self) -> str:
        text = "".join(self._taken)
        self._taken.clear()
        self.chars += len(text)
        return text


def _quote_left_open(text: str, delimiter: str) -> bool:
    """True when ``text`` (one record) ends inside a quoted value."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


class _Exact:
    """Records of one chunk of the exact path, with their row numbers and field-count errors."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.records: list[list[str]] = []
        self.rows: list[int] = []
        self.bad: list[tuple[int, str, str, str]] = []  # (pos, column, value, expected)

    def add(self, rec: list[str], row_no: int, text: str) -> None:
        width = len(self.names)
        if len(rec) != width:
            missing = self.names[len(rec)] if len(rec) < width else ""
            self.bad.append(
                (
                    len(self.records),
                    missing,
                    raw_text(text.rstrip("\r\n")),
                    f"{width} fields like the header, found {len(rec)}",
                )
            )
            rec = (rec + [""] * width)[:width]
        self.records.append(rec)
        self.rows.append(row_no)

    def chunk(self, controls: bool, done: int) -> Chunk:
        names, bad = self.names, self.bad
        columns = list(zip(*self.records, strict=True)) if self.records else [() for _ in names]
        errors = (
            row_errors(
                [b[0] for b in bad],
                column=[b[1] for b in bad],
                reason="bad-field-count",
                value=[b[2] for b in bad],
                expected=[b[3] for b in bad],
            )
            if bad
            else no_row_errors()
        )
        return Chunk(
            text_table(names, columns), np.array(self.rows, dtype=np.int64), errors, controls, done
        )


def _exact(
    path: Path, options: CsvOptions, names: list[str], resume: int, controls: bool
) -> Iterator[Chunk]:
    """Record by record with ``csv.reader``: slower, but exact about every defect.

    Records before row ``resume`` were already yielded by the fast path: they
    are parsed (to know where the next one starts) but not kept.
    """
    part = _Exact(names)
    size = records_per_chunk(len(names))
    row_no, fields, text = 1, 0, ""
    try:
        with (
            _field_limit(),
            open(path, encoding=python_encoding(options.encoding), newline="") as fh,
        ):
            lines = _Lines(fh)
            reader = csv.reader(lines, delimiter=options.delimiter)
            next(reader, None)  # the header, already checked
            lines.take()
            for rec in reader:
                row_no += 1
                text = lines.take()
                fields = len(rec)
                if row_no < resume or not any(rec):
                    continue  # yielded already, or a blank line: a row number, not a record
                if len(part.records) >= size:
                    yield part.chunk(controls, lines.chars)
                    part = _Exact(names)
                part.add(rec, row_no, text)
    except UnicodeDecodeError as exc:
        raise CtdcError(
            "unreadable-file",
            f"not {options.encoding} text ({exc.reason})",
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
    if fields and QUOTE in text and _quote_left_open(text, options.delimiter):
        column = names[min(fields, len(names)) - 1]
        raise CtdcError(
            "unterminated-quote",
            "the quote opened in this row never closes: the rest of the file "
            f"({text.count(chr(10)):,} lines) would become one value",
            file=path,
            row=row_no,
            column=column,
        )
    if part.records:
        yield part.chunk(controls, lines.chars)


def iter_csv(path: Path, options: CsvOptions) -> Iterator[Chunk]:
    """A delimited text export as pinned by ``source``, in chunks of consecutive records."""
    check_text(path, options.encoding, options.name)
    names = _header(path, options)
    found = scan(path, options.encoding, QUOTE)
    resume = 2
    if not found.has_nul and found.quotes % 2 == 0:
        fast = _Fast(path, options, names, found.has_controls)
        yield from fast.chunks()
        if fast.complete:
            return
        resume = fast.next_row
    yield from _exact(path, options, names, resume, found.has_controls)
