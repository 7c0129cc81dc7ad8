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

Both are handed on in chunks of ``CHUNK_ROWS`` records (fewer if wide). A JSON array has to be
parsed whole (``json`` has no streaming parser), so its *document* is in memory
at once; only the all-text tables are built chunk by chunk. NDJSON streams:
a first pass over the lines finds every key (the columns are their union, in
order of first appearance, as for a small file), the refusals above and the
broken lines; the second pass builds the chunks. Memory is then bounded by the
chunk, at the price of parsing each line twice. Export large files as NDJSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.ingest.mapping import SourceSpec
from ctdc.ingest.raw import (
    Chunk,
    empty_errors,
    error_rows,
    python_encoding,
    records_per_chunk,
    shown,
    text_table,
)
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


def _names(records: list[tuple[int, dict[str, Any]]]) -> list[str]:
    names: dict[str, None] = {}
    for _, rec in records:
        names.update(dict.fromkeys(rec))
    return list(names)


def _records_chunk(
    path: Path,
    names: list[str],
    records: list[tuple[int, dict[str, Any]]],
    errors: pd.DataFrame,
    done: int = 0,
) -> Chunk:
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
    rows = np.array([r for r, _ in records], dtype=np.int64)
    return Chunk(text_table(names, list(cols.values())), rows, errors, done=done)


def _not_text(path: Path, source: SourceSpec, exc: UnicodeDecodeError) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"not {source.encoding} text ({exc.reason})",
        file=path,
        fix="pin the file's real `source.encoding` in pipelines/<org>.yaml",
    )


def _parse_json(path: Path, source: SourceSpec) -> list[dict[str, Any]]:
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
    return doc


def iter_json(path: Path, source: SourceSpec) -> Iterator[Chunk]:
    """A JSON array of flat objects (parsed whole), in chunks of records."""
    doc = _parse_json(path, source)
    records = list(enumerate(doc, start=1))
    for row, rec in records:
        _check_duplicates(path, row, rec)
    names = _names(records)
    del doc
    step = records_per_chunk(len(names))
    for start in range(0, len(records), step):
        part = records[start : start + step]
        yield _records_chunk(path, names, part, empty_errors())
        records[start : start + step] = [(0, {})] * len(part)  # let the parsed objects go


def _ndjson_lines(
    path: Path, source: SourceSpec
) -> Iterator[tuple[int, dict[str, Any] | None, str | None, str, int]]:
    """(line number, object or None, problem, the line, characters read) for each non-blank line."""
    done = 0
    try:
        with open(path, encoding=python_encoding(source.encoding)) as fh:
            for line_no, line in enumerate(fh, start=1):
                done += len(line)
                if not line.strip():
                    continue
                text = line.rstrip("\r\n")
                try:
                    rec = _loads(text)
                    problem = None if isinstance(rec, dict) else f"a JSON {type(rec).__name__}"
                except json.JSONDecodeError as exc:
                    problem = f"invalid JSON ({exc.msg}, character {exc.colno})"
                except (RecursionError, ValueError) as exc:
                    problem = f"JSON that cannot be read safely ({type(exc).__name__})"
                if problem is not None:
                    yield line_no, None, problem, text, done
                else:
                    _check_duplicates(path, line_no, rec)
                    yield line_no, rec, None, text, done
    except UnicodeDecodeError as exc:
        raise _not_text(path, source, exc) from exc


def iter_ndjson(path: Path, source: SourceSpec) -> Iterator[Chunk]:
    """One JSON object per line; a broken line is quarantined, not fatal."""
    check_text(path, source.encoding, source.format)
    names: dict[str, None] = {}
    lines = good = 0
    first_bad = None
    for line_no, rec, _problem, _text, _done in _ndjson_lines(path, source):
        lines += 1
        if rec is None:
            first_bad = first_bad or line_no
        else:
            good += 1
            names.update(dict.fromkeys(rec))
    if lines and not good:
        raise CtdcError(
            "unreadable-file",
            "no line is a JSON object: this is not NDJSON",
            file=path,
            row=first_bad,
        )
    records: list[tuple[int, dict[str, Any]]] = []
    bad: list[tuple[int, str, str]] = []  # (pos, value, expected)
    size = records_per_chunk(len(names))
    for line_no, rec, problem, text, done in _ndjson_lines(path, source):
        if rec is None:
            bad.append((len(records), shown(text), f"one JSON object per line; found {problem}"))
            rec = {}
        records.append((line_no, rec))
        if len(records) >= size:
            yield _records_chunk(path, list(names), records, _line_errors(bad), done)
            records, bad = [], []
    if records:
        yield _records_chunk(path, list(names), records, _line_errors(bad))


def _line_errors(bad: list[tuple[int, str, str]]) -> pd.DataFrame:
    if not bad:
        return empty_errors()
    return error_rows(
        [b[0] for b in bad], "", "bad-json-line", [b[1] for b in bad], [b[2] for b in bad]
    )
