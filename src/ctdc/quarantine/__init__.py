"""The quarantine: bad rows kept with their reasons, for the data officer to act on.

``table`` builds what ingest writes; ``store`` lists and purges it; ``export``
turns it into a CSV in the organization's own column names, safe to open in
a spreadsheet.
"""

from ctdc.quarantine.export import (
    ExportResult,
    export_dialect,
    export_quarantine,
    neutralize,
    open_rows,
    quarantine_frame,
)
from ctdc.quarantine.store import (
    BatchSummary,
    PurgeResult,
    list_batches,
    purge,
    quarantine_files,
    read_quarantine,
)
from ctdc.quarantine.table import QUARANTINE_SCHEMA, quarantine_table

__all__ = [
    "QUARANTINE_SCHEMA",
    "BatchSummary",
    "ExportResult",
    "PurgeResult",
    "export_dialect",
    "export_quarantine",
    "list_batches",
    "neutralize",
    "open_rows",
    "purge",
    "quarantine_files",
    "quarantine_frame",
    "quarantine_table",
    "read_quarantine",
]
