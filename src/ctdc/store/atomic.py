"""Atomic file writes: temp file in the same folder, fsync, ``os.replace``.

A reader (or a crash) therefore sees either the old file or the new one,
never half of one. Folders are fsynced after the rename so the new name
itself survives a power cut.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: Path, mode: int = 0o600) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success fsync it and move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(target: Path, data: bytes, mode: int = 0o600) -> None:
    with atomic_path(target, mode) as tmp:
        tmp.write_bytes(data)


def write_json(target: Path, doc: Any, mode: int = 0o600) -> None:
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    write_bytes(target, text.encode("utf-8"), mode)


def write_parquet(target: Path, table: pa.Table, mode: int = 0o600) -> None:
    """Write Parquet deterministically: same table -> same bytes (no timestamps)."""
    with atomic_path(target, mode) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
