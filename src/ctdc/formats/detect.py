"""Look at a text export's bytes before parsing it: binary or text, what the parser will meet,
and, when the mapping does not pin them, which encoding and delimiter it most likely has.

Three jobs, all cheap passes over bytes:

- :func:`check_text` reads the first ``SNIFF_BYTES`` and refuses a binary file
  (a workbook, an image, a PDF renamed ``.csv``) with a message that says what
  it is, and a file that is not text in the pinned encoding.
- :func:`scan` reads the whole file once and reports whether it holds a NUL,
  any other control character, and how many quote characters. The CSV reader
  uses it to pick its fast path: pyarrow's parser cuts a cell at a NUL and an
  odd quote count means a quote never closes, so such files take the exact
  path instead.
- :func:`guess_source` fills in what ``pipelines/<org>.yaml`` leaves out of
  ``source`` (``encoding``; ``delimiter`` for CSV), from the first
  ``SNIFF_GUESS_BYTES``: a byte order mark; UTF-16 without one (NULs on every
  other byte); valid UTF-8; else cp1252 when bytes 0x80-0x9F occur (Windows'
  letters and quotes there, unless one of the five it leaves undefined is
  present), else latin-1, as ``ctdc mapping init`` guesses. The
  delimiter is the one among ``, ; TAB |`` that splits the first records into
  the same number of fields (more than one) most consistently. The guess is
  made once per file and printed with the line that pins it, since a guess
  can be wrong where the sample was not representative.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ctdc.errors import CtdcError
from ctdc.limits import BINARY_CONTROL_SHARE, SNIFF_BYTES, SNIFF_GUESS_BYTES
from ctdc.mapping.spec import SourceSpec

#: leading bytes of binary formats people send by mistake, and what to call them
MAGIC: dict[bytes, str] = {
    b"PK\x03\x04": "a ZIP archive (an XLSX workbook or a zipped export)",
    b"\xd0\xcf\x11\xe0": "an old Office file (an .xls workbook)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"PAR1": "a Parquet file",
    b"SQLite format 3\x00": "an SQLite database",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"\x7fELF": "a program",
}

_C0 = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"
_NOT_C0 = bytes(b for b in range(256) if b not in _C0)
_ASCII = bytes(range(128))
_BLOCK = 16 * 1024 * 1024


def ascii_compatible(encoding: str) -> bool:
    """True when ASCII bytes mean ASCII characters (utf-8, latin-1, cp1252; not utf-16)."""
    try:
        return _ASCII.decode(encoding) == _ASCII.decode("ascii")
    except UnicodeDecodeError:
        return False


def _binary_share(text: str) -> float:
    controls = sum(1 for c in text if (c < " " and c not in "\t\n\r") or "\x7f" <= c <= "\x9f")
    return controls / max(len(text), 1)


def _is_utf8(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def check_text(path: Path, encoding: str, fmt: str) -> None:
    """Refuse a binary file or one that is not ``encoding`` text (looking at its start)."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    for magic, what in MAGIC.items():
        if head.startswith(magic):
            raise CtdcError("binary-file", f"this is {what}, not {fmt} text", file=path)
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise CtdcError(
            "unreadable-file",
            f"not {encoding} text: byte 0x{head[exc.start]:02x} at offset {exc.start:,} "
            f"({exc.reason})",
            file=path,
            fix="pin the file's real `source.encoding` in pipelines/<org>.yaml "
            "(e.g. cp1252 or utf-16), or export it again as UTF-8",
        ) from exc
    share = _binary_share(text)
    if share > BINARY_CONTROL_SHARE and _is_utf8(head):
        # e.g. Arabic or Cyrillic UTF-8 read as latin-1: its bytes land in the C1 range
        raise CtdcError(
            "unreadable-file",
            f"this is UTF-8 text, not {encoding}",
            file=path,
            fix="pin `source.encoding: utf-8` in pipelines/<org>.yaml",
        )
    if share > BINARY_CONTROL_SHARE:
        raise CtdcError(
            "binary-file",
            f"{share:.0%} of its first characters are control characters: this is not {fmt} text",
            file=path,
        )


@dataclass(frozen=True)
class Scan:
    has_nul: bool
    has_controls: bool  # any C0 control but tab/LF/CR, or DEL
    quotes: int


def scan(path: Path, encoding: str, quote: str = '"') -> Scan:
    """One pass over the whole file: NULs, other control characters, quote count."""
    has_nul = has_controls = False
    quotes = 0
    if ascii_compatible(encoding):
        qbyte = quote.encode("ascii")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                found = block.translate(None, _NOT_C0)
                if found:
                    has_controls = True
                    has_nul = has_nul or b"\x00" in found
                quotes += block.count(qbyte)
        return Scan(has_nul, has_controls, quotes)
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        for text_block in iter(lambda: fh.read(_BLOCK // 4), ""):
            found = text_block.encode("latin-1", errors="ignore").translate(None, _NOT_C0)
            if found:
                has_controls = True
                has_nul = has_nul or b"\x00" in found
            quotes += text_block.count(quote)
    return Scan(has_nul, has_controls, quotes)


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
    if _is_utf8(head):
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


def _yaml(value: str) -> str:
    return json.dumps(value) if value in DELIMITERS else value


def guess_source(path: Path, source: SourceSpec) -> tuple[SourceSpec, str | None]:
    """``source`` with what the mapping did not pin guessed from the file, and what to print.

    The message names the guess and the exact YAML that pins it. A pinned
    source comes back unchanged, with no message.
    """
    if not source.guess:
        return source, None
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_GUESS_BYTES)
    except OSError:
        return replace(source, guess=()), None  # the reader reports the missing file
    found: dict[str, Any] = {}  # encoding and delimiter, both str fields of SourceSpec
    if "encoding" in source.guess:
        found["encoding"] = guess_encoding(head)
    if "delimiter" in source.guess:
        encoding = found.get("encoding", source.encoding)
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
        found["delimiter"] = guess_delimiter(text.removeprefix("\ufeff"))
    guessed = replace(source, **found, guess=())
    pinned = {"format": source.format, "encoding": guessed.encoding}
    if source.format in ("csv", "tsv"):
        pinned["delimiter"] = guessed.delimiter
    yaml = "source: {" + ", ".join(f"{k}: {_yaml(v)}" for k, v in pinned.items()) + "}"
    what = " and ".join(f"{k} {_yaml(v)}" for k, v in found.items())
    return guessed, f"{what} guessed (not pinned in the mapping); to pin: {yaml}"
