"""The generalization lattice: which nodes the sweep may afford at a price, cheapest first.

A node is one allowed level per QI. Its *lower bound* is the mean over QIs of
the cheapest cell cost any remaining record has at that QI's level. The bound
is additive and grows with every level step, so the nodes under a price form a
down-set of the lattice. A lattice of at most ``lattice_grid`` nodes is
filtered whole, in numpy; a larger one is walked best-first from the bottom,
which visits the down-set in bound order and never needs the rest.

The walk depends only on the per-QI minima, which change only when the last
remaining record with some leaf is placed; until then one walk serves every
price (and both runs of a small input), resumed where the last price stopped.
On a wide lattice (17 QIs) and a tiny input that is most of the engine's time.
"""

from __future__ import annotations

import bisect
import heapq

import numpy as np

from ctdc.anonymize.hierarchy import Encoded

#: a node as the level of each QI
Node = tuple[int, ...]


class _Walk:
    """The best-first walk for one set of per-QI minima: nodes popped so far, in order.

    A node is coded as one int, its indexes into ``allowed`` in mixed radix with the
    first QI most significant, so that ties on the bound go to lattice order as they
    would for the tuples of indexes, at a fraction of the cost of building tuples.
    """

    def __init__(self, floors: list[np.ndarray], allowed: list[tuple[int, ...]]) -> None:
        self.allowed = allowed
        self.sizes = [len(a) for a in allowed]
        self.stride = [1] * len(allowed)
        for j in range(len(allowed) - 2, -1, -1):
            self.stride[j] = self.stride[j + 1] * self.sizes[j + 1]
        # each step's bound increase, as Python floats (the same values numpy would give)
        self.steps = [[float(f[i + 1] - f[i]) for i in range(len(f) - 1)] for f in floors]
        self.heap = [(float(sum(f[0] for f in floors)), 0)]
        self.seen = {0}
        self.bounds: list[float] = []  # of the nodes popped, in order
        self.nodes: list[Node] = []
        self.ordered = True  # so far; costs only rise with a level, so it stays so

    def take(self, lam: float, budget: int) -> list[Node]:
        """The first nodes popped, up to ``budget``, stopping at the first bound over ``lam``."""
        while (
            len(self.nodes) < budget
            and self.heap
            and (not self.bounds or self.bounds[-1] <= lam + 1e-12)
        ):
            self._pop()
        if self.ordered:  # bounds never fall along the walk: the cut is a bisection
            return self.nodes[: min(budget, bisect.bisect_right(self.bounds, lam + 1e-12))]
        out: list[Node] = []
        for bound, node in zip(self.bounds, self.nodes, strict=True):
            if len(out) >= budget or bound > lam + 1e-12:
                break
            out.append(node)
        return out

    def _pop(self) -> None:
        bound, code = heapq.heappop(self.heap)
        self.ordered = self.ordered and (not self.bounds or bound >= self.bounds[-1])
        self.bounds.append(bound)
        node = [0] * len(self.sizes)
        rest = code
        for j in range(len(self.sizes) - 1, -1, -1):
            rest, a = divmod(rest, self.sizes[j])
            node[j] = self.allowed[j][a]
            if a + 1 < self.sizes[j]:
                nxt = code + self.stride[j]
                if nxt not in self.seen:
                    self.seen.add(nxt)
                    heapq.heappush(self.heap, (bound + self.steps[j][a], nxt))
        self.nodes.append(tuple(node))


class Lattice:
    """Candidate nodes by lower bound (see the module docstring)."""

    def __init__(
        self, columns: list[Encoded], allowed: list[tuple[int, ...]], grid_limit: int
    ) -> None:
        self.columns, self.allowed = columns, allowed
        self.m = len(columns)
        sizes = [len(a) for a in allowed]
        self.grid: np.ndarray | None = None  # every node as indexes into allowed, if small
        if float(np.prod([float(x) for x in sizes])) <= grid_limit:
            mesh = np.meshgrid(*[np.arange(x, dtype=np.int64) for x in sizes], indexing="ij")
            self.grid = np.stack([g.ravel() for g in mesh], axis=1)
        self._walk: tuple[bytes, _Walk] | None = None

    def candidates(self, live: np.ndarray, lam: float, budget: int) -> list[Node]:
        """Nodes whose lower bound over the ``live`` leaves ((r, m) codes) is <= ``lam``,
        cheapest bound first (then lattice order), at most ``budget``."""
        floors = []
        for j, col in enumerate(self.columns):
            present = np.bincount(live[:, j], minlength=col.cost.shape[1]) > 0
            per_level = col.cost[:, present].min(axis=1)
            floors.append(per_level[list(self.allowed[j])] / self.m)
        if self.grid is not None:
            return self._filter(floors, lam, budget)
        signature = b"".join(f.tobytes() for f in floors)
        if self._walk is None or self._walk[0] != signature:
            self._walk = (signature, _Walk(floors, self.allowed))
        return self._walk[1].take(lam, budget)

    def _filter(self, floors: list[np.ndarray], lam: float, budget: int) -> list[Node]:
        grid = self.grid
        assert grid is not None
        bound = floors[0][grid[:, 0]]
        for j in range(1, self.m):
            bound = bound + floors[j][grid[:, j]]
        inside = np.flatnonzero(bound <= lam + 1e-12)
        # bound first, then lattice order (grid rows are in lexicographic order)
        order = inside[np.argsort(np.round(bound[inside], 9), kind="stable")][:budget]
        levels = np.stack(
            [np.asarray(self.allowed[j])[grid[order, j]] for j in range(self.m)], axis=1
        )
        return list(map(tuple, levels.tolist()))
