"""The repair: classes that lack witnesses (or records) merge with the class cheapest to join.

With witnesses asked (:mod:`.witness`), the search can strand records: classes
are finalized whole, so the few records with a rare sensitive value (or a flag
not TRUE) are taken by the first classes that need them, and the rest -- all
``<=50K`` on Adult, all TRUE on a flag -- can never be safe on their own. The
reopen would remove such a record whenever widening a class costs more than
removing it; that is a choice of cost, not an impossibility, and it removed
hundreds of records on Adult. Here nothing is removed for cost: every class
that is unsafe (fewer than ``k`` records, or missing witnesses) -- a leftover
tuple is a class of its own -- merges with the class that makes the union safe
at the least added loss. Two classes merge by publishing both, per QI, at the
lowest allowed level (not below any member's) where their values meet; since a
hierarchy is a tree, a class's cost at a level is then its weight times the
cost of one value, so each step is a few vector operations over the classes.

When no single partner makes a class safe, it merges with the cheapest partner
that adds what it lacks, and tries again; only a class that no merge can make
safe (the whole input lacks the witnesses) is left unplaced, and so removed.
Unsafe classes are taken smallest first, ties by published tuple, so the result
depends on the data, not on the order of the rows.
"""

from __future__ import annotations

import heapq

import numpy as np

from ctdc.anonymize.hierarchy import Encoded
from ctdc.anonymize.recode.keys import Keys, first_index
from ctdc.anonymize.recode.witness import Witnesses

#: a way to fix an unsafe class: (added loss, fixes it alone, is a steal, partner class or
#: stolen tuple, the class's new level indexes, its new cost, the stolen tuple's new cost)
_Option = tuple[float, bool, bool, int, np.ndarray, float, float]

#: QIs with at most this many leaves get a leaf x leaf table of the level where two meet
_MEET_TABLE = 1024


def repair(
    columns: list[Encoded],
    allowed: list[tuple[int, ...]],
    k: int,
    witness: Witnesses,
    keys: Keys,
    tuples: np.ndarray,
    weights: np.ndarray,
    level: np.ndarray,
) -> np.ndarray:
    """Levels (``-1``: removed) that make every class safe, from ``level`` per tuple
    (``tuples``: QI leaves then witness codes; ``-1`` rows are leftovers)."""
    state = _State(columns, allowed, k, witness, keys, tuples, weights, level)
    heap: list[tuple[float, int, int]] = []
    for a in np.flatnonzero(state.unsafe(np.arange(state.n_cls))).tolist():
        got = state.option(a)
        if got is not None:
            heap.append((got[0], a, 0))
    heapq.heapify(heap)
    version = 0  # changes so far: an option computed before may be stale
    while heap:
        _, a, seen = heapq.heappop(heap)
        if not state.alive[a] or not state.unsafe_one(a):
            continue
        got = state.option(a)
        if got is None:
            continue
        if seen != version and heap and got[0] > heap[0][0]:
            heapq.heappush(heap, (got[0], a, version))  # stale, and no longer the cheapest
            continue
        state.apply(a, got)
        version += 1
        fixed = a if got[2] else got[3]
        if state.alive[fixed] and state.unsafe_one(fixed):
            heapq.heappush(heap, (got[0], fixed, version))
    return state.levels()


