"""How to read a sample export: what the data officer passed, the rest guessed from the file.

``mapping init`` pins every guess in the scaffold's ``source:`` block with a
note on how it was made, so that a wrong guess is seen and fixed once, in the
mapping, rather than re-made on every ingest.
"""

from __future__ import annotations

from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.formats.detect import detect_delimiter, detect_sheet, explain_encoding, read_head
from ctdc.mapping.source import SourceSpec
from ctdc.mapping.spec import FORMATS

#: file name ending -> format
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx",
              ".xlsm": "xlsx", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson",
              ".parquet": "parquet"}  # fmt: skip


def guess_source(
    path: Path,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    header_rows: int | None = None,
) -> tuple[SourceSpec, list[str]]:
    """How to read ``path``: what is given, the rest guessed; and notes on each guess."""
    notes: list[str] = []
    if not path.is_file():
        raise CtdcError("file-not-found", "no such file", file=path)
    if fmt is None:
        fmt = EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise CtdcError("bad-option", f"cannot tell the format of {path.name!r}",
                            file=path, fix=f"pass --format ({', '.join(FORMATS)})")  # fmt: skip
        head = path.read_bytes()[:4096] if fmt == "json" else b""
        lines = [ln for ln in head.decode("latin-1").splitlines() if ln.strip()]
        if fmt == "json" and len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines):
            fmt = "ndjson"  # one object per line, named .json
        notes.append(f"format {fmt} (from the file name)")
    elif fmt not in FORMATS:
        raise CtdcError("bad-option", f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt in ("csv", "tsv", "json", "ndjson") and encoding is None:
        encoding, why = explain_encoding(read_head(path))
        notes.append(f"encoding {encoding} ({why})")
    if fmt == "csv" and delimiter is None:
        delimiter = detect_delimiter(read_head(path), encoding or "utf-8")
        notes.append(f"delimiter {delimiter!r} (the most regular one in the first lines)")
    if (header_rows or 1) > 1 and fmt != "xlsx":
        raise CtdcError("bad-option", "--header-rows is for XLSX headers", file=path)
    if fmt == "xlsx" and sheet is None:
        sheet, names = detect_sheet(path)
        if len(names) > 1:
            notes.append(f"sheet {sheet!r}, the first of {', '.join(map(repr, names))}")
    spec = SourceSpec(
        format=fmt,
        encoding=encoding or "utf-8",
        delimiter=delimiter or ("\t" if fmt == "tsv" else ","),
        sheet=sheet,
        header_row=header_row or 1,
        header_rows=header_rows or 1,
    )
    return spec, notes
