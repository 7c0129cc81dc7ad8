"""The public release a safe table reads: the query sandbox over it, its k and its columns.

Stats reads exactly what an analyst's ``ctdc query`` reads, through the same
sandbox (``ctdc.query.open_sandbox``: only the current release's two Parquet
files, external access off, configuration locked), so an analyst's
``--where`` can reach nothing more. The k comes from the release's public
``manifest.json`` (read by ctdc with Python's JSON parser, never through a
symlink, at most ``MAX_MANIFEST_BYTES``), not from an option: ``--k`` may
only raise it.

The release is resolved before and after the sandbox opens; a ``current``
swapped in between (a nightly harmonize) would pair one release's rows with
another's k, so it is refused and the analyst runs the command again.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ctdc.errors import CtdcError
from ctdc.query import Limits, open_sandbox, resolve_release
from ctdc.query.release_log import MAX_MANIFEST_BYTES
from ctdc.slugs import Slug
from ctdc.store.release import MANIFEST_FILE


@dataclass(frozen=True)
class Release:
    """What stats knows of the release it reads."""

    release_id: str
    k: int
    """the release's k, from its public manifest"""
    columns: dict[str, str]
    """column name -> DuckDB type of ``cases``, in file order"""


def read_k(folder: Path) -> int:
    """The ``k`` of the public manifest in ``folder`` (``no-release`` if there is none)."""
    path = folder / MANIFEST_FILE
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            raise ValueError("not a regular manifest file")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CtdcError(Slug.NO_RELEASE, f"release {folder.name} has no readable "
                        f"{MANIFEST_FILE}", file=path) from None  # fmt: skip
    k = doc.get("k") if isinstance(doc, dict) else None
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise CtdcError(Slug.NO_RELEASE, f"the manifest of release {folder.name} has no k",
                        file=path)  # fmt: skip
    return k


def columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``cases``' columns and their DuckDB types."""
    return {str(name): str(kind) for name, kind, *_ in con.execute("DESCRIBE cases").fetchall()}


@contextmanager
def open_release(public_root: Path, limits: Limits) -> Iterator[tuple[duckdb.DuckDBPyConnection,
                                                                      Release]]:  # fmt: skip
    """The sandbox over ``<public_root>/current`` and what stats needs to know of that release."""
    before = resolve_release(public_root).folder
    with open_sandbox(public_root, limits) as con:
        if resolve_release(public_root).folder != before:
            raise CtdcError(Slug.NO_RELEASE, "the current release changed while stats "
                            "opened it (a new release was published)",
                            fix="run the command again")  # fmt: skip
        yield con, Release(before.name, read_k(before), columns(con))
