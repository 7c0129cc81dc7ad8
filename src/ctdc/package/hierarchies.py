"""The hierarchy tables: each hierarchical quasi-identifier's hierarchy as a Parquet table.

A release publishes a generalized value in the column of its level
(``citizenship``, ``citizenship_subregion``, ``citizenship_region``), so an analyst
who wants every row at one level, or a level the release does not show for a
row, needs the hierarchy itself: ``hierarchy_citizenship.parquet`` has one row
per leaf and one column per level below the root, named and typed like the
release's own columns, so a roll-up is a join on the leaf column::

    SELECT h.citizenship_region, count(*)
    FROM cases c JOIN hierarchy_citizenship h USING (citizenship) GROUP BY ALL

The tables come from the hierarchies the release was anonymized with
(``ctdc.harmonize.settings.field_hierarchy``: year ranges clipped at the
current year), never from a hand-made copy, so their labels are the release's.
They hold no record, only the schema's public vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from ctdc.anonymize import Hierarchy
from ctdc.schema import Field, Schema
from ctdc.store.atomic import write_parquet
from ctdc.store.public import hierarchy_file


def hierarchical(schema: Schema) -> list[Field]:
    """The released fields with a column per hierarchy level: those that get a table."""
    return [schema[n] for n in schema.released if schema[n].level_columns]


def hierarchy_table(field: Field, hierarchy: Hierarchy) -> pa.Table:
    """One row per leaf (in the hierarchy's order), one column per level below the root.

    The leaf column has the field's own type (a year is a SMALLINT, as in the
    release); the level columns are text. Raises ``ValueError`` when the
    hierarchy's height does not match the field's level columns.
    """
    names = [field.name, *(c for c, _ in field.level_columns)]
    if hierarchy.height - 1 != len(names):
        raise ValueError(f"{field.name}: the hierarchy has {hierarchy.height - 1} levels below "
                         f"its root, the release {len(names)} columns")  # fmt: skip
    leaves = [row[0] for row in hierarchy.rows]
    leaf = (pa.array([int(v) for v in leaves], field.arrow_type) if field.type == "integer"
            else pa.array(leaves, pa.string()))  # fmt: skip
    columns = [leaf] + [pa.array([row[level] for row in hierarchy.rows], pa.string())
                        for level in range(1, len(names))]  # fmt: skip
    return pa.Table.from_arrays(columns, names=names)


def write_hierarchies(folder: Path, schema: Schema,
                      hierarchies: Mapping[str, Hierarchy]) -> list[str]:  # fmt: skip
    """Write one table per hierarchical field into ``folder``; return the file names."""
    written = []
    for field in hierarchical(schema):
        name = hierarchy_file(field.name)
        write_parquet(folder / name, hierarchy_table(field, hierarchies[field.name]))
        written.append(name)
    return written
