"""One column per hierarchy level in the public file, and back to one published value.

The anonymizer publishes a generalized quasi-identifier as one column of mixed
levels (``US``, ``South America``, ``Americas``), which a ``GROUP BY`` reads as
overlapping categories. The public file splits it: the field's own column keeps
only leaves (at the field's type: a year is an integer), and each level above
gets a column of its own (``citizenship_subregion``, ``citizenship_region``).

A level column is a *function of the published value*, never of the recorded
one: a published label fills the column of its own level and of every level
above it (the leaves under it share those ancestors), and leaves NULL the
levels below. So the split adds no information (k still holds over the file,
and the finest non-NULL column is the published value: the audit folds them
back that way, ``ctdc.audit.sources.combined_levels``), and any one column
groups into categories that do not overlap.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ctdc.anonymize import Hierarchy
from ctdc.schema import Field, Schema


def level_labels(hierarchy: Hierarchy) -> list[dict[str, str]]:
    """Per level 0..top-1: published label -> that level's value (labels at or below it)."""
    top = hierarchy.height - 1
    out: list[dict[str, str]] = []
    for level in range(top):
        table: dict[str, str] = {}
        for row in hierarchy.rows:
            for below in range(level + 1):  # a label of this level or finer
                table[row[below]] = row[level]
        out.append(table)
    return out


def split_levels(release: pd.DataFrame, schema: Schema,
                 hierarchies: Mapping[str, Hierarchy]) -> pd.DataFrame:  # fmt: skip
    """``release`` with every field that has level columns split into them."""
    for f in schema.fields:
        if not f.level_columns or f.name not in release.columns:
            continue
        published = release[f.name].astype("string")
        tables = level_labels(hierarchies[f.name])
        release[f.name] = _leaf_column(published.map(tables[0]), f)
        for (name, _), table in zip(f.level_columns, tables[1:], strict=True):
            release[name] = pd.array(published.map(table), dtype="string")
    return release


def _leaf_column(values: pd.Series, field: Field) -> pd.Series:
    """The leaf level at the field's own type: years as integers."""
    if field.type == "integer":
        return pd.to_numeric(values, errors="raise").astype("Int16")
    return values.astype("string")
