"""Read an export into an all-text frame, whatever its format.

Every value is read as text (``NA`` stays Namibia, ``00123`` keeps its zeros);
typing is the mapping's job. Each row keeps its source row number as a data
officer would find it: for CSV and XLSX the row a spreadsheet shows (header =
row 1 unless ``header_row`` says otherwise), for JSON/NDJSON/Parquet the
1-based record number (NDJSON: the line number).

CSV goes through pyarrow's multi-threaded reader, which is an order of
magnitude faster than ``pandas.read_csv(dtype=str)`` on large files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ctdc.errors import CtdcError
from ctdc.ingest.mapping import SourceSpec

TEXT = pd.StringDtype("pyarrow")


@dataclass(frozen=True)
class RawTable:
    """An export as text: ``frame`` has one str column per source column."""

    frame: pd.DataFrame
    rows: np.ndarray  # source row number of each frame row
    path: Path


def _unreadable(path: Path, source: SourceSpec, detail: str) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"cannot read as {source.format} ({source.encoding}): {detail}",
        file=path,
    )


def _check_header(path: Path, names: list[str]) -> list[str]:
    names = [str(n).strip() for n in names]
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        if not name:
            raise CtdcError("unreadable-file", f"header column {i} has no name", file=path, row=1)
        if name in seen:
            raise CtdcError("unreadable-file", f"duplicate column name {name!r}", file=path, row=1,
                            column=name, fix="rename one of the columns in the export")  # fmt: skip
        seen.add(name)
    return names


def _text_frame(table: pa.Table, names: list[str]) -> pd.DataFrame:
    table = table.rename_columns(names)
    return table.to_pandas(types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get)


def _read_csv(path: Path, source: SourceSpec) -> RawTable:
    delimiter = source.delimiter
    try:
        with open(path, encoding=source.encoding, newline="") as fh:
            header = next(csv.reader(fh, delimiter=delimiter), None)
    except UnicodeDecodeError as exc:
        raise _unreadable(path, source, f"not {source.encoding} text ({exc.reason})") from exc
    if not header:
        raise CtdcError("empty-file", "the file is empty", file=path)
    names = _check_header(path, header)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=source.encoding, column_names=names, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _unreadable(path, source, str(exc).splitlines()[0]) from exc
    frame = _text_frame(table, names)
    return RawTable(frame, np.arange(2, len(frame) + 2), path)


def _cell_text(value: Any) -> str:
    """An XLSX/JSON scalar as the text a person would type for it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(_cell_text(v) for v in value)
    if isinstance(value, dict):
        raise TypeError("nested objects are not supported")
    return str(value)


def _records_frame(path: Path, records: list[tuple[int, dict[str, Any]]]) -> RawTable:
    names: dict[str, None] = {}
    for _, rec in records:
        names.update(dict.fromkeys(rec))
    cols: dict[str, list[str]] = {n: [] for n in names}
    for row, rec in records:
        for n in names:
            try:
                cols[n].append(_cell_text(rec.get(n)))
            except TypeError as exc:
                raise CtdcError(
                    "unreadable-file",
                    str(exc),
                    file=path,
                    row=row,
                    column=n,
                    fix="flatten the export: one scalar or list per key",
                ) from exc
    frame = pd.DataFrame({n: pd.array(v, dtype=TEXT) for n, v in cols.items()})
    return RawTable(frame, np.array([r for r, _ in records], dtype=np.int64), path)


def _read_json(path: Path, source: SourceSpec) -> RawTable:
    try:
        doc = json.loads(path.read_text(encoding=source.encoding))
    except UnicodeDecodeError as exc:
        raise _unreadable(path, source, f"not {source.encoding} text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise CtdcError("unreadable-file", f"invalid JSON: {exc.msg} (line {exc.lineno})",
                        file=path) from exc  # fmt: skip
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise _unreadable(path, source, "expected a JSON array of objects")
    return _records_frame(path, list(enumerate(doc, start=1)))


def _read_ndjson(path: Path, source: SourceSpec) -> RawTable:
    records: list[tuple[int, dict[str, Any]]] = []
    try:
        with open(path, encoding=source.encoding) as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CtdcError("unreadable-file", f"invalid JSON line: {exc.msg}",
                                    file=path, row=line_no) from exc  # fmt: skip
                if not isinstance(rec, dict):
                    raise CtdcError("unreadable-file", "each line must be a JSON object",
                                    file=path, row=line_no)  # fmt: skip
                records.append((line_no, rec))
    except UnicodeDecodeError as exc:
        raise _unreadable(path, source, f"not {source.encoding} text ({exc.reason})") from exc
    return _records_frame(path, records)


def _read_xlsx(path: Path, source: SourceSpec) -> RawTable:
    import openpyxl  # imported here: only XLSX ingests pay its import time

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise _unreadable(path, source, f"not an XLSX workbook ({type(exc).__name__})") from exc
    try:
        if source.sheet is not None and source.sheet not in wb.sheetnames:
            raise CtdcError("missing-column", f"no sheet {source.sheet!r}; sheets: "
                            f"{', '.join(wb.sheetnames)}", file=path,
                            fix="correct `source.sheet` in the mapping")  # fmt: skip
        ws = wb[source.sheet] if source.sheet is not None else wb.worksheets[0]
        it = ws.iter_rows(min_row=source.header_row, values_only=True)
        header = next(it, None)
        if header is None:
            raise CtdcError("empty-file", "the sheet is empty", file=path)
        while header and header[-1] is None:
            header = header[:-1]
        names = _check_header(path, list(header))
        width = len(names)
        rows: list[int] = []
        cols: list[list[str]] = [[] for _ in names]
        for row_no, values in enumerate(it, start=source.header_row + 1):
            cells = list(values[:width]) + [None] * (width - len(values))
            if any(v is not None for v in values[width:]):
                raise CtdcError("unreadable-file", "a value stands outside the header's columns",
                                file=path, row=row_no)  # fmt: skip
            if all(v is None or v == "" for v in cells):
                continue  # an empty spreadsheet row is not a record
            rows.append(row_no)
            for j, v in enumerate(cells):
                cols[j].append(_cell_text(v))
    finally:
        wb.close()
    frame = pd.DataFrame({n: pd.array(c, dtype=TEXT) for n, c in zip(names, cols, strict=True)})
    return RawTable(frame, np.array(rows, dtype=np.int64), path)


def _read_parquet(path: Path, source: SourceSpec) -> RawTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(path, source, str(exc).splitlines()[0]) from exc
    names = _check_header(path, table.column_names)
    table = table.cast(pa.schema([(n, pa.string()) for n in table.column_names]))
    frame = _text_frame(table, names).fillna("")
    return RawTable(frame, np.arange(1, len(frame) + 1), path)


_READERS = {
    "csv": _read_csv,
    "tsv": _read_csv,
    "json": _read_json,
    "ndjson": _read_ndjson,
    "xlsx": _read_xlsx,
    "parquet": _read_parquet,
}


def read_export(path: Path, source: SourceSpec) -> RawTable:
    """Read ``path`` as pinned by ``source``; raise a catalogued error if it cannot be."""
    if not path.is_file():
        raise CtdcError("file-not-found", "no such file", file=path)
    raw = _READERS[source.format](path, source)
    if raw.frame.empty:
        raise CtdcError("empty-file", "the file has a header but no data rows", file=path)
    return raw


def text_lines(frame: pd.DataFrame) -> list[str]:
    """Each row as a compact JSON object (for the quarantine's raw copy)."""
    buf = io.StringIO()
    frame.to_json(buf, orient="records", lines=True, force_ascii=False)
    return buf.getvalue().splitlines()
