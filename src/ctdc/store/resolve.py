"""What a command's settings point to: the workspace, its schema, its public folder, a key file.

Commands differ in what they may assume: ``ingest`` needs a workspace with a
key, ``validate`` uses one only if it has a policy and this user may read it,
``query`` runs as an analyst who may read none of it. Each rule is one
function here, so every command resolves the same setting the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ctdc.config import bundled_schema
from ctdc.errors import CtdcError
from ctdc.schema import Schema, load_schema
from ctdc.store.keys import fingerprint
from ctdc.store.policy import has_policy, load_policy, pinned_schema, schema_differs
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class SchemaInUse:
    """The schema a command runs with, and a warning when it is not the configured one."""

    schema: Schema
    warning: str | None = None


def schema_in_use(configured: Path, ws: Workspace | None = None) -> SchemaInUse:
    """The workspace's pinned schema; the configured one only where no workspace is used.

    A deployment's ``schemas/`` (or ``ctdc.toml``'s schema) that differs from
    the pinned one changes nothing, and the warning says so: a release must
    not change shape because a command ran from another folder.
    """
    if ws is None:
        return SchemaInUse(load_schema(configured))
    if not has_policy(ws):
        raise CtdcError("no-policy", f"the workspace {ws.root} has no release policy")
    schema = pinned_schema(ws)
    warning = None
    if configured.resolve() != bundled_schema().resolve() and schema_differs(ws, configured):
        warning = (
            f"{configured} is not the schema pinned in the workspace; the pinned one is used "
            "(to adopt it: ctdc policy schema PATH --reason ...)"
        )
    return SchemaInUse(schema, warning)


def policy_workspace(data_dir: Path) -> Workspace | None:
    """The workspace at ``data_dir`` if it has a pinned policy this user may read, else None.

    ``validate`` then checks against the schema ``ingest`` will use; without
    one (no workspace yet, or a workspace this user may not read) it needs none.
    """
    ws = Workspace(data_dir)
    try:
        return ws if has_policy(ws) else None
    except OSError:
        return None


def default_public_dir(data_dir: Path) -> Path:
    """The policy's ``publish_dir`` when this user may read the policy, else ``<data>/public``.

    An analyst usually may not read the workspace: the fallback is where the
    public folder is unless the steward moved it, and ``--public-dir`` names it then.
    """
    try:
        chosen = load_policy(Workspace(data_dir)).publish_dir
    except (CtdcError, OSError):
        chosen = None
    return Path(chosen) if chosen else data_dir / "public"


def existing_workspace(data_dir: Path) -> Workspace:
    """The workspace at ``data_dir`` without checking its key (a key rotation checks its own)."""
    if not data_dir.is_dir():
        raise CtdcError("no-workspace", f"no workspace at {data_dir}", file=data_dir)
    return Workspace(data_dir)


def key_file_fingerprint(path: Path) -> str:
    """The fingerprint of a key file, e.g. a backup, refused as the workspace's key would be."""
    if not path.is_file():
        raise CtdcError("file-not-found", "no such key file", file=path)
    return fingerprint(Workspace(path.parent).read_key_file(path))
