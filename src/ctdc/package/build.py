"""The one entry the publish step calls: every derived file of a public release, in its folder.

Everything here is generated from the release's own files (``cases.parquet``,
``dictionary.parquet``) and the schema, never hand-written, and is a function
of them: the same release gives the same bytes, so a public copy made again
(after a crash) is identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ctdc.anonymize import Hierarchy
from ctdc.package.hierarchies import hierarchical, write_hierarchies
from ctdc.schema import Schema
from ctdc.store.public import hierarchy_file


def package_files(schema: Schema) -> list[str]:
    """The names :func:`write_package` writes for a release of ``schema``."""
    return [hierarchy_file(f.name) for f in hierarchical(schema)]


def write_package(folder: Path, schema: Schema, hierarchies: Mapping[str, Hierarchy]) -> list[str]:
    """Write the derived files of the release whose data files are in ``folder``, into it.

    ``hierarchies`` are the release's hierarchies by field (at least every
    field with level columns). Returns the names written.
    """
    return write_hierarchies(folder, schema, hierarchies)
