"""The ``release_log`` table: one row per public release, read by ctdc, not by the analyst's SQL.

The sandbox lets DuckDB open only the current release's two Parquet files.
The log of all public releases is read here instead, with Python's JSON
parser, from the ``manifest.json`` of each published folder (never a
``.tmp-*`` folder, never through a symlink, at most ``MAX_MANIFEST_BYTES``), and
handed to DuckDB as parameters of an INSERT into an in-memory table. So an
analyst sees the log without the sandbox granting any path beyond the
current release. Columns match the public catalog's ``release_log`` view, ``current``
included (the release ``<public>/current`` points at).

Each manifest is read field by field, not through
:meth:`ctdc.harmonize.public_manifest.PublicManifest.from_dict`: a folder of
the public area may hold an older or damaged manifest, and a field that is
missing or of the wrong type then costs one NULL cell, not the release's row
(``tests/store/test_public_folder.py`` checks that the keys read here are the
public manifest's).
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ctdc.store.release import MANIFEST_FILE

#: a public manifest is a few kB; anything larger is not one
MAX_MANIFEST_BYTES = 1_000_000
#: (column, DuckDB type, manifest key)
COLUMNS = (
    ("release_id", "VARCHAR", "release_id"),
    ("created_at", "TIMESTAMPTZ", "created_at"),
    ("k", "BIGINT", "k"),
    ("records_released", "BIGINT", "records_released"),
    ("counts_rounded_to", "BIGINT", "counts_rounded_to"),
    ("previous_release", "VARCHAR", "previous_release"),
)


def published_folders(releases_dir: Path) -> list[Path]:
    """Release folders readers may see: real folders, not hidden, not being built."""
    try:
        entries = sorted(os.scandir(releases_dir), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    return [Path(e.path) for e in entries
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]  # fmt: skip


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST_FILE
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _value(doc: dict[str, Any], key: str, kind: str) -> Any:
    value = doc.get(key)
    if kind == "VARCHAR":
        return value if isinstance(value, str) else None
    if kind == "BIGINT":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def rows(releases_dir: Path) -> list[tuple[Any, ...]]:
    """One row per readable public manifest; a folder without one is left out."""
    out = []
    for folder in published_folders(releases_dir):
        doc = _read_manifest(folder)
        if doc is not None:
            out.append(tuple(_value(doc, key, kind) for _, kind, key in COLUMNS))
    return out


def create_table(con: duckdb.DuckDBPyConnection, releases_dir: Path) -> None:
    """Create and fill ``release_log`` in ``con`` (in memory; no file is opened by DuckDB)."""
    columns = ", ".join(f"{name} {kind}" for name, kind, _ in COLUMNS)
    con.execute(f"CREATE TABLE release_log ({columns})")
    values = rows(releases_dir)
    if values:
        marks = ", ".join("?" for _ in COLUMNS)
        con.executemany(f"INSERT INTO release_log VALUES ({marks})", values)
    # which release <public>/current points at (the view in catalog.duckdb has it too)
    link = releases_dir.parent / "current"
    now = os.readlink(link).rstrip("/").rsplit("/", 1)[-1] if link.is_symlink() else None
    con.execute("ALTER TABLE release_log ADD COLUMN current BOOLEAN DEFAULT false")
    con.execute("UPDATE release_log SET current = coalesce(release_id = ?, false)", [now])
