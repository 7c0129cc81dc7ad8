"""The publishing steps of a harmonize run: the manifest, the private release, the public copy.

They run only after the release passed its checks (``steps.py``), and in this
order: the private release first, then its public copy. A crash in between
leaves the public folder one release behind until the next run, never ahead
of a release that did not pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ctdc import __version__
from ctdc.anonymize import Hierarchy
from ctdc.harmonize.accounting import Accounting
from ctdc.harmonize.manifest import (
    AppliedPolicy,
    PrivacyCheck,
    ReleaseFiles,
    ReleaseManifest,
    SchemaRef,
    changes_since,
)
from ctdc.harmonize.public_manifest import PublicManifest, public_manifest
from ctdc.harmonize.settings import RunSettings, field_hierarchy, load_hierarchy
from ctdc.harmonize.steps import Anonymized, Batches, ReleaseTables
from ctdc.package import ReleaseInfo, package_files, write_package
from ctdc.schema import Schema
from ctdc.store.atomic import write_json
from ctdc.store.catalog import write_catalog
from ctdc.store.policy import DEFAULT_LICENCE, pinned_schema
from ctdc.store.public import (
    REPORT_FILE,
    PublicArea,
    complete_public,
    current_public_release,
    prepare,
    prune,
    publish_public,
)
from ctdc.store.release import (
    CASES_FILE,
    DICTIONARY_FILE,
    MANIFEST_FILE,
    current_release,
    publish,
    read_manifest,
    remove_stale_release_temps,
)
from ctdc.store.workspace import Workspace


@dataclass(frozen=True)
class Release:
    """A private release folder and its manifest."""

    path: Path
    manifest: ReleaseManifest


def clear_stale_temps(ws: Workspace, area: PublicArea) -> None:
    """Remove what a killed run left (temp folders, link and catalog temps) in both areas,
    and give the public folder its modes; under the lock, before anything is written."""
    remove_stale_release_temps(ws)
    prepare(area, ws.root)


def previous_release(ws: Workspace) -> Release | None:
    """The workspace's current private release, or None before the first."""
    path = current_release(ws)
    if path is None:
        return None
    return Release(path, ReleaseManifest.from_dict(read_manifest(path)))


