"""Atomic file writes: temp file in the same folder, fsync, ``os.replace``.

A reader (or a crash) therefore sees either the old file or the new one,
never half of one. Folders are fsynced after the rename so the new name
itself survives a power cut.

Temp files are created 0600 (``mkstemp``) and folders this module creates are
0700, whatever the umask: a temp file may hold raw rows or key bytes. A kill
(SIGKILL, power cut) still leaves a temp file behind, since no ``finally``
runs; every writer therefore calls :func:`remove_stale_temps` for its own
kind of temp file, under the lock that keeps a live writer of that kind out,
before it starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def durable() -> bool:
    """False when ``CTDC_FSYNC=off``: every fsync is skipped (renames stay atomic).

    For test suites and throwaway workspaces only: after a power cut the last
    writes may be lost. Read at each call, so a test can switch it.
    """
    return os.environ.get("CTDC_FSYNC", "on").strip().lower() != "off"


def fsync_file(fd: int) -> None:
    if durable():
        os.fsync(fd)


def fsync_dir(path: Path) -> None:
    if not durable():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_mkdir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700 (existing folders stay as they are).

    ``Path.mkdir(mode=..., parents=True)`` gives the parents the umask's mode,
    so each missing level is made here, and chmod-ed since the umask may mask 0700.
    """
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by another writer: keep its mode
        os.chmod(folder, 0o700)
    return path


def remove_stale_temps(folder: Path, pattern: str | re.Pattern[str]) -> int:
    """Delete the entries of ``folder`` whose name fully matches ``pattern``; return how many.

    For temp files (and temp folders, removed whole) that a killed writer left
    behind. Call it only under the lock that keeps a live writer of that kind
    out: it cannot tell a stale temp from one being written. Symlinks are
    removed, never followed. A missing folder holds nothing.
    """
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for entry in entries:
        if not regex.fullmatch(entry.name):
            continue
        path = Path(entry.path)
        try:
            if stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode):
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    if removed:
        fsync_dir(folder)
    return removed


#: the temp files :func:`atomic_path` makes for a target: ``.<target name>.<random>.tmp``
ATOMIC_TEMP = r"\..+\.[A-Za-z0-9_]+\.tmp"


def seal_folder(tmp: Path, final: Path, *, mode: int, file_mode: int) -> None:
    """Give a folder built at ``tmp`` its modes, make it durable and rename it to ``final``
    in one step: readers see the whole folder or none of it."""
    for f in tmp.iterdir():
        os.chmod(f, file_mode)
        with open(f, "rb") as fh:
            fsync_file(fh.fileno())
    os.chmod(tmp, mode)
    fsync_dir(tmp)
    os.rename(tmp, final)
    fsync_dir(final.parent)


def swap_current(root: Path, release_id: str, under: str = "releases") -> None:
    """Point ``root/current`` at ``<under>/<release_id>`` with one atomic replace.

    The link is relative, so a copied or remounted folder keeps working; its temp
    name (``.current.<pid>.tmp``) is one that stale-temp cleaning knows.
    """
    link_tmp = root / f".current.{os.getpid()}.tmp"
    link_tmp.unlink(missing_ok=True)
    os.symlink(Path(under) / release_id, link_tmp)
    os.replace(link_tmp, root / "current")
    fsync_dir(root)


def atomic_temp_pattern(target_name: str) -> str:
    """The regex of :func:`atomic_path`'s temp files for a target named ``target_name``."""
    return rf"\.{re.escape(target_name)}\.[A-Za-z0-9_]+\.tmp"


def new_temp(folder: Path, prefix: str) -> Path:
    """A new empty temp file ``<prefix><random>.tmp`` in ``folder`` (made 0700 if missing).

    ``mkstemp`` creates it 0600 whatever the umask, before a byte is written.
    """
    private_mkdir(folder)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    os.close(fd)
    return Path(name)


def commit_temp(tmp: Path, target: Path, mode: int = 0o600) -> None:
    """Give a finished temp file its mode, fsync it, ``os.replace`` it onto ``target``, and
    fsync ``target``'s folder: a crash leaves the old file or the new one, whole.

    ``tmp`` must be on ``target``'s file system, or the replace is not atomic.
    """
    os.chmod(tmp, mode)
    with open(tmp, "rb+") as fh:
        fsync_file(fh.fileno())
    os.replace(tmp, target)
    fsync_dir(target.parent)


@contextmanager
def atomic_path(target: Path, mode: int = 0o600) -> Iterator[Path]:
    """Yield a temp path (0600) beside ``target``; on success fsync it and move it into place."""
    tmp = new_temp(target.parent, f".{target.name}.")
    try:
        yield tmp
        commit_temp(tmp, target, mode)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(target: Path, data: bytes, mode: int = 0o600) -> None:
    with atomic_path(target, mode) as tmp:
        tmp.write_bytes(data)


def write_json(target: Path, doc: Any, mode: int = 0o600) -> None:
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    write_bytes(target, text.encode("utf-8"), mode)


def write_parquet(target: Path, table: pa.Table, mode: int = 0o600) -> None:
    """Write Parquet deterministically: same table -> same bytes (no timestamps)."""
    with atomic_path(target, mode) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
