"""The key's backup: ``ctdc key backup --out FILE`` copies it and records when, never where or what.

Losing the key splits every re-exported person in two (docs/key.md), and
nothing in the workspace can rebuild it, so ``ctdc status`` warns until a
backup of the key *in place* is on record. The record,
``<data>/key-backup.json`` (0600), holds the date and the fingerprint of the key
backed up, so a rotation (new fingerprint) makes the backup stale again. It
never holds the key, nor the backup's path (where the key lies is the steward's
to know, not the workspace's).

A backup inside the workspace is refused: it would be lost with it. A FILE that
already holds the same key is recorded as it is (a copy made by other means
is checked, not rewritten); one that holds another key is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.atomic import write_bytes, write_json
from ctdc.store.keys import fingerprint
from ctdc.store.workspace import Workspace

BACKUP_RECORD = "key-backup.json"


@dataclass(frozen=True)
class KeyBackup:
    """The last backup on record: the fingerprint of the key copied, and when (UTC)."""

    fingerprint: str
    backed_up_at: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class BackupResult:
    record: KeyBackup
    #: False when FILE already held this key (checked and recorded, not rewritten)
    written: bool


def backup_key(ws: Workspace, out: Path, *, now: dt.datetime | None = None) -> BackupResult:
    """Copy the workspace's key to ``out`` (0600, atomic), check the copy, record the backup."""
    key = ws.load_key()
    mine = fingerprint(key)
    out = out.absolute()
    if out.resolve().is_relative_to(ws.root.resolve()):
        raise CtdcError(Slug.BAD_OPTION, "a backup inside the workspace is lost with it",
                        file=out, fix="write the backup to storage apart from the workspace, "
                        "e.g. an encrypted volume only the data steward reads")  # fmt: skip
    if out.is_dir():
        raise CtdcError(Slug.NOT_A_FILE, "--out names a folder", file=out,
                        fix="name the backup file, e.g. --out /backup/pseudonym.key")  # fmt: skip
    written = not out.exists()
    if written:
        if not out.parent.is_dir():
            raise CtdcError(Slug.FILE_NOT_FOUND, "the backup's folder does not exist", file=out)
        write_bytes(out, key, mode=0o600)
    theirs = fingerprint(Workspace(out.parent).read_key_file(out))
    if theirs != mine:
        raise CtdcError(Slug.BAD_OPTION, f"{out.name} holds another key (fingerprint {theirs}, "
                        f"the workspace's is {mine}); it is left as it is", file=out,
                        fix="back up to a new file name; keep the older backup until you know "
                        "which workspace it belongs to")  # fmt: skip
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    record = KeyBackup(fingerprint=mine, backed_up_at=stamp)
    write_json(ws.root / BACKUP_RECORD, record.to_dict())
    return BackupResult(record, written)


def last_backup(ws: Workspace) -> KeyBackup | None:
    """The backup on record, or None (never backed up, or an unreadable record)."""
    try:
        doc = json.loads((ws.root / BACKUP_RECORD).read_text(encoding="utf-8"))
        return KeyBackup(fingerprint=str(doc["fingerprint"]), backed_up_at=str(doc["backed_up_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
