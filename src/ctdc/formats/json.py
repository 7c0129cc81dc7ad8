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

Both are handed on in chunks of ``CHUNK_ROWS`` records (fewer if wide), and
both stream, in two passes: the first finds every key (the columns are their
union, in order of first appearance, as for a small file) and the refusals
above; the second builds the chunks. Memory is bounded by the chunk and the
read buffer, at the price of parsing each record twice. A JSON array is read
element by element with the standard library's own decoder
(``JSONDecoder.raw_decode`` on a sliding buffer), so numbers, strings and
duplicate keys are treated exactly as ``json.loads`` would, without a
streaming-parser dependency whose C backend differs on huge integers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.formats.chunk import (
    Chunk,
    python_encoding,
    raw_text,
    records_per_chunk,
    text_table,
)
from ctdc.formats.guards import check_text
from ctdc.formats.options import JsonOptions
from ctdc.formats.values import cell_text
from ctdc.row_errors import RowErrors, no_row_errors, row_errors


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


_DECODER = json.JSONDecoder(object_pairs_hook=_object)
_SPACE = re.compile(r"[ \t\n\r]*")
#: characters read from a JSON array at a time; the buffer grows only for a longer record
READ_CHARS = 1 << 20
#: a single record longer than this is refused rather than buffered
MAX_RECORD_CHARS = 64 << 20


def json_problem(exc: json.JSONDecodeError, pos: int | None = None) -> str:
    """Python's decoder message as a phrase: ``unterminated string starting at character 193``.

    ``exc.msg`` is written to be followed by ``": line 1 column 193 (char 192)"``,
    so on its own it reads ``Unterminated string starting at``; quoting it as it
    is gave "Unterminated string starting at, character 193". ``pos`` is the
    0-based offset to report (``exc.pos`` by default; a record of a JSON array
    counts from its own first character), shown 1-based, as an editor's column is.
    """
    msg = exc.msg[:1].lower() + exc.msg[1:]
    where = f"character {(exc.pos if pos is None else pos) + 1:,}"
    return f"{msg} {where}" if msg.endswith(" at") else f"{msg} at {where}"


def _check_duplicates(path: Path, row: int, rec: dict[str, Any]) -> None:
    if isinstance(rec, _Object) and rec.duplicate is not None:
        raise CtdcError(
            "duplicate-column",
            f"key {rec.duplicate!r} appears twice in one object",
            file=path,
            row=row,
            column=rec.duplicate,
        )


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


def _not_text(path: Path, options: JsonOptions, exc: UnicodeDecodeError) -> CtdcError:
    return CtdcError(
        "unreadable-file",
        f"not {options.encoding} text ({exc.reason})",
        file=path,
        fix="pin the file's real `source.encoding` in pipelines/<org>.yaml",
    )


def _unreadable(path: Path, detail: str, fix: str = "", row: int | None = None) -> CtdcError:
    fix = fix or "export an array of records, or pin `source.format: ndjson`"
    return CtdcError("unreadable-file", detail, file=path, row=row, fix=fix)


class _Buffer:
    """The unread part of a text file, refilled READ_CHARS at a time."""

    def __init__(self, fh: Any) -> None:
        self.fh, self.text, self.pos, self.done, self.eof = fh, "", 0, 0, False

    def more(self) -> bool:
        """Read on; False at the end of the file."""
        if self.eof:
            return False
        text = self.fh.read(READ_CHARS)
        self.done += len(text)
        self.eof = not text
        self.text, self.pos = self.text[self.pos :] + text, 0
        return not self.eof

    def next_char(self) -> str:
        """The next character that is not JSON whitespace ("" at the end of the file)."""
        while True:
            # _SPACE matches the empty string, so match() never gives None here
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]


def _json_records(path: Path, options: JsonOptions) -> Iterator[tuple[int, dict[str, Any], int]]:
    """(record number, object, characters read) for each element of a JSON array, streamed.

    A record cut by the end of the buffer fails to decode (or ends exactly at
    it, for a number), so more is read and it is decoded again; a decoding
    error is final only at the end of the file.
    """
    try:
        with open(path, encoding=python_encoding(options.encoding)) as fh:
            buf, row = _Buffer(fh), 0
            if buf.next_char() != "[":
                raise _unreadable(path, "expected a JSON array of objects")
            buf.pos += 1
            if buf.next_char() == "]":
                buf.pos += 1
            else:
                while True:
                    row += 1
                    rec = _decode(path, buf, row)
                    yield row, rec, buf.done
                    char = buf.next_char()
                    buf.pos += 1
                    if char == "]":
                        break
                    if not char:
                        raise _unreadable(path, "invalid JSON: the file ends inside the array")
                    if char != ",":
                        detail = f"invalid JSON: expected ',' or ']' after record {row}"
                        raise _unreadable(path, detail, row=row)
            if buf.next_char():
                raise _unreadable(path, "invalid JSON: extra data after the array")
    except UnicodeDecodeError as exc:
        raise _not_text(path, options, exc) from exc
    except (RecursionError, ValueError) as exc:
        if isinstance(exc, CtdcError):
            raise
        detail = f"JSON that cannot be read safely: {type(exc).__name__}: {str(exc)[:120]}"
        raise _unreadable(
            path, detail, "export flat records: an array of objects of scalars"
        ) from exc


