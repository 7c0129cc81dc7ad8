"""Crash-safe locks on files in the workspace: ``flock``, exclusive or shared.

``flock`` is released by the kernel when the process dies, so a crashed
nightly run never leaves a stale lock behind for the next night.

Locks in use (all in the workspace, files 0600):

- ``harmonize.lock``: exclusive, one harmonize (or key rotation) at a time;
- ``ingest.lock``: shared by every ingest and quarantine purge, exclusive for
  a key rotation, which must see no writer of staging at all;
- ``locks/<org>.lock``: exclusive, one ingest or purge of an organization at
  a time, so each may remove that organization's stale temp files safely.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ctdc.errors import CtdcError


@contextmanager
def file_lock(
    path: Path, *, wait: float = 0.0, shared: bool = False, holder: str = "`ctdc harmonize`"
) -> Iterator[None]:
    """Hold the lock for the block; wait up to ``wait`` seconds, else raise ``locked``.

    ``holder`` names the command that may hold it, for the message.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise CtdcError("locked", f"another {holder} is running", file=path) from exc
                time.sleep(0.2)
        if not shared:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


@contextmanager
def exclusive_lock(
    path: Path, *, wait: float = 0.0, holder: str = "`ctdc harmonize`"
) -> Iterator[None]:
    """Hold ``path`` exclusively for the block (see :func:`file_lock`)."""
    with file_lock(path, wait=wait, holder=holder):
        yield
