"""The locks of the workspace's writers of staging and quarantine, and their stale temp files.

An ingest writes its staging and quarantine into temp files (``ingest.stream``)
and its ledger entry through ``store.atomic``. A kill leaves those temps
behind, and a quarantine temp holds raw rows: names, phones, notes. So every
writer of an organization's files (ingest, ``quarantine purge``) first takes

- ``ingest.lock`` shared (a key rotation takes it exclusively: it must see
  no writer of staging at all), then
- ``locks/<org>.lock`` exclusively (one writer per organization),

and only then removes that organization's stale temps: under both locks no
live writer can own one of them. Organizations ingest side by side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ctdc.store.atomic import ATOMIC_TEMP, atomic_temp_pattern, remove_stale_temps
from ctdc.store.lock import file_lock
from ctdc.store.workspace import Workspace

#: seconds a writer waits for another writer of the same organization (or a rotation)
WRITER_WAIT = 2.0


def sink_temp_prefix(target: Path) -> str:
    """Name prefix of a streamed Parquet file's temp file (``ingest.stream.ParquetSink``).

    It lives in the target's grandparent (``staging/``, ``quarantine/``) and
    starts ``.<org>-<file name>.``: organization ids hold no ``.``, so
    :func:`sink_temp_pattern` tells organizations apart.
    """
    return f".{target.parent.name}-{target.name}."


def sink_temp_pattern(org: str) -> str:
    """The regex of ``org``'s streamed temp files: ``.<org>-<16 hex>.parquet.<random>.tmp``."""
    return rf"\.{re.escape(org)}-[0-9a-f]{{16}}\.parquet\.[A-Za-z0-9_]+\.tmp"


def remove_org_temps(ws: Workspace, org: str, *, staging: bool = True) -> int:
    """Remove ``org``'s stale temps (quarantine always, staging and ledger unless told not to).

    Call only under :func:`org_writer`. Returns how many were removed.
    """
    areas = [ws.root / "quarantine"] + ([ws.root / "staging"] if staging else [])
    removed = sum(remove_stale_temps(area, sink_temp_pattern(org)) for area in areas)
    folders = [ws.quarantine_dir(org), ws.quarantine_dir(org) / "resolved"]
    if staging:  # an archived export (``store.archive``) is raw rows too, written by ingest
        folders += [ws.staging_dir(org), ws.ledger_dir / org, ws.root / "archive" / org]
    return removed + sum(remove_stale_temps(folder, ATOMIC_TEMP) for folder in folders)


def remove_all_temps(ws: Workspace) -> int:
    """Remove every organization's stale temps, and those of the key files.

    Only under ``ingest.lock`` held exclusively (a key rotation): then no
    writer of any organization is running.
    """
    any_org = sink_temp_pattern("ORG").replace("ORG", "[a-z0-9-]+")
    removed = 0
    for area in ("staging", "quarantine", "ledger"):
        folder = ws.root / area
        removed += remove_stale_temps(folder, any_org)
        for sub in _entries(folder):
            removed += remove_stale_temps(sub, ATOMIC_TEMP) if sub.is_dir() else 0
    for name in (ws.key_path.name, ws.next_key_path.name, ws.fingerprint_path.name):
        removed += remove_stale_temps(ws.root, atomic_temp_pattern(name))
    return removed


def count_org_temps(ws: Workspace, org: str) -> int:
    """How many temp files of ``org``'s quarantine exist (no lock needed: nothing is removed)."""
    pattern = re.compile(sink_temp_pattern(org))
    atomic = re.compile(ATOMIC_TEMP)
    found = [p for p in _entries(ws.root / "quarantine") if pattern.fullmatch(p.name)]
    found += [p for p in _entries(ws.quarantine_dir(org)) if atomic.fullmatch(p.name)]
    return len(found)


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


@contextmanager
def org_writer(ws: Workspace, org: str, *, wait: float | None = None,
               staging: bool = True) -> Iterator[int]:  # fmt: skip
    """Hold the writer locks of ``org`` and remove its stale temps; yield how many went.

    ``wait`` None is :data:`WRITER_WAIT`, read at the call (so a test can shorten it).
    """
    wait = WRITER_WAIT if wait is None else wait
    holder = f"`ctdc ingest` or `ctdc quarantine purge` of {org}, or `ctdc key rotate`,"
    with (
        file_lock(ws.ingest_lock_path, wait=wait, shared=True, holder=holder),
        file_lock(ws.org_lock_path(org), wait=wait, holder=holder),
    ):
        yield remove_org_temps(ws, org, staging=staging)
