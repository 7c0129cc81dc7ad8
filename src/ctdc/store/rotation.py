"""Key rotation: a new key appended to the chain, every staged pseudonym re-keyed with it.

HMAC is one-way: staged pseudonyms cannot be recomputed from case ids
without the exports. So a rotation never replaces the key; it appends a new
random key ``k_new`` to the key chain (``store.keys``) and turns every staged
pseudonym ``p`` into ``HMAC(k_new, p)``. Ingest MACs through the whole chain,
so a re-exported person gets exactly the re-keyed pseudonym: one identity
space, before and after. An old copy of the key file alone no longer links
the staging to case ids. See docs/key.md.

Crash safety: under ``ingest.lock`` (exclusive: no ingest or purge runs) and
``harmonize.lock`` (no release reads staging half re-keyed), the new chain is
written to ``pseudonym.key.next`` and a journal (``key-rotation.json``) names
the old and new fingerprints. Each staging file is then rewritten atomically,
its metadata naming the new fingerprint, so a file is re-keyed exactly once;
then the ledger entries; then the chain replaces the key, the fingerprint
file is updated, the rotation is appended to ``key-history.jsonl`` and the
journal goes. While the journal exists every command that opens the
workspace stops (``key-rotation-incomplete``) until ``ctdc key rotate
--resume`` finishes the same rotation.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ctdc.errors import CtdcError
from ctdc.store.atomic import atomic_path, fsync_dir, fsync_file, write_bytes, write_json
from ctdc.store.keys import (
    KEY_BYTES,
    STAGING_FINGERPRINT_META,
    chain_blob,
    fingerprint,
    parse_chain,
)
from ctdc.store.ledger import entry_paths, set_key_fingerprint
from ctdc.store.lock import exclusive_lock, file_lock
from ctdc.store.pseudonym import rekey
from ctdc.store.workspace import Workspace
from ctdc.store.writers import remove_all_temps

HISTORY_FILE = "key-history.jsonl"
PSEUDONYM_COLUMN = "case_pseudonym"


@dataclass(frozen=True)
class RotationResult:
    """What a rotation changed; fingerprints only, never a key or a pseudonym."""

    old_fingerprint: str
    new_fingerprint: str
    staging_files: int  # re-keyed by this run (a resumed run skips those done before)
    ledger_entries: int
    resumed: bool
    at: str
    by: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def staging_fingerprint(path: Path) -> str:
    """The key fingerprint a staging file's metadata names ("" for files from before them)."""
    meta = pq.read_schema(path).metadata or {}
    return meta.get(STAGING_FINGERPRINT_META, b"").decode("ascii")


def rekey_file(path: Path, new_key: bytes, new_fp: str) -> None:
    """Rewrite one staging file with re-keyed pseudonyms, a row group at a time, atomically."""
    source = pq.ParquetFile(path)
    try:
        _rewrite(source, path, new_key, new_fp)
    finally:
        source.close()


def _rewrite(source: pq.ParquetFile, path: Path, new_key: bytes, new_fp: str) -> None:
    arrow = source.schema_arrow
    schema = arrow.with_metadata({**(arrow.metadata or {}),
                                  STAGING_FINGERPRINT_META: new_fp.encode("ascii")})  # fmt: skip
    at = schema.get_field_index(PSEUDONYM_COLUMN)
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd",
                                                     write_statistics=True) as out:  # fmt: skip
        for i in range(source.num_row_groups):
            table = source.read_row_group(i)
            old = table.column(at).to_pylist()
            present = [p for p in old if p is not None]
            fresh = iter(rekey(new_key, present))
            new = pa.array([None if p is None else next(fresh) for p in old], pa.string())
            table = table.set_column(at, schema.field(at), new)
            out.write_table(table.cast(schema), row_group_size=max(table.num_rows, 1))


def _rekey_staging(ws: Workspace, new_key: bytes, old_fp: str, new_fp: str) -> int:
    """Re-key every staging file not yet re-keyed; refuse one made by neither key."""
    done = 0
    # staging, the series' publication ledgers and the withdrawals: every file with pseudonyms
    files = [*(ws.root / "staging").glob("*/*.parquet"), *(ws.root / "series").glob("*.parquet"),
             *ws.root.glob("withdrawals.parquet")]  # fmt: skip
    for path in sorted(files):
        found = staging_fingerprint(path)
        if found == new_fp:
            continue  # re-keyed before an interruption
        if found not in ("", old_fp):
            raise CtdcError(
                "key-mismatch",
                f"a staging file was made by key {found}, neither {old_fp} nor {new_fp}",
                file=path,
            )
        rekey_file(path, new_key, new_fp)
        done += 1
    return done


