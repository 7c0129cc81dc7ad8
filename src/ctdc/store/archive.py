"""Archived exports: a private copy of each ingested file, so a batch can be reprocessed.

After a mapping is fixed, ``ctdc reprocess`` runs an organization's batches
again; it needs their exports. Keeping them is a choice of the steward, off
by default (``ctdc policy set archive_exports=on``): an export holds every raw
row, names and all, where the design keeps raw rows in the quarantine only.
When on, ingest copies each committed export to
``<data>/archive/<org>/<batch id>/<its file name>`` (0600 in 0700 folders,
before the ledger entry; the name is kept so that a reprocess names the file
as the first ingest did), and the retention period purges it like the quarantine
(``quarantine_retention_days``, at harmonize). Without a copy, reprocess asks
for the file again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ctdc.store.atomic import commit_temp, fsync_dir, new_temp
from ctdc.store.workspace import Workspace

ARCHIVE_DIR = "archive"


def archive_dir(ws: Workspace, org: str) -> Path:
    return ws.root / ARCHIVE_DIR / org


def archive_export(ws: Workspace, org: str, batch_id: str, path: Path) -> Path:
    """Copy ``path`` into the archive (streamed, atomic, 0600); the same batch again is kept.

    The temp file is written in ``archive/<org>/`` (where the organization's
    next writer removes it if a kill left it) and renamed into the batch's folder.
    """
    found = find_archived(ws, org, batch_id)
    if found is not None:
        return found
    folder = ws.private_dir(archive_dir(ws, org))
    tmp = new_temp(folder, f".{batch_id}.")
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        target = ws.private_dir(folder / batch_id) / path.name
        commit_temp(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def find_archived(ws: Workspace, org: str, batch_id: str) -> Path | None:
    """The archived export of ``batch_id``, or None."""
    folder = archive_dir(ws, org) / batch_id
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.is_file()), None)


def archived_files(ws: Workspace) -> list[Path]:
    """Every archived export of every organization (temp files of a copy are not in a batch
    folder)."""
    root = ws.root / ARCHIVE_DIR
    return sorted(p for p in root.glob("*/*/*") if p.is_file())


def purge_archived(ws: Workspace, older_than: float) -> list[Path]:
    """Remove archived exports written before ``older_than`` (a POSIX time); returns them."""
    gone = [p for p in archived_files(ws) if p.stat().st_mtime < older_than]
    for path in gone:
        shutil.rmtree(path.parent)
    for folder in {p.parent.parent for p in gone}:
        fsync_dir(folder)
    return gone


def touch_like(path: Path, source: Path) -> None:
    """Give ``path`` the modification time of ``source`` (a reprocessed quarantine keeps the
    age of the archived export it came from, so reprocessing never extends retention)."""
    stat = source.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
