"""What a safe table publishes, as numbered entries, and the equations that tie them together.

An *entry* is one published number: a cell (one combination of the ``--by``
columns that occurs in the data) or a margin (a sum of cells). Entries are
numbered cells first, then margins, the grand total last:

* 1 column: the cells and the grand total;
* 2 or more columns: the cells, every 1-column margin (one per category of
  each column: for 2 columns the row and the column totals) and the grand
  total. Margins over 2 or more columns are not published.

A combination that does not occur (count 0) is not an entry: its count is
known to be 0 to everyone, so it is a constant of the system, never an
unknown (``suppress.py`` never suppresses a zero). A category always occurs
in some cell when it comes from the data; a layout built from a grid (the
property tests) may have an empty margin, whose value is the published 0.

Two kinds of equations hold between entries, and the complementary
suppression's local rule (``suppress.py``) walks them:

* each margin equals the sum of its cells (for 1 column: the total equals the
  sum of the cells);
* for 2 or more columns, the grand total equals the sum of each column's
  1-column margins.

The exact determinacy check (``determinacy.py``) does not use these lists: it
writes every margin as its row of the incidence matrix over the cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Layout:
    """The entries of one table (``codes``: each cell's category index per column)."""

    codes: IntArray
    """shape (cells, columns): the category index of each cell in each ``--by`` column"""
    sizes: tuple[int, ...]
    """number of categories of each ``--by`` column"""

    @property
    def n_cells(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_columns(self) -> int:
        return len(self.sizes)

    @property
    def margin_columns(self) -> tuple[int, ...]:
        """The columns that get 1-column margins: none for a 1-column table (they are its cells)."""
        return tuple(range(self.n_columns)) if self.n_columns >= 2 else ()

    @cached_property
    def margin_offsets(self) -> tuple[int, ...]:
        """Entry number of the first margin of each margin column."""
        offsets, start = [], self.n_cells
        for column in self.margin_columns:
            offsets.append(start)
            start += self.sizes[column]
        return tuple(offsets)

    @property
    def total(self) -> int:
        """Entry number of the grand total (the last entry)."""
        return self.n_cells + sum(self.sizes[c] for c in self.margin_columns)

    @property
    def n_entries(self) -> int:
        return self.total + 1

    def margin_of(self, entry: int) -> tuple[int, int] | None:
        """(column, category) of a 1-column margin entry; None for a cell or the total."""
        if entry < self.n_cells or entry >= self.total:
            return None
        for column, offset in zip(self.margin_columns, self.margin_offsets, strict=True):
            if entry < offset + self.sizes[column]:
                return column, entry - offset
        raise AssertionError("unreachable: entry below the total")

    def margin_rows(self, cells: IntArray) -> IntArray:
        """For each of ``cells``, the margins (as ``entry - n_cells``) it is part of.

        Shape (len(cells), columns + 1) for 2+ columns (one margin per column,
        then the total), (len(cells), 1) for 1 column (the total).
        """
        parts = [
            self.codes[cells, column] + offset - self.n_cells
            for column, offset in zip(self.margin_columns, self.margin_offsets, strict=True)
        ]
        parts.append(np.full(len(cells), self.total - self.n_cells, dtype=np.int64))
        return np.stack(parts, axis=1).astype(np.int64)

    def entry_values(self, cell_values: IntArray) -> IntArray:
        """Every entry's value from the cells' values: the cells, then the margin sums."""
        n_margins = self.n_entries - self.n_cells
        margins = np.zeros(n_margins, dtype=np.int64)
        rows = self.margin_rows(np.arange(self.n_cells, dtype=np.int64))
        for j in range(rows.shape[1]):
            margins += np.bincount(rows[:, j], weights=cell_values, minlength=n_margins).astype(
                np.int64
            )
        return np.concatenate([cell_values.astype(np.int64), margins])

    @cached_property
    def equations(self) -> tuple[IntArray, IntArray]:
        """The equations as CSR: (pointers, members); each lists its entries, the sum first.

        One per margin (the margin, then its cells) and, for 2+ columns, one
        per column (the total, then that column's margins). For 1 column the
        only equation is the total and its cells. Every equation holds its sum,
        so none is empty.
        """
        groups: list[IntArray] = []
        if self.n_columns >= 2:
            for column, offset in zip(self.margin_columns, self.margin_offsets, strict=True):
                order = np.argsort(self.codes[:, column], kind="stable")
                bounds = np.searchsorted(
                    self.codes[order, column], np.arange(self.sizes[column] + 1)
                )
                for category in range(self.sizes[column]):
                    cells = order[bounds[category] : bounds[category + 1]]
                    groups.append(np.concatenate([[offset + category], cells]).astype(np.int64))
            for column, offset in zip(self.margin_columns, self.margin_offsets, strict=True):
                margins = np.arange(offset, offset + self.sizes[column], dtype=np.int64)
                groups.append(np.concatenate([[self.total], margins]).astype(np.int64))
        else:
            groups.append(np.concatenate([[self.total], np.arange(self.n_cells)]).astype(np.int64))
        pointers = np.zeros(len(groups) + 1, dtype=np.int64)
        pointers[1:] = np.cumsum([len(g) for g in groups])
        return pointers, np.concatenate(groups).astype(np.int64)

    @cached_property
    def entry_equations(self) -> list[IntArray]:
        """For each entry, the equations it appears in."""
        pointers, members = self.equations
        owner = np.repeat(np.arange(len(pointers) - 1), np.diff(pointers))
        order = np.argsort(members, kind="stable")
        bounds = np.searchsorted(members[order], np.arange(self.n_entries + 1))
        return [owner[order[bounds[e] : bounds[e + 1]]] for e in range(self.n_entries)]
