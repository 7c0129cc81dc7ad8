"""Retention: raw rows leave the workspace on their own, not when someone remembers to purge.

The quarantine (and an archived export, ``store.archive``) holds names,
phones and notes. The policy's ``quarantine_retention_days`` (90 by default,
``ctdc policy set quarantine_retention_days=N``) bounds how long: at every
harmonize, :func:`purge_expired` removes

- each quarantine file (one batch) written more than N days ago,
- each quarantine file whose rows were all closed by corrected rows
  (``quarantine.resolve``): nothing in it is waiting for a fix any more,
- each archived export written more than N days ago.

A file's age is its modification time: when ingest (or a reprocess, which
keeps the archived export's age) wrote it. An organization whose writer lock
is held (an ingest running) is skipped and purged at the next harmonize.
:func:`expiring` lists what the purge will remove within some days, so that
``ctdc status`` can warn the data officer beforehand. The clock (``now``) is
a parameter: tests move it instead of waiting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from ctdc.errors import CtdcError
from ctdc.quarantine.resolve import closed_mask, read_resolutions
from ctdc.quarantine.store import quarantine_files, read_quarantine
from ctdc.slugs import Slug
from ctdc.store.archive import purge_archived
from ctdc.store.atomic import fsync_dir
from ctdc.store.workspace import Workspace
from ctdc.store.writers import org_writer

DAY = 86_400.0


@dataclass(frozen=True)
class Expiring:
    """One quarantined batch the retention purge will remove, and when."""

    org: str
    batch_id: str
    source_file: str
    rows: int
    written_at: str
    purge_after: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class RetentionResult:
    """What one retention purge removed (counts only: no row content)."""

    batches: int = 0
    rows: int = 0
    resolved_batches: int = 0  # of ``batches``: removed because every row was closed
    archived_exports: int = 0
    skipped_orgs: list[str] = field(default_factory=list)  # an ingest held the lock

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def quarantine_orgs(ws: Workspace) -> list[str]:
    root = ws.root / "quarantine"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _rows(path: Path) -> int:
    rows = pq.read_table(path, columns=["source_row"]).column("source_row")
    return len(pc.unique(rows))


def _now(now: dt.datetime | None) -> float:
    return (now or dt.datetime.now(dt.UTC)).timestamp()


def expiring(ws: Workspace, within_days: float, *, retention_days: int,
             now: dt.datetime | None = None) -> list[Expiring]:  # fmt: skip
    """Quarantined batches of every organization that the purge removes within ``within_days``
    (0: those already past the period), oldest first."""
    horizon = _now(now) + within_days * DAY
    out = []
    for org in quarantine_orgs(ws):
        for path in quarantine_files(ws, org):
            written = path.stat().st_mtime
            due = written + retention_days * DAY
            if due <= horizon:
                source = pq.read_table(path, columns=["source_file"]).column("source_file")
                out.append(Expiring(org, path.stem, str(source[0]) if len(source) else "",
                                    _rows(path), _iso(written), _iso(due)))  # fmt: skip
    return sorted(out, key=lambda e: (e.written_at, e.org, e.batch_id))


def _closed_batches(ws: Workspace, org: str) -> set[str]:
    """Batches of ``org`` whose every quarantined row a corrected row closed."""
    q = read_quarantine(ws, org)
    if q.empty:
        return set()
    closed = q.assign(closed=closed_mask(q, read_resolutions(ws, org)))
    every = closed.groupby("batch_id")["closed"].all()
    return {str(b) for b in every[every].index}


def purge_expired(ws: Workspace, *, retention_days: int, now: dt.datetime | None = None,
                  wait: float = 0.0) -> RetentionResult:  # fmt: skip
    """Remove expired and fully resolved quarantine files and expired archived exports."""
    cutoff = _now(now) - retention_days * DAY
    batches = rows = resolved = 0
    skipped = []
    for org in quarantine_orgs(ws):
        try:
            with org_writer(ws, org, wait=wait, staging=False):
                done = _closed_batches(ws, org)
                gone = [p for p in quarantine_files(ws, org)
                        if p.stat().st_mtime < cutoff or p.stem in done]  # fmt: skip
                for path in gone:
                    rows += _rows(path)
                    resolved += path.stem in done and path.stat().st_mtime >= cutoff
                    path.unlink()
                batches += len(gone)
                if gone:
                    fsync_dir(ws.quarantine_dir(org))
        except CtdcError as exc:
            if exc.slug != Slug.LOCKED:
                raise
            skipped.append(org)
    archived = len(purge_archived(ws, cutoff))
    return RetentionResult(batches, rows, resolved, archived, skipped)
