"""Why an export's header lacks the mapping's columns, when the cause is how it was read.

A wrong sheet, a wrong header row, a wrong CSV delimiter or a wrong encoding
all end the same way: the columns the mapping names are not in the header
that was read, and ``missing-column`` names them. Said alone, that sends the
officer to check the export's column names, which are right. These functions
look at the file again (only once that error is certain, so a sound ingest
pays nothing) and say what was read and what the file most likely is: the
sheet read and the sheets present, the header that came out as one column
and the delimiter inside it, the UTF-8 names read as latin-1.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from ctdc.formats.chunk import shown
from ctdc.formats.detect import DELIMITERS, detect_delimiter, read_head
from ctdc.formats.options import CsvOptions, FormatOptions, XlsxOptions
from ctdc.formats.xlsx import header_names

#: how much of a header cell a hint quotes (a whole header read as one cell can be long)
HINT_CHARS = 120


@dataclass(frozen=True)
class HeaderHint:
    """What was read (to add to the error's detail) and the ``source:`` setting to change."""

    detail: str
    fix: str


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _delimiter_word(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _csv_hint(path: Path, options: CsvOptions, names: list[str],
              missing: list[str]) -> HeaderHint | None:  # fmt: skip
    pinned = options.delimiter
    if len(names) == 1:
        cell = names[0]
        inside = [d for d in DELIMITERS if d != pinned and d in cell]
        if inside:
            likely = max(inside, key=cell.count)
            return HeaderHint(
                f"the header came out as one column, '{shown(cell, HINT_CHARS)}', when split on "
                f"{_delimiter_word(pinned)}: the file looks delimited by {_delimiter_word(likely)}",
                f"set `source.delimiter: {_yaml(likely)}`",
            )
    head = read_head(path)
    guess = detect_delimiter(head, options.encoding)
    if guess != pinned:
        text = head.decode(options.encoding, errors="replace").removeprefix("\ufeff")
        split = next(csv.reader(io.StringIO(text, newline=""), delimiter=guess), [])
        if len(split) > len(names):
            return HeaderHint(
                f"the header split on {_delimiter_word(pinned)} gives {len(names)} columns; "
                f"split on {_delimiter_word(guess)}, {len(split)}: the file looks delimited by "
                f"{_delimiter_word(guess)}",
                f"set `source.delimiter: {_yaml(guess)}`",
            )
    return _encoding_hint(options.encoding, names, missing)


def _encoding_hint(encoding: str, names: list[str], missing: list[str]) -> HeaderHint | None:
    """Column names written in UTF-8 and read in a one-byte encoding (``TelÃ©fono``)."""
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig"):
        return None
    present = set(names)
    for name in missing:
        try:
            as_read = name.encode("utf-8").decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if as_read != name and as_read in present:
            return HeaderHint(
                f"column {name!r} was read as {as_read!r}: the file looks UTF-8, not {encoding}",
                "set `source.encoding: utf-8`",
            )
    return None


def _yaml(delimiter: str) -> str:
    return '"\\t"' if delimiter == "\t" else f'"{delimiter}"'


#: the fix when no other sheet has the missing columns
_OTHER_SHEET = ("set `source.sheet` to the sheet that holds the cases (and `source.header_row` to "
                "its header's row)")  # fmt: skip


def _xlsx_hint(path: Path, options: XlsxOptions, missing: list[str],
               otherwise: str) -> HeaderHint | None:  # fmt: skip
    """The sheet read and the workbook's sheets; the sheet that has the columns, if one has."""
    import openpyxl  # only on this error path, and only XLSX exports get here

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # the reader opened it a moment ago; if it no longer opens, say nothing
        return None
    try:
        sheets = list(wb.sheetnames)
        read = options.sheet if options.sheet is not None else sheets[0]
        last = options.header_row + options.header_rows - 1
        having = []
        for name in sheets:
            if name == read:
                continue
            try:
                rows = wb[name].iter_rows(min_row=options.header_row, max_row=last,
                                          values_only=True)  # fmt: skip
                header = set(header_names([tuple(r or ()) for r in rows]))
            except Exception:  # a chart sheet has no rows; a damaged one is not the one read
                continue
            if missing and all(m in header for m in missing):
                having.append(name)
    finally:
        wb.close()
    pinned = "" if options.sheet is not None else " (the first: `source.sheet` is not set)"
    detail = (f"read sheet {read!r}{pinned}, header row {options.header_row}; the workbook's "
              f"sheets: {_names(sheets)}")  # fmt: skip
    if having:
        detail += f"; sheet {having[0]!r} has these columns"
        return HeaderHint(
            detail, f"set `source.sheet: {json.dumps(having[0], ensure_ascii=False)}`"
        )
    if len(sheets) == 1 and not missing:
        return None  # one sheet, no column asked for: a wrong sheet is not the likely cause
    return HeaderHint(detail, f"{_OTHER_SHEET}{otherwise}")


def sheet_hint(path: Path, options: XlsxOptions) -> HeaderHint | None:
    """For a workbook of several sheets whose sheet read has no records: which one was read.

    A summary sheet first and the cases on the second reads as an empty export
    (``empty-file``) when the summary has a line or two: the sheets say why.
    """
    return _xlsx_hint(path, options, [], "; or export again: the sheet must have a header and "
                      "at least one row")  # fmt: skip


def header_hint(path: Path, options: FormatOptions, names: list[str],
                missing: list[str]) -> HeaderHint | None:  # fmt: skip
    """Why the header read from ``path`` (``names``) lacks ``missing``, if the reading is to blame.

    None when nothing about the reading explains it (the columns are really not
    in the export, or the format has nothing to choose: JSON, Parquet).
    """
    if isinstance(options, CsvOptions):
        return _csv_hint(path, options, names, missing)
    if isinstance(options, XlsxOptions):
        return _xlsx_hint(path, options, missing, ", or export the column")
    return None
