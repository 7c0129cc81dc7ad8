"""What re-sent bytes leave as they were: the mode they were first ingested in, a snapshot.

The same export again is a no-op; a data officer who re-sends it with
another ``--mode``, or to bring back batches a snapshot superseded, would
otherwise believe it did something.
"""

from __future__ import annotations

from collections.abc import Sequence

from ctdc.ingest.pipeline import IngestResult, IngestStatus
from ctdc.store.ledger import superseded_by
from ctdc.store.workspace import Workspace
from ctdc.text import escape


def unchanged_notes(ws: Workspace, results: Sequence[IngestResult], mode: str) -> list[str]:
    """One line per ``unchanged`` file whose earlier mode or supersession outlives this run."""
    lines = []
    for r in results:
        if r.status is not IngestStatus.UNCHANGED:
            continue
        notes = []
        if r.mode != mode:
            notes.append(f"it was ingested as {r.mode}, and stays so")
        snapshot = superseded_by(ws, r.org, r.batch_id)
        if snapshot:
            notes.append(f"it stays superseded by snapshot {snapshot}")
        if notes:
            lines.append(f"{escape(r.file)}: the same bytes again change nothing "
                         f"(batch {r.batch_id}): " + "; ".join(notes))  # fmt: skip
    return lines
