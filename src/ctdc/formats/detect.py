"""Which encoding, delimiter and sheet an export most likely has, when nobody said.

The one detector of the project: the ingest asks it for what
``pipelines/<org>.yaml`` leaves out of ``source``, and ``ctdc mapping init``
for everything it drafts, so both always agree on a file.

- encoding, from the first ``SNIFF_GUESS_BYTES``: a byte order mark; UTF-16
  without one (NULs on every other byte); valid UTF-8; else cp1252 when bytes
  0x80-0x9F occur (Windows' letters and quotes there, unless one of the five
  it leaves undefined is present), else latin-1;
- delimiter: the one among ``, ; TAB |`` that splits the first records into
  the same number of fields (more than one) most consistently;
- sheet: the workbook's first.

A guess can be wrong where the sample was not representative, so callers
print it with the line that pins it.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from ctdc.formats.archive import check_archive
from ctdc.formats.guards import is_utf8
from ctdc.limits import SNIFF_GUESS_BYTES

#: delimiters a guess chooses from, in order of preference on a tie
DELIMITERS = (",", ";", "\t", "|")
#: bytes cp1252 leaves undefined: a file holding them is not cp1252
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)
_GUESS_RECORDS = 50


def guess_encoding(head: bytes) -> str:
    """The most likely encoding of a text file that starts with ``head``."""
    return explain_encoding(head)[0]


def explain_encoding(head: bytes) -> tuple[str, str]:
    """:func:`guess_encoding`, and why (for ``ctdc mapping init``'s notes)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", "UTF-32 byte-order mark"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", "UTF-8 byte-order mark (skipped when read)"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16 byte-order mark"
    even, odd = head[0::2], head[1::2]
    if len(head) >= 4:
        if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le", "every other byte is zero: UTF-16 without a byte-order mark"
        if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be", "every other byte is zero: UTF-16 without a byte-order mark"
    if is_utf8(head):
        return "utf-8", "every byte read is valid UTF-8"
    c1 = head.translate(None, _NOT_C1)
    if c1 and not any(b in _CP1252_UNDEFINED for b in c1):
        # 0x80-0x9f are Windows-1252's letters and quotes, not C1 controls
        return "cp1252", "not UTF-8; bytes 0x80-0x9F are Windows-1252 characters"
    return "latin-1", "not UTF-8"


def guess_delimiter(text: str) -> str:
    """The delimiter that splits the first records of ``text`` most consistently."""
    cut = text.rfind("\n")
    sample = text[: cut + 1] if cut > 0 else text
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [
                len(rec)
                for _, rec in zip(
                    range(_GUESS_RECORDS),
                    csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter),
                    strict=False,
                )
                if any(rec)
            ]
        except csv.Error:
            continue
        if not widths:
            continue
        common = max(set(widths), key=lambda w: (widths.count(w), w))
        score = (widths.count(common), common)
        if common > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def read_head(path: Path) -> bytes:
    """The bytes every guess looks at: the first ``SNIFF_GUESS_BYTES`` of the file."""
    with open(path, "rb") as fh:
        return fh.read(SNIFF_GUESS_BYTES)


def detect_delimiter(head: bytes, encoding: str) -> str:
    """:func:`guess_delimiter` on ``head`` decoded as ``encoding`` (a byte order mark skipped)."""
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    return guess_delimiter(text.removeprefix("\ufeff"))


def detect_sheet(path: Path) -> tuple[str | None, list[str]]:
    """The first sheet's name and all names; ``(None, [])`` when the workbook cannot be opened.

    The archive checks of the reader run first, so a zip bomb is refused before
    openpyxl inflates it; any other failure is left to the reader, which
    reports it with its catalogued error.
    """
    check_archive(path)
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            return wb.sheetnames[0], list(wb.sheetnames)
        finally:
            wb.close()
    except Exception:
        return None, []
