"""What a class must hold besides ``k`` records: witnesses in its sensitive columns.

Two rules are carried the same way, as columns of small codes per tuple, where
0 counts for nothing and each class needs at least ``threshold`` distinct
non-zero codes in every column:

* distinct l-diversity over a sensitive column: codes 1.. are its known values
  (NA is 0), the threshold is ``l``;
* a protected flag: code 1 is a record whose flag is not TRUE (FALSE or NA),
  TRUE is 0, the threshold is 1. A class all TRUE on the flag would tell anyone
  who knows a member's quasi-identifiers that her flag is TRUE; one record that
  is not TRUE is enough to leave it uncertain. An all-FALSE class is fine.

When the columns' codes fit in one int64 (at most 62 bits in all), each tuple's
codes become one bitmask and a class's witnesses are the OR of its tuples'
masks, plus the OR of the masks already finalized under its published tuple.
That keeps the search on its fast path (one key per class, the finalized
classes as sizes and masks per key); wider codes fall back to keeping the
finalized classes whole (:mod:`.finalized`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

#: bits available for the masks (int64, sign bit and one spare left alone)
MASK_BITS = 62


@dataclass(frozen=True)
class Witnesses:
    """Per column of witness codes: its largest code and the distinct codes a class needs."""

    cards: tuple[int, ...]
    thresholds: tuple[int, ...]

    @property
    def packed(self) -> bool:
        """Whether every column's codes fit in one int64 mask per tuple."""
        return sum(self.cards) <= MASK_BITS

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """First bit of each column's field in a mask."""
        return tuple(int(x) for x in np.cumsum([0, *self.cards[:-1]]))

    def masks(self, codes: np.ndarray) -> np.ndarray:
        """One int64 per row of ``codes`` ((n, columns) non-negative ints): bit
        ``offset + code - 1`` set for every non-zero code."""
        out = np.zeros(len(codes), dtype=np.int64)
        for c, off in enumerate(self.offsets):
            col = codes[:, c].astype(np.int64)
            out |= np.where(col > 0, np.left_shift(1, np.maximum(col - 1, 0) + off), 0)
        return out

    def class_masks(
        self, cls: np.ndarray, n_cls: int, masks: np.ndarray, w: np.ndarray
    ) -> np.ndarray:
        """OR of the masks of each class's tuples of positive weight (finalized tuples
        awaiting compaction weigh 0 and must not count twice)."""
        out = np.zeros(n_cls, dtype=np.int64)
        np.bitwise_or.at(out, cls, np.where(w > 0, masks, 0))
        return out

    @cached_property
    def _checks(self) -> tuple[int, list[int], list[tuple[int, int, int]]]:
        """How :meth:`ok` tests the fields: the bits that must all be set (fields whose
        threshold is their width: a protected flag, l = 2 over a boolean), the fields that
        need any bit (threshold 1), and the rest (offset, width, threshold: a popcount)."""
        full, anyof, general = 0, [], []
        for card, thr, off in zip(self.cards, self.thresholds, self.offsets, strict=True):
            field = ((1 << card) - 1) << off
            if thr == card:
                full |= field
            elif thr <= 1:
                anyof.append(field)
            else:
                general.append((off, card, thr))
        return full, anyof, general

    def ok(self, masks: np.ndarray) -> np.ndarray:
        """Whether each class mask has at least the threshold of distinct codes per column
        (all full fields in one test: 36 flag columns cost one operation, not 36)."""
        full, anyof, general = self._checks
        good = (masks & full) == full
        for field in anyof:
            good &= (masks & field) != 0
        for off, card, thr in general:
            good &= np.bitwise_count((masks >> off) & ((1 << card) - 1)) >= thr
        return np.asarray(good, dtype=bool)

    def diverse(self, cls: np.ndarray, n_cls: int, codes: np.ndarray) -> np.ndarray:
        """:meth:`ok` for codes too wide for masks: a (column, class, code) key per non-zero
        cell and one unique, all columns in one pass."""
        card = int(codes.max()) + 1 if codes.size else 1
        col, row = np.nonzero(codes.T > 0)
        key = (col * n_cls + cls[row].astype(np.int64)) * card + codes[row, col]
        n_col = len(self.cards)
        counts = np.bincount(np.unique(key) // card, minlength=n_col * n_cls)
        need = np.asarray(self.thresholds, dtype=np.int64)[:, None]
        good = np.all(counts.reshape(n_col, n_cls) >= need, axis=0)
        return np.asarray(good, dtype=bool)
