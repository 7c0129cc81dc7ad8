"""The classes fixed so far, and whether a class of remaining tuples would be safe with them.

A class of remaining tuples is safe when, with the records already finalized
under the same published tuple, it has at least ``k`` records (and ``l``
distinct known values of each sensitive column). On the *radix path* (an exact
mixed-radix key fits in int64 and no l-diversity is asked) only the finalized
size per key is kept: sorted keys and sizes, merged by sorted insertion, with a
one-hash Bloom bitmap in front, since most keys looked up were never finalized.
Otherwise the finalized classes are kept whole (published ids, sensitive codes,
weights) and re-grouped with the remaining tuples at every test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctdc.anonymize.recode.keys import Keys, dot, first_index
from ctdc.anonymize.recode.tuning import Tuning

#: (class of each tuple, class sizes with the finalized records, safe classes)
Classes = tuple[np.ndarray, np.ndarray, np.ndarray]


class Finalized:
    """Finalized classes: sizes per key (radix path) or the classes themselves."""

    def __init__(
        self,
        m: int,
        n_sensitive: int,
        k: int,
        l_div: int,
        cards: list[int],
        radix: np.ndarray | None,
        keys: Keys,
        tuning: Tuning,
    ) -> None:
        self.m, self.n_sensitive, self.k, self.l_div = m, n_sensitive, k, l_div
        self.cards, self.radix, self.keys = cards, radix, keys
        self.bits, self.hash_lookup = tuning.bloom_bits, tuning.hash_lookup
        # off the radix path: one row per distinct (published ids, sensitive codes)
        self.ids = np.zeros((0, m), dtype=np.int64)
        self.sens = np.zeros((0, n_sensitive), dtype=np.int64)
        self.w = np.zeros(0, dtype=np.int64)
        # radix path: sorted keys and their sizes, hashed when first needed, Bloom bits
        self.sorted_keys = np.zeros(0, dtype=np.int64)
        self.size = np.zeros(0, dtype=np.int64)
        self.index: pd.Index | None = None
        self.seen = np.zeros(1 << self.bits, dtype=bool)

    def add(self, taken: list[np.ndarray], w: np.ndarray, sens: np.ndarray) -> None:
        """Finalize tuples published as ``taken`` (ids per QI), weighing ``w``."""
        if self.radix is not None:
            # only sizes per key are needed: add to the known keys, insert the new ones (sorted)
            new, inverse = np.unique(dot(taken, self.radix), return_inverse=True)
            size = np.bincount(inverse, weights=w, minlength=len(new)).astype(np.int64)
            known = self.sorted_keys
            pos = np.searchsorted(known, new)
            hit = pos < len(known)
            hit[hit] = known[pos[hit]] == new[hit]
            f_size = self.size.copy()
            f_size[pos[hit]] += size[hit]
            self.sorted_keys = np.insert(known, pos[~hit], new[~hit])
            self.index = None
            self.size = np.insert(f_size, pos[~hit], size[~hit])
            self.seen[self._slot(new)] = True
            return
        stacked = np.stack(taken, axis=1) if self.m else np.zeros((0, 0), np.int64)
        sens_both = np.concatenate([self.sens, sens])
        both = np.concatenate([np.concatenate([self.ids, stacked]), sens_both], axis=1)
        cls, n_cls = self.keys.row_classes(both)
        first = first_index(cls, n_cls)
        self.ids, self.sens = both[first, : self.m], both[first, self.m :]
        self.w = np.bincount(cls, weights=np.concatenate([self.w, w])).astype(np.int64)

    def classes(self, ids: list[np.ndarray], w: np.ndarray, sens: np.ndarray) -> Classes:
        """Class of each remaining tuple (published ``ids`` per QI, weights ``w``, sensitive
        codes ``sens``), class sizes, and which classes are safe with the finalized records."""
        if self.radix is not None:
            return self.key_classes(dot(ids, self.radix), w)
        both = [np.concatenate([ids[j], self.ids[:, j]]) for j in range(self.m)]
        cls, uniq = self.keys.factorize(self.keys.exact(both, self.cards))
        size = np.bincount(cls, weights=np.concatenate([w, self.w]), minlength=len(uniq))
        safe = size >= self.k
        if self.n_sensitive:
            safe &= self._diverse(cls, len(uniq), np.concatenate([sens, self.sens]))
        return cls[: len(w)], size, safe

    def _diverse(self, cls: np.ndarray, n_cls: int, sens: np.ndarray) -> np.ndarray:
        """Whether each class has ``l`` known (non-zero) distinct values of every sensitive
        column. All columns in one pass: a (column, class, value) key per known cell and one
        ``pd.unique``, since a call per column costs more in dispatch than in work on the
        small tables the search tests thousands of times."""
        card = int(sens.max()) + 1 if sens.size else 1
        col, row = np.nonzero(sens.T > 0)
        key = (col * n_cls + cls[row].astype(np.int64)) * card + sens[row, col]
        counts = np.bincount(pd.unique(key) // card, minlength=self.n_sensitive * n_cls)
        return counts.reshape(self.n_sensitive, n_cls).min(axis=0) >= self.l_div

    def key_classes(self, key: np.ndarray, w: np.ndarray) -> Classes:
        """:meth:`classes` on the radix path, from each tuple's published key."""
        cls, uniq = self.keys.factorize(key)
        size = np.bincount(cls, weights=w, minlength=len(uniq))
        size += self.sizes(uniq)
        return cls, size, size >= self.k

    def sizes(self, keys: np.ndarray) -> np.ndarray:
        """Records already finalized under each key (radix path), 0 where none.

        Most keys were never finalized: a bitmap over a hash of the finalized
        keys (a one-hash Bloom filter) rules them out at ~1 ns a key, and only
        the rest are looked up exactly.
        """
        out = np.zeros(len(keys), dtype=np.int64)
        n = len(self.sorted_keys)
        if not n:
            return out
        maybe = np.flatnonzero(self.seen[self._slot(keys)])
        if not maybe.size:
            return out
        keys = keys[maybe]
        if len(keys) > self.hash_lookup:  # hashing is ~5x faster a key, but ~0.1 ms a call
            if self.index is None:
                self.index = pd.Index(self.sorted_keys)
            pos = self.index.get_indexer(keys)
            out[maybe] = np.where(pos >= 0, self.size[pos], 0)
        else:
            sorted_keys = self.sorted_keys
            pos = np.minimum(np.searchsorted(sorted_keys, keys), n - 1)
            out[maybe] = np.where(sorted_keys[pos] == keys, self.size[pos], 0)
        return out

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        """A hash of each key into 0 .. 2**bits - 1 (Fibonacci hashing)."""
        return (
            (keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - self.bits)
        ).astype(np.intp)
