"""Human-readable summaries (rich tables) of each stage's results, for the CLI only.

Kept apart from the library so that the API returns data and only the CLI
decides how to show it; one module per stage's results: ``ingest.py``
(ingest and validate, the quarantine list), ``harmonize.py`` (a release's
accounting, loss and risk), ``onboard.py`` (``mapping init``), ``query.py``
(an answer). Text that may come from outside (file and column names, values,
query results) goes into a table through :func:`ctdc.report.cells.cell`.
Which values may be shown at all is decided upstream (``ctdc.ingest.redact``).
"""
