"""The key set of a DP count table: every combination of the fields' *public* domains.

A DP table may not list only the combinations the data has: which cells
exist would itself tell who is in the data, and no noise hides that (the
usual cure is a threshold, which costs a delta). The cells here come from
the schema alone (a category's ``values``, the country codes, TRUE/FALSE, an
integer's ``min``..``max``, and NULL for a field that may be missing), so
the table has the same cells whatever the data, empty ones included, and
the noise alone protects every count.

Records are coded as the position of their cell in that product (mixed
radix over the fields' positions, vectorized in pandas): the measurement
counts integers, and a value outside its field's domain (a year after the
schema's ``current_year`` moved on) gets -1, counted nowhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.harmonize.levels import level_labels
from ctdc.harmonize.settings import field_hierarchy
from ctdc.schema import Field, Schema
from ctdc.slugs import Slug

#: the largest key set (cells, the share's TRUE/not-TRUE split counted) a DP table may have:
#: every cell is published, so past this the table is mostly noise and slow to read. One
#: table over everything a set of questions needs, summed into its marginals, beat separate
#: tables at the same epsilon (docs/benchmarks.md, "DP utility": 45,360 cells)
MAX_DP_CELLS = 100_000


@dataclass(frozen=True)
class Domain:
    """One column's public values, in schema order; ``None`` (NULL) last when it may be
    missing. The column is ``field`` itself, or one of its level columns (``level`` > 0)."""

    field: Field
    values: tuple[object, ...]
    column: str = ""
    level: int = 0

    @property
    def name(self) -> str:
        return self.column or self.field.name


@dataclass(frozen=True)
class KeySet:
    """The cells of a table: the product of its fields' domains, first field slowest."""

    domains: tuple[Domain, ...]

    @property
    def size(self) -> int:
        return math.prod(len(d.values) for d in self.domains)

    def frame(self) -> pd.DataFrame:
        """One row per cell, one column per field, in key order (cell i is row i)."""
        index = pd.MultiIndex.from_product([list(d.values) for d in self.domains],
                                           names=[d.name for d in self.domains])  # fmt: skip
        frame = index.to_frame(index=False)
        for d in self.domains:  # a whole number stays one beside a NULL (not a float NaN)
            if d.field.type == "integer" and d.level == 0:
                frame[d.name] = frame[d.name].astype("Int64")
        return frame

    def codes(self, records: pd.DataFrame) -> np.ndarray:
        """Each record's cell number (int64), -1 for a value outside its field's domain."""
        code = np.zeros(len(records), dtype=np.int64)
        bad = np.zeros(len(records), dtype=bool)
        for d in self.domains:
            known = [v for v in d.values if v is not None]
            column = records[d.name]
            position = pd.Categorical(column.astype(object).where(column.notna(), None),
                                      categories=known).codes.astype(np.int64)  # fmt: skip
            missing = column.isna().to_numpy()
            if None in d.values:
                position[missing] = len(known)
            else:
                bad |= missing
            bad |= position < 0
            code = code * len(d.values) + position
        code[bad] = -1
        return code


def domain(field: Field) -> Domain:
    """The public values of ``field``, or ``bad-option`` for a field with no finite domain."""
    if field.type in ("category", "country"):
        values: tuple[object, ...] = tuple(field.allowed)
    elif field.type == "boolean":
        values = (True, False)
    elif field.type == "integer" and field.min is not None and field.max is not None:
        values = tuple(range(field.min, field.max + 1))
    else:
        raise CtdcError(Slug.BAD_OPTION, f"--by {field.name}: a {field.type} field without a "
                        "closed list of values in the schema, so its DP cells cannot be "
                        "listed without looking at the data",
                        fix="count by category, country, boolean or bounded integer "
                        "fields")  # fmt: skip
    return Domain(field, values if field.required else (*values, None))


def level_columns(schema: Schema) -> dict[str, tuple[Field, int]]:
    """Every level column of the release (``citizenship_region``): its field and level."""
    return {name: (f, n) for f in schema.fields
            for n, (name, _) in enumerate(f.level_columns, start=1)}  # fmt: skip


def level_domain(field: Field, level: int, column: str) -> Domain:
    """A level column's public values: its level of the field's hierarchy (the schema's
    file, as the release uses it), in the hierarchy's order."""
    values = tuple(dict.fromkeys(row[level] for row in field_hierarchy(field).rows))
    return Domain(field, values if field.required else (*values, None), column, level)


def with_level_columns(records: pd.DataFrame, schema: Schema, names: Sequence[str]
                       ) -> pd.DataFrame:  # fmt: skip
    """``records`` (fields) with each level column of ``names`` computed from its field's
    recorded value, as the release's hierarchy rolls it up (outside it: NULL, counted
    nowhere if the column may not be NULL)."""
    levels = level_columns(schema)
    out = records.copy()
    for name in names:
        if name in levels:
            field, level = levels[name]
            table = level_labels(field_hierarchy(field))[level]
            out[name] = records[field.name].astype("string").map(table)
    return out


def source_fields(schema: Schema, names: Sequence[str]) -> list[str]:
    """The released fields the columns ``names`` are computed from (a field is its own)."""
    levels = level_columns(schema)
    return list(dict.fromkeys(levels[n][0].name if n in levels else n for n in names))


def key_set(schema: Schema, by: Sequence[str], share: str | None = None) -> KeySet:
    """The cells of a DP count by ``by`` (a released field or level column each, once), split
    by ``share``'s TRUE / not TRUE when given. ``bad-option`` names what is wrong, including
    a key set over :data:`MAX_DP_CELLS`."""
    released, levels = schema.released, level_columns(schema)
    if not by:
        raise CtdcError(Slug.BAD_OPTION, "--by names no field", fix="e.g. --by gender")
    names = [*by, *([share] if share else [])]
    for name in names:
        if name not in released and (name not in levels or name == share):
            raise CtdcError(Slug.BAD_OPTION, f"{name!r} is not a released field or level "
                            f"column of the schema {schema.name}",
                            fix=f"use one of: {', '.join([*released, *levels])}")  # fmt: skip
    if len(set(names)) != len(names):
        raise CtdcError(Slug.BAD_OPTION, f"a field is named twice in --by/--share: {names}")
    if share and schema[share].type != "boolean":
        raise CtdcError(Slug.BAD_OPTION, f"--share {share}: not a boolean field",
                        fix="name a flag, e.g. --share is_forced_labour")  # fmt: skip
    domains = [level_domain(*levels[n], n) if n in levels else domain(schema[n]) for n in by]
    if share:  # TRUE, and everything else (FALSE or NULL): a share counts TRUE rows
        domains.append(Domain(schema[share], (True, False)))
    keys = KeySet(tuple(domains))
    if keys.size > MAX_DP_CELLS:
        sizes = " x ".join(f"{d.name} {len(d.values)}" for d in domains)
        raise CtdcError(Slug.BAD_OPTION, f"the DP table would have {keys.size:,} cells "
                        f"({sizes}), over the limit of {MAX_DP_CELLS:,}",
                        fix="count by fewer fields, or by coarser ones")  # fmt: skip
    return keys
