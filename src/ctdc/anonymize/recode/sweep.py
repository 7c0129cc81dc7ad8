"""The price sweep: finalize classes node by node, cheapest loss first.

A price ``lam`` rises through :attr:`~.tuning.Tuning.prices`. At each price the
candidate nodes are those whose lower bound is at most ``lam``
(:class:`~.lattice.Lattice`). At a node, the remaining records fall into
classes; a class may be finalized when it is safe (:mod:`.finalized`) and its
records' mean cell cost is at most ``lam``. A node's benefit is
``sum(weight * (next price - cost))`` over the classes it would finalize. Nodes
are taken in order of benefit with lazy re-evaluation (benefits mostly fall as
records leave), and each finalizes its classes.
"""

from __future__ import annotations

import heapq

import numpy as np

from ctdc.anonymize.recode.lattice import Lattice, Node
from ctdc.anonymize.recode.placement import Placement
from ctdc.anonymize.recode.tuning import Tuning


class Sweep:
    """One sweep over the prices, on a :class:`~.placement.Placement`."""

    def __init__(self, placement: Placement, lattice: Lattice, tuning: Tuning) -> None:
        self.p, self.lattice, self.tuning = placement, lattice, tuning
        self.floor: dict[Node, float] = {}  # cheapest safe class cost seen per node
        self.handed_over = False

    def run(self, *, handover: bool) -> None:
        """The sweep over the prices, leaving what it cannot place to the climb.

        With ``handover``, the sweep stops after ``idle_prices`` prices in a row that
        each finalized less than ``idle_share`` of the remaining records: on wide
        lattices nodes rarely fit whole classes and the climb does better, faster.
        Past ``tail_price``, once under ``tail_share`` of the records remain, it
        stops too: the outliers left are the climb's.
        """
        tuning, weights = self.tuning, self.p.weights
        prices = tuning.prices
        idle = 0
        self.handed_over = False
        records = int(weights.sum())
        for i, lam in enumerate(prices):
            weights = self.p.weights
            live = int(np.count_nonzero(weights))
            if not live or (
                lam > tuning.tail_price and weights.sum() < tuning.tail_share * records
            ):
                break
            if handover and idle >= tuning.idle_prices:
                self.handed_over = True
                break
            before = int(weights.sum())
            nxt = prices[i + 1] if i + 1 < len(prices) else lam + 0.05
            self.at_price(lam, nxt, max(16, min(tuning.node_cap, tuning.cell_budget // live)))
            done = before - int(self.p.weights.sum())
            idle = idle + 1 if done < tuning.idle_share * before else 0

    def at_price(self, lam: float, nxt: float, budget: int) -> None:
        """Finalize, node by node (best benefit first, lazily re-evaluated), at price ``lam``.

        Finalizing records mostly lowers the other nodes' benefits, so a stale
        benefit is treated as an upper bound (a heuristic: a class can also
        become safe by joining records finalized elsewhere): the top entry is
        taken when its benefit is current (scored since the last finalization),
        else the stale entries at the top are re-scored together, ``rescore`` at
        a time, and pushed back.
        """
        live = self.p.tuples.leaves[self.p.weights > 0]
        nodes = [
            n
            for n in self.lattice.candidates(live, lam, budget)
            if self.floor.get(n, 0.0) <= lam + 1e-12
        ]
        scores = self._score(nodes, lam, nxt)
        version = 0  # finalizations so far at this price
        pairs = enumerate(zip(nodes, scores, strict=True))
        heap = [(-b, i, node, version) for i, (node, b) in pairs if b > 0]
        heapq.heapify(heap)
        while heap and self.p.weights.any():
            if heap[0][3] != version:
                stale: list[tuple[float, int, Node, int]] = []
                while heap and heap[0][3] != version and len(stale) < self.tuning.rescore:
                    stale.append(heapq.heappop(heap))
                fresh = self._score([e[2] for e in stale], lam, nxt)
                for (_, order, node, _), b in zip(stale, fresh, strict=True):
                    if b > 0:
                        heapq.heappush(heap, (-b, order, node, version))
                continue
            node = heapq.heappop(heap)[2]
            benefit, take = self._evaluate(node, lam, nxt)
            if benefit > 0:
                self.p.finalize(node, take)
                version += 1

    def _evaluate(self, node: Node, lam: float, nxt: float) -> tuple[float, np.ndarray]:
        """Benefit of finalizing at ``node`` now, and the mask of remaining tuples it finalizes.

        Also caches the cheapest safe class cost at ``node``: as records leave,
        safe classes only disappear, so that floor only rises and a node whose
        floor is above the price can be skipped without evaluating it.
        """
        p, w = self.p, self.p.weights
        if p.cache is not None:
            c = p.cache.classes(node)
            total = np.bincount(c.cls, weights=w, minlength=len(c.key))
            spent = np.bincount(c.cls, weights=w * c.cost, minlength=len(c.key))
            own = self._masks(c.cls, len(c.key), p.tuples.mask, w)
            safe, mean, take = self._judge(total, spent, c.key, lam, own)
            self.floor[node] = float(mean[safe].min()) if safe.any() else np.inf
            benefit = float(nxt * total[take].sum() - spent[take].sum())
            return benefit, take[c.cls] & (w > 0)
        ids, cost = p.tuples.publish(node)
        cls, _, safe = p.classes(ids)
        n_cls = len(safe)
        total = np.bincount(cls, weights=w, minlength=n_cls)
        mean_cost = np.bincount(cls, weights=w * cost, minlength=n_cls) / np.maximum(total, 1)
        safe_costs = mean_cost[safe & (total > 0)]
        self.floor[node] = float(safe_costs.min()) if safe_costs.size else np.inf
        take = (safe & (mean_cost <= lam + 1e-12))[cls]
        return float((w[take] * (nxt - cost[take])).sum()), take

    def _masks(
        self, cls: np.ndarray, n_cls: int, masks: np.ndarray, w: np.ndarray
    ) -> np.ndarray | None:
        """Witness mask of each class (None when no witnesses are asked)."""
        witness = self.p.witness
        return None if witness is None else witness.class_masks(cls, n_cls, masks, w)

    def _judge(
        self,
        total: np.ndarray,
        spent: np.ndarray,
        keys: np.ndarray,
        lam: float,
        own: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per class (remaining weight ``total``, its summed cell cost ``spent``, published
        ``keys``, witness masks ``own``): safe (>= k and its witnesses, with the finalized
        records), mean cell cost, finalized at price ``lam``. A class of finalized tuples
        only (weight 0) is gone."""
        held = total > 0
        finalized, witness = self.p.finalized, self.p.witness
        if witness is None or own is None:
            safe = held & (total + finalized.sizes(keys) >= self.p.k)
        else:
            f_size, f_mask = finalized.lookup(keys)
            safe = held & (total + f_size >= self.p.k) & witness.ok(own | f_mask)
        mean = spent / np.where(held, total, 1.0)
        return safe, mean, safe & (mean <= lam + 1e-12)

    def _per_node(
        self,
        total: np.ndarray,
        spent: np.ndarray,
        keys: np.ndarray,
        first: np.ndarray,
        lam: float,
        nxt: float,
        own: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Benefit and floor of each of many nodes whose classes are consecutive runs of
        the class arrays, node i's starting at ``first[i]`` (``own``: witness masks)."""
        safe, mean, take = self._judge(total, spent, keys, lam, own)
        floor = np.minimum.reduceat(np.where(safe, mean, np.inf), first)
        gain = np.where(take, nxt * total - spent, 0.0)
        return np.add.reduceat(gain, first), floor

    def _score(self, nodes: list[Node], lam: float, nxt: float) -> list[float]:
        """Benefits of many nodes at once (what ``_evaluate`` gives one by one).

        On the radix path the nodes are evaluated in batches: one key matrix
        (nodes x tuples) offset per node, one factorization, bincounts per node.
        That replaces hundreds of small calls by a few large ones, which is most
        of the work when few tuples remain and many nodes qualify.
        """
        p, tuning = self.p, self.tuning
        r = len(p.weights)
        limit = p.keys.limit
        span = int(p.radix[0]) * p.cards[0] if p.radix is not None and p.m else 0
        if not nodes or not r or not span or span > limit:
            return [self._evaluate(node, lam, nxt)[0] for node in nodes]
        step = max(1, min(tuning.batch_cells // r, limit // span))  # node offsets stay in int64
        batches = [nodes[i : i + step] for i in range(0, len(nodes), step)]
        if r >= tuning.per_node:
            results = [self._score_cached(batch, lam, nxt) for batch in batches]
        else:
            results = [self._score_batch(np.array(b, np.int64), lam, nxt, span) for b in batches]
        benefit, floor = (np.concatenate(x) for x in zip(*results, strict=True))
        self.floor.update(zip(nodes, floor.tolist(), strict=True))
        return list(benefit.tolist())

    def _score_cached(
        self, nodes: list[Node], lam: float, nxt: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Benefit and floor of each node from its (cached) classes: no tuple is re-hashed."""
        cache, w = self.p.cache, self.p.weights
        assert cache is not None  # span > 0 only on the radix path
        got = [cache.classes(node) for node in nodes]
        r = len(w)
        n_cls = np.array([len(c.key) for c in got])
        first = np.concatenate([[0], np.cumsum(n_cls)[:-1]])
        cls = np.concatenate([c.cls for c in got]) + np.repeat(first, r)
        w = np.tile(w, len(got))
        total = np.bincount(cls, weights=w, minlength=int(n_cls.sum()))
        spent = np.bincount(cls, weights=w * np.concatenate([c.cost for c in got]),
                            minlength=int(n_cls.sum()))  # fmt: skip
        keys = np.concatenate([c.key for c in got])
        own = self._masks(cls, len(keys), np.tile(self.p.tuples.mask, len(got)), w)
        return self._per_node(total, spent, keys, first, lam, nxt, own)

    def _score_batch(
        self, batch: np.ndarray, lam: float, nxt: float, span: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Benefit and floor (cheapest safe class) of each node of ``batch`` (c x m levels)."""
        p, t = self.p, self.p.tuples
        assert p.radix is not None  # span > 0 only on the radix path
        c, r = len(batch), len(t.weights)
        key = np.repeat(np.arange(c, dtype=np.int64) * span, r).reshape(c, r)
        cost = np.zeros((c, r))
        for j in range(p.m):
            key += t.anc[j][batch[:, j]] * p.radix[j]
            cost += t.cost[j][batch[:, j]]
        cls, uniq = p.keys.factorize(key.ravel())
        w = np.tile(t.weights, c)
        total = np.bincount(cls, weights=w)
        spent = np.bincount(cls, weights=w * cost.ravel())
        # factorize numbers classes in order of first appearance, and the key matrix is
        # node-major, so each node's classes are one contiguous run of class ids
        starts = np.searchsorted(uniq // span, np.arange(c))
        own = self._masks(cls, len(uniq), np.tile(t.mask, c), w)
        return self._per_node(total, spent, uniq % span, starts, lam, nxt, own)
