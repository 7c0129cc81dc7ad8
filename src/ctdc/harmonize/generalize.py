"""Generalization by value hierarchies in ARX's CSV form.

A hierarchy file has one row per leaf value and one column per level, ending
in ``*`` (fully generalized): ``0-8;0-17;*``. Releasing a field at level L
replaces each value by its level-L ancestor. Global recoding of this kind
loses information evenly (every record of a value moves together), so a
coarser level can save many records from suppression.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ctdc.errors import CtdcError
from ctdc.schema import Schema


@lru_cache(maxsize=32)
def load_hierarchy(path: Path) -> tuple[tuple[str, ...], ...]:
    """Rows of the hierarchy; each row is (leaf, level 1, ..., top)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = tuple(tuple(c.strip() for c in row) for row in csv.reader(fh, delimiter=";") if row)
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise CtdcError("bad-schema", "hierarchy rows have different numbers of levels", file=path)
    return rows


def recode(values: pd.Series, hierarchy: tuple[tuple[str, ...], ...], level: int) -> pd.Series:
    """Map each value to its ancestor at ``level``; NA stays NA."""
    if level == 0:
        return values
    table = {row[0]: row[min(level, len(row) - 1)] for row in hierarchy}
    unknown = set(values.dropna().unique()) - set(table)
    if unknown:
        raise CtdcError(
            "bad-schema", f"values {sorted(unknown)[:5]} are not leaves of the hierarchy"
        )
    return values.map(table).astype(values.dtype)


def generalize(frame: pd.DataFrame, schema: Schema, levels: dict[str, int]) -> pd.DataFrame:
    """Apply ``levels`` (field -> level; schema defaults for the rest) to ``frame``."""
    out = frame.copy()
    for f in schema.fields:
        level = levels.get(f.name, f.level)
        if f.name not in levels and level == 0:
            continue
        if f.hierarchy is None:
            raise CtdcError("bad-option", f"field {f.name} has no hierarchy to generalize with")
        hierarchy = load_hierarchy(f.hierarchy)
        if not 0 <= level < len(hierarchy[0]):
            raise CtdcError(
                "bad-option", f"{f.name}: level {level} is outside 0..{len(hierarchy[0]) - 1}"
            )
        out[f.name] = recode(out[f.name], hierarchy, level)
    return out
