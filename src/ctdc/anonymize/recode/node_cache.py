"""A node's classes over the remaining tuples, cached and rolled up from a child node.

On the radix path a node's classes are a class id per tuple, the published
tuple of each class as one mixed-radix key, and each tuple's mean cell cost.
They are computed once per generation of the tuple tables. A node one level
above a cached child is *rolled up*: a child one level lower in QI j has finer
classes that merge, so only the child's classes (not the tuples) are re-keyed.
That works because a hierarchy is a tree: a value's ancestor is the same
whatever leaf it came from. After a compaction a cached node is *carried* to
the new tables (two gathers), which is cheaper than rolling up again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctdc.anonymize.hierarchy import Encoded
from ctdc.anonymize.recode.keys import Keys, dot
from ctdc.anonymize.recode.tuples import Tuples


@dataclass(frozen=True)
class NodeClasses:
    """One node's classes over the tuples of one generation of the tables (radix path)."""

    cls: np.ndarray  # class of each tuple
    key: np.ndarray  # published tuple of each class, as its mixed-radix key
    cost: np.ndarray  # mean cell cost of each tuple at the node
    gen: int  # the generation of the tables these tuples are

    @property
    def nbytes(self) -> int:
        return int(self.cls.nbytes + self.key.nbytes + self.cost.nbytes)


class NodeCache:
    """Node classes by node, within a memory budget (see the module docstring)."""

    def __init__(
        self,
        tuples: Tuples,
        columns: list[Encoded],
        allowed: list[tuple[int, ...]],
        radix: np.ndarray,
        keys: Keys,
        budget: int,
    ) -> None:
        self.tuples, self.columns, self.allowed = tuples, columns, allowed
        self.radix, self.keys, self.budget = radix, keys, budget
        self.cards = [len(c.values) for c in columns]
        self.nodes: dict[tuple[int, ...], NodeClasses] = {}
        self.bytes = 0
        self.lifts: dict[tuple[int, int, int], np.ndarray] = {}  # see lift()

    def classes(self, node: tuple[int, ...]) -> NodeClasses:
        """The classes at ``node``, from the cache, rolled up from a cached child, or fresh."""
        got = self.nodes.get(node)
        if got is not None:
            return got if got.gen == self.tuples.gen else self._carry(node, got)
        tables = self.tuples
        for j, lv in enumerate(node):
            a = self.allowed[j].index(lv)
            child = self._cached((*node[:j], self.allowed[j][a - 1], *node[j + 1 :])) if a else None
            if child is not None:
                low = self.allowed[j][a - 1]
                ids = child.key // self.radix[j] % self.cards[j]  # QI j's value in each class
                shift = self.lift(j, low, lv)[ids] - ids
                merged, key = self.keys.factorize(child.key + shift * self.radix[j])
                cost = child.cost + (tables.cost[j][lv] - tables.cost[j][low])
                got = NodeClasses(merged[child.cls], key, cost, tables.gen)
                break
        else:
            ids, cost = tables.publish(node)
            cls, key = self.keys.factorize(dot(ids, self.radix))
            got = NodeClasses(cls, key, cost, tables.gen)
        if self.bytes + got.nbytes <= self.budget:
            self.nodes[node] = got
            self.bytes += got.nbytes
        return got

    def clear(self) -> None:
        self.nodes.clear()
        self.bytes = 0

    def prune(self) -> None:
        """After a compaction: drop the nodes cached two generations ago or earlier."""
        self.nodes = {n: c for n, c in self.nodes.items() if c.gen >= self.tuples.gen - 2}
        self.bytes = sum(c.nbytes for c in self.nodes.values())

    def lift(self, j: int, low: int, high: int) -> np.ndarray:
        """QI j's published id at level ``high`` of each id at level ``low`` (a tree: one)."""
        got = self.lifts.get((j, low, high))
        if got is None:
            anc = self.columns[j].ancestor
            got = np.zeros(self.cards[j], dtype=np.int64)
            got[anc[low]] = anc[high]
            self.lifts[(j, low, high)] = got
        return got

    def _cached(self, node: tuple[int, ...]) -> NodeClasses | None:
        got = self.nodes.get(node)
        return got if got is None or got.gen == self.tuples.gen else self._carry(node, got)

    def _carry(self, node: tuple[int, ...], old: NodeClasses) -> NodeClasses:
        """A node cached in an earlier generation, brought to the current tuples: two
        gathers, and classes left empty dropped (renumbered by rank, no hashing)."""
        idx = self.tuples.since[old.gen]
        cls, cost, key = old.cls[idx], old.cost[idx], old.key
        if len(key) > 2 * len(cls):
            used = np.bincount(cls, minlength=len(key)) > 0
            cls, key = (np.cumsum(used) - 1)[cls], key[used]
        got = NodeClasses(cls, key, cost, self.tuples.gen)
        self.nodes[node] = got
        self.bytes += got.nbytes - old.nbytes
        return got
