"""``cases.schema.json``: one case row as a JSON Schema (draft 2020-12).

For whoever reads the release as JSON (``duckdb -json``, an API built over it)
and validates what they read: every column is a property of its JSON type or
``null``, with the dictionary's description and, for a closed list, an
``enum`` (``null`` included unless the column is never NULL); no other
property is allowed and every column is required (a missing cell is ``null``,
not an absent key).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ctdc.package.columns import Column
from ctdc.package.info import ReleaseInfo

JSON_SCHEMA_FILE = "cases.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _property(column: Column) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "description": f"{column.description} NULL: {column.null_means}.",
        "type": column.kind if column.required else [column.kind, "null"],
    }
    if column.closed and column.kind != "boolean":
        prop["enum"] = [*column.enum, *([] if column.required else [None])]
    return prop


def row_schema(columns: Sequence[Column], info: ReleaseInfo) -> dict[str, Any]:
    """The JSON Schema of one row of the release's cases."""
    return {
        "$schema": DIALECT,
        "title": f"One case record of ctdc release {info.release_id}",
        "description": "A row of cases.parquet (or cases.csv) as a JSON object: one property "
        "per column, null where the cell is NULL. See codebook.html for each column and value.",
        "type": "object",
        "properties": {c.name: _property(c) for c in columns},
        "required": [c.name for c in columns],
        "additionalProperties": False,
    }


def write_json_schema(folder: Path, columns: Sequence[Column], info: ReleaseInfo) -> str:
    """Write ``cases.schema.json`` into ``folder``; return its name."""
    text = json.dumps(row_schema(columns, info), indent=2, ensure_ascii=False) + "\n"
    (folder / JSON_SCHEMA_FILE).write_text(text, encoding="utf-8")
    return JSON_SCHEMA_FILE
