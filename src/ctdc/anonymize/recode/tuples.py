"""The tuples still to place: their leaves, weights, and published ids and costs per level.

Distinct records are collapsed into weighted tuples before the search. The
remaining ones are kept as per-QI tables (``anc[j][level]``, ``cost[j][level]``,
views of two stacked arrays), so publishing every remaining tuple at a node is m
row lookups. Placed tuples are dropped by :meth:`Tuples.compact`, which starts a
new *generation*; ``since`` lets a cache built in an earlier generation find its
tuples in the current one.
"""

from __future__ import annotations

import itertools

import numpy as np

from ctdc.anonymize.hierarchy import Encoded


class Tuples:
    """The remaining tuples' tables (see the module docstring)."""

    def __init__(
        self,
        columns: list[Encoded],
        tuples: np.ndarray,
        weights: np.ndarray,
        m: int,
        masks: np.ndarray,
    ) -> None:
        self.columns = columns
        self.m = m
        self.remaining = np.arange(len(tuples))  # index of each into the collapsed tuples
        self.leaves = tuples[:, :m]
        self.sens = tuples[:, m:]  # witness codes (:mod:`.witness`)
        self.mask = masks  # the same packed in one int64 (all 0 without witnesses)
        self.weights = weights.copy()  # finalized tuples may get weight 0 until compacted
        # every QI's levels stacked in one table (compacting 2 arrays is ~5x faster than 2m)
        at_leaves = list(enumerate(columns))
        self.anc_all = np.concatenate([c.ancestor[:, self.leaves[:, j]] for j, c in at_leaves])
        self.cost_all = np.concatenate([c.cost[:, self.leaves[:, j]] for j, c in at_leaves])
        self.cost_all /= max(m, 1)
        self.gen = 0  # generation of the tables: +1 at every compaction
        self.since: dict[int, np.ndarray] = {}  # per past generation: its index of each tuple
        self._split()

    def publish(self, node: tuple[int, ...]) -> tuple[list[np.ndarray], np.ndarray]:
        """Published ids per QI and mean cell cost of every remaining tuple at ``node``."""
        ids = [self.anc[j][lv] for j, lv in enumerate(node)]
        cost = self.cost[0][node[0]].copy()
        for j in range(1, self.m):
            cost += self.cost[j][node[j]]
        return ids, cost

    def ids_at(self, levels: np.ndarray) -> list[np.ndarray]:
        """Published ids per QI of every remaining tuple at its own levels ((r, m) array)."""
        idx = np.arange(len(self.weights))
        return [self.anc[j][levels[:, j], idx] for j in range(self.m)]

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the ``keep`` tuples in every table: a new generation."""
        kept = np.flatnonzero(keep)
        self.since = {g: idx[kept] for g, idx in self.since.items() if g >= self.gen - 1}
        self.since[self.gen] = kept
        self.gen += 1
        self.remaining = self.remaining[keep]
        self.leaves, self.sens, self.weights, self.mask = (
            self.leaves[keep],
            self.sens[keep],
            self.weights[keep],
            self.mask[keep],
        )
        self.anc_all, self.cost_all = self.anc_all[:, keep], self.cost_all[:, keep]
        self._split()

    def _split(self) -> None:
        """``anc[j]``, ``cost[j]``: views of QI j's rows of the stacked tables."""
        bounds = list(itertools.pairwise(np.cumsum([0] + [c.levels for c in self.columns])))
        self.anc = [self.anc_all[a:b] for a, b in bounds]
        self.cost = [self.cost_all[a:b] for a, b in bounds]
