"""DuckDB views over the public folder: ``views.sql`` (portable) and ``catalog.duckdb``.

The views are ``cases``, ``dictionary``, one ``hierarchy_<field>`` per hierarchy
table of the current release, and ``release_log`` (the public manifests of the
releases kept public); once the differentially private products exist, also
``synthetic_cases`` (the current synthetic table) and ``dp_counts`` (every DP
table, one ``dp_table`` column naming each). They read only the public folder,
never the workspace, and go through ``<public>/current`` (and
``synthetic/current``), so they follow every publish without being rewritten;
``ctdc stats --dp`` and ``ctdc synthesize`` rewrite them once, when their first
product appears.

Two forms, because DuckDB resolves a relative path in a view against the
working directory (or ``file_search_path``), never against the folder of the
database file that holds the view (checked with DuckDB 1.1.3, 1.4.4 and 2.0.1):

* ``<public>/views.sql`` uses paths relative to the public folder, so a copy of
  the folder (a USB stick, a mirror, a renamed mount) works as it is:
  ``cd <public> && duckdb -init views.sql``. It uses nothing newer than
  DuckDB 1.1's SQL.
* ``<public>/catalog.duckdb`` keeps absolute paths, so it opens from any working
  directory where the folder was published (``duckdb -readonly
  /srv/ctdc/public/catalog.duckdb``); a copied folder uses ``views.sql``. The
  file is written in DuckDB 1.1's storage format (``STORAGE_VERSION 'v1.1.0'``),
  which every DuckDB from 0.10 up reads; DuckDB 2's own format is unreadable
  before 2.0.

Both are swapped in atomically, with their mode set explicitly (0644, or 0640
for a group), never left to the umask.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

from ctdc.scratch import scratch_connection
from ctdc.store.atomic import fsync_file, write_bytes
from ctdc.store.public import (
    CATALOG_FILE,
    DP_DIR,
    VIEWS_FILE,
    PublicArea,
    PublicProducts,
    current_public_release,
    hierarchy_files,
    hierarchy_view,
    public_products,
)
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE, MANIFEST_FILE
from ctdc.store.synthetic_area import SYNTHETIC_CASES, SYNTHETIC_DIR

__all__ = [
    "CATALOG_FILE",
    "STORAGE_VERSION",
    "VIEWS_FILE",
    "current_hierarchies",
    "refresh_catalog",
    "view_statements",
    "views_sql",
    "write_catalog",
]

#: the storage format ``catalog.duckdb`` is written in: readable by DuckDB 0.10 and later
STORAGE_VERSION = "v1.1.0"

_catalog_ids = itertools.count()

_VIEWS_HEADER = """\
-- DuckDB views over this public folder: cases, dictionary, the hierarchy tables,
-- release_log, and synthetic_cases and dp_counts once those products exist.
-- Written by ctdc at each publish; runs on DuckDB 1.1 or later.
-- Paths are relative to this folder, so run it from here (a copy of the folder works too):
--   cd <public folder> && duckdb -init views.sql
--   cd <public folder> && duckdb -c ".read views.sql" -c "SELECT count(*) FROM cases"
-- From Python: duckdb.connect().execute(open("views.sql").read()) in this folder.
"""


def _literal(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _where(root: Path | None, *parts: str) -> str:
    """``parts`` joined under ``root``, or relative to the public folder when ``root`` is None."""
    return "/".join(parts) if root is None else str(root.joinpath(*parts))


def view_statements(root: Path | None, hierarchies: Sequence[str] = (),
                    products: PublicProducts = PublicProducts()) -> list[str]:  # fmt: skip
    """``CREATE OR REPLACE VIEW`` statements over the public folder.

    ``root`` None gives paths relative to the public folder (``views.sql``);
    a path gives absolute ones under it (``catalog.duckdb``). ``hierarchies``
    are the file names of the current release's hierarchy tables, each read by
    the view of its own name; ``products`` says which DP views to make (a view
    over files that do not exist yet would not bind). Only SQL that DuckDB 1.1 knows.
    """
    views = [("cases", CASES_FILE), ("dictionary", DICTIONARY_FILE)]
    views += [(hierarchy_view(name), name) for name in sorted(hierarchies)]
    out = [f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM "
           f"read_parquet({_literal(_where(root, 'current', name))})"
           for view, name in views]  # fmt: skip
    # [0-9]*: release ids start with their date; DuckDB's * also matches a .tmp-* folder
    # being built (an unverified release, or one analysts may not read)
    logs = _literal(_where(root, "releases", "[0-9]*", MANIFEST_FILE))
    # current: the release <public>/current points at, read through the link at query time
    now = _literal(_where(root, "current", MANIFEST_FILE))
    out.append("CREATE OR REPLACE VIEW release_log AS SELECT release_id, created_at, k, "
               "records_released, counts_rounded_to, previous_release, "
               f"coalesce(release_id = (SELECT release_id FROM read_json_auto({now})), false) "
               f"AS current FROM read_json_auto({logs}, union_by_name = true) "
               "ORDER BY release_id")  # fmt: skip
    if products.synthetic is not None:
        synthetic = _literal(_where(root, SYNTHETIC_DIR, "current", SYNTHETIC_CASES))
        out.append(f"CREATE OR REPLACE VIEW synthetic_cases AS SELECT * FROM "
                   f"read_parquet({synthetic})")  # fmt: skip
    if products.dp_tables:
        # a glob, so a DP table published later joins without a rewrite; [0-9]*: never
        # the .tmp file of one being written
        out.append(dp_counts_view(_literal(_where(root, DP_DIR, "[0-9]*.parquet"))))
    return out


def dp_counts_view(source: str) -> str:
    """``dp_counts``: every DP table in one view, by name (``union_by_name``: each table
    has its own grouping columns, NULL in the others' rows); ``source`` is a SQL string
    literal or list of the files. The file's path itself is not shown."""
    return ("CREATE OR REPLACE VIEW dp_counts AS SELECT regexp_extract(filename, "
            r"'([^/\\]+)\.parquet$', 1) AS dp_table, * EXCLUDE (filename) FROM "
            f"read_parquet({source}, union_by_name = true, filename = true)")  # fmt: skip


def views_sql(hierarchies: Sequence[str] = (), products: PublicProducts = PublicProducts()) -> str:
    """The text of ``views.sql``: a comment on how to run it, then one statement a line."""
    statements = view_statements(None, hierarchies, products)
    return _VIEWS_HEADER + "".join(f"{s};\n" for s in statements)


def current_hierarchies(area: PublicArea) -> list[str]:
    """The hierarchy tables of the public folder's current release (file names)."""
    current = current_public_release(area.root)
    return hierarchy_files(current) if current is not None else []


def write_catalog(area: PublicArea) -> Path:
    """(Re)write ``<public>/views.sql`` and ``<public>/catalog.duckdb``, each swapped in atomically.

    The catalog is built in a temp file attached to the process's scratch
    database (:mod:`ctdc.scratch`) under a name of its own, not opened as a
    database of its own: that would build DuckDB's catalog of built-in
    functions again (~35 ms of CPU a publish). Returns the catalog's path.
    """
    hierarchies = current_hierarchies(area)
    products = public_products(area.root)
    write_bytes(area.views_path, views_sql(hierarchies, products).encode("utf-8"),
                mode=area.file_mode)  # fmt: skip
    target = area.catalog_path
    tmp = area.root / f".{CATALOG_FILE}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    name = f"ctdc_catalog_{next(_catalog_ids)}"
    con = scratch_connection()
    try:
        con.execute(f"ATTACH {_literal(tmp)} AS {name} (STORAGE_VERSION '{STORAGE_VERSION}')")
        try:
            con.execute(f"USE {name}")
            for stmt in view_statements(area.root.resolve(), hierarchies, products):
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


def refresh_catalog(area: PublicArea) -> bool:
    """Rewrite the catalog if the views it should hold changed (a first DP table or
    synthetic table appeared); True if it did.

    Only then: the views read through globs and ``current`` links, and an unchanged
    catalog keeps the next night's quick "nothing new" check valid. Before the first
    release there is no catalog to refresh: the first harmonize writes it, products included.
    """
    if current_public_release(area.root) is None:
        return False
    text = views_sql(current_hierarchies(area), public_products(area.root)).encode("utf-8")
    if area.views_path.is_file() and area.views_path.read_bytes() == text:
        return False
    write_catalog(area)
    return True
