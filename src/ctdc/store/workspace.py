"""The workspace: one folder holding the key, ledger, staging, quarantine and releases.

Layout (all created 0700; files 0600)::

    <data>/pseudonym.key              32 random bytes, the HMAC key
    <data>/ledger/<org>/<batch>.json  one entry per committed batch
    <data>/staging/<org>/<batch>.parquet
    <data>/quarantine/<org>/<batch>.parquet   raw bad rows: private, purgeable
    <data>/releases/<release-id>/     cases.parquet, dictionary.parquet, manifest.json
    <data>/current -> releases/<id>   swapped atomically on publish
    <data>/harmonize.lock

The key is checked on every command that opens the workspace: a missing key
or one that group/others can read stops the run, because a leaked key turns
every pseudonym back into a linkable case id.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.store.atomic import write_bytes

KEY_FILE = "pseudonym.key"
KEY_BYTES = 32
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
        """Return the key, refusing a missing, short or group/other-readable one."""
        path = self.key_path
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise CtdcError("missing-key", f"no key file at {path}", file=path) from exc
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CtdcError(
                "unsafe-key",
                f"key file has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600",
                file=path,
                fix=f"chmod 600 {path}",
            )
        key = path.read_bytes()
        if len(key) < KEY_BYTES:
            raise CtdcError("bad-key", f"key holds {len(key)} bytes, needs {KEY_BYTES}", file=path)
        return key


def init_workspace(root: Path, *, schema_path: Path | None = None, k: int | None = None,
                   k_floor: int | None = None) -> tuple[Workspace, bool]:  # fmt: skip
    """Create the workspace, its key and its release policy; return (workspace, created_key).

    Never overwrites an existing key: losing it would break the link between
    today's pseudonyms and every earlier batch. Nor an existing policy: it
    changes only through ``ctdc policy`` (``schema_path``, ``k`` and ``k_floor``
    are for a new workspace; the schema defaults to the bundled one).
    """
    from ctdc.config import DEFAULT_K
    from ctdc.store.policy import create_policy

    ws = Workspace(root)
    ws.private_dir(root)
    os.chmod(root, 0o711)  # analysts traverse to public/; nobody else may list the root
    for sub in _SUBDIRS:
        ws.private_dir(root / sub)
    if ws.key_path.exists():
        ws.load_key()  # refuse to bless an unsafe existing key
        created = False
    else:
        write_bytes(ws.key_path, secrets.token_bytes(KEY_BYTES), mode=0o600)
        created = True
    create_policy(ws, schema_path, k=k or DEFAULT_K, k_floor=k_floor)
    return ws, created


def open_workspace(root: Path) -> Workspace:
    """Open an existing workspace, checking the key before anything else runs."""
    if not root.is_dir():
        raise CtdcError("no-workspace", f"no workspace at {root}", file=root)
    ws = Workspace(root)
    ws.load_key()
    return ws