def _decode(path: Path, buf: _Buffer, row: int) -> dict[str, Any]:
    """The object at the buffer's position (record ``row``), reading on as needed."""
    while True:
        if not buf.next_char():
            raise _unreadable(path, "invalid JSON: the file ends inside the array", row=row)
        try:
            rec, end = _DECODER.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError as exc:
            if len(buf.text) - buf.pos > MAX_RECORD_CHARS:
                detail = f"record {row} is over {MAX_RECORD_CHARS:,} characters"
                raise _unreadable(path, detail, "export flat records", row=row) from exc
            cut = exc.pos - buf.pos  # from the record's start: more() moves the buffer
            if buf.more():
                continue
            if cut >= len(buf.text[buf.pos :].rstrip()):
                raise _unreadable(path, f"the file ends inside record {row}", row=row) from exc
            detail = f"invalid JSON in record {row}: {json_problem(exc, cut)} of the record"
            raise _unreadable(path, detail, row=row) from exc
        if end == len(buf.text) and buf.more():
            continue  # a number may go on past the buffer: decode it whole
        buf.pos = end
        if not isinstance(rec, dict):
            kind = type(rec).__name__
            raise _unreadable(path, f"expected a JSON array of objects; record {row} is a {kind}")
        _check_duplicates(path, row, rec)
        return rec


def iter_json(path: Path, options: JsonOptions) -> Iterator[Chunk]:
    """A JSON array of flat objects, streamed in chunks of records (two passes)."""
    check_text(path, options.encoding, options.name)
    names: dict[str, None] = {}
    for _, rec, _ in _json_records(path, options):
        names.update(dict.fromkeys(rec))
    step = records_per_chunk(len(names))
    records: list[tuple[int, dict[str, Any]]] = []
    for row, rec, done in _json_records(path, options):
        records.append((row, rec))
        if len(records) >= step:
            yield _records_chunk(path, list(names), records, no_row_errors(), done)
            records = []
    if records:
        yield _records_chunk(path, list(names), records, no_row_errors())


#: what a line holds when it is JSON but not an object, in JSON's own words
_KINDS = {list: "array, not an object", str: "string, not an object", int: "number, not an object",
          float: "number, not an object", bool: "true/false, not an object",
          type(None): "null, not an object"}  # fmt: skip


def _ndjson_lines(
    path: Path, options: JsonOptions
) -> Iterator[tuple[int, dict[str, Any] | None, str | None, str, int]]:
    """(line number, object or None, problem, the line, characters read) for each non-blank line."""
    done = 0
    try:
        with open(path, encoding=python_encoding(options.encoding)) as fh:
            for line_no, line in enumerate(fh, start=1):
                done += len(line)
                if not line.strip():
                    continue
                text = line.rstrip("\r\n")
                try:
                    rec = _loads(text)
                    problem = None if isinstance(rec, dict) else f"a JSON {_KINDS[type(rec)]}"
                except json.JSONDecodeError as exc:
                    problem = json_problem(exc)
                except (RecursionError, ValueError) as exc:
                    problem = f"JSON that cannot be read safely ({type(exc).__name__})"
                if problem is not None:
                    problem = f"line {line_no}: {problem}"
                    yield line_no, None, problem, text, done
                else:
                    _check_duplicates(path, line_no, rec)
                    yield line_no, rec, None, text, done
    except UnicodeDecodeError as exc:
        raise _not_text(path, options, exc) from exc


def iter_ndjson(path: Path, options: JsonOptions) -> Iterator[Chunk]:
    """One JSON object per line; a broken line is quarantined, not fatal."""
    check_text(path, options.encoding, options.name)
    names: dict[str, None] = {}
    lines = good = 0
    first_bad = None
    for line_no, rec, _problem, _text, _done in _ndjson_lines(path, options):
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
    for line_no, rec, problem, text, done in _ndjson_lines(path, options):
        if rec is None:
            bad.append((len(records), raw_text(text), f"one JSON object per line; {problem}"))
            rec = {}
        records.append((line_no, rec))
        if len(records) >= size:
            yield _records_chunk(path, list(names), records, _line_errors(bad), done)
            records, bad = [], []
    if records:
        yield _records_chunk(path, list(names), records, _line_errors(bad))


def _line_errors(bad: list[tuple[int, str, str]]) -> RowErrors:
    return row_errors(
        [b[0] for b in bad],
        reason="bad-json-line",
        value=[b[1] for b in bad],
        expected=[b[2] for b in bad],
    )
