"""The workspace: one folder holding the key, ledger, staging, quarantine and releases.

Layout (all created 0700; files 0600)::

    <data>/pseudonym.key              32 random bytes, the HMAC key (a chain after rotations)
    <data>/key.fingerprint            the key's fingerprint (ctdc.store.keys), safe to show
    <data>/ledger/<org>/<batch>.json  one entry per committed batch
    <data>/staging/<org>/<batch>.parquet
    <data>/quarantine/<org>/<batch>.parquet   raw bad rows: private, purgeable
    <data>/releases/<release-id>/     cases.parquet, dictionary.parquet, manifest.json
    <data>/current -> releases/<id>   swapped atomically on publish
    <data>/harmonize.lock

The key is checked on every command that opens the workspace: a missing key
or one that group/others can read stops the run, because a leaked key turns
every pseudonym back into a linkable case id. So does a key whose fingerprint
is not the one that made the staged data (stored beside the key and in every
ledger entry): a lost key quietly replaced by a new one would give every
re-exported person a second pseudonym, and count them twice.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.atomic import atomic_temp_pattern, remove_stale_temps, write_bytes
from ctdc.store.keys import KEY_BYTES, fingerprint
from ctdc.store.lock import file_lock

KEY_FILE = "pseudonym.key"
FINGERPRINT_FILE = "key.fingerprint"
#: a key rotation in progress (``ctdc.store.rotation``): its journal and the new key chain
ROTATION_JOURNAL = "key-rotation.json"
NEXT_KEY_FILE = "pseudonym.key.next"
KEY_DOC = "docs/key.md"
_SUBDIRS = ("ledger", "staging", "quarantine", "releases")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def key_path(self) -> Path:
        return self.root / KEY_FILE

    @property
    def ledger_dir(self) -> Path:
        return self.root / "ledger"

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def lock_path(self) -> Path:
        return self.root / "harmonize.lock"

    @property
    def ingest_lock_path(self) -> Path:
        """Shared by ingests and purges, exclusive for a key rotation (``store.lock``)."""
        return self.root / "ingest.lock"

    def org_lock_path(self, org: str) -> Path:
        """One ingest or purge of ``org`` at a time."""
        return self.private_dir(self.root / "locks") / f"{org}.lock"

    @property
    def fingerprint_path(self) -> Path:
        return self.root / FINGERPRINT_FILE

    @property
    def rotation_journal(self) -> Path:
        return self.root / ROTATION_JOURNAL

    @property
    def next_key_path(self) -> Path:
        return self.root / NEXT_KEY_FILE

    def staging_dir(self, org: str) -> Path:
        return self.root / "staging" / org

    def quarantine_dir(self, org: str) -> Path:
        return self.root / "quarantine" / org

    def private_dir(self, path: Path) -> Path:
        """Create ``path`` (and parents inside the workspace) with mode 0700."""
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        return path

    def load_key(self) -> bytes:
        """Return the key, refusing a missing, short, group/other-readable or foreign one.

        Foreign: its fingerprint is not the one that made the staged data
        (:meth:`check_key`). The content may be a key chain (``store.keys``).
        """
        key = self.read_key_file()
        self.check_key(key)
        return key

    def read_key_file(self, path: Path | None = None) -> bytes:
        """The key file's bytes, refusing a missing, short or group/other-readable one."""
        path = path or self.key_path
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise CtdcError(Slug.MISSING_KEY, f"no key file at {path}", file=path) from exc
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CtdcError(
                Slug.UNSAFE_KEY,
                f"key file has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600",
                file=path,
                fix=f"chmod 600 {path}",
            )
        key = path.read_bytes()
        if len(key) < KEY_BYTES:
            raise CtdcError(
                Slug.BAD_KEY, f"key holds {len(key)} bytes, needs {KEY_BYTES}", file=path
            )
        fingerprint(key)  # a damaged chain is refused here, as bad-key
        return key

    def stored_fingerprint(self) -> str | None:
        """The fingerprint recorded for this workspace's key, if any."""
        try:
            return self.fingerprint_path.read_text(encoding="ascii").strip() or None
        except FileNotFoundError:
            return None

    def staged_fingerprints(self) -> set[str]:
        """The key fingerprints the ledger's entries were made with (older entries have none)."""
        from ctdc.store.ledger import key_fingerprints  # the ledger module imports this one

        return key_fingerprints(self)

    def has_staged_data(self) -> bool:
        """Whether a key ever made pseudonyms here: a ledger entry or a staging file exists."""
        for folder, suffix in ((self.ledger_dir, ".json"), (self.root / "staging", ".parquet")):
            if folder.is_dir() and any(p.suffix == suffix for p in folder.glob("*/*")):
                return True
        return False

    def check_key(self, key: bytes) -> str:
        """Return the key's fingerprint; refuse a key that did not make the staged data.

        The one place where a foreign key is caught (``key-mismatch``): its
        fingerprint must equal the one stored beside the key and every one in
        the ledger. A workspace that has no stored fingerprint yet (made
        before fingerprints) gets this key's, if the ledger agrees. An
        interrupted key rotation stops everything until it is finished.
        """
        if self.rotation_journal.exists():
            raise CtdcError(
                Slug.KEY_ROTATION_INCOMPLETE,
                "a key rotation was interrupted: the staged data is half re-keyed",
                file=self.rotation_journal,
            )
        mine = fingerprint(key)
        stored = self.stored_fingerprint()
        expected = ({stored} if stored else set()) | self.staged_fingerprints()
        if expected - {mine}:
            theirs = ", ".join(sorted(expected - {mine}))
            raise CtdcError(
                Slug.KEY_MISMATCH,
                f"the key in place has fingerprint {mine}; the staged data was made by {theirs}",
                file=self.key_path,
                fix=f"put back the key file backed up for this workspace (fingerprint {theirs}; "
                "`ctdc key fingerprint --file BACKUP` checks a copy), see docs/key.md; never "
                "ingest with another key: every re-exported person would be counted twice",
            )
        if stored is None:
            write_bytes(self.fingerprint_path, f"{mine}\n".encode("ascii"), mode=0o600)
        return mine


