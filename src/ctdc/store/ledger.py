"""The ingest ledger: one JSON entry per committed batch.

A batch is one export file of one organization, named by its content hash.
The ledger entry is written last, after staging and quarantine, so its
existence is the commit point: a batch without an entry was interrupted and
is invisible to harmonize, and re-ingesting the same content is a no-op.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ctdc.store.atomic import write_json
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class BatchEntry:
    org: str
    batch_id: str
    sha256: str
    source_name: str
    source_format: str
    ingested_at: str
    seq: int  # nanoseconds since the epoch at commit: orders batches, latest wins
    rows_read: int
    staged: int
    quarantined: int
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    mapping_sha256: str = ""
    schema_version: int = 1
    ctdc_version: str = ""

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.staged + self.quarantined


def entry_path(ws: Workspace, org: str, batch_id: str) -> Path:
    return ws.ledger_dir / org / f"{batch_id}.json"


def find_entry(ws: Workspace, org: str, batch_id: str) -> BatchEntry | None:
    path = entry_path(ws, org, batch_id)
    if not path.exists():
        return None
    return BatchEntry(**json.loads(path.read_text(encoding="utf-8")))


def commit_entry(ws: Workspace, entry: BatchEntry) -> None:
    ws.private_dir(ws.ledger_dir / entry.org)
    write_json(entry_path(ws, entry.org, entry.batch_id), asdict(entry))


def read_entries(ws: Workspace) -> list[BatchEntry]:
    """Every committed batch of every organization, oldest first."""
    entries = [
        BatchEntry(**json.loads(p.read_text(encoding="utf-8")))
        for p in sorted(ws.ledger_dir.glob("*/*.json"))
    ]
    return sorted(entries, key=lambda e: (e.seq, e.org, e.batch_id))
