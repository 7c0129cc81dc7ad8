"""Run one analyst query in the sandbox: check it, run it under a timer, fetch a bounded result.

Every way DuckDB can stop a query becomes one catalogued error, with no raw
DuckDB text for refusals: ``query-refused`` when the statement or a file it
names is outside the sandbox (whether the parser check or DuckDB's own
permission check caught it), ``query-limit`` when it ran past the timeout,
the memory or temp space, or ``max_rows``, ``bad-sql`` for everything else
(syntax, unknown columns), with DuckDB's first line, which can only quote the
query or the public release.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.query.classify import check_statement, first_line, refused
from ctdc.query.sandbox import DEFAULT_LIMITS, Limits, open_sandbox, sandbox_views

#: DuckDB vectors (2,048 rows each) fetched per step while counting rows against max_rows
_FETCH_VECTORS = 32
#: DuckDB's words for a setting or path its configuration forbids (a second wall's refusal)
_CONFIG_REFUSALS = ("disabled by configuration", "configuration has been locked",
                    "disabled through configuration")  # fmt: skip


def run_query(public_root: Path, sql: str, *, limits: Limits = DEFAULT_LIMITS) -> pd.DataFrame:
    """Run one read-only SELECT over the release ``<public_root>/current`` points at.

    ``public_root`` is the public folder (``current -> releases/<id>``); no key
    or workspace is needed. Raises ``CtdcError`` (``no-release``,
    ``query-refused``, ``query-limit``, ``bad-sql``).
    """
    with open_sandbox(public_root, limits) as con:
        return run_in_sandbox(con, sql, limits=limits)


def run_in_sandbox(con: duckdb.DuckDBPyConnection, sql: str, *,
                   limits: Limits = DEFAULT_LIMITS) -> pd.DataFrame:  # fmt: skip
    """Check and run ``sql`` on a connection from ``open_sandbox`` (one per query in the CLI).

    ``limits`` here sets the timeout and the row cap; memory, threads and temp
    space were fixed when the connection was opened.
    """
    check_statement(con, sql, sandbox_views(con))
    timer = threading.Timer(limits.timeout, con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        return _fetch(con.execute(sql), limits)
    except duckdb.Error as exc:
        raise _translate(exc, limits) from None
    finally:
        timer.cancel()


def _fetch(result: duckdb.DuckDBPyConnection, limits: Limits) -> pd.DataFrame:
    chunks: list[pd.DataFrame] = []
    rows = 0
    while True:
        chunk = result.fetch_df_chunk(_FETCH_VECTORS)
        if len(chunk) == 0:
            break
        rows += len(chunk)
        if rows > limits.max_rows:
            raise CtdcError("query-limit", f"the result has more than {limits.max_rows:,} rows")
        chunks.append(chunk)
    if not chunks:
        return chunk
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def _translate(exc: duckdb.Error, limits: Limits) -> CtdcError:
    if isinstance(exc, duckdb.InterruptException):
        return CtdcError("query-limit", f"stopped after {limits.timeout:g} s")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return CtdcError(
            "query-limit", "it needs more memory or temp space than the sandbox allows"
        )
    message = str(exc)
    if isinstance(exc, duckdb.PermissionException) or any(m in message for m in _CONFIG_REFUSALS):
        return refused("the query reaches outside the current release's files "
                       "(other files, URLs, extensions and settings are off)")  # fmt: skip
    return CtdcError("bad-sql", first_line(exc))
