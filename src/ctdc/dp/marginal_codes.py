"""Records as integer codes over public domains, for the marginal synthesizer.

Every domain is public: the schema's values, a country hierarchy's leaves or an integer's
bounds, each with NULL last. Nothing about a domain is read from the records, so the
domains spend no privacy budget. Flag groups get one extra column, ``<group>__not_recorded``:
organizations leave whole groups unrecorded, and one column saying so keeps the group's
flags NULL together in the synthetic rows.

:func:`compress` merges the values of a large domain whose *noisy* count is small (MST's
domain compression: post-processing of a measured 1-way marginal, so free): the pairs
measured later then spend their noise on values that exist.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ctdc.errors import CtdcError
from ctdc.schema import Schema
from ctdc.slugs import Slug

#: the column that says, for a whole flag group, that it was not recorded
GROUP_COLUMN = "{group}__not_recorded"

Clique = tuple[str, ...]


@dataclass(frozen=True)
class Merged:
    """What :func:`compress` did: the merged values and their noisy counts, the values kept
    (new code ``i`` is old code ``kept[i]``; the merged values' code is ``len(kept)``), and
    each old code's new code."""

    members: np.ndarray
    weights: np.ndarray
    kept: np.ndarray
    mapping: np.ndarray


@dataclass(frozen=True)
class Coded:
    """Records as integer codes over public domains: column ``j`` of ``codes`` holds indexes
    into ``values[names[j]]`` (None: NULL, in the domain unless the field is required)."""

    names: list[str]
    values: dict[str, list[Any]]
    codes: np.ndarray
    #: compressed fields: their public domain and what was merged (:func:`compress`)
    merged: dict[str, tuple[list[Any], Merged]]

    @property
    def sizes(self) -> list[int]:
        return [len(self.values[n]) for n in self.names]

    def counts(self, clique: Clique) -> np.ndarray:
        """The true counts of ``clique``'s marginal, flattened in C order."""
        idx = [self.names.index(n) for n in clique]
        shape = [len(self.values[n]) for n in clique]
        cells = np.ravel_multi_index(tuple(self.codes[:, idx].T), shape)
        return np.bincount(cells, minlength=math.prod(shape)).astype(float)


def distribution(counts: np.ndarray) -> np.ndarray:
    """Noisy counts as shares: negative noise clipped, uniform when nothing is left."""
    clipped = np.clip(counts, 0, None)
    total = clipped.sum()
    return clipped / total if total > 0 else np.full(len(clipped), 1 / len(clipped))


def public_values(schema: Schema, name: str) -> list[Any]:
    """A field's public domain: flags FALSE/TRUE, a category's values, a country's hierarchy
    leaves, an integer's bounds, then NULL unless the schema requires the field (a synthetic
    row must not lack a required year). Never read from the records."""
    f = schema[name]
    null: list[Any] = [] if f.required else [None]
    if f.type == "boolean":
        return [False, True, *null]
    if f.values:
        return [*f.values, *null]
    if f.type == "integer" and f.min is not None and f.max is not None:
        return [*range(int(f.min), int(f.max) + 1), *null]
    if f.hierarchy is not None:
        from ctdc.harmonize.settings import field_hierarchy

        return [*field_hierarchy(f).leaves, *null]
    raise CtdcError(Slug.BAD_SCHEMA, f"field {name!r} ({f.type}) has no public domain: give "
                    "it values, bounds or a hierarchy in the schema",
                    fix="or synthesize with --generator pac-synth")  # fmt: skip


def flag_groups(schema: Schema, names: Sequence[str]) -> dict[str, list[str]]:
    """The flag groups all of whose flags are synthesized."""
    chosen = set(names)
    return {g: [f.name for f in grp.flags] for g, grp in schema.groups.items()
            if all(f.name in chosen for f in grp.flags)}  # fmt: skip


def encode(frame: pd.DataFrame, schema: Schema, names: Sequence[str]) -> Coded:
    """The records as codes, plus one ``<group>__not_recorded`` column per flag group (1
    where every flag of the group is NULL). A value outside its public domain is a schema
    violation the ingest should have caught: refused, never silently made NULL."""
    values = {n: public_values(schema, n) for n in names}
    cols = []
    for n in names:
        present = frame[n].notna().to_numpy()
        raw = frame[n].astype(object).where(present, None)
        domain = [v for v in values[n] if v is not None]
        code = pd.Index(domain, dtype=object).get_indexer(raw).astype(np.int64)
        stray = (code < 0) & (present | schema[n].required)
        if stray.any():
            raise CtdcError(Slug.SCHEMA_VIOLATION, f"{int(stray.sum())} staged values of {n!r} are "
                            "outside the schema's values (or NULL in a required field)",
                            fix="re-ingest with the current schema (`ctdc reprocess`)")  # fmt: skip
        cols.append(np.where(code < 0, len(domain), code))  # NULL: the last code
    out = list(names)
    for group, flags in flag_groups(schema, names).items():
        out.append(GROUP_COLUMN.format(group=group))
        values[out[-1]] = [False, True]
        cols.append(frame[flags].isna().all(axis=1).to_numpy().astype(np.int64))
    return Coded(out, values, np.stack(cols, axis=1), {})


def compress(coded: Coded, name: str, noisy: np.ndarray, threshold: float) -> Coded:
    """``name``'s values whose noisy count is under ``threshold`` merged into one code, the
    last (NULL is never merged). :func:`expand` draws a merged value back."""
    old = coded.values[name]
    keep = (noisy >= threshold) | np.array([v is None for v in old])
    if (~keep).sum() < 2:
        return coded
    kept = np.flatnonzero(keep)
    mapping = np.full(len(old), len(kept), dtype=np.int64)  # merged values -> the last code
    mapping[kept] = np.arange(len(kept))
    merged = Merged(np.flatnonzero(~keep), np.clip(noisy[~keep], 0, None), kept, mapping)
    j = coded.names.index(name)
    codes = coded.codes.copy()
    codes[:, j] = mapping[codes[:, j]]
    values = {**coded.values, name: [*(old[i] for i in kept), "(merged)"]}
    return replace(coded, values=values, codes=codes,
                   merged={**coded.merged, name: (old, merged)})  # fmt: skip


def expand(coded: Coded, name: str, column: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A compressed column back to indexes into the public domain: a merged code becomes
    one of its values, drawn in proportion to their noisy counts (uniformly if all are 0)."""
    if name not in coded.merged:
        return column
    merged = coded.merged[name][1]
    bucket = column == len(merged.kept)
    out = np.empty(len(column), dtype=np.int64)
    out[~bucket] = merged.kept[column[~bucket]]
    out[bucket] = rng.choice(merged.members, size=int(bucket.sum()), p=distribution(merged.weights))
    return out


def decode(codes: np.ndarray, coded: Coded, schema: Schema, names: Sequence[str],
           rng: np.random.Generator) -> pd.DataFrame:  # fmt: skip
    """Sampled codes back to typed columns; every flag of a group NULL where the model says
    the group was not recorded (a TRUE there is noise on a cell empty by definition)."""
    col = {n: codes[:, j] for j, n in enumerate(coded.names)}
    out: dict[str, Any] = {}
    for n in names:
        domain = coded.merged[n][0] if n in coded.merged else coded.values[n]
        vals = np.asarray(domain, dtype=object)[expand(coded, n, col[n], rng)]
        kind = schema[n].type
        dtype = "boolean" if kind == "boolean" else "Int16" if kind == "integer" else "string"
        out[n] = pd.array(vals, dtype=dtype)
    frame = pd.DataFrame(out)
    for group, flags in flag_groups(schema, names).items():
        unrecorded = col[GROUP_COLUMN.format(group=group)] == 1
        frame.loc[unrecorded, flags] = pd.NA
    return frame
