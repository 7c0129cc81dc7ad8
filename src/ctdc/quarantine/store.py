"""Find, summarize and purge an organization's quarantine (``<data>/quarantine/<org>/``).

The quarantine is the only place raw rows (with their direct identifiers)
are kept, so it lives in a 0700 folder and can be purged as a whole once the
organization has sent its corrections. A purge also removes the temp files a
killed ingest of the organization left behind, which hold raw rows too; it
takes the organization's writer locks (``store.writers``) so that it never
removes the temp file of an ingest still running.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ctdc.quarantine.resolve import closed_mask, read_resolutions
from ctdc.quarantine.table import QUARANTINE_SCHEMA
from ctdc.store.atomic import fsync_dir
from ctdc.store.ledger import find_entry, live_entries, read_entries
from ctdc.store.workspace import Workspace
from ctdc.store.writers import count_org_temps, org_writer


def quarantine_files(ws: Workspace, org: str) -> list[Path]:
    folder = ws.quarantine_dir(org)
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def read_quarantine(ws: Workspace, org: str) -> pd.DataFrame:
    """Every quarantine entry of ``org``, oldest batch first, rows in source order."""
    files = sorted(quarantine_files(ws, org), key=lambda p: (p.stat().st_mtime_ns, p.name))
    if not files:
        return QUARANTINE_SCHEMA.empty_table().to_pandas()
    tables = [pq.read_table(p, schema=QUARANTINE_SCHEMA) for p in files]
    frame = pa.concat_tables(tables).to_pandas()
    written = {p.stem: p.stat().st_mtime for p in files}
    frame["written_at"] = frame["batch_id"].map(written)
    return frame


class BatchStatus(StrEnum):
    """Where a quarantined batch stands, read from the ledger."""

    INGESTED = "ingested"  # its good rows are staged
    REJECTED = "rejected"  # nothing of it is staged
    SUPERSEDED = "superseded"  # ingested, then replaced by a snapshot (out of every release since)


@dataclass(frozen=True)
class BatchSummary:
    """One quarantined batch, as ``ctdc quarantine list`` shows it."""

    batch_id: str
    source_file: str
    status: BatchStatus
    written_at: str
    rows: int
    rows_by_reason: dict[str, int] = field(default_factory=dict)
    #: rows a corrected row closed (``quarantine.resolve``); ``rows - resolved`` are open
    resolved: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _status(ws: Workspace, org: str, batch_id: str, superseded: set[str]) -> BatchStatus:
    if batch_id in superseded:
        return BatchStatus.SUPERSEDED
    found = find_entry(ws, org, batch_id) is not None
    return BatchStatus.INGESTED if found else BatchStatus.REJECTED


def list_batches(ws: Workspace, org: str) -> list[BatchSummary]:
    q = read_quarantine(ws, org)
    if q.empty:
        return []
    per_reason = (
        q.drop_duplicates(["batch_id", "source_row", "reason"])
        .groupby(["batch_id", "reason"], sort=True)
        .size()
    )
    rows = q.drop_duplicates(["batch_id", "source_row"]).groupby("batch_id").size()
    one_each = q.drop_duplicates(["batch_id", "source_row"])
    closed = one_each[closed_mask(one_each, read_resolutions(ws, org))]
    resolved = closed.groupby("batch_id").size()
    firsts = q.drop_duplicates("batch_id")
    _, gone = live_entries(e for e in read_entries(ws) if e.org == org)
    superseded = {b for s in gone for b in s.batches}
    out = []
    for rec in firsts.itertuples(index=False):  # one iteration per batch, not per row
        b = rec.batch_id
        out.append(
            BatchSummary(
                batch_id=b,
                source_file=rec.source_file,
                status=_status(ws, org, b, superseded),
                written_at=dt.datetime.fromtimestamp(rec.written_at, dt.UTC).isoformat(
                    timespec="seconds"
                ),
                rows=int(rows[b]),
                rows_by_reason={str(r): int(n) for r, n in per_reason[b].items()},
                resolved=int(resolved.get(b, 0)),
            )
        )
    return out


def unfinished_temps(ws: Workspace, org: str) -> int:
    """How many quarantine temp files of ``org`` an interrupted ingest left (raw rows, unlisted)."""
    return count_org_temps(ws, org)


@dataclass(frozen=True)
class PurgeResult:
    batches: int
    rows: int
    temp_files: int = 0  # left by interrupted ingests: their rows were never counted


def purge(ws: Workspace, org: str, *, wait: float | None = None) -> PurgeResult:
    """Delete every quarantined row of ``org`` (the folder goes too) and its stale temp files."""
    with org_writer(ws, org, wait=wait, staging=False) as temps:
        batches = list_batches(ws, org)
        folder = ws.quarantine_dir(org)
        if folder.is_dir():
            shutil.rmtree(folder)
            fsync_dir(folder.parent)
    return PurgeResult(len(batches), sum(b.rows for b in batches), temps)