class _State:
    """The classes of a placement, per tuple and per class, as the repair changes them."""

    def __init__(
        self,
        columns: list[Encoded],
        allowed: list[tuple[int, ...]],
        k: int,
        witness: Witnesses,
        keys: Keys,
        tuples: np.ndarray,
        weights: np.ndarray,
        level: np.ndarray,
    ) -> None:
        self.witness, self.k = witness, k
        self.m = m = len(columns)
        self.allowed = [np.asarray(a, dtype=np.int64) for a in allowed]
        n = len(tuples)
        self.leaves, self.tw = tuples[:, :m], weights.astype(float)
        self.tmask = witness.masks(tuples[:, m:])
        self.bits = int(sum(witness.cards))
        self.shifts = np.arange(self.bits)
        self.tbits = ((self.tmask[:, None] >> self.shifts) & 1).astype(float)
        self.tknown = (self.leaves > 0).astype(float)
        # levels as indexes into allowed; leftovers start at the lowest, each a class alone
        left = level[:, 0] < 0
        self.pos = np.stack(
            [
                np.searchsorted(a, np.where(left, a[0], level[:, j]))
                for j, a in enumerate(self.allowed)
            ],
            axis=1,
        )
        self.anc = [c.ancestor[a] for c, a in zip(columns, self.allowed, strict=True)]
        self.cost = [c.cost[a] for c, a in zip(columns, self.allowed, strict=True)]
        self.value_cost = [_value_cost(c.ancestor, c.cost) for c in columns]
        self.meet = [_meet_table(anc) for anc in self.anc]
        pub = np.stack([self.anc[j][self.pos[:, j], self.leaves[:, j]] for j in range(m)], 1)
        alone = np.where(left, np.arange(n) + 1, 0)[:, None]
        cls, n_cls = keys.row_classes(np.concatenate([pub, alone], axis=1))
        self.cls, self.n_cls = cls, n_cls
        self.w = np.bincount(cls, weights=self.tw, minlength=n_cls)
        self.top = np.zeros((n_cls, m), dtype=np.int64)
        np.maximum.at(self.top, cls, self.pos)
        self.rep = first_index(cls, n_cls)  # a member tuple of each class
        self.cnt = np.stack([np.bincount(cls, weights=self.tw * self.tbits[:, b], minlength=n_cls)
                             for b in range(self.bits)], axis=1)  # fmt: skip
        self.known = np.stack([np.bincount(cls, weights=self.tw * self.tknown[:, j],
                                           minlength=n_cls) for j in range(m)], axis=1)  # fmt: skip
        self.spent = self._cost(np.arange(n_cls), self.top)
        self.alive = np.ones(n_cls, dtype=bool)
        self.touched = np.zeros(n_cls, dtype=bool)
        self.own = self._tuple_cost(np.arange(n))  # each tuple's loss per record
        self.spare = np.zeros(n, dtype=bool)
        self._spare(np.arange(n))

    def mask(self, c: np.ndarray) -> np.ndarray:
        """Witness mask of classes ``c``, from their per-bit record counts."""
        return ((self.cnt[c] > 0) << self.shifts).sum(axis=1)

    def unsafe(self, c: np.ndarray) -> np.ndarray:
        return (self.w[c] < self.k) | ~self.witness.ok(self.mask(c))

    def unsafe_one(self, c: int) -> bool:
        return bool(self.unsafe(np.array([c]))[0])

    def _spare(self, t: np.ndarray) -> None:
        """Whether each of tuples ``t`` sits in a safe class that stays safe without it."""
        c = self.cls[t]
        left = self.cnt[c] - self.tw[t, None] * self.tbits[t]
        left_mask = ((left > 0) << self.shifts).sum(axis=1)
        safe = self.alive[c] & ~self.unsafe(c)
        self.spare[t] = safe & (self.w[c] - self.tw[t] >= self.k) & self.witness.ok(left_mask)

    def _meet(self, j: int, x: np.ndarray, y: int) -> np.ndarray:
        """Lowest level index of QI j where leaves ``x`` meet leaf ``y`` (the root always)."""
        table = self.meet[j]
        if table is not None:
            return table[x, y]
        anc = self.anc[j]
        return np.argmax(anc[:, x] == anc[:, [y]], axis=0)

    def _cost(self, c: np.ndarray, pos: np.ndarray, extra: int | None = None) -> np.ndarray:
        """Loss of classes ``c`` published at level indexes ``pos`` (a tree: one value per
        QI decides it), with class ``extra``'s records too when given."""
        rep = self.leaves[self.rep[c]]
        out = np.zeros(len(c))
        for j in range(self.m):
            known = self.known[c, j] + (self.known[extra, j] if extra is not None else 0.0)
            out += known * self.value_cost[j][self.anc[j][pos[:, j], rep[:, j]]]
        return out

    def _tuple_cost(self, t: np.ndarray) -> np.ndarray:
        out = np.zeros(len(t))
        for j in range(self.m):
            out += self.cost[j][self.pos[t, j], self.leaves[t, j]]
        return out

    def option(self, a: int) -> _Option | None:
        """The cheapest way to fix class ``a``: steal a tuple that brings what it lacks from
        a class that stays safe without it, or merge with another class whole. An option
        that makes ``a`` safe beats one that only helps."""
        k, options = self.k, []
        lacking = int(self.mask(np.array([a]))[0])
        ra = self.leaves[self.rep[a]]
        cand = np.flatnonzero(self.spare & ((self.tmask & ~lacking) != 0) & (self.cls != a))
        if cand.size:
            new = np.empty((len(cand), self.m), dtype=np.int64)
            a_cost, own = np.zeros(len(cand)), np.zeros(len(cand))
            for j in range(self.m):
                # per leaf of QI j: the level where it meets class a, a's cost and its own
                every = np.arange(self.anc[j].shape[1])
                lv = np.maximum(self._meet(j, every, int(ra[j])), self.top[a, j])
                a_at = self.known[a, j] * self.value_cost[j][self.anc[j][lv, ra[j]]]
                own_at = self.cost[j][lv, every]
                x = self.leaves[cand, j]
                new[:, j] = lv[x]
                a_cost += a_at[x]
                own += own_at[x]
            added = a_cost - self.spent[a] + self.tw[cand] * (own - self.own[cand])
            fits = (self.w[a] + self.tw[cand] >= k) & self.witness.ok(lacking | self.tmask[cand])
            options.append(_pick(True, cand, added, fits, fits, new, a_cost, own))
        others = np.flatnonzero(self.alive)
        others = others[others != a]
        if others.size:
            new = np.empty((len(others), self.m), dtype=np.int64)
            for j in range(self.m):
                meet = self._meet(j, self.leaves[self.rep[others], j], int(ra[j]))
                new[:, j] = np.maximum(meet, np.maximum(self.top[others, j], self.top[a, j]))
            cost = self._cost(others, new, extra=a)
            added = cost - self.spent[others] - self.spent[a]
            union = self.mask(others) | lacking
            fits = (self.w[others] + self.w[a] >= k) & self.witness.ok(union)
            helps = fits | (union != lacking) | (self.w[a] < k)
            options.append(_pick(False, others, added, fits, helps, new, cost, 0.0))
        got = [o for o in options if o is not None]
        return min(got, key=lambda o: (not o[1], o[0])) if got else None

    def apply(self, a: int, o: _Option) -> None:
        """Carry out option ``o`` for class ``a``."""
        _, _, steal, x, new, cost, own = o
        if steal:
            d = int(self.cls[x])
            tw = self.tw[x]
            self.w[d] -= tw
            self.known[d] -= tw * self.tknown[x]
            self.cnt[d] -= tw * self.tbits[x]
            self.spent[d] -= tw * self.own[x]
            self.cls[x] = a
            if self.rep[d] == x:
                self.rep[d] = int(np.flatnonzero(self.cls == d)[0])
            self.w[a] += tw
            self.known[a] += tw * self.tknown[x]
            self.cnt[a] += tw * self.tbits[x]
            self.top[a], self.spent[a] = new, cost + tw * own
            changed, into = [a, d], a
        else:
            b = into = x
            self.top[b], self.spent[b] = new, cost
            self.w[b] += self.w[a]
            self.known[b] += self.known[a]
            self.cnt[b] += self.cnt[a]
            self.alive[a] = False
            self.cls[self.cls == a] = b
            changed = [b]
        self.touched[changed] = True
        members = np.flatnonzero(self.cls == into)
        self.pos[members] = self.top[into]
        self.own[members] = self._tuple_cost(members)
        self._spare(np.flatnonzero(np.isin(self.cls, changed)))

    def levels(self) -> np.ndarray:
        """Level per tuple: touched classes at their new levels, unsafe ones -1."""
        c = self.cls
        placed = self.alive[c] & ~self.unsafe(c)
        out = np.stack([a[self.pos[:, j]] for j, a in enumerate(self.allowed)], axis=1)
        return np.where(placed[:, None], out, -1).astype(np.int8)


