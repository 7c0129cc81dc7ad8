"""One in-memory DuckDB database per process, for the pipeline's own short queries.

Opening an in-memory DuckDB database costs ~35 ms of CPU (it builds the catalog of
built-in functions); a new connection to an open one costs under 1 ms, and one
harmonize needs several (the merge of the staging batches, the k and l checks).
Each caller gets its own connection: its temp tables and registered views are
its own, and go when it is closed. Callers change no database setting (``SET``
is database-wide here); the query sandbox, whose limits are such settings, opens
its own database.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_lock = threading.Lock()
_database: duckdb.DuckDBPyConnection | None = None


def scratch_connection() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's scratch database (close it when done)."""
    global _database
    with _lock:
        if _database is None:
            import duckdb  # here, not at import: ``ctdc --help`` loads no data stack

            _database = duckdb.connect()
        return _database.cursor()
