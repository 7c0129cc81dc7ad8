"""The DuckDB catalog over the current release: views ``cases``, ``dictionary``, ``release_log``.

Views read through the ``current`` symlink, so they follow every publish
without being rewritten. ``catalog.duckdb`` in the workspace holds the same
views for analysts who open it with the duckdb CLI or any DuckDB client.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ctdc.store.release import CASES_FILE, DICTIONARY_FILE, MANIFEST_FILE
from ctdc.store.workspace import Workspace

CATALOG_FILE = "catalog.duckdb"


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def view_statements(ws: Workspace) -> list[str]:
    root = ws.root.resolve()
    current = root / "current"
    manifests = root / "releases" / "*" / MANIFEST_FILE
    return [
        "CREATE OR REPLACE VIEW cases AS SELECT * FROM "
        f"read_parquet({_literal(current / CASES_FILE)})",
        "CREATE OR REPLACE VIEW dictionary AS SELECT * FROM "
        f"read_parquet({_literal(current / DICTIONARY_FILE)})",
        "CREATE OR REPLACE VIEW release_log AS SELECT release_id, created_at, k, "
        "accounting.total.released AS released, accounting.total.rows_read AS rows_read, "
        "accounting.total.records_suppressed AS records_suppressed, "
        "changes.previous_release AS previous_release "
        f"FROM read_json_auto({_literal(manifests)}) ORDER BY release_id",
    ]


def write_catalog(ws: Workspace) -> Path:
    """(Re)build ``catalog.duckdb`` in a temp file and swap it in atomically."""
    target = ws.root / CATALOG_FILE
    tmp = ws.root / f".{CATALOG_FILE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for stmt in view_statements(ws):
            con.execute(stmt)
    finally:
        con.close()
    os.replace(tmp, target)
    return target
