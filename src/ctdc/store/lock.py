"""An exclusive, crash-safe lock for harmonize: ``flock`` on a file in the workspace.

``flock`` is released by the kernel when the process dies, so a crashed
nightly run never leaves a stale lock behind for the next night.
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
def exclusive_lock(path: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock for the block; wait up to ``wait`` seconds, else raise ``locked``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    raise CtdcError(
                        "locked", "another `ctdc harmonize` is running", file=path
                    ) from exc
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)
