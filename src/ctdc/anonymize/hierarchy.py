"""Generalization hierarchies in ARX's CSV form, and their encoding for the engine.

A hierarchy has one row per leaf value and one column per level: the leaf,
its ancestors, and at the top the root (``*``), which the engine publishes as
NA -- a suppressed cell. ``0-8;0-17;*`` says the age band ``0-8`` generalizes to
``0-17`` and then to nothing. A column without a hierarchy gets a flat one
(value -> ``*``), so plain cell suppression is the same operation as
generalization to the top: one lattice, one code path.

The encoding (:class:`Encoded`) turns one column and its hierarchy into small
integer tables so the engine never touches strings in its loops:

* leaf codes ``1..n``, and ``n + 1`` for NA in the input ("not recorded") when the
  column has any: a leaf of its own, which stays itself at every level below the
  root, so a class never mixes "not recorded" with "suppressed" (the root);
* ``ancestor[level, leaf]`` = id of the published value (0 = the root: suppressed),
  where a value that appears at several levels keeps one id (it is one published
  value); "not recorded" has the id ``n + 1`` and is published as NA too,
* ``cost[level, leaf]`` = Iyengar's loss for that cell: (leaves covered - 1) /
  (leaves in the domain - 1); 0 for a leaf, 1 for the root. "Not recorded" costs 0
  as published and :data:`WITHHELD_NOT_RECORDED` when suppressed: no value is lost,
  only the knowledge that it was not recorded.

"Not recorded" and "suppressed" are both NA in the published column, but distinct
values for k: the release can say which is which (a status column) without a class
smaller than k (issue 12: k counts them apart).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: the loss of withholding a "not recorded" cell (publishing it as suppressed): no recorded
#: value is lost, only the knowledge that there was none. At 1 (a value's loss) the demo's
#: release suppressed 3,722 years instead of 1,243 to keep "not recorded" apart; at 0 the
#: engine would withhold it for nothing. A tenth keeps it where it costs nothing else.
WITHHELD_NOT_RECORDED = 0.1

#: hierarchies already read, by file (path, modification time, size) and CSV dialect
_READ: dict[tuple[str, int, int, str, str], Hierarchy] = {}
_READ_MAX = 64


@dataclass(frozen=True)
class Hierarchy:
    """Rows of (leaf, level 1, ..., root); every row has the same number of levels."""

    rows: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("a hierarchy needs at least one leaf row")
        widths = {len(r) for r in self.rows}
        if len(widths) != 1:
            raise ValueError(f"hierarchy rows have different numbers of levels: {sorted(widths)}")
        if self.height < 2:
            raise ValueError("a hierarchy needs at least two levels (leaf and root)")
        leaves = [r[0] for r in self.rows]
        if len(set(leaves)) != len(leaves):
            dupes = sorted({v for v in leaves if leaves.count(v) > 1})[:5]
            raise ValueError(f"hierarchy lists leaves twice: {dupes}")
        if len({r[-1] for r in self.rows}) != 1:
            raise ValueError("hierarchy has more than one root value in its last column")
        for level in range(1, self.height - 1):
            parents: dict[str, str] = {}
            for r in self.rows:
                if parents.setdefault(r[level], r[level + 1]) != r[level + 1]:
                    raise ValueError(
                        f"hierarchy is not a tree: {r[level]!r} at level {level} has the parents "
                        f"{parents[r[level]]!r} and {r[level + 1]!r}"
                    )

    @classmethod
    def from_csv(cls, path: str | Path, delimiter: str = ";", encoding: str = "utf-8") -> Hierarchy:
        """Read an ARX hierarchy file (no header, one row per leaf).

        A file read before, unchanged since (same size and modification time), is not
        read and checked again: a harmonize reads each hierarchy in its settings, its
        audit and its dictionary, and a process (the tests, a notebook) runs many.
        """
        st = os.stat(path)
        key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size, delimiter, encoding)
        if key not in _READ:
            with open(path, encoding=encoding, newline="") as fh:
                rows = tuple(
                    tuple(c.strip() for c in row)
                    for row in csv.reader(fh, delimiter=delimiter)
                    if row and any(c.strip() for c in row)
                )
            if len(_READ) >= _READ_MAX:
                _READ.clear()
            _READ[key] = cls(rows)
        return _READ[key]

    @classmethod
    def flat(cls, leaves: Iterable[str]) -> Hierarchy:
        """Leaf -> root only: the column can be published as is or suppressed."""
        return cls(tuple((str(v), "*") for v in leaves))

    def clipped(self, low: int | None, high: int | None) -> Hierarchy:
        """A hierarchy of integer leaves cut to ``low..high``, every range relabelled by what
        it still covers: in 2026, ``2026-2028`` becomes ``2026`` and ``2020-2028`` becomes
        ``2020-2026``. A published range then never runs past the current year.
        Labels that are not ``a-b`` ranges stay as they are."""

        def inside(leaf: str) -> bool:
            v = int(leaf)
            return (low is None or v >= low) and (high is None or v <= high)

        rows = [r for r in self.rows if inside(r[0])]
        if not rows or len(rows) == len(self.rows):
            return self
        covered: dict[tuple[int, str], list[int]] = {}
        for r in rows:
            for level in range(1, self.height - 1):
                covered.setdefault((level, r[level]), []).append(int(r[0]))

        def label(level: int, old: str) -> str:
            if not re.fullmatch(r"\d+-\d+", old):
                return old
            years = covered[(level, old)]
            lo, hi = min(years), max(years)
            return str(lo) if lo == hi else f"{lo}-{hi}"

        return Hierarchy(tuple(
            (r[0], *(label(lv, r[lv]) for lv in range(1, self.height - 1)), r[-1]) for r in rows
        ))  # fmt: skip

    @property
    def height(self) -> int:
        """Number of levels, leaf and root included."""
        return len(self.rows[0])

    @property
    def leaves(self) -> tuple[str, ...]:
        return tuple(r[0] for r in self.rows)


@dataclass(frozen=True)
class Encoded:
    """One quasi-identifier column encoded against its hierarchy (see module docstring)."""

    name: str
    codes: np.ndarray  # per input row, leaf code 1..n, n + 1 = not recorded (NA)
    ancestor: np.ndarray  # (levels, leaves + 1) published-value id, 0 = suppressed
    cost: np.ndarray  # (levels, leaves + 1) float64 loss of a cell
    values: tuple[object, ...]  # published value of each id (NA: ids 0 and "not recorded")
    hierarchical: bool  # False for a flat hierarchy built from the data
    #: the leaf code of "not recorded" (NA in the input), None when the column has no NA
    not_recorded: int | None = None

    @property
    def levels(self) -> int:
        return self.ancestor.shape[0]

    @property
    def domain(self) -> int:
        return self.ancestor.shape[1] - 1


def encode_column(name: str, column: pd.Series, hierarchy: Hierarchy | None) -> Encoded:
    """Encode ``column``; raises ``ValueError`` naming values that are not leaves."""
    if hierarchy is None:
        codes, uniques = pd.factorize(column, sort=True, use_na_sentinel=True)
        leaf_values: list[object] = list(uniques)
        hierarchy = Hierarchy.flat(map(str, leaf_values)) if leaf_values else None
        hierarchical = False
    else:
        # distinct values first (Arrow's dictionary encoding), then only those are matched
        raw, uniques = pd.factorize(column, use_na_sentinel=True)
        text = pd.Series(uniques).astype("string")
        position = pd.Index(list(hierarchy.leaves)).get_indexer(text).astype(np.int64)
        codes = np.append(position, -1)[raw]  # raw -1 (NA) picks the appended -1
        unknown = text[(position < 0) & text.notna().to_numpy()]
        if len(unknown):
            sample = sorted(unknown.tolist())[:5]
            raise ValueError(
                f"column {name!r} has values that are not leaves of its hierarchy: {sample}"
            )
        leaf_values = list(hierarchy.leaves)
        hierarchical = True
    codes = np.asarray(codes, dtype=np.int64) + 1
    rows = hierarchy.rows if hierarchy is not None else ()
    n, levels = len(rows), hierarchy.height if hierarchy is not None else 2
    missing = bool((codes == 0).any())
    nr = n + 1 if missing else None  # "not recorded": a leaf of its own after the others
    if nr is not None:
        codes[codes == 0] = nr
    width = n + 1 + missing
    ids: dict[str, int] = {str(v): i + 1 for i, v in enumerate(leaf_values)}
    values: list[object] = [pd.NA, *leaf_values] + [pd.NA] * missing
    ancestor = np.zeros((levels, width), dtype=np.int64)
    for level in range(levels - 1):  # the root level stays 0 (suppressed)
        for leaf, row in enumerate(rows, start=1):
            value = row[level]
            if value not in ids:
                ids[value] = len(values)
                values.append(value)
            ancestor[level, leaf] = ids[value]
        if nr is not None:
            ancestor[level, nr] = nr  # not recorded, at every level below the root
    covered = np.zeros(len(values), dtype=np.int64)
    for level in range(levels - 1):
        per_value = np.bincount(ancestor[level, 1 : n + 1], minlength=len(values))
        covered = np.maximum(covered, per_value)
    covered[0] = n
    if nr is not None:
        covered[nr] = 1
    denominator = max(n - 1, 1)
    cost = (np.maximum(covered[ancestor], 1) - 1) / denominator
    cost[levels - 1, 1:] = 1.0  # the root: a suppressed cell costs 1, even in a 1-leaf domain
    cost[:, 0] = 0.0  # no record has code 0
    if nr is not None:
        cost[levels - 1, nr] = WITHHELD_NOT_RECORDED
    return Encoded(name, codes, ancestor, cost, tuple(values), hierarchical, nr)
