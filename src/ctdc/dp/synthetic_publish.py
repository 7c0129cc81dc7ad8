"""The synthetic table in the public folder: ``<public>/synthetic/<id>/``, ``current`` linking
the newest, each folder built hidden and renamed in whole, as a release is.

Every file says it is synthetic: the Parquet's key-value metadata
(``ctdc.synthetic = true``), the dictionary (a note in its metadata and in
every column's description), the data package (a resource of its own whose
description says so) and the sidecar ``synthetic.json`` (the generator, its
version and parameters, epsilon, delta, the rows, the release and epoch the
steward synthesized beside, the time). Nothing private goes in: no pseudonym,
organization id, batch id, export hash or count of real records.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from ctdc import __version__
from ctdc.anonymize import Hierarchy
from ctdc.dp.synthetic import SynthesisParams, SyntheticResult
from ctdc.harmonize.dictionary import dictionary_table
from ctdc.package.columns import read_columns
from ctdc.package.csvcopy import write_csv_copy
from ctdc.package.datapackage import table_schema
from ctdc.schema import Schema
from ctdc.store.atomic import seal_folder, swap_current, write_parquet
from ctdc.store.public import PublicArea, current_public_release
from ctdc.store.release import current_release, read_manifest
from ctdc.store.synthetic_area import (
    SYNTHETIC_CASES,
    SYNTHETIC_DATAPACKAGE,
    SYNTHETIC_DICTIONARY,
    SYNTHETIC_DIR,
    SYNTHETIC_META_KEY,
    SYNTHETIC_SIDECAR,
)
from ctdc.store.workspace import Workspace

#: what every synthetic file says first
NOTE = (
    "SYNTHETIC DATA: every row was sampled by a differentially private generator "
    "(named in synthetic.json); no row is a real case. Aggregates are approximate; a rare "
    "combination is noise, never evidence of a real person (docs/synthetic.md)."
)


@dataclass(frozen=True)
class Published:
    """Where the synthetic table went, and its public sidecar."""

    folder: Path
    synthetic_id: str
    sidecar: dict[str, Any]


def synthetic_id(now: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ-<8 random hex>``, the shape of a release id; random, so it says
    nothing of the data."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def source_release(ws: Workspace, area: PublicArea) -> dict[str, Any]:
    """The public release the synthetic table sits beside: its id (public) and the epoch of
    the series (an integer from the private manifest; nothing else of it is copied), both
    None before the first release."""
    folder = current_public_release(area.root)
    epoch = None
    private = current_release(ws)
    if private is not None:
        try:
            series = read_manifest(private).get("series")
        except (OSError, ValueError):
            series = None
        found = series.get("epoch") if isinstance(series, dict) else None
        epoch = found if isinstance(found, int) else None
    return {"release_id": folder.name if folder is not None else None, "epoch": epoch}


def sidecar(ws: Workspace, result: SyntheticResult, params: SynthesisParams,
            area: PublicArea, created_at: str) -> dict[str, Any]:  # fmt: skip
    """The generator and its parameters, as published in ``synthetic.json``."""
    return {
        "synthetic": True,
        "note": NOTE,
        "generator": result.generator,
        "epsilon": params.epsilon,
        "delta": params.delta,
        "rows": result.cases.num_rows,
        "source": source_release(ws, area),
        "created_at": created_at,
        "ctdc_version": __version__,
    }


def marked_cases(cases: pa.Table, about: Mapping[str, Any]) -> pa.Table:
    """``cases`` with ``ctdc.synthetic = true`` and the sidecar's facts in its metadata."""
    meta = dict(cases.schema.metadata or {})
    meta[SYNTHETIC_META_KEY] = b"true"
    meta[b"ctdc"] = json.dumps({"synthetic": True, "note": NOTE, **about},
                               sort_keys=True, default=str).encode()  # fmt: skip
    return cases.replace_schema_metadata(meta)


def marked_dictionary(schema: Schema, hierarchies: Mapping[str, Hierarchy]) -> pa.Table:
    """The release's dictionary with the synthetic note before every description."""
    table = dictionary_table(schema, hierarchies)
    described = [f"{NOTE} {d}" for d in table.column("description").to_pylist()]
    i = table.schema.get_field_index("description")
    table = table.set_column(i, table.schema.field(i), pa.array(described, pa.string()))
    meta = dict(table.schema.metadata or {}) | {SYNTHETIC_META_KEY: b"true", b"note": NOTE.encode()}
    return table.replace_schema_metadata(meta)


def datapackage(folder: Path, schema: Schema, about: Mapping[str, Any]) -> dict[str, Any]:
    """A Frictionless descriptor with one resource, ``synthetic_cases``, said to be synthetic."""
    columns = read_columns(folder, schema)
    return {
        "profile": "tabular-data-package",
        "name": "ctdc-synthetic-cases",
        "title": "Counter-trafficking data collaborative: SYNTHETIC case records (differential "
        "privacy)",
        "description": NOTE,
        "keywords": ["synthetic data", "differential privacy", "human trafficking"],
        "ctdc": {"synthetic": True, **about},
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": "synthetic_cases",
                "path": "cases.csv",
                "title": "Synthetic case records",
                "description": f"{NOTE} Same columns and types as the release's cases; "
                f"the Parquet copy is {SYNTHETIC_CASES}.",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": table_schema(columns),
            }
        ],
    }


def publish_synthetic(ws: Workspace, area: PublicArea, schema: Schema,
                      result: SyntheticResult, params: SynthesisParams,
                      now: datetime | None = None) -> Published:  # fmt: skip
    """Write the synthetic folder in a hidden temp folder, rename it in, swap ``current``."""
    now = now or datetime.now(UTC)
    created_at = now.replace(microsecond=0).isoformat()
    about = sidecar(ws, result, params, area, created_at)
    root = area.root / SYNTHETIC_DIR
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(area.root, area.mode)
    os.chmod(root, area.mode)
    ident = synthetic_id(now)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        write_parquet(tmp / SYNTHETIC_CASES, marked_cases(result.cases, about))
        write_parquet(tmp / SYNTHETIC_DICTIONARY, marked_dictionary(schema, result.hierarchies))
        write_csv_copy(tmp)
        doc = datapackage(tmp, schema, about)
        (tmp / SYNTHETIC_DATAPACKAGE).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
        (tmp / SYNTHETIC_SIDECAR).write_text(json.dumps(about, indent=2) + "\n", "utf-8")
        seal_folder(tmp, root / ident, mode=area.mode, file_mode=area.file_mode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    swap_current(root, ident, under=".")  # fsyncs the folder
    return Published(root / ident, ident, about)
