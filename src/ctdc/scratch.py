"""One in-memory DuckDB database per process, for the pipeline's own short queries.

Opening an in-memory DuckDB database costs ~35 ms of CPU (it builds the catalog of
built-in functions); a new connection to an open one costs under 1 ms, and one
harmonize needs several (the merge of the staging batches, the k and l checks).
Each caller gets its own connection: its temp tables and registered views are
its own, and go when it is closed. What the database spills to disk goes to a
private temp folder of its own (0700, removed at exit), not to DuckDB's default
``./.tmp`` in the working directory. Callers change no database setting (``SET``
is database-wide here); the query sandbox, whose limits are such settings, opens
its own database.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
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

            # what DuckDB spills (staged rows, pseudonyms) goes to a fresh 0700 folder removed
            # at exit, never to its default ``./.tmp`` in whatever folder the command ran from
            spill = tempfile.mkdtemp(prefix="ctdc-scratch-")
            atexit.register(shutil.rmtree, spill, ignore_errors=True)
            _database = duckdb.connect(config={"temp_directory": spill})
        return _database.cursor()
