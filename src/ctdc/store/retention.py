"""Retention: which releases the workspace keeps, and removing the others.

Every harmonize used to add a private release that stayed forever, and every
snapshot ingest left the batches it superseded in staging forever. The policy's
``keep_releases`` (``ctdc policy set keep_releases=N``; 0, the default, keeps
all) bounds both, at every harmonize, and ``ctdc releases prune --keep N`` applies
a bound once:

- the **current** release always stays, whatever N; with it the ``N - 1`` newest
  others (release ids start with their UTC time, so name order is age order);
- a removed release loses its private folder, its publication ledger
  (``<data>/series/<id>.parquet``) and its public copy. The current release's ledger
  is the only one the series reads; a rollback reads the ledgers of the releases
  after its target, which are newer than it and so kept whenever it is;
- a **superseded staging** file (a batch an organization's later ``snapshot``
  replaced) is removed once no kept release was built from it. Its ledger entry
  stays, so the same export sent again is still recognised as already ingested.
  While a kept release lists the batch, its staging stays: ``ctdc withdraw`` finds
  a case there, and that release may become current again by a rollback.

Each folder leaves by one rename to a ``.tmp-*`` name that the next run's stale-temp
cleaning knows, then is deleted, so a crash never leaves half a release under its
id. Callers hold the harmonize lock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ctdc.errors import CtdcError
from ctdc.slugs import Slug
from ctdc.store.atomic import fsync_dir
from ctdc.store.ledger import live_entries, read_entries
from ctdc.store.public import PublicArea, current_public_release
from ctdc.store.publication import ledger_path
from ctdc.store.release import MANIFEST_FILE, current_release
from ctdc.store.workspace import Workspace

#: a release id: its UTC time, then the first hex digits of its cases file (and a counter)
RELEASE_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}(-\d+)?")


@dataclass(frozen=True)
class Pruned:
    """What a prune removed: private releases (with ledger and public copy) and staging."""

    releases: tuple[str, ...] = ()
    staging: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"releases": list(self.releases), "staging_removed": self.staging}


def release_ids(folder: Path) -> list[str]:
    """The release folders under ``folder`` (``releases/``), oldest first; temps left out.

    By the UTC second the id starts with, then by when the manifest was written: two
    releases of the same second differ after it by their data's hash, not their age.
    """
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    names = [e.name for e in entries
             if RELEASE_ID.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]  # fmt: skip

    def age(name: str) -> tuple[str, int, str]:
        try:
            written = (folder / name / MANIFEST_FILE).stat().st_mtime_ns
        except OSError:
            written = 0
        return name[:16], written, name

    return sorted(names, key=age)


def to_remove(ids: list[str], current: str | None, keep: int) -> list[str]:
    """The ids beyond the current one and the ``keep - 1`` newest others (``keep`` 0: none)."""
    if keep < 0:
        raise CtdcError(Slug.BAD_OPTION, f"keep must be at least 1 (0 keeps all), got {keep}")
    if keep == 0:
        return []
    others = [i for i in reversed(ids) if i != current]  # ids: oldest first
    return others[keep - 1 :][::-1]


def _drop_folder(folder: Path) -> None:
    """Rename ``folder`` to a ``.tmp-*`` sibling (one atomic step), then delete it."""
    gone = folder.parent / f".tmp-pruned-{folder.name}"
    shutil.rmtree(gone, ignore_errors=True)
    os.rename(folder, gone)
    fsync_dir(folder.parent)
    shutil.rmtree(gone, ignore_errors=True)


def remove_public_copy(area: PublicArea, release_id: str) -> bool:
    """Remove the public copy of ``release_id`` unless it is the public folder's current one."""
    current = current_public_release(area.root)
    folder = area.releases_dir / release_id
    if (current is not None and current.name == release_id) or not folder.is_dir():
        return False
    _drop_folder(folder)
    return True


def prune_releases(ws: Workspace, area: PublicArea, keep: int) -> Pruned:
    """Keep the current release and the ``keep - 1`` newest others; remove the rest, and
    the superseded staging no kept release was built from (see the module docstring)."""
    current = current_release(ws)
    name = current.name if current is not None else None
    removed = to_remove(release_ids(ws.releases_dir), name, keep)
    for release_id in removed:
        remove_public_copy(area, release_id)
        ledger_path(ws.root, release_id).unlink(missing_ok=True)
        _drop_folder(ws.releases_dir / release_id)
    return Pruned(tuple(removed), prune_superseded_staging(ws))


def _batches_of(release: Path) -> set[str]:
    try:
        doc = json.loads((release / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {str(b) for b in doc.get("batches") or ()}


def prune_superseded_staging(ws: Workspace) -> int:
    """Remove the staging of superseded batches that no kept release lists; their count."""
    _, superseded = live_entries(read_entries(ws))
    if not superseded:
        return 0
    used: set[str] = set()
    for release_id in release_ids(ws.releases_dir):
        used |= _batches_of(ws.releases_dir / release_id)
    removed = 0
    for gone in superseded:
        for batch in gone.batches:
            path = ws.staging_dir(gone.org) / f"{batch}.parquet"
            if batch not in used and path.is_file():
                path.unlink()
                removed += 1
    if removed:
        for org in {g.org for g in superseded}:
            fsync_dir(ws.staging_dir(org))
    return removed
