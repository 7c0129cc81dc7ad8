"""Private releases: built in a temp folder, published by a rename, made current by a symlink swap.

These are the workspace's own copies, with the full manifest: folders 0700,
files 0600, like everything else in the workspace. Analysts read the public
copy (``ctdc.store.public``). ``releases/.tmp-*`` is invisible to readers;
``os.rename`` of the whole folder and ``os.replace`` of the ``current``
symlink are each atomic, so a reader (or a crash) sees the old release or the
new one, never a half-written one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ctdc.store.atomic import fsync_dir, fsync_file, remove_stale_temps, swap_current
from ctdc.store.public import STALE_LINK_OR_CATALOG, STALE_RELEASE
from ctdc.store.workspace import Workspace

CASES_FILE = "cases.parquet"
DICTIONARY_FILE = "dictionary.parquet"
MANIFEST_FILE = "manifest.json"
#: the catalog of earlier versions, in the workspace root: it now lives in the public folder
_OLD_CATALOG = "catalog.duckdb"


def current_release(ws: Workspace) -> Path | None:
    """The folder ``current`` points at, or None before the first publish."""
    if not ws.current.is_symlink():
        return None
    target = ws.current.resolve()
    return target if target.is_dir() else None


def read_manifest(release: Path) -> dict[str, Any]:
    return json.loads((release / MANIFEST_FILE).read_text(encoding="utf-8"))


def remove_stale_release_temps(ws: Workspace) -> int:
    """Remove what a killed harmonize left in the workspace; call it under the lock.

    Release folders still being built (``releases/.tmp-*``), symlinks and
    catalogs that were never swapped in, and the catalog earlier versions kept
    in the workspace root (analysts now open the public folder's).
    """
    removed = remove_stale_temps(ws.releases_dir, STALE_RELEASE)
    removed += remove_stale_temps(ws.root, STALE_LINK_OR_CATALOG)
    return removed + remove_stale_temps(ws.root, re.escape(_OLD_CATALOG))


@contextmanager
def staging_release(ws: Workspace) -> Iterator[Path]:
    """A private temp folder (0700) for building a release; removed unless published."""
    ws.private_dir(ws.releases_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=ws.releases_dir))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(ws: Workspace, built: Path, release_id: str) -> Path:
    """Move ``built`` to ``releases/<release_id>`` and point ``current`` at it (private modes)."""
    for f in built.iterdir():
        os.chmod(f, 0o600)
        with open(f, "rb") as fh:
            fsync_file(fh.fileno())
    os.chmod(built, 0o700)
    fsync_dir(built)
    final = ws.releases_dir / release_id
    os.rename(built, final)
    fsync_dir(ws.releases_dir)
    swap_current(ws.root, release_id)
    return final
