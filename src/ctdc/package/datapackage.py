"""``datapackage.json``: the release as a Frictionless Tabular Data Package (v1, read by v2 tools).

One resource, ``cases``, points at ``cases.csv`` with a Table Schema built from
the dictionary: each column's type (integer, boolean, string), its description
and what NULL means there, an ``enum`` wherever the dictionary lists every value
the column can hold, ``required`` for the status columns, and ``missingValues``
``[""]`` (NULL is an empty field). Frictionless tools (``frictionless validate
datapackage.json``, R's ``frictionless`` package, ``datapackage-py``) then read
and check the CSV with types and vocabularies. The Parquet files are not
resources: a Tabular Data Package's resources must be CSV or JSON tables that
every Frictionless tool reads; they are listed under ``ctdc.files`` instead.

The package also carries the licence, a citation (the project, the release id,
k, the schema), the sources (described, never named: an organization's id is
private) and the release's public facts (``ctdc``), all from the public manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ctdc.package.columns import Column
from ctdc.package.csvcopy import CSV_FILE
from ctdc.package.info import ReleaseInfo

DATAPACKAGE_FILE = "datapackage.json"
#: titles and addresses of the licences most used for open data; another SPDX id set with
#: ``ctdc policy set licence=...`` is published by its name alone
LICENSES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0",
                  "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-SA-4.0": ("Creative Commons Attribution Share-Alike 4.0",
                     "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC0-1.0": ("Creative Commons Zero 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "ODbL-1.0": ("Open Data Commons Open Database License 1.0",
                 "https://opendatacommons.org/licenses/odbl/1-0/"),
    "PDDL-1.0": ("Open Data Commons Public Domain Dedication and License 1.0",
                 "https://opendatacommons.org/licenses/pddl/1-0/"),
}  # fmt: skip


def licence(spdx: str) -> dict[str, str]:
    """The Data Package ``licenses`` entry of an SPDX id."""
    known = LICENSES.get(spdx)
    if known is None:
        return {"name": spdx}
    title, path = known
    return {"name": spdx, "title": title, "path": path}


SOURCES = [
    {
        "title": "Case records of the organizations that assist victims of trafficking and "
        "contribute to the collaborative (case management systems, hotlines, registries, "
        "agencies), harmonized to one schema, de-identified and made k-anonymous by ctdc",
    },
    {
        "title": "Counter Trafficking Data Collaborative (CTDC) data standard",
        "path": "https://www.ctdatacollaborative.org/",
    },
]


def _field(column: Column) -> dict[str, Any]:
    """One Table Schema field descriptor."""
    level = "" if column.level is None else f" Hierarchy level {column.level} of {column.variable}."
    field: dict[str, Any] = {
        "name": column.name,
        "type": column.kind,
        "description": f"{column.description}{level} NULL (empty): {column.null_means}.",
    }
    if column.kind == "boolean":
        field["trueValues"], field["falseValues"] = ["true"], ["false"]
    constraints: dict[str, Any] = {}
    if column.required:
        constraints["required"] = True
    if column.closed and column.kind != "boolean":
        constraints["enum"] = column.enum
    if constraints:
        field["constraints"] = constraints
    return field


def table_schema(columns: Sequence[Column]) -> dict[str, Any]:
    """The Table Schema of ``cases.csv``."""
    return {"fields": [_field(c) for c in columns], "missingValues": [""]}


def datapackage(columns: Sequence[Column], info: ReleaseInfo, folder: Path,
                files: Sequence[str]) -> dict[str, Any]:  # fmt: skip
    """The descriptor of the release whose ``cases.csv`` is already in ``folder``.

    ``files`` are the other files the release folder holds (named, with what
    they are, under ``ctdc.files``).
    """
    path = folder / CSV_FILE
    digest = hashlib.sha256()
    with open(path, "rb") as fh:  # by chunks: the CSV of a large release is hundreds of MB
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {
        "profile": "tabular-data-package",
        "name": "ctdc-cases",
        "id": f"ctdc-{info.release_id}",
        "title": "Counter-trafficking data collaborative: k-anonymous case records",
        "description": (
            "One row per identified victim case, pooled from the organizations of the "
            f"collaborative and released k-anonymous with k = {info.k}: every combination of "
            "quasi-identifiers (year, source, gender, age, citizenship, country and type of "
            "exploitation...) is shared by at least k records. A generalized value sits in the "
            "column of its hierarchy level; each quasi-identifier's _status column says whether "
            "it was published as recorded, generalized, suppressed or not recorded. "
            "See codebook.html for every column and value."
        ),
        "version": info.release_id,
        "created": info.created_at,
        "keywords": ["human trafficking", "CTDC", "k-anonymity", "case data"],
        "licenses": [licence(info.licence)],
        "sources": SOURCES,
        "citation": info.citation,
        "ctdc": {
            "release_id": info.release_id,
            "k": info.k,
            "l": info.l,
            "schema": {
                "name": info.schema_name,
                "version": info.schema_version,
                "sha256": info.schema_sha256,
            },
            "ctdc_version": info.ctdc_version,
            "files": list(files),
        },
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": "cases",
                "path": CSV_FILE,
                "title": "Case records",
                "description": "The release's cases.parquet as CSV: same rows, same order.",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": path.stat().st_size,
                "hash": "sha256:" + digest.hexdigest(),
                "dialect": {
                    "delimiter": ",",
                    "header": True,
                    "quoteChar": '"',
                    "doubleQuote": True,
                    "lineTerminator": "\n",
                },
                "schema": table_schema(columns),
            }
        ],
    }


def write_datapackage(folder: Path, columns: Sequence[Column], info: ReleaseInfo,
                      files: Sequence[str]) -> str:  # fmt: skip
    """Write ``datapackage.json`` into ``folder`` (after ``cases.csv``); return its name."""
    doc = datapackage(columns, info, folder, files)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    (folder / DATAPACKAGE_FILE).write_text(text, encoding="utf-8")
    return DATAPACKAGE_FILE
