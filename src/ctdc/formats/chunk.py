"""The reader's output: an export as all-text chunks, their row numbers and their read errors.

Every reader yields :class:`Chunk` objects, one after the other, so that a
large export never sits in memory whole; :class:`RawTable` is the same for a
whole file (``read_export``, for small files and tests). Rows that were read
but could not be read *well* (too many fields, a broken NDJSON line, a NUL in
a cell) stay in the chunk, padded with empty cells, and get a row in
``errors``: the ingest then quarantines them like any other bad row, so rows
read = staged + quarantined holds for files rejected row by row, and nothing
disappears.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ctdc import limits
from ctdc.errors import CtdcError
from ctdc.limits import MAX_CELL_CHARS, SHOWN_VALUE_CHARS
from ctdc.row_errors import RowErrors, no_row_errors

TEXT = pd.StringDtype("pyarrow")

#: C0 controls and DEL, except tab, line feed and carriage return (legal in quoted cells)
CONTROL_CLASS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL_RE = re.compile(CONTROL_CLASS)


def python_encoding(encoding: str) -> str:
    """Skip a UTF-8 BOM when reading with Python, as pyarrow's CSV reader does."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def shown(value: str, limit: int = SHOWN_VALUE_CHARS) -> str:
    """An offending value as a person can read it: controls escaped, text over ``limit`` cut.

    A cut value ends with ``… (N characters)``, N its full length, which
    ``ctdc.ingest.redact`` reads back to describe the value without showing it.
    """
    text = _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(value):,} characters)"
    return text


def raw_text(line: str) -> str:
    """The text of a record that could not be parsed, for the quarantine's ``value``.

    It is the only faithful copy of that record (the quarantine's ``raw`` holds
    its fields padded or cut to the header's, or, for a broken NDJSON line,
    empty cells), so it is kept whole, as docs/errors.md promises, up to
    ``MAX_CELL_CHARS``: the quarantine export is read in spreadsheets, where no
    cell holds more, and a longer "row" is a damaged export (an unclosed
    quote), not a record to retype. It used to be cut at ``SHOWN_VALUE_CHARS``.
    """
    return shown(line, MAX_CELL_CHARS)


@dataclass(frozen=True)
class RawTable:
    """An export as text: ``frame`` has one str column per source column."""

    frame: pd.DataFrame
    rows: np.ndarray  # source row number of each frame row
    path: Path
    errors: RowErrors = field(default_factory=no_row_errors)
    #: False only when a reader has proven there is no control character in the file,
    #: which lets the cell check skip a regex pass over every column
    may_have_controls: bool = True


@dataclass(frozen=True)
class Chunk:
    """Consecutive records of an export: one non-null string column per source column.

    ``errors`` positions are into this chunk; ``done`` is how far into the file
    the reader is (bytes, or characters for text it decodes itself), for a
    progress bar.
    """

    table: pa.Table
    rows: np.ndarray  # source row number of each record
    errors: RowErrors = field(default_factory=no_row_errors)
    may_have_controls: bool = True
    done: int = 0

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def records_per_chunk(width: int) -> int:
    """Chunk size of a reader that builds Python text: ``CHUNK_ROWS``, fewer for wide records."""
    return max(1, min(limits.CHUNK_ROWS, limits.CHUNK_CELLS // max(width, 1)))


def text_table(names: Sequence[str], columns: Sequence[Sequence[str]]) -> pa.Table:
    """Python lists of text -> an all-string Arrow table in the export's column order.

    A lone surrogate (JSON may spell one, ``"\\ud800"``, and Python then holds
    it) is not a character and cannot be written as UTF-8: the file is refused
    with a catalogued error instead of failing deep in Arrow.
    """
    try:
        arrays = [pa.array(c, type=pa.string()) for c in columns]
    except UnicodeEncodeError as exc:
        raise CtdcError(
            "unreadable-file",
            "a value holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), "
            "which is not a character",
            fix="export the data again as UTF-8 text; every \\uD800-\\uDBFF escape must be "
            "followed by a \\uDC00-\\uDFFF one",
        ) from exc
    return pa.Table.from_arrays(arrays, names=list(names))


def check_header(path: Path, names: Sequence[object], row: int = 1) -> list[str]:
    """Header names as text; refuse empty, duplicate or control-character names."""
    out = [str(n).strip() for n in names]
    seen: set[str] = set()
    for i, name in enumerate(out, start=1):
        if not name:
            raise CtdcError(
                "unreadable-file",
                f"header column {i} has no name",
                file=path,
                row=row,
                fix="give every column of the header a name; for an XLSX header over several "
                "rows (merged group labels above the names) set `source.header_rows`",
            )
        if _CONTROL_RE.search(name):
            raise CtdcError(
                "control-character", f"header column {i} is '{shown(name)}'", file=path, row=row
            )
        if name in seen:
            raise CtdcError(
                "duplicate-column",
                f"column {name!r} appears twice in the header",
                file=path,
                row=row,
                column=name,
            )
        seen.add(name)
    return out


def text_frame(table: pa.Table, names: list[str]) -> pd.DataFrame:
    table = table.rename_columns(names)
    return table.to_pandas(types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get)
