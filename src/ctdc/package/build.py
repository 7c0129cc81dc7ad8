"""The one entry the publish step calls: every derived file of a public release, in its folder.

Everything here is generated from the release's own files (``cases.parquet``,
``dictionary.parquet``), the schema and the public manifest's facts, never
hand-written, and is a function of them: the same release gives the same
bytes, so a public copy made again (after a crash) is identical. The files:

* ``hierarchy_<field>.parquet``: each hierarchical quasi-identifier's hierarchy;
* ``cases.csv``: the cases for spreadsheets and R;
* ``datapackage.json``: a Frictionless Tabular Data Package over ``cases.csv``;
* ``cases.schema.json``: one row as a JSON Schema (draft 2020-12);
* ``codebook.md``, ``codebook.html``: every column and value, for people.

Nothing here reads the workspace: what goes public comes from public files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ctdc.anonymize import Hierarchy
from ctdc.package.codebook import CODEBOOK_HTML, CODEBOOK_MD, write_codebook
from ctdc.package.columns import read_columns
from ctdc.package.csvcopy import CSV_FILE, write_csv_copy
from ctdc.package.datapackage import DATAPACKAGE_FILE, write_datapackage
from ctdc.package.hierarchies import hierarchical, write_hierarchies
from ctdc.package.info import ReleaseInfo
from ctdc.package.jsonschema import JSON_SCHEMA_FILE, write_json_schema
from ctdc.schema import Schema
from ctdc.store.public import hierarchy_file
from ctdc.store.release import CASES_FILE, DICTIONARY_FILE, MANIFEST_FILE

#: the package's files besides the hierarchy tables, in the order they are written
PACKAGE_FILES = (CSV_FILE, DATAPACKAGE_FILE, JSON_SCHEMA_FILE, CODEBOOK_MD, CODEBOOK_HTML)

_NOTES = {
    CASES_FILE: "the case records, one row per case (Parquet: typed, compressed)",
    CSV_FILE: "the same rows as CSV: UTF-8, a header, true/false, NULL as an empty field",
    DICTIONARY_FILE: "one row per column: type, variable, level, role, NULL, every value",
    MANIFEST_FILE: "the public manifest: release id, time, k, schema, checks, rounded counts",
    DATAPACKAGE_FILE: "Frictionless Tabular Data Package over cases.csv: types, vocabularies, "
    "licence, citation",
    JSON_SCHEMA_FILE: "one row as a JSON Schema (draft 2020-12)",
    CODEBOOK_MD: "this codebook (Markdown)",
    CODEBOOK_HTML: "this codebook (HTML, self-contained)",
}


def package_files(schema: Schema) -> list[str]:
    """The names :func:`write_package` writes for a release of ``schema``."""
    return [*(hierarchy_file(f.name) for f in hierarchical(schema)), *PACKAGE_FILES]


def _files(schema: Schema) -> list[tuple[str, str]]:
    """Every file of a public release with what it holds (the codebook's list)."""
    out = [(n, _NOTES[n]) for n in (CASES_FILE, CSV_FILE, DICTIONARY_FILE)]
    out += [(hierarchy_file(f.name), f"the hierarchy of {f.name}: a row per leaf, a column per "
             f"level (join on {f.name})") for f in hierarchical(schema)]  # fmt: skip
    return out + [(n, _NOTES[n]) for n in (MANIFEST_FILE, *PACKAGE_FILES[1:])]


def write_package(folder: Path, schema: Schema, hierarchies: Mapping[str, Hierarchy],
                  info: ReleaseInfo) -> list[str]:  # fmt: skip
    """Write the derived files of the release whose data files are in ``folder``, into it.

    ``hierarchies`` are the release's hierarchies by field (at least every field
    with level columns); ``info`` its public facts. Returns the names written
    (:func:`package_files`).
    """
    written = write_hierarchies(folder, schema, hierarchies)
    written.append(write_csv_copy(folder))
    columns = read_columns(folder, schema)
    files = _files(schema)
    written.append(write_datapackage(folder, columns, info, [n for n, _ in files]))
    written.append(write_json_schema(folder, columns, info))
    tables = [(hierarchy_file(f.name), [f.name, *(c for c, _ in f.level_columns)])
              for f in hierarchical(schema)]  # fmt: skip
    written += write_codebook(folder, columns, info, files, tables)
    return written
