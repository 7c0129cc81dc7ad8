"""Helpers of the stats tests: tables from grids, public folders from Arrow tables, and an
independent check of what a safe table lets an analyst recompute (exact rationals)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ctdc.stats import CellCounts, SafeTable

RELEASE_ID = "20260101T000000Z-0123abcd"


def grid_counts(counts: np.ndarray, trues: np.ndarray | None = None) -> CellCounts:
    """A ``CellCounts`` from a dense grid: columns ``c0, c1, ...``, categories ``"0", "1", ...``.

    Zero cells are left out, as the GROUP BY leaves out combinations that do
    not occur; every category is kept, so a margin may be empty.
    """
    where = np.argwhere(counts > 0)
    index = tuple(where.T)
    categories = tuple(tuple(str(i) for i in range(n)) for n in counts.shape)
    return CellCounts(
        by=tuple(f"c{i}" for i in range(counts.ndim)),
        categories=categories,
        codes=where.astype(np.int64).reshape(len(where), counts.ndim),
        counts=counts[index].astype(np.int64),
        share=None if trues is None else "flag",
        trues=None if trues is None else trues[index].astype(np.int64),
    )


def write_public(root: Path, table: pa.Table, *, k: int, release_id: str = RELEASE_ID) -> Path:
    """A public folder as harmonize lays it out: ``current -> releases/<id>`` with the cases,
    a dictionary and a public manifest holding ``k``. Returns the public folder."""
    folder = root / "releases" / release_id
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "cases.parquet")
    pq.write_table(pa.table({"field": pa.array(["x"])}), folder / "dictionary.parquet")
    manifest = {"manifest": "public", "release_id": release_id, "k": k}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    os.symlink(Path("releases") / release_id, root / "current")
    return root


# --- the independent check: exact rational linear algebra over the published numbers --------


def _rref(rows: list[list[Fraction]], width: int) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row echelon form over the rationals: (rows, pivot columns)."""
    matrix = [list(r) for r in rows]
    pivots: list[int] = []
    for column in range(width):
        top = len(pivots)
        found = next((i for i in range(top, len(matrix)) if matrix[i][column] != 0), None)
        if found is None:
            continue
        matrix[top], matrix[found] = matrix[found], matrix[top]
        pivot = matrix[top][column]
        matrix[top] = [v / pivot for v in matrix[top]]
        for i, row in enumerate(matrix):
            if i != top and row[column] != 0:
                factor = row[column]
                matrix[i] = [a - factor * b for a, b in zip(row, matrix[top], strict=True)]
        pivots.append(column)
    return matrix[: len(pivots)], pivots


@dataclass(frozen=True)
class Exposure:
    """What the published system tells of one hidden entry."""

    name: str
    determined: bool
    #: two non-negative solutions of the published system with different values of the entry
    #: (only for counts: (low, high) of the entry); None when determined or not asked
    witness: tuple[Fraction, Fraction] | None = None


def exposures(
    shape: tuple[int, ...],
    truth: np.ndarray,
    entries: list[tuple[str, np.ndarray, bool]],
    *,
    witness: bool,
) -> list[Exposure]:
    """For every hidden entry: is it determined by the published ones? (Exact, rationals.)

    ``entries``: (name, 0/1 indicator over the flattened grid, published). A
    grid cell is known when it is zero or a published cell entry; the others
    are the unknowns. With ``witness``, an undetermined entry also gets two
    non-negative solutions (all unknown cells > 0) that keep every published
    number and give the entry two different values: so a linear program over
    the published numbers cannot pin it either.
    """
    flat = truth.reshape(-1)
    known = flat == 0
    for _, vector, published in entries:
        if published and vector.sum() == 1:
            known |= vector.astype(bool)
    unknown = np.flatnonzero(~known)
    index = {int(c): i for i, c in enumerate(unknown)}
    rows = [
        [Fraction(int(vector[c])) for c in unknown]
        for _, vector, published in entries
        if published and vector.sum() > 1
    ]
    echelon, pivots = _rref(rows, len(unknown))
    free = [c for c in range(len(unknown)) if c not in pivots]
    out = []
    for name, vector, published in entries:
        if published:
            continue
        v = [Fraction(int(vector[c])) for c in unknown]
        residual = list(v)
        for row, p in zip(echelon, pivots, strict=True):
            if residual[p] != 0:
                factor = residual[p]
                residual = [a - factor * b for a, b in zip(residual, row, strict=True)]
        determined = all(r == 0 for r in residual)
        found = None
        if witness and not determined:
            found = _witness(v, echelon, pivots, free, rows, [int(flat[c]) for c in unknown])
        out.append(Exposure(name, determined, found))
    assert len(index) == len(unknown)
    return out


def _witness(v: list[Fraction], echelon: list[list[Fraction]], pivots: list[int],
             free: list[int], rows: list[list[Fraction]], values: list[int]
             ) -> tuple[Fraction, Fraction]:  # fmt: skip
    """Move along a null-space direction that changes ``v . x``; both ends stay non-negative."""
    for f in free:
        d = [Fraction(0)] * len(v)
        d[f] = Fraction(1)
        for row, p in zip(echelon, pivots, strict=True):
            d[p] = -row[f]
        change = sum((a * b for a, b in zip(v, d, strict=True)), Fraction(0))
        if change == 0:
            continue
        for row in rows:  # the published margins do not move
            assert sum((a * b for a, b in zip(row, d, strict=True)), Fraction(0)) == 0
        step = Fraction(1, 2) / max(abs(x) for x in d)
        for sign in (1, -1):
            moved = [x + sign * step * y for x, y in zip(values, d, strict=True)]
            assert min(moved) > 0, "every hidden cell is >= 1, so a step of 1/2 keeps it > 0"
        base = sum((a * x for a, x in zip(v, values, strict=True)), Fraction(0))
        return base - step * abs(change), base + step * abs(change)
    raise AssertionError("an undetermined entry must have a direction that changes it")


def published_entries(table: SafeTable, shape: tuple[int, ...], *, shares: bool
                      ) -> list[tuple[str, np.ndarray, bool]]:  # fmt: skip
    """Every entry of a grid table as (name, indicator over the flattened grid, published)."""
    out = []
    for cell in table.cells:
        vector = np.zeros(shape, dtype=np.int64)
        vector[tuple(int(v) for v in cell.values)] = 1
        shown = cell.share is not None if shares else cell.count is not None
        out.append((f"cell {cell.values}", vector.reshape(-1), shown))
    for margin in table.margins:
        vector = np.zeros(shape, dtype=np.int64)
        if margin.column is None:
            vector[...] = 1
        else:
            axis = table.by.index(margin.column)
            where = [slice(None)] * len(shape)
            where[axis] = int(margin.value)  # type: ignore[arg-type]
            vector[tuple(where)] = 1
        shown = margin.share is not None if shares else margin.count is not None
        if shares and margin.count == 0:
            shown = True  # an empty margin has no share, but its TRUE count is a known 0
        out.append((f"margin {margin.column}={margin.value}", vector.reshape(-1), shown))
    return out
