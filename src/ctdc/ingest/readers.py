"""Read an export into an all-text frame, whatever its format.

Every value is read as text (``NA`` stays Namibia, ``00123`` keeps its zeros);
typing is the mapping's job. Each row keeps its source row number as a data
officer would find it: for CSV and XLSX the row a spreadsheet shows (header =
row 1 unless ``header_row`` says otherwise), for JSON/Parquet the 1-based
record number, for NDJSON the line number.

One module per format (``csv_reader``, ``xlsx_reader``, ``json_reader``);
this one dispatches and runs the checks they share: hostile input either
stops the read with one catalogued error (binary file, zip bomb, unclosed
quote, duplicate columns) or marks single rows for the quarantine (wrong
field count, broken NDJSON line, control characters, overlong values). See
docs/errors.md, "Hostile input".
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ctdc.errors import CtdcError
from ctdc.ingest.cells import cell_errors
from ctdc.ingest.csv_reader import read_csv
from ctdc.ingest.json_reader import read_json, read_ndjson
from ctdc.ingest.mapping import SourceSpec
from ctdc.ingest.raw import RawTable, check_header, text_frame
from ctdc.ingest.xlsx_reader import read_xlsx

__all__ = ["RawTable", "read_export", "text_lines"]


def _read_parquet(path: Path, source: SourceSpec) -> RawTable:
    try:
        table = pq.read_table(path)
        names = check_header(path, table.column_names)
        table = table.cast(pa.schema([(n, pa.string()) for n in table.column_names]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise CtdcError(
            "unreadable-file",
            f"cannot read as parquet: {str(exc).splitlines()[0]}",
            file=path,
            fix="check `source.format` in pipelines/<org>.yaml",
        ) from exc
    frame = text_frame(table, names).fillna("")
    return RawTable(frame, np.arange(1, len(frame) + 1), path)


_READERS: dict[str, Callable[[Path, SourceSpec], RawTable]] = {
    "csv": read_csv,
    "tsv": read_csv,
    "json": read_json,
    "ndjson": read_ndjson,
    "xlsx": read_xlsx,
    "parquet": _read_parquet,
}


def read_export(path: Path, source: SourceSpec) -> RawTable:
    """Read ``path`` as pinned by ``source``; raise a catalogued error if it cannot be."""
    if not path.is_file():
        raise CtdcError("file-not-found", "no such file", file=path)
    if path.stat().st_size == 0:
        raise CtdcError("empty-file", "the file is empty (0 bytes)", file=path)
    raw = _READERS[source.format](path, source)
    if len(raw.frame) == 0:
        raise CtdcError("empty-file", "the file has a header but no data rows", file=path)
    cells = cell_errors(raw.frame, check_controls=raw.may_have_controls)
    errors = pd.concat([raw.errors, cells], ignore_index=True) if len(cells) else raw.errors
    return RawTable(raw.frame, raw.rows, path, errors, raw.may_have_controls)


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