def init_workspace(root: Path, *, schema_path: Path | None = None, k: int | None = None,
                   k_floor: int | None = None, publish_dir: Path | None = None,
                   public_mode: int = 0o755) -> tuple[Workspace, bool]:  # fmt: skip
    """Create the workspace, its key and its release policy; return (workspace, created_key).

    Never overwrites an existing key: losing it would break the link between
    today's pseudonyms and every earlier batch. Nor an existing policy: it
    changes only through ``ctdc policy`` (``schema_path``, ``k``, ``k_floor``,
    ``publish_dir`` and ``public_mode`` are for a new workspace; the schema
    defaults to the bundled one).
    """
    from ctdc.config import DEFAULT_K
    from ctdc.store.policy import create_policy

    ws = Workspace(root)
    ws.private_dir(root)
    os.chmod(root, 0o711)  # analysts traverse to public/; nobody else may list the root
    for sub in _SUBDIRS:
        ws.private_dir(root / sub)
    created = _ensure_key(ws)
    create_policy(ws, schema_path, k=k or DEFAULT_K, k_floor=k_floor, publish_dir=publish_dir,
                  public_mode=public_mode)  # fmt: skip
    return ws, created


def _ensure_key(ws: Workspace) -> bool:
    """Check the key in place, or make one for a workspace that never had one; True if made.

    A workspace that had a key (staged data, a ledger entry, a stored
    fingerprint) is refused without one (``missing-key``): the lost key must
    be restored from its backup, since a new one would give every re-exported
    person a second pseudonym and count them twice.
    """
    key_temps = re.compile(atomic_temp_pattern(KEY_FILE))
    if ws.key_path.exists() and not any(key_temps.fullmatch(p.name) for p in ws.root.iterdir()):
        ws.load_key()  # refuse to bless an unsafe or foreign existing key
        return False  # no lock needed: an ingest may be running
    with file_lock(ws.ingest_lock_path, wait=5.0, holder="`ctdc ingest` or `ctdc key rotate`"):
        # a key temp file left by a killed init holds key bytes: never leave it
        remove_stale_temps(ws.root, key_temps)
        if ws.key_path.exists():
            ws.load_key()  # refuse to bless an unsafe or foreign existing key
            return False
        if ws.has_staged_data() or ws.stored_fingerprint() or ws.rotation_journal.exists():
            known = ws.stored_fingerprint() or ", ".join(sorted(ws.staged_fingerprints()))
            raise CtdcError(
                Slug.MISSING_KEY,
                "this workspace has staged data but no key; refusing to make a new one",
                file=ws.key_path,
                fix=f"restore {KEY_FILE} from your backup"
                + (f" (fingerprint {known})" if known else "")
                + f", see {KEY_DOC}; a new key would count every re-exported person twice",
            )
        key = secrets.token_bytes(KEY_BYTES)
        write_bytes(ws.key_path, key, mode=0o600)
        write_bytes(ws.fingerprint_path, f"{fingerprint(key)}\n".encode("ascii"), mode=0o600)
        return True


def open_workspace(root: Path) -> Workspace:
    """Open an existing workspace, checking the key before anything else runs."""
    if not root.is_dir():
        raise CtdcError(Slug.NO_WORKSPACE, f"no workspace at {root}", file=root)
    ws = Workspace(root)
    ws.load_key()
    return ws
