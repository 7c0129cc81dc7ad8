"""The levels chosen so far for every tuple, and the one way a choice is made final.

A :class:`Placement` ties the search's collaborators together: the remaining
tuples (:class:`~.tuples.Tuples`), the finalized classes
(:class:`~.finalized.Finalized`) and, on the radix path, the node-class cache
(:class:`~.node_cache.NodeCache`). The sweep, the climb and the reopen all place
tuples through :meth:`Placement.finalize`, which keeps the three consistent.

On the radix path finalized tuples only get weight 0, so the tables and the
cached node classes stay valid; the tables are compacted (a new generation)
once fewer than ``compact_share`` of their tuples remain. Otherwise the tables
are compacted at every finalization.
"""

from __future__ import annotations

import numpy as np

from ctdc.anonymize.hierarchy import Encoded
from ctdc.anonymize.recode.finalized import Classes, Finalized
from ctdc.anonymize.recode.keys import Keys
from ctdc.anonymize.recode.node_cache import NodeCache
from ctdc.anonymize.recode.tuning import Tuning
from ctdc.anonymize.recode.tuples import Tuples
from ctdc.anonymize.recode.witness import Witnesses


class Placement:
    """Per collapsed tuple, its level for each QI once finalized (-1 while not)."""

    def __init__(
        self,
        columns: list[Encoded],
        allowed: list[tuple[int, ...]],
        k: int,
        tuples: np.ndarray,
        weights: np.ndarray,
        witness: Witnesses | None,
        tuning: Tuning,
    ) -> None:
        self.columns, self.allowed, self.k, self.tuning = columns, allowed, k, tuning
        self.m = m = len(columns)
        self.keys = Keys(tuning.key_limit, tuning.pandas_hash_table)
        self.level = np.full((len(tuples), m), -1, dtype=np.int8)
        self.cards = [len(c.values) for c in columns]
        # witnesses (l-diversity, protected flags) stay on the radix path while their codes
        # pack into one int64 mask per tuple; wider ones need the finalized classes whole
        self.witness = witness
        packed = witness is None or witness.packed
        self.radix = self.keys.radix(self.cards) if packed else None
        self.all_leaves, self.all_weights = tuples[:, :m], weights  # never compacted
        self.all_sens = tuples[:, m:]
        masks = (
            witness.masks(tuples[:, m:])
            if witness is not None and packed
            else np.zeros(len(tuples), dtype=np.int64)
        )
        self.tuples = Tuples(columns, tuples, weights, m, masks)
        self.finalized = Finalized(m, witness, k, self.cards, self.radix, self.keys, tuning)
        self.cache = (
            NodeCache(self.tuples, columns, allowed, self.radix, self.keys, tuning.cache_bytes)
            if self.radix is not None
            else None
        )

    @property
    def weights(self) -> np.ndarray:
        """Weight of each remaining tuple (0 once finalized, until compacted)."""
        return self.tuples.weights

    def classes(self, ids: list[np.ndarray]) -> Classes:
        """Class of each remaining tuple published as ``ids``, sizes, safe classes."""
        t = self.tuples
        return self.finalized.classes(ids, t.weights, t.sens, t.mask)

    def finalize(
        self, node: tuple[int, ...] | np.ndarray, take: np.ndarray, *, lazy: bool = True
    ) -> None:
        """Fix the levels of the ``take`` tuples (one node, or per-tuple levels) for good."""
        t = self.tuples
        if isinstance(node, np.ndarray):
            rows = np.flatnonzero(take)  # only the taken tuples' ids are needed
            taken = [t.anc[j][node[rows, j], rows] for j in range(self.m)]
            self.level[t.remaining[take]] = node[take]
        else:
            taken = [t.anc[j][lv][take] for j, lv in enumerate(node)]
            self.level[t.remaining[take]] = node
        self.finalized.add(taken, t.weights[take], t.sens[take], t.mask[take])
        if lazy and self.radix is not None:
            t.weights[take] = 0
            live = t.weights > 0
            if np.count_nonzero(live) < self.tuning.compact_share * len(live):
                self.compact(live)
        else:
            self.compact(~take)

    def compact(self, keep: np.ndarray) -> None:
        """Drop the tuples no longer remaining; cached node classes follow when next used."""
        self.tuples.compact(keep)
        if self.cache is not None:
            self.cache.prune()

    def loss(self) -> float:
        """Total loss (LM numerator) of the finished placement over the collapsed tuples."""
        kept = self.level[:, 0] >= 0 if self.m else np.zeros(len(self.level), bool)
        total = float(self.all_weights[~kept].sum()) * self.m
        for j, col in enumerate(self.columns):
            cost = col.cost[self.level[kept, j], self.all_leaves[kept, j]]
            total += float((cost * self.all_weights[kept]).sum())
        return total

    def removed(self) -> int:
        """Records never finalized (removed)."""
        return int(self.all_weights[self.level[:, 0] < 0].sum()) if self.m else 0
