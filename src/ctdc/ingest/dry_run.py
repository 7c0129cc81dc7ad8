"""``validate``: ingest's checks and summary over exports, with nothing written.

A dry run needs no workspace, so it has no key: it pseudonymizes with a
throwaway random key that never leaves the process, since no pseudonym it
makes is stored or shown.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from ctdc.ingest.pipeline import IngestResult, ingest_file
from ctdc.mapping import Mapping
from ctdc.schema import Schema
from ctdc.store.keys import KEY_BYTES


def validate_files(
    schema: Schema,
    mapping: Mapping,
    files: Sequence[Path],
    *,
    max_reject_rate: float,
    progress: Callable[[str], None] | None = None,
) -> list[IngestResult]:
    """The result ``ingest`` would give for each file, with ``dry_run`` set and nothing written."""
    key = secrets.token_bytes(KEY_BYTES)
    return [
        ingest_file(
            None,
            schema,
            mapping,
            f,
            key=key,
            dry_run=True,
            max_reject_rate=max_reject_rate,
            progress=progress,
        )
        for f in files
    ]