def _start(ws: Workspace) -> tuple[str, str, tuple[bytes, ...]]:
    """Write the new chain beside the key and the journal; return (old fp, new fp, chain)."""
    ws.next_key_path.unlink(missing_ok=True)  # from a start that died before its journal
    old = ws.load_key()  # refuses a key that did not make the staged data
    chain = (*parse_chain(old), secrets.token_bytes(KEY_BYTES))
    blob = chain_blob(chain)
    old_fp, new_fp = fingerprint(old), fingerprint(blob)
    write_bytes(ws.next_key_path, blob, mode=0o600)
    journal = {"from": old_fp, "to": new_fp, "by": _user(),
               "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
    write_json(ws.rotation_journal, journal)
    return old_fp, new_fp, chain


def _resume(ws: Workspace) -> tuple[str, str, tuple[bytes, ...]]:
    """The interrupted rotation's (old fp, new fp, chain), from its journal and key files."""
    journal = json.loads(ws.rotation_journal.read_text(encoding="utf-8"))
    old_fp, new_fp = str(journal["from"]), str(journal["to"])
    for path in (ws.next_key_path, ws.key_path):  # the chain may already have replaced the key
        if path.exists():
            blob = ws.read_key_file(path)
            if fingerprint(blob) == new_fp:
                return old_fp, new_fp, parse_chain(blob)
    raise CtdcError(
        "key-mismatch",
        f"the interrupted rotation's new key (fingerprint {new_fp}) is in neither "
        f"{ws.next_key_path.name} nor {ws.key_path.name}",
        file=ws.rotation_journal,
    )


def rotate_key(ws: Workspace, *, resume: bool = False, wait: float = 0.0) -> RotationResult:
    """Append a new key to the chain and re-key the staging; or finish an interrupted rotation."""
    holder = "`ctdc ingest` or `ctdc quarantine purge`"
    with (
        file_lock(ws.ingest_lock_path, wait=wait, holder=holder),
        exclusive_lock(ws.lock_path, wait=wait, holder="`ctdc harmonize`"),
    ):
        remove_all_temps(ws)
        if ws.rotation_journal.exists() and not resume:
            raise CtdcError("key-rotation-incomplete", file=ws.rotation_journal)
        if resume and not ws.rotation_journal.exists():
            raise CtdcError("bad-option", "no interrupted key rotation to resume",
                            fix="run `ctdc key rotate` without --resume")  # fmt: skip
        old_fp, new_fp, chain = _resume(ws) if resume else _start(ws)
        files = _rekey_staging(ws, chain[-1], old_fp, new_fp)
        entries = sum(set_key_fingerprint(p, new_fp) for p in entry_paths(ws))
        if ws.next_key_path.exists():
            os.replace(ws.next_key_path, ws.key_path)
            fsync_dir(ws.root)
        write_bytes(ws.fingerprint_path, f"{new_fp}\n".encode("ascii"), mode=0o600)
        result = RotationResult(old_fp, new_fp, files, entries, resume,
                                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                _user())  # fmt: skip
        record_rotation(ws, result)
        ws.rotation_journal.unlink()
        fsync_dir(ws.root)
    return result


def record_rotation(ws: Workspace, result: RotationResult) -> None:
    """Append the rotation to the workspace's key history (who, when, which fingerprints)."""
    history = ws.root / HISTORY_FILE
    done = key_history(ws)
    if done and done[-1].get("new_fingerprint") == result.new_fingerprint:
        return  # recorded just before an interruption: a resume does not record it twice
    fd = os.open(history, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(result.to_dict(), sort_keys=True) + "\n").encode("utf-8"))
        fsync_file(fd)
    finally:
        os.close(fd)


def key_history(ws: Workspace) -> list[dict[str, object]]:
    """Every rotation of this workspace's key, oldest first."""
    history = ws.root / HISTORY_FILE
    if not history.exists():
        return []
    return [json.loads(line) for line in history.read_text(encoding="utf-8").splitlines() if line]