def release_id(ws: Workspace, data_sha256: str) -> str:
    """UTC time + the public cases file's hash: nothing private (batch ids) shows in the id."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{stamp}-{data_sha256[:8]}"
    candidate, n = base, 1
    while (ws.releases_dir / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def build_manifest(
    *,
    release: str,
    fingerprint: str,
    schema: Schema,
    settings: RunSettings,
    batches: Batches,
    accounting: Accounting,
    anonymized: Anonymized,
    check: PrivacyCheck,
    tables: ReleaseTables,
    data_sha256: str,
    previous: ReleaseManifest | None,
    series: dict[str, Any] | None = None,
) -> ReleaseManifest:
    """The full (private) manifest of a verified release."""
    policy = settings.policy
    rows = tables.cases.num_rows
    return ReleaseManifest(
        release_id=release,
        created_at=ReleaseManifest.now(),
        ctdc_version=__version__,
        schema=SchemaRef(schema.name, schema.version, policy.schema_sha256),
        fingerprint=fingerprint,
        k=settings.k,
        l=settings.l,
        policy=AppliedPolicy.of(policy, settings.run),
        quasi_identifiers=tuple(schema.quasi_identifiers),
        sensitive=tuple(schema.names("sensitive")) if settings.l else (),
        generalization_levels=dict(settings.levels),
        accounting=accounting,
        anonymization=anonymized.result.report,
        k_check=check,
        batches=batches.ids,
        files=ReleaseFiles(data_sha256, rows, tables.dictionary.num_rows),
        changes=changes_since(previous, batches.ids, rows, batches.superseded),
        series=series,
    )


def write_release(ws: Workspace, built: Path, manifest: ReleaseManifest) -> Path:
    """Write the manifest into the verified temp folder ``built`` and publish it privately."""
    write_json(built / MANIFEST_FILE, manifest.to_dict(), mode=0o600)
    return publish(ws, built, manifest.release_id)


def release_hierarchies(schema: Schema, dictionary: Path) -> dict[str, Hierarchy]:
    """The hierarchy of each field with level columns, as the release at ``dictionary`` used it.

    That is :func:`field_hierarchy`, clipped at the current year, except across a New Year:
    a release re-published on January 1st (after a crash) keeps the years and range labels
    its dictionary lists, so its hierarchy tables join its own columns.
    """
    rows = pq.read_table(dictionary, columns=["column", "values"]).to_pylist()
    listed = {row["column"]: [v["value"] for v in row["values"] or []] for row in rows}
    out = {}
    for f in schema.fields:
        if not f.level_columns:
            continue
        hierarchy = field_hierarchy(f)
        years = listed.get(f.name)
        if f.type == "integer" and years and [r[0] for r in hierarchy.rows] != years:
            hierarchy = load_hierarchy(f.hierarchy).clipped(min(map(int, years)),
                                                            max(map(int, years)))  # fmt: skip
        out[f.name] = hierarchy
    return out


def _package_builder(schema: Schema, doc: PublicManifest) -> Callable[[Path], list[str]]:
    """What writes the derived files into a public release folder: from its data files, the
    schema and the *public* manifest only, so nothing private can reach them. The
    hierarchies are read only when it runs (an unchanged run seldom needs them)."""
    info = ReleaseInfo(
        release_id=doc.release_id,
        created_at=doc.created_at,
        k=doc.k,
        l=doc.l,
        schema_name=doc.schema.name,
        schema_version=doc.schema.version,
        schema_sha256=doc.schema.sha256,
        ctdc_version=doc.ctdc_version,
        licence=str((doc.policy or {}).get("licence", DEFAULT_LICENCE)),
    )
    return lambda folder: write_package(
        folder, schema, release_hierarchies(schema, folder / DICTIONARY_FILE), info
    )


def to_public(
    area: PublicArea,
    release: Path,
    manifest: ReleaseManifest,
    keep: int,
    *,
    schema: Schema | None = None,
) -> tuple[Path, PublicManifest]:
    """Make the private ``release`` the public folder's current one, unless it already is.

    Copies its data files (same bytes) with the public manifest and the derived
    files (``ctdc.package``: hierarchy tables, ``cases.csv``, the data package, the
    JSON Schema, the codebook), removes public releases beyond ``keep`` and
    rewrites the catalog (``views.sql`` and ``catalog.duckdb``). A current public
    release that lacks derived files (published by an older ctdc) gets them.
    ``schema`` is the release's; by default the pinned schema of the workspace
    that holds ``release`` (``<data>/releases/<id>``), which harmonize checked is
    the one it ran with.
    """
    if schema is None:
        schema = pinned_schema(Workspace(release.parent.parent))
    sources = (CASES_FILE, DICTIONARY_FILE)
    current = current_public_release(area.root)
    if current is not None and current.name == manifest.release_id:
        doc = PublicManifest.from_dict(read_manifest(current))
        build = _package_builder(schema, doc)
        if complete_public(area, current, package_files(schema), sources, build):
            write_catalog(area)
    else:
        files = {name: release / name for name in sources}
        shas = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}
        doc = public_manifest(manifest, file_sha256=shas,
                              previous_release=current.name if current else None)  # fmt: skip
        current = publish_public(area, manifest.release_id, files, doc.to_dict(), MANIFEST_FILE,
                                 build=_package_builder(schema, doc))  # fmt: skip
        write_catalog(area)
        # the report describes the release before this one: `ctdc report` writes it again
        (area.root / REPORT_FILE).unlink(missing_ok=True)
    prune(area, keep)
    if not (area.catalog_path.is_file() and area.views_path.is_file()):
        write_catalog(area)  # a crash before it, or a folder published by an older ctdc
    return current, doc
