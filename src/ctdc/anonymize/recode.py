"""Local recoding by a price sweep over the generalization lattice.

The problem: give every record a published value per quasi-identifier (QI) --
its leaf, an ancestor in the QI's hierarchy, or NA (the root, a suppressed
cell) -- so that every combination of published values occurs at least ``k``
times, losing as little information as possible (Iyengar's loss metric, LM).

A *node* of the lattice is one level per QI. Global recoding publishes every
record at one node; local recoding lets each equivalence class pick its own.
This engine does the latter, greedily, ordered by price:

1. Distinct records (QI leaf codes, plus sensitive codes when l-diversity is
   asked) are collapsed into weighted tuples; everything below works on those.
2. A price ``lam`` rises from 0 to 1. At each price, the candidate nodes are
   those whose *lower bound* -- the cheapest cost any remaining record could
   have there -- is at most ``lam``. The bound is a sum of per-QI minima, so it
   only grows as a node generalizes (monotone): the candidates form a down-set
   of the lattice, enumerated from the bottom in bound order and pruned as
   soon as the bound passes the price (or a node budget is spent).
3. At a node, the remaining records fall into classes (published tuples). A
   class may be *finalized* when, counting the records already finalized with
   the same published tuple, it has at least ``k`` records (and ``l`` distinct
   values of each sensitive column), and its records' mean cell cost is at most
   ``lam``. A node's benefit is ``sum(weight * (next price - cost))`` over the
   classes it would finalize. Nodes are taken in order of benefit with lazy
   re-evaluation (benefits only fall as records leave), and each finalizes its
   classes.
4. What is left after the sweep joins the cheapest finalized class it can be
   generalized into (which keeps that class >= k); what still remains forms an
   all-NA class if there are ``k`` of them, and is removed otherwise. Whole
   records are therefore removed only where no generalization or cell
   suppression could place them: at most ``k - 1`` of them.

Why the output is strictly k-anonymous: a record's published tuple is fixed
when it is finalized, into a class that then has >= ``k`` finalized records;
classes only ever gain records afterwards, and removed records were never
finalized. NA is a value of its own (an input NA leaf publishes NA at every
level), which is exactly the semantics of a SQL ``GROUP BY``.

Determinism: no randomness; ties go to the lower bound, then lattice order.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctdc.anonymize.hierarchy import Encoded

#: prices at which classes are finalized, cheapest first; finer means less loss, more time
PRICES = (0.0, 0.005, 0.01, 0.02, 0.03, 0.045, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3,
          0.4, 0.5, 0.6, 0.8, 1.0)  # fmt: skip
#: most nodes evaluated per price (the cheapest by lower bound); bounds the work on wide lattices
NODE_BUDGET = 4000
_KEY_LIMIT = 1 << 62


@dataclass(frozen=True)
class Recoding:
    """Per input row: the level published for each QI (shape (n, m)), and rows removed."""

    levels: np.ndarray
    removed: np.ndarray


def local_recode(
    columns: list[Encoded],
    allowed: list[tuple[int, ...]],
    k: int,
    *,
    sensitive: list[np.ndarray] | None = None,
    l_div: int = 1,
    prices: tuple[float, ...] | None = None,
    budget: int = NODE_BUDGET,
) -> Recoding:
    """Choose a published level per row and QI; ``allowed[j]`` lists QI j's levels (ascending)."""
    n, m = len(columns[0].codes) if columns else 0, len(columns)
    sens = sensitive or []
    if n == 0:
        return Recoding(np.zeros((0, m), np.int8), np.zeros(0, bool))
    raw = np.stack([c.codes for c in columns] + list(sens), axis=1)
    tuples, weights, inverse = _collapse(raw)
    state = _Sweep(columns, allowed, k, tuples, weights, len(sens), l_div)
    prices = prices or PRICES
    for i, lam in enumerate(prices):
        if not state.remaining.size:
            break
        nxt = prices[i + 1] if i + 1 < len(prices) else lam + 0.05
        state.sweep(lam, nxt, budget)
    state.place_residual()
    levels = state.level[inverse]
    return Recoding(levels, levels[:, 0] < 0 if m else np.zeros(n, bool))


def row_classes(rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Class index per row of ``rows`` ((n, m) non-negative ints; equal rows, equal class)."""
    if not rows.size:
        return np.zeros(len(rows), dtype=np.int64), int(len(rows) > 0)
    cards = [int(rows[:, j].max()) + 1 for j in range(rows.shape[1])]
    inverse, uniques = pd.factorize(_exact_key([rows[:, j] for j in range(rows.shape[1])], cards))
    return inverse, len(uniques)


def _collapse(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``raw`` (small non-negative ints), their counts, and each row's index."""
    inverse, n_unique = row_classes(raw)
    uniques = range(n_unique)
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(raw))[::-1]  # first occurrence of each distinct row
    return raw[first], np.bincount(inverse).astype(np.int64), inverse


