"""JSON (an array of objects) and NDJSON (one object per line) into an all-text frame.

Row numbers are the 1-based record number (JSON) or line number (NDJSON).
Hostile cases and what they become:

- a key twice in one object: Python's ``json`` would silently keep the last
  value, so the file is refused (``duplicate-column``, naming record and key);
- a broken NDJSON line (cut off, not JSON, not an object): that line is
  quarantined (``bad-json-line``) and the other lines go on; NDJSON is
  line-oriented precisely so that one bad line does not spoil the file;
- nesting deep enough to exhaust the parser's recursion, or a number too long
  to convert: ``unreadable-file`` instead of a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.ingest.mapping import SourceSpec
from ctdc.ingest.raw import TEXT, RawTable, empty_errors, error_rows, python_encoding, shown
from ctdc.ingest.sniff import check_text
from ctdc.ingest.values import cell_text


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers the first key it saw twice."""

    duplicate: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                obj.duplicate = key
                break
            seen.add(key)
    return obj


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_object)


def _check_duplicates(path: Path, row: int, rec: dict[str, Any]) -> None:
    if isinstance(rec, _Object) and rec.duplicate is not None:
        raise CtdcError(
            "duplicate-column",
            f"key {rec.duplicate!r} appears twice in one object",
            file=path,
            row=row,
            column=rec.duplicate,
        )


def _records_frame(
    path: Path, records: list[tuple[int, dict[str, Any]]], errors: pd.DataFrame
) -> RawTable:
    names: dict[str, None] = {}
    for _, rec in records:
        names.update(dict.fromkeys(rec))
    cols: dict[str, list[str]] = {n: [] for n in names}
    for row, rec in records:
        for n in names:
            try:
                cols[n].append(cell_text(rec.get(n)))
            except TypeError as exc:
                raise CtdcError(
                    "unreadable-file",
                    str(exc),
                    file=path,
                    row=row,
                    column=n,
                    fix="flatten the export: one scalar or list per key",
                ) from exc
    frame = pd.DataFrame(
        {n: pd.array(v, dtype=TEXT) for n, v in cols.items()}, index=pd.RangeIndex(len(records))
    )
    return RawTable(frame, np.array([r for r, _ in records], dtype=np.int64), path, errors)


def _not_text(path: Path, source: SourceSpec, exc: UnicodeDecodeError) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"not {source.encoding} text ({exc.reason})",
        file=path,
        fix="pin the file's real `source.encoding` in pipelines/<org>.yaml",
    )


def read_json(path: Path, source: SourceSpec) -> RawTable:
    """A JSON array of flat objects."""
    check_text(path, source.encoding, source.format)
    try:
        doc = _loads(path.read_text(encoding=python_encoding(source.encoding)))
    except UnicodeDecodeError as exc:
        raise _not_text(path, source, exc) from exc
    except json.JSONDecodeError as exc:
        raise CtdcError(
            "unreadable-file",
            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            file=path,
        ) from exc
    except (RecursionError, ValueError) as exc:
        raise CtdcError(
            "unreadable-file",
            f"JSON that cannot be read safely: {type(exc).__name__}: {str(exc)[:120]}",
            file=path,
            fix="export flat records: an array of objects of scalars",
        ) from exc
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise CtdcError(
            "unreadable-file",
            "expected a JSON array of objects",
            file=path,
            fix="export an array of records, or pin `source.format: ndjson`",
        )
    records = list(enumerate(doc, start=1))
    for row, rec in records:
        _check_duplicates(path, row, rec)
    return _records_frame(path, records, empty_errors())


def read_ndjson(path: Path, source: SourceSpec) -> RawTable:
    """One JSON object per line; a broken line is quarantined, not fatal."""
    check_text(path, source.encoding, source.format)
    records: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str, str]] = []  # (pos, value, expected)
    try:
        with open(path, encoding=python_encoding(source.encoding)) as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = _loads(line.rstrip("\r\n"))
                    problem = None if isinstance(rec, dict) else f"a JSON {type(rec).__name__}"
                except json.JSONDecodeError as exc:
                    problem = f"invalid JSON ({exc.msg}, character {exc.colno})"
                except (RecursionError, ValueError) as exc:
                    problem = f"JSON that cannot be read safely ({type(exc).__name__})"
                if problem is not None:
                    bad.append(
                        (
                            len(records),
                            shown(line.rstrip("\r\n")),
                            f"one JSON object per line; found {problem}",
                        )
                    )
                    rec = {}
                _check_duplicates(path, line_no, rec)
                records.append((line_no, rec))
    except UnicodeDecodeError as exc:
        raise _not_text(path, source, exc) from exc
    if bad and len(bad) == len(records):
        first = records[bad[0][0]][0]
        raise CtdcError(
            "unreadable-file", "no line is a JSON object: this is not NDJSON", file=path, row=first
        )
    errors = (
        error_rows(
            [b[0] for b in bad], "", "bad-json-line", [b[1] for b in bad], [b[2] for b in bad]
        )
        if bad
        else empty_errors()
    )
    return _records_frame(path, records, errors)
