"""The classes fixed so far, and whether a class of remaining tuples would be safe with them.

A class of remaining tuples is safe when, with the records already finalized
under the same published tuple, it has at least ``k`` records (and the
witnesses :mod:`.witness` asks for: ``l`` distinct known values of each
sensitive column, a record not TRUE on each protected flag). On the *radix
path* (an exact mixed-radix key fits in int64, and any witness codes fit in one
int64 mask) only the finalized size (and OR of masks) per key is kept: sorted
keys, merged by sorted insertion, with a one-hash Bloom bitmap in front, since
most keys looked up were never finalized. Otherwise the finalized classes are
kept whole (published ids, witness codes, weights) and re-grouped with the
remaining tuples at every test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ctdc.anonymize.recode.keys import Keys, dot, first_index
from ctdc.anonymize.recode.tuning import Tuning
from ctdc.anonymize.recode.witness import Witnesses

#: (class of each tuple, class sizes with the finalized records, safe classes)
Classes = tuple[np.ndarray, np.ndarray, np.ndarray]


class Finalized:
    """Finalized classes: sizes per key (radix path) or the classes themselves."""

    def __init__(
        self,
        m: int,
        witness: Witnesses | None,
        k: int,
        cards: list[int],
        radix: np.ndarray | None,
        keys: Keys,
        tuning: Tuning,
    ) -> None:
        self.m, self.witness, self.k = m, witness, k
        self.n_sensitive = len(witness.cards) if witness is not None else 0
        self.cards, self.radix, self.keys = cards, radix, keys
        self.bits, self.hash_lookup = tuning.bloom_bits, tuning.hash_lookup
        # off the radix path: one row per distinct (published ids, sensitive codes)
        self.ids = np.zeros((0, m), dtype=np.int64)
        self.sens = np.zeros((0, self.n_sensitive), dtype=np.int64)
        self.w = np.zeros(0, dtype=np.int64)
        # radix path: sorted keys and their sizes, hashed when first needed, Bloom bits
        self.sorted_keys = np.zeros(0, dtype=np.int64)
        self.size = np.zeros(0, dtype=np.int64)
        self.mask = np.zeros(0, dtype=np.int64)  # OR of the witness masks per key
        self.index: pd.Index | None = None
        self.seen = np.zeros(1 << self.bits, dtype=bool)

    def add(
        self, taken: list[np.ndarray], w: np.ndarray, sens: np.ndarray, masks: np.ndarray
    ) -> None:
        """Finalize tuples published as ``taken`` (ids per QI), weighing ``w``, with witness
        codes ``sens`` (and their ``masks``, used on the radix path)."""
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
            if self.witness is not None:
                got = np.zeros(len(new), dtype=np.int64)
                np.bitwise_or.at(got, inverse, masks)
                f_mask = self.mask.copy()
                f_mask[pos[hit]] |= got[hit]
                self.mask = np.insert(f_mask, pos[~hit], got[~hit])
            self.seen[self._slot(new)] = True
            return
        stacked = np.stack(taken, axis=1) if self.m else np.zeros((0, 0), np.int64)
        sens_both = np.concatenate([self.sens, sens])
        both = np.concatenate([np.concatenate([self.ids, stacked]), sens_both], axis=1)
        cls, n_cls = self.keys.row_classes(both)
        first = first_index(cls, n_cls)
        self.ids, self.sens = both[first, : self.m], both[first, self.m :]
        self.w = np.bincount(cls, weights=np.concatenate([self.w, w])).astype(np.int64)

    def classes(
        self, ids: list[np.ndarray], w: np.ndarray, sens: np.ndarray, masks: np.ndarray
    ) -> Classes:
        """Class of each remaining tuple (published ``ids`` per QI, weights ``w``, witness
        codes ``sens`` and their ``masks``), class sizes, and which classes are safe with
        the finalized records."""
        if self.radix is not None:
            return self.key_classes(dot(ids, self.radix), w, masks)
        both = [np.concatenate([ids[j], self.ids[:, j]]) for j in range(self.m)]
        cls, uniq = self.keys.factorize(self.keys.exact(both, self.cards))
        size = np.bincount(cls, weights=np.concatenate([w, self.w]), minlength=len(uniq))
        safe = size >= self.k
        if self.witness is not None:
            both_sens = np.concatenate([sens, self.sens])
            safe &= self.witness.diverse(cls, len(uniq), both_sens)
        return cls[: len(w)], size, safe

    def key_classes(
        self, key: np.ndarray, w: np.ndarray, masks: np.ndarray | None = None
    ) -> Classes:
        """:meth:`classes` on the radix path, from each tuple's published key (and witness
        ``masks``, needed when witnesses are asked)."""
        cls, uniq = self.keys.factorize(key)
        size = np.bincount(cls, weights=w, minlength=len(uniq))
        if self.witness is None:
            size += self.sizes(uniq)
            return cls, size, size >= self.k
        assert masks is not None  # witnesses are judged from the tuples' masks
        f_size, f_mask = self.lookup(uniq)
        size += f_size
        own = self.witness.class_masks(cls, len(uniq), masks, w)
        return cls, size, (size >= self.k) & self.witness.ok(own | f_mask)

    def sizes(self, keys: np.ndarray) -> np.ndarray:
        """Records already finalized under each key (radix path), 0 where none."""
        return self.lookup(keys)[0]

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Records already finalized under each key (radix path), 0 where none, and the OR
        of their witness masks (0 where none, or without witnesses).

        Most keys were never finalized: a bitmap over a hash of the finalized
        keys (a one-hash Bloom filter) rules them out at ~1 ns a key, and only
        the rest are looked up exactly.
        """
        out = np.zeros(len(keys), dtype=np.int64)
        masks = np.zeros(len(keys), dtype=np.int64)
        n = len(self.sorted_keys)
        if not n:
            return out, masks
        maybe = np.flatnonzero(self.seen[self._slot(keys)])
        if not maybe.size:
            return out, masks
        keys = keys[maybe]
        if len(keys) > self.hash_lookup:  # hashing is ~5x faster a key, but ~0.1 ms a call
            if self.index is None:
                self.index = pd.Index(self.sorted_keys)
            pos = self.index.get_indexer(keys)
            found = pos >= 0
        else:
            sorted_keys = self.sorted_keys
            pos = np.minimum(np.searchsorted(sorted_keys, keys), n - 1)
            found = sorted_keys[pos] == keys
        out[maybe] = np.where(found, self.size[pos], 0)
        if self.witness is not None:
            masks[maybe] = np.where(found, self.mask[pos], 0)
        return out, masks

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        """A hash of each key into 0 .. 2**bits - 1 (Fibonacci hashing)."""
        return (
            (keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - self.bits)
        ).astype(np.intp)
