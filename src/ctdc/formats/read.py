"""Read an export into all-text chunks, whatever its format.

Every value is read as text (``NA`` stays Namibia, ``00123`` keeps its zeros);
typing is the mapping's job. Each row keeps its source row number as a data
officer would find it: for CSV and XLSX the row a spreadsheet shows (header =
row 1 unless ``header_row`` says otherwise), for JSON/Parquet the 1-based
record number, for NDJSON the line number.

One module per format (``csv_reader``, ``xlsx_reader``, ``json_reader``),
each a generator of :class:`~ctdc.formats.chunk.Chunk` (``iter_export``), so that
ingest holds one chunk at a time; ``read_export`` joins them for small files
and tests. This module dispatches and runs the checks they share: hostile input either
stops the read with one catalogued error (binary file, zip bomb, unclosed
quote, duplicate columns) or marks single rows for the quarantine (wrong
field count, broken NDJSON line, control characters, overlong values). See
docs/errors.md, "Hostile input".
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctdc import limits
from ctdc.errors import CtdcError
from ctdc.formats.cells import cell_errors
from ctdc.formats.chunk import Chunk, RawTable, check_header, text_frame
from ctdc.formats.csv import iter_csv
from ctdc.formats.json import iter_json, iter_ndjson
from ctdc.formats.xlsx import iter_xlsx
from ctdc.mapping.spec import SourceSpec
from ctdc.text import without_quoted

__all__ = ["Chunk", "RawTable", "iter_export", "read_export", "text_lines"]


def _unreadable_parquet(path: Path, exc: Exception) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"cannot read as parquet: {without_quoted(str(exc).splitlines()[0])}",
        file=path,
        fix="check `source.format` in pipelines/<org>.yaml",
    )


def _iter_parquet(path: Path, source: SourceSpec) -> Iterator[Chunk]:
    try:
        pf = pq.ParquetFile(path)
        names = check_header(path, pf.schema_arrow.names)
        text = pa.schema([(n, pa.string()) for n in pf.schema_arrow.names])
        batches = pf.iter_batches(batch_size=limits.CHUNK_ROWS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise _unreadable_parquet(path, exc) from exc
    first = 1
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            table = pa.Table.from_batches([batch]).cast(text)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise _unreadable_parquet(path, exc) from exc
        table = pa.Table.from_arrays(
            [pc.fill_null(c, "").combine_chunks() for c in table.columns], names=names
        )
        rows = np.arange(first, first + table.num_rows, dtype=np.int64)
        first += table.num_rows
        yield Chunk(table, rows)


_READERS: dict[str, Callable[[Path, SourceSpec], Iterator[Chunk]]] = {
    "csv": iter_csv,
    "tsv": iter_csv,
    "json": iter_json,
    "ndjson": iter_ndjson,
    "xlsx": iter_xlsx,
    "parquet": _iter_parquet,
}


def iter_export(path: Path, source: SourceSpec) -> Iterator[Chunk]:
    """The export as pinned by ``source``, chunk by chunk, with the shared cell checks.

    Raises a catalogued error if it cannot be read; ``empty-file`` once the end
    is reached without a single record.
    """
    if not path.is_file():
        raise CtdcError("file-not-found", "no such file", file=path)
    if path.stat().st_size == 0:
        raise CtdcError("empty-file", "the file is empty (0 bytes)", file=path)
    records = 0
    try:
        for chunk in _READERS[source.format](path, source):
            if chunk.num_rows == 0:
                continue
            records += chunk.num_rows
            cells = cell_errors(chunk.table, check_controls=chunk.may_have_controls)
            if len(cells):
                errors = pd.concat([chunk.errors, cells], ignore_index=True)
                chunk = Chunk(chunk.table, chunk.rows, errors, chunk.may_have_controls, chunk.done)
            yield chunk
    except CtdcError as exc:  # raised by a helper that did not know the file
        raise exc.located(path) from exc.__cause__
    if records == 0:
        what = "an empty array: no records" if source.format == "json" else "no data rows"
        if source.format in ("csv", "tsv", "xlsx"):
            what = "a header but no data rows"
        raise CtdcError("empty-file", f"the file has {what}", file=path)


def read_export(path: Path, source: SourceSpec) -> RawTable:
    """The whole export as one :class:`RawTable` (small files and tests; ingest streams)."""
    chunks = list(iter_export(path, source))
    offsets = np.cumsum([0] + [c.num_rows for c in chunks])
    errors = [
        c.errors.assign(pos=c.errors["pos"] + off) for c, off in zip(chunks, offsets, strict=False)
    ]
    table = pa.concat_tables([c.table for c in chunks])
    return RawTable(
        text_frame(table, table.column_names),
        np.concatenate([c.rows for c in chunks]),
        path,
        pd.concat(errors, ignore_index=True),
        any(c.may_have_controls for c in chunks),
    )


def text_lines(frame: pd.DataFrame) -> list[str]:
    """Each row as a compact JSON object (for the quarantine's raw copy).

    Split on ``\n`` only: JSON escapes it inside values, but not U+2028 or
    U+0085, which ``str.splitlines`` would also split on.
    """
    if len(frame) == 0:
        return []
    buf = io.StringIO()
    frame.to_json(buf, orient="records", lines=True, force_ascii=False)
    return buf.getvalue().rstrip("\n").split("\n")
