"""ctdc's own helper columns: what ``ctdc quarantine export`` adds to the organization's columns.

The quarantine export is meant to come back: the organization corrects its
rows and ingests the file with its usual mapping. The export adds columns
that say where each row came from and what was wrong with it; without a rule
for them, that file would be refused as ``unmapped-column``.

The rule: the exact names below are ctdc's and the mapping layer skips them
in the unmapped-column check. They are never mapped, so never staged. Only
these names are reserved, not every ``ctdc_`` name: an unknown column must
still be named in the mapping, as it may be a new identifier. One of them,
:data:`QUARANTINE_ID`, is read back by ingest: it says which quarantined row
a corrected row replaces (docs/quarantine.md).
"""

from __future__ import annotations

#: the reserved prefix of every helper column
HELPER_PREFIX = "ctdc_"
#: the quarantined row a line of the export is: ``<batch id>-r<source row>``
QUARANTINE_ID = "ctdc_quarantine_id"
#: where the row came from (file name and row number as a spreadsheet shows it)
WHERE = ("ctdc_source_file", "ctdc_source_row")
#: what is wrong with it (several problems of one row joined with " | ")
ISSUES = ("ctdc_reason", "ctdc_column", "ctdc_value", "ctdc_expected", "ctdc_fix")
#: every helper column, in the order the export writes them (the id first, issues last)
HELPER_COLUMNS: tuple[str, ...] = (QUARANTINE_ID, *WHERE, *ISSUES)


def is_helper(column: str) -> bool:
    """True for a column ``ctdc quarantine export`` wrote (skipped by the mapping)."""
    return column in HELPER_COLUMNS


def quarantine_id(batch_id: str, source_row: int) -> str:
    """The id of one quarantined source row: unique within an organization's quarantine.

    Built from the batch (the first 16 hex digits of the export's SHA-256) and
    the row number, so it needs no stored state and stays the same when a
    batch is reprocessed. It says nothing the organization does not know: it
    goes back to them in their own file. The ``-r`` keeps spreadsheets from
    reading it as a number or a time.
    """
    return f"{batch_id}-r{source_row}"
