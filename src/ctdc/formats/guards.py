"""Look at a text export's bytes before parsing it: binary or text, and what the parser will meet.

Two cheap passes over bytes:

- :func:`check_text` reads the first ``SNIFF_BYTES`` and refuses a binary file
  (a workbook, an image, a PDF renamed ``.csv``) with a message that says what
  it is, and a file that is not text in the pinned encoding.
- :func:`scan` reads the whole file once and reports whether it holds a NUL,
  any other control character, and how many quote characters. The CSV reader
  uses it to pick its fast path: pyarrow's parser cuts a cell at a NUL and an
  odd quote count means a quote never closes, so such files take the exact
  path instead.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.limits import BINARY_CONTROL_SHARE, SNIFF_BYTES

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


def is_utf8(head: bytes) -> bool:
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
    if share > BINARY_CONTROL_SHARE and is_utf8(head):
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
