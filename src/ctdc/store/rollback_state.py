"""What a rollback leaves for the next harmonize: the records that must stay out of the epoch.

A rollback makes an older release current again, but the releases after it were
public: someone may hold them. ``ctdc releases rollback`` therefore writes here
the pseudonyms of every record that a withdrawn release published in a form the
target did not publish for it, or withheld (docs/privacy.md, "Rollback"). The
next harmonize that continues from the target withholds them for the rest of its
epoch, so no record ever shows a second form to someone holding both releases.

One private file, ``<data>/series/rolled-back.parquet`` (0600): the pseudonyms,
with the target release id and the key's fingerprint in its metadata. It sits
with the publication ledgers, so a key rotation re-keys it with them
(``store.rotation``). It applies only while its target is the current release;
the first release published after it holds those records as ``withheld`` in its
own ledger, and harmonize then removes the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ctdc.store.atomic import private_mkdir, write_parquet
from ctdc.store.keys import STAGING_FINGERPRINT_META
from ctdc.store.publication import SERIES_DIR
from ctdc.store.workspace import Workspace

STATE_FILE = "rolled-back.parquet"
_TARGET = b"ctdc.rollback.target"
#: the input digest of a run that found nothing to publish while the state applied
_UNCHANGED = b"ctdc.rollback.unchanged_inputs"
SCHEMA = pa.schema([("case_pseudonym", pa.string())])


@dataclass(frozen=True)
class RolledBack:
    """The records to keep out after a rollback to ``target``."""

    target: str
    pseudonyms: frozenset[str]
    #: a run over these inputs already found nothing new to publish (see harmonize)
    unchanged_inputs: str = ""

    @property
    def digest(self) -> str:
        """What the next run's input digest counts: the target and the records kept out."""
        text = self.target + "\n" + "\n".join(sorted(self.pseudonyms))
        return hashlib.sha256(text.encode()).hexdigest()


def state_path(ws: Workspace) -> Path:
    return ws.root / SERIES_DIR / STATE_FILE


def write_state(ws: Workspace, state: RolledBack) -> None:
    """Write the state atomically (0600), with the key's fingerprint for a key rotation."""
    meta = {STAGING_FINGERPRINT_META: (ws.stored_fingerprint() or "").encode("ascii"),
            _TARGET: state.target.encode(),
            _UNCHANGED: state.unchanged_inputs.encode()}  # fmt: skip
    table = pa.table({"case_pseudonym": pa.array(sorted(state.pseudonyms), pa.string())})
    private_mkdir(state_path(ws).parent)
    write_parquet(state_path(ws), table.replace_schema_metadata(meta))


def read_state(ws: Workspace) -> RolledBack | None:
    """The state a rollback left, or None (no rollback, or a release published since)."""
    path = state_path(ws)
    if not path.is_file():
        return None
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    return RolledBack(meta.get(_TARGET, b"").decode(),
                      frozenset(table.column("case_pseudonym").to_pylist()),
                      meta.get(_UNCHANGED, b"").decode())  # fmt: skip


def merged(target: str, keep_out: Iterable[str], before: RolledBack | None) -> RolledBack:
    """The state of a rollback to ``target``: its records, and those of an earlier rollback
    that no release has absorbed yet (keeping more records out is always safe)."""
    earlier = before.pseudonyms if before is not None else frozenset()
    return RolledBack(target, frozenset(keep_out) | earlier)


def clear_state(ws: Workspace) -> None:
    state_path(ws).unlink(missing_ok=True)
