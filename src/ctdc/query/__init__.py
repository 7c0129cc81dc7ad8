"""Read-only SQL over the current public release, in a sandboxed DuckDB connection.

``run_query(public_root, sql)`` needs only read access to the public folder
(``<public>/current -> releases/<id>``): no key, no workspace. The sandbox
runs one SELECT, checked by DuckDB's parser (``classify``), over the views
``cases``, ``dictionary`` and ``release_log``, in a connection that can open
exactly the current release's two Parquet files and has its configuration
locked (``sandbox``); ``run`` adds the timeout and the row limit.
"""

from __future__ import annotations

from ctdc.query.run import run_in_sandbox, run_query
from ctdc.query.sandbox import DEFAULT_LIMITS, VIEWS, Limits, open_sandbox, resolve_release

__all__ = [
    "DEFAULT_LIMITS",
    "VIEWS",
    "Limits",
    "open_sandbox",
    "resolve_release",
    "run_in_sandbox",
    "run_query",
]
