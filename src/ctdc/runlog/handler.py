"""Where log lines go: a JSON-lines file, private and rotated by size (``logging.handlers``).

Each line is one JSON object (``ts`` first, UTC with milliseconds), so ``jq``,
DuckDB's ``read_json`` or a log shipper read it without a pattern. The file is
created 0600 in a 0700 folder: the log holds no personal data, but org ids and
batch counts are the collaborative's business, not every local user's.

Rotation is by size (``RotatingFileHandler``): at ``max_bytes`` the file becomes
``ctdc.log.1`` (and ``.1`` becomes ``.2``, up to ``backups``). Several ctdc
processes may append to one file; a line is one ``write`` in append mode, so
lines never interleave, and a rotation racing another process's write moves
that line into ``ctdc.log.1`` rather than losing it.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
from pathlib import Path
from typing import Any

LOG_DIR = "logs"
LOG_FILE = "ctdc.log"
#: rotate at 5 MiB and keep 9 old files: ~50 MiB, years of nightly runs
DEFAULT_MAX_BYTES = 5 * 2**20
DEFAULT_BACKUPS = 9


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A ``RotatingFileHandler`` whose files are created 0600 whatever the umask."""

    def _open(self) -> Any:  # a text stream, as the stdlib opens one
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


class JsonLines(logging.Formatter):
    """A record's ``doc`` (set by ``ctdc.runlog.run``) as one compact JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = getattr(record, "doc", {})
        # ASCII only: a stray control or bidi character can never reach a terminal tailing it
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":"))


def open_handler(path: Path, *, max_bytes: int, backups: int) -> logging.Handler:
    """A handler appending to ``path`` (its folder must exist), rotated at ``max_bytes``."""
    handler = PrivateRotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
    )
    handler.setFormatter(JsonLines())
    return handler
