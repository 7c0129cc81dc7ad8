"""The DuckDB catalog of the public folder: views ``cases``, ``dictionary``, ``release_log``.

The views read only the public folder (never the workspace): ``cases`` and
``dictionary`` through ``<public>/current``, so they follow every publish
without being rewritten, and ``release_log`` from the public manifests of the
releases kept public. ``<public>/catalog.duckdb`` holds the same views for
analysts who open it with the duckdb CLI or any DuckDB client; its mode is set
explicitly (0644, or 0640 for a group), never left to the umask.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

from ctdc.scratch import scratch_connection
from ctdc.store.atomic import fsync_file
from ctdc.store.public import CATALOG_FILE, PublicArea
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE, MANIFEST_FILE

__all__ = ["CATALOG_FILE", "view_statements", "write_catalog"]

_catalog_ids = itertools.count()


def _literal(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def view_statements(public_root: Path, *, release: Path | None = None,
                    manifests: Sequence[Path] | None = None) -> list[str]:  # fmt: skip
    """``CREATE VIEW`` statements over the public folder at ``public_root``.

    By default the views follow ``<public>/current`` and glob the public
    manifests. A sandbox that allows exact files only passes the resolved
    ``release`` folder and the exact ``manifests`` list instead.
    """
    root = public_root.resolve()
    folder = release if release is not None else root / "current"
    if manifests is None:
        logs = _literal(root / "releases" / "*" / MANIFEST_FILE)
    else:
        logs = "[" + ", ".join(_literal(m) for m in manifests) + "]"
    return [
        "CREATE OR REPLACE VIEW cases AS SELECT * FROM "
        f"read_parquet({_literal(folder / CASES_FILE)})",
        "CREATE OR REPLACE VIEW dictionary AS SELECT * FROM "
        f"read_parquet({_literal(folder / DICTIONARY_FILE)})",
        "CREATE OR REPLACE VIEW release_log AS SELECT release_id, created_at, k, "
        "records_released, counts_rounded_to, previous_release "
        f"FROM read_json_auto({logs}, union_by_name = true) ORDER BY release_id",
    ]


def write_catalog(area: PublicArea) -> Path:
    """(Re)build ``<public>/catalog.duckdb`` in a temp file and swap it in atomically.

    The file is attached to the process's scratch database (:mod:`ctdc.scratch`)
    under a name of its own, not opened as a database of its own: that would
    build DuckDB's catalog of built-in functions again (~35 ms of CPU a publish).
    """
    target = area.catalog_path
    tmp = area.root / f".{CATALOG_FILE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    name = f"ctdc_catalog_{next(_catalog_ids)}"
    con = scratch_connection()
    try:
        con.execute(f"ATTACH {_literal(tmp)} AS {name}")
        try:
            con.execute(f"USE {name}")
            for stmt in view_statements(area.root):
                con.execute(stmt)
            con.execute(f"CHECKPOINT {name}")  # everything in the file itself, no .wal beside it
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {name}")
    finally:
        con.close()
    os.chmod(tmp, area.file_mode)
    with open(tmp, "rb") as fh:
        fsync_file(fh.fileno())
    os.replace(tmp, target)
    return target
