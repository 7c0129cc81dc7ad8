"""Read-only SQL over the current release, in a sandboxed DuckDB connection.

The connection can read only the current release's folder
(``allowed_directories`` + ``enable_external_access = false``), so a query
cannot reach staging, the quarantine or the key, and only statements DuckDB
parses as SELECT or EXPLAIN are run: no COPY, ATTACH, INSTALL or SET.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.store.catalog import view_statements
from ctdc.store.release import current_release
from ctdc.store.workspace import Workspace

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


def connect_release(ws: Workspace) -> duckdb.DuckDBPyConnection:
    """A connection with the catalog views that can read nothing but the release."""
    release = current_release(ws)
    if release is None:
        raise CtdcError("no-release", f"no current release in {ws.root}")
    con = duckdb.connect()
    root = ws.root.resolve()
    con.execute("SET allowed_directories = ?", [[f"{release}/", f"{root / 'current'}/",
                                                 f"{root / 'releases'}/"]])  # fmt: skip
    con.execute("SET enable_external_access = false")
    for stmt in view_statements(ws):
        con.execute(stmt)
    con.execute("SET lock_configuration = true")
    return con


def run_query(ws: Workspace, sql: str) -> pd.DataFrame:
    """Run one read-only statement over the release and return its result."""
    con = connect_release(ws)
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise CtdcError("bad-sql", str(exc).splitlines()[0]) from exc
        if len(statements) != 1:
            raise CtdcError("bad-sql", f"expected one statement, got {len(statements)}")
        if statements[0].type not in _ALLOWED:
            raise CtdcError("read-only", f"{statements[0].type.name} statements are not allowed")
        try:
            return con.execute(sql).fetch_df()
        except duckdb.Error as exc:
            raise CtdcError("bad-sql", str(exc).splitlines()[0]) from exc
    finally:
        con.close()