def _pick(
    steal: bool,
    cand: np.ndarray,
    added: np.ndarray,
    fits: np.ndarray,
    helps: np.ndarray,
    new: np.ndarray,
    cost: np.ndarray,
    own: np.ndarray | float,
) -> _Option | None:
    """The cheapest candidate that fixes the class, else the cheapest that helps."""
    pool = fits if fits.any() else helps
    if not pool.any():
        return None
    i = int(np.flatnonzero(pool)[np.argmin(added[pool])])
    own_i = float(own[i]) if isinstance(own, np.ndarray) else own
    return float(added[i]), bool(fits[i]), steal, int(cand[i]), new[i], float(cost[i]), own_i


def release_loss(
    columns: list[Encoded], tuples: np.ndarray, weights: np.ndarray, level: np.ndarray
) -> float:
    """Loss (LM numerator) of ``level`` per tuple; a removed tuple (-1) costs 1 a cell."""
    m = len(columns)
    kept = level[:, 0] >= 0
    total = float(weights[~kept].sum()) * m
    for j, col in enumerate(columns):
        total += float((col.cost[level[kept, j], tuples[kept, j]] * weights[kept]).sum())
    return total


def _meet_table(anc: np.ndarray) -> np.ndarray | None:
    """Per pair of leaves, the lowest level index where their ancestors are equal (small
    domains only: leaves x leaves)."""
    if anc.shape[1] > _MEET_TABLE:
        return None
    eq = anc[:, :, None] == anc[:, None, :]
    return np.argmax(eq, axis=0)


def _value_cost(ancestor: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Cost of a known leaf published as each value id (a tree: the value decides it)."""
    out = np.ones(int(ancestor.max()) + 1)
    out[ancestor[:-1, 1:].ravel()] = cost[:-1, 1:].ravel()
    out[0] = 1.0  # the root: suppressed
    return out
