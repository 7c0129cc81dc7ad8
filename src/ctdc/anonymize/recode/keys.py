"""Class keys: one int64 per row, equal iff the rows are equal, and their factorization.

Every grouping in the engine -- distinct input tuples, a node's classes, the
finalized classes -- comes down to turning a few small-int columns into one
int64 key and factorizing it. When the product of the columns' cardinalities
fits in int64 the key is an exact mixed-radix number (:meth:`Keys.radix`), which
also lets a QI's part of a key be read back or shifted without re-hashing;
otherwise :meth:`Keys.exact` re-densifies the key before it could overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

try:  # pandas' int64 hash table; its place is stable within a pandas major version
    from pandas._libs.hashtable import Int64HashTable as _Int64HashTable
except ImportError:  # pragma: no cover - a pandas release without it: pd.factorize
    _Int64HashTable = None


@dataclass(frozen=True)
class Keys:
    """Builds and factorizes keys under one key limit (:class:`~.tuning.Tuning`)."""

    limit: int = 1 << 62
    pandas_hash_table: bool = True

    def factorize(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes (in order of first appearance) and uniques of an int64 array.

        ``pd.factorize`` with its Python-level dispatch skipped: pandas' own int64
        hash table, ~2.5x faster on the small arrays rolled up node by node (the
        engine makes ~1,000 such calls on Adult). Both give the same codes.
        """
        if _Int64HashTable is None or not self.pandas_hash_table:
            return pd.factorize(values)
        table = _Int64HashTable(len(values))
        uniques, codes = table.factorize(values.astype(np.int64, copy=False))
        return codes, uniques

    def radix(self, cards: list[int]) -> np.ndarray | None:
        """Place values of an exact mixed-radix key, or None if it could pass the limit."""
        if float(np.prod([float(c) for c in cards])) > self.limit:
            return None
        radix = np.ones(len(cards), dtype=np.int64)
        for j in range(len(cards) - 2, -1, -1):
            radix[j] = radix[j + 1] * cards[j + 1]
        return radix

    def exact(self, columns: list[np.ndarray], cards: list[int]) -> np.ndarray:
        """One int64 per row, equal iff all columns are equal; re-densifies before overflow."""
        key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
        bound = 1
        for col, card in zip(columns, cards, strict=True):
            if bound * card > self.limit:
                key = self.factorize(key)[0].astype(np.int64)
                bound = int(key.max()) + 1 if key.size else 1
            key = key * card + col
            bound *= card
        return key

    def row_classes(self, rows: np.ndarray) -> tuple[np.ndarray, int]:
        """Class index per row of ``rows`` ((n, m) non-negative ints; equal rows, equal class)."""
        if not rows.size:
            return np.zeros(len(rows), dtype=np.int64), int(len(rows) > 0)
        cards = [int(rows[:, j].max()) + 1 for j in range(rows.shape[1])]
        inverse, uniques = self.factorize(
            self.exact([rows[:, j] for j in range(rows.shape[1])], cards)
        )
        return inverse, len(uniques)

    def collapse(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct rows of ``raw`` (small non-negative ints), their counts, each row's index."""
        inverse, n_unique = self.row_classes(raw)
        first = first_index(inverse, n_unique)
        return raw[first], np.bincount(inverse).astype(np.int64), inverse


def row_classes(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """:meth:`Keys.row_classes` with the default limit (for the report's class sizes)."""
    return Keys().row_classes(rows)


def first_index(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Index of the first row of each class."""
    first = np.full(n_classes, -1, dtype=np.int64)
    first[classes[::-1]] = np.arange(len(classes))[::-1]
    return first


def dot(columns: list[np.ndarray], radix: np.ndarray) -> np.ndarray:
    """The mixed-radix key of rows given column by column (``radix`` from :meth:`Keys.radix`)."""
    key = columns[0] * radix[0]
    for j in range(1, len(columns)):
        key += columns[j] * radix[j]
    return key
