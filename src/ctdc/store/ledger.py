"""The ingest ledger: one JSON entry per committed batch.

A batch is one export file of one organization, named by its content hash.
The ledger entry is written last, after staging and quarantine, so its
existence is the commit point: a batch without an entry was interrupted and
is invisible to harmonize, and re-ingesting the same content is a no-op.

Each entry records its ``mode``. ``append`` adds the batch to the
organization's earlier ones; ``snapshot`` says the export is the
organization's whole data: from its commit on, harmonize uses only that batch
and the ones committed after it (:func:`live_entries`). A snapshot deletes
nothing: the batches it supersedes stay in staging and in the ledger, so an
interrupted snapshot (no entry yet) changes nothing, and a harmonize running
meanwhile never loses a file it is reading.

Each entry records the ``key_fingerprint`` of the key that made its
pseudonyms (``ctdc.store.keys``), so a key that differs from the one that
made the staged data is caught (``Workspace.check_key``) even when the
fingerprint file beside the key is gone too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from ctdc.store.atomic import write_json
from ctdc.store.workspace import Workspace


class BatchMode(StrEnum):
    """How a batch joins its organization's earlier ones (see the module docstring)."""

    APPEND = "append"
    SNAPSHOT = "snapshot"


#: every mode, in the order ``--mode`` lists them
MODES: tuple[BatchMode, ...] = tuple(BatchMode)


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
    #: entries written before modes are append; a plain string is read as its member
    mode: BatchMode = BatchMode.APPEND
    key_fingerprint: str = ""  # the key that made the pseudonyms (entries before this: "")
    #: when ``ctdc reprocess`` last ran the batch again with the then current mapping
    #: (``mapping_sha256``); ``ingested_at`` and ``seq`` stay those of the first ingest
    reprocessed_at: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", BatchMode(self.mode))

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


def entry_paths(ws: Workspace) -> list[Path]:
    """Every committed entry's file (temp files of an interrupted write are not entries)."""
    return sorted(ws.ledger_dir.glob("*/*.json"))


def key_fingerprints(ws: Workspace) -> set[str]:
    """The distinct key fingerprints recorded in the ledger (entries without one are skipped)."""
    found = set()
    for path in entry_paths(ws):
        value = json.loads(path.read_text(encoding="utf-8")).get("key_fingerprint")
        if value:
            found.add(str(value))
    return found


def set_key_fingerprint(path: Path, value: str) -> bool:
    """Record ``value`` as the entry's key fingerprint (atomically); False if it already was."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("key_fingerprint") == value:
        return False
    write_json(path, {**doc, "key_fingerprint": value})
    return True


def read_entries(ws: Workspace) -> list[BatchEntry]:
    """Every committed batch of every organization, oldest first."""
    entries = [BatchEntry(**json.loads(p.read_text(encoding="utf-8"))) for p in entry_paths(ws)]
    return sorted(entries, key=lambda e: (e.seq, e.org, e.batch_id))


@dataclass(frozen=True)
class Superseded:
    """Batches of one organization replaced by its latest snapshot."""

    org: str
    snapshot: str  # batch id of the snapshot that replaced them
    batches: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"org": self.org, "snapshot": self.snapshot, "batches": list(self.batches)}


def live_entries(entries: Iterable[BatchEntry]) -> tuple[list[BatchEntry], list[Superseded]]:
    """Split committed batches into those a release uses and those superseded.

    Per organization, the latest ``snapshot`` entry (by commit order) and every
    entry committed after it are live; the earlier ones are superseded. An
    organization without a snapshot keeps all its batches. Batches are listed
    in commit order.
    """
    ordered = sorted(entries, key=lambda e: (e.seq, e.org, e.batch_id))
    cut: dict[str, BatchEntry] = {}
    for e in ordered:
        if e.mode is BatchMode.SNAPSHOT:
            cut[e.org] = e  # later ones overwrite: the latest snapshot wins
    live = [e for e in ordered if e.org not in cut or e.seq >= cut[e.org].seq]
    gone = [
        Superseded(org, snap.batch_id, tuple(e.batch_id for e in ordered
                                             if e.org == org and e.seq < snap.seq))
        for org, snap in sorted(cut.items())
    ]  # fmt: skip
    return live, [s for s in gone if s.batches]


def superseded_by(ws: Workspace, org: str, batch_id: str) -> str | None:
    """The snapshot batch that superseded ``batch_id`` of ``org``, or None if it is live."""
    _, gone = live_entries(e for e in read_entries(ws) if e.org == org)
    return next((s.snapshot for s in gone if batch_id in s.batches), None)