def _exact_key(columns: list[np.ndarray], cards: list[int]) -> np.ndarray:
    """One int64 per row, equal iff all columns are equal; re-densifies before overflow."""
    key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    bound = 1
    for col, card in zip(columns, cards, strict=True):
        if bound * card > _KEY_LIMIT:
            key = pd.factorize(key)[0].astype(np.int64)
            bound = int(key.max()) + 1 if key.size else 1
        key = key * card + col
        bound *= card
    return key


class _Sweep:
    """State of the price sweep over the collapsed tuples."""

    def __init__(
        self,
        columns: list[Encoded],
        allowed: list[tuple[int, ...]],
        k: int,
        tuples: np.ndarray,
        weights: np.ndarray,
        n_sensitive: int,
        l_div: int,
    ) -> None:
        self.columns, self.allowed, self.k, self.l_div = columns, allowed, k, l_div
        self.m = len(columns)
        self.leaves = tuples[:, : self.m]
        self.sens = tuples[:, self.m :]
        self.weights = weights
        self.n_sensitive = n_sensitive
        self.level = np.full((len(tuples), self.m), -1, dtype=np.int8)
        self.remaining = np.arange(len(tuples))
        self.cards = [len(c.values) for c in columns]
        # finalized classes: published ids, sensitive codes, weight (duplicates allowed)
        self.f_ids = np.zeros((0, self.m), dtype=np.int64)
        self.f_sens = np.zeros((0, n_sensitive), dtype=np.int64)
        self.f_w = np.zeros(0, dtype=np.int64)
        self.floor: dict[tuple[int, ...], float] = {}  # cheapest safe class cost seen per node

    # -- one node ---------------------------------------------------------------------

    def _publish(self, node: tuple[int, ...], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Published ids (len(rows), m) and mean cell cost per row at ``node`` (level numbers)."""
        ids = np.empty((len(rows), self.m), dtype=np.int64)
        cost = np.zeros(len(rows))
        for j, col in enumerate(self.columns):
            leaf = self.leaves[rows, j]
            ids[:, j] = col.ancestor[node[j], leaf]
            cost += col.cost[node[j], leaf]
        return ids, cost / max(self.m, 1)

    def _classes(self, ids: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class index of each row (joint with finalized classes) and which classes are safe."""
        both = np.concatenate([ids, self.f_ids])
        key = _exact_key([both[:, j] for j in range(self.m)], self.cards)
        cls, uniq = pd.factorize(key)
        w = np.concatenate([self.weights[rows], self.f_w])
        safe = np.bincount(cls, weights=w, minlength=len(uniq)) >= self.k
        if self.n_sensitive and self.l_div > 1:
            sens = np.concatenate([self.sens[rows], self.f_sens])
            for s in range(self.n_sensitive):
                known = sens[:, s] > 0
                pairs = pd.unique(cls[known].astype(np.int64) * (int(sens[:, s].max()) + 1)
                                  + sens[known, s])  # fmt: skip
                distinct = np.bincount(pairs // (int(sens[:, s].max()) + 1), minlength=len(uniq))
                safe &= distinct >= self.l_div
        return cls[: len(rows)], safe

    def _evaluate(self, node: tuple[int, ...], lam: float, nxt: float) -> tuple[float, np.ndarray]:
        """Benefit of finalizing at ``node`` now, and the mask of remaining tuples it finalizes.

        Also caches the cheapest safe class cost at ``node``: as records leave,
        safe classes only disappear, so that floor only rises and a node whose
        floor is above the price can be skipped without evaluating it.
        """
        rows = self.remaining
        ids, cost = self._publish(node, rows)
        cls, safe = self._classes(ids, rows)
        w = self.weights[rows]
        n_cls = len(safe)
        mean_cost = np.bincount(cls, weights=w * cost, minlength=n_cls) / np.maximum(
            np.bincount(cls, weights=w, minlength=n_cls), 1
        )
        present = np.zeros(n_cls, dtype=bool)
        present[cls] = True
        safe_costs = mean_cost[safe & present]
        self.floor[node] = float(safe_costs.min()) if safe_costs.size else np.inf
        take = (safe & (mean_cost <= lam + 1e-12))[cls]
        return float((w[take] * (nxt - cost[take])).sum()), take

    def _finalize(self, node: tuple[int, ...], take: np.ndarray) -> None:
        rows = self.remaining[take]
        ids, _ = self._publish(node, rows)
        self.level[rows] = node
        # Keep one row per distinct (published tuple, sensitive codes), weights summed.
        both = np.concatenate([np.concatenate([self.f_ids, ids]),
                               np.concatenate([self.f_sens, self.sens[rows]])], axis=1)  # fmt: skip
        w = np.concatenate([self.f_w, self.weights[rows]])
        cls, n_cls = row_classes(both)
        first = np.full(n_cls, -1, dtype=np.int64)
        first[cls[::-1]] = np.arange(len(cls))[::-1]
        self.f_ids = both[first, : self.m]
        self.f_sens = both[first, self.m :]
        self.f_w = np.bincount(cls, weights=w).astype(np.int64)
        self.remaining = self.remaining[~take]

    # -- one price --------------------------------------------------------------------

    def sweep(self, lam: float, nxt: float, budget: int) -> None:
        """Finalize, node by node (best benefit first, lazily re-evaluated), at price ``lam``."""
        heap: list[tuple[float, int, tuple[int, ...]]] = []
        for order, node in enumerate(self._candidates(lam, budget)):
            if self.floor.get(node, 0.0) > lam + 1e-12:
                continue
            benefit, _ = self._evaluate(node, lam, nxt)
            if benefit > 0:
                heap.append((-benefit, order, node))
        heapq.heapify(heap)
        while heap and self.remaining.size:
            _, order, node = heapq.heappop(heap)
            benefit, take = self._evaluate(node, lam, nxt)
            if benefit <= 0:
                continue
            if heap and benefit < -heap[0][0]:
                heapq.heappush(heap, (-benefit, order, node))  # stale: someone else may be better
                continue
            self._finalize(node, take)

    def _candidates(self, lam: float, budget: int) -> list[tuple[int, ...]]:
        """Nodes whose lower bound is <= ``lam``, cheapest bound first, at most ``budget``.

        The bound of a node is the mean over QIs of the cheapest cell cost any
        remaining record has at that QI's level. It is additive and grows with
        every level step, so a best-first walk up from the bottom visits the
        down-set {bound <= lam} in bound order and never needs the rest.
        """
        rows = self.remaining
        floors = []
        for j, col in enumerate(self.columns):
            present = np.unique(self.leaves[rows, j])
            per_level = col.cost[:, present].min(axis=1)
            floors.append([float(per_level[a]) / self.m for a in self.allowed[j]])
        start = tuple(0 for _ in self.columns)
        bound0 = sum(f[0] for f in floors)
        heap = [(bound0, start)]
        seen = {start}
        out: list[tuple[int, ...]] = []
        while heap and len(out) < budget:
            bound, idx = heapq.heappop(heap)
            if bound > lam + 1e-12:
                break
            out.append(tuple(self.allowed[j][a] for j, a in enumerate(idx)))
            for j in range(self.m):
                if idx[j] + 1 < len(self.allowed[j]):
                    nxt = (*idx[:j], idx[j] + 1, *idx[j + 1 :])
                    if nxt not in seen:
                        seen.add(nxt)
                        step = floors[j][idx[j] + 1] - floors[j][idx[j]]
                        heapq.heappush(heap, (bound + step, nxt))
        return out

    # -- what is left ---------------------------------------------------------------

    def place_residual(self) -> None:
        """Join the cheapest finalized class each leftover can generalize into; else all-NA."""
        rows = self.remaining
        if rows.size and self.f_w.size:
            classes, f_first = np.unique(self.f_ids, axis=0, return_index=True)
            del f_first
            best_cost = np.full(len(rows), np.inf)
            best_class = np.full(len(rows), -1)
            best_levels = np.zeros((len(rows), self.m), dtype=np.int8)
            # cost and level of matching class c at QI j, per leftover row: (rows, classes)
            total = np.zeros((len(rows), len(classes)))
            levels = np.zeros((len(rows), len(classes), self.m), dtype=np.int8)
            fits = np.ones((len(rows), len(classes)), dtype=bool)
            for j, col in enumerate(self.columns):
                leaf = self.leaves[rows, j]
                match = np.zeros((len(rows), len(classes)), dtype=bool)
                for a in self.allowed[j]:
                    hit = col.ancestor[a, leaf][:, None] == classes[None, :, j]
                    new = hit & ~match
                    total += np.where(new, col.cost[a, leaf][:, None], 0.0)
                    levels[:, :, j] = np.where(new, a, levels[:, :, j])
                    match |= hit
                fits &= match
            total = np.where(fits, total, np.inf)
            if len(classes):
                best_class = total.argmin(axis=1)
                best_cost = total[np.arange(len(rows)), best_class]
                best_levels = levels[np.arange(len(rows)), best_class]
            ok = np.isfinite(best_cost)
            self.level[rows[ok]] = best_levels[ok]
            self.remaining = rows[~ok]
        rows = self.remaining
        if rows.size and self.weights[rows].sum() >= self.k:
            top = tuple(col.levels - 1 for col in self.columns)
            _, take = self._evaluate(top, 1.0, 1.05)
            if take.any():
                self._finalize(top, take)
