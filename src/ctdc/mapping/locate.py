"""Where an organization's mapping is: ``<pipelines folder>/<org>.yaml``, found or to write.

One place for the rule, so that ``ingest``, ``validate``, ``quarantine export``
and ``mapping init`` agree on which file is an organization's mapping.
"""

from __future__ import annotations

from pathlib import Path

from ctdc.config import bundled_pipelines
from ctdc.errors import CtdcError
from ctdc.mapping.load import load_mapping
from ctdc.mapping.source import SourceSpec
from ctdc.mapping.spec import Mapping
from ctdc.schema import Schema, load_schema


def mapping_path(pipelines_dir: Path, org: str) -> Path:
    """The file that holds the mapping of ``org`` (whether or not it exists)."""
    return pipelines_dir / f"{org}.yaml"


def find_mapping(pipelines_dir: Path, org: str, schema: Schema) -> Mapping:
    """The mapping of ``org``, loaded and checked; ``unknown-org`` when there is none."""
    path = mapping_path(pipelines_dir, org)
    if not path.is_file():
        raise CtdcError("unknown-org", f"no mapping {path}", file=path)
    return load_mapping(path, schema)


def find_source(pipelines_dir: Path, org: str, schema_path: Path) -> SourceSpec | None:
    """The ``source:`` block of ``org``'s mapping, or None when the organization has none.

    The quarantine of an organization outlives its mapping, so a missing one is
    not an error here: the export then falls back to a plain UTF-8 CSV. The
    schema is read only when there is a mapping to check against it.
    """
    path = mapping_path(pipelines_dir, org)
    if not path.is_file():
        return None
    return load_mapping(path, load_schema(schema_path)).source


def scaffold_target(pipelines_dir: Path, org: str, out: Path | None = None) -> Path:
    """Where ``mapping init`` writes: ``out``, else ``<pipelines folder>/<org>.yaml``.

    The pipelines folder is the configured one (``ctdc.toml``'s ``pipelines``,
    else ``./pipelines``); when that is the copy bundled with ctdc, which is
    never written into, the scaffold goes to ``./pipelines/<org>.yaml`` instead.
    """
    if out is not None:
        return out
    if pipelines_dir.resolve() == bundled_pipelines().resolve():
        return mapping_path(Path("pipelines"), org)
    return mapping_path(pipelines_dir, org)
