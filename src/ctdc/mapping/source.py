"""The mapping's ``source:`` block: how an organization's export is read, and what is left to guess.

A mapping names a format and, for text, may leave the encoding and the CSV
delimiter out. :meth:`SourceSpec.options` turns the block into the reader's
own typed options (:mod:`ctdc.formats.options`), and :func:`guess_source`
fills in what was left out with the project's one detector
(:mod:`ctdc.formats.detect`), once per file, with the YAML line that would pin
the guess: a guess can be wrong where the first MiB was not representative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from ctdc.formats.detect import DELIMITERS, detect_delimiter, guess_encoding, read_head
from ctdc.formats.options import (
    CsvOptions,
    FormatOptions,
    JsonOptions,
    ParquetOptions,
    XlsxOptions,
)


@dataclass(frozen=True)
class SourceSpec:
    format: str
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    header_row: int = 1
    #: XLSX: rows making up the header, from ``header_row`` (merged group labels above the
    #: column names); the names join each column's labels with " / "
    header_rows: int = 1
    #: keys the mapping left out (``encoding``, ``delimiter``): guessed per file
    guess: tuple[str, ...] = ()

    def options(self) -> FormatOptions:
        """What the reader of ``format`` needs from this block, and nothing else."""
        if self.format == "csv":
            return CsvOptions(self.encoding, self.delimiter)
        if self.format == "tsv":
            return CsvOptions(self.encoding, self.delimiter, "tsv")
        if self.format in ("json", "ndjson"):
            return JsonOptions(self.encoding, lines=self.format == "ndjson")
        if self.format == "xlsx":
            return XlsxOptions(self.sheet, self.header_row, self.header_rows)
        if self.format == "parquet":
            return ParquetOptions()
        raise ValueError(f"no reader for format {self.format!r}")


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
        head = read_head(path)
    except OSError:
        return replace(source, guess=()), None  # the reader reports the missing file
    encoding = guess_encoding(head) if "encoding" in source.guess else source.encoding
    found: dict[str, str] = {}
    if "encoding" in source.guess:
        found["encoding"] = encoding
    if "delimiter" in source.guess:
        found["delimiter"] = detect_delimiter(head, encoding)
    guessed = replace(
        source,
        encoding=encoding,
        delimiter=found.get("delimiter", source.delimiter),
        guess=(),
    )
    pinned = {"format": source.format, "encoding": guessed.encoding}
    if source.format in ("csv", "tsv"):
        pinned["delimiter"] = guessed.delimiter
    yaml = "source: {" + ", ".join(f"{k}: {_yaml(v)}" for k, v in pinned.items()) + "}"
    what = " and ".join(f"{k} {_yaml(v)}" for k, v in found.items())
    return guessed, f"{what} guessed (not pinned in the mapping); to pin: {yaml}"
