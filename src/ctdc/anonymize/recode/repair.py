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

#: cells (classes x candidates x 4) of one block of :meth:`_State.options`: ~25 MB. On Adult
#: the repair ran ~14% faster with its first costing (395 classes) in blocks of ~100 than in one
#: (the matrices stay nearer the cache; the rows are costed apart, so the result is the same)
_BLOCK_CELLS = 500_000

#: at most this many groups of classes by what they lack are costed apart
_GROUPS = 4

#: stale classes costed again together (one matrix, not one call each)
_RECOST = 32

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
    version = np.zeros(state.n_cls, dtype=np.int64)  # changes to each class so far
    #: cost, class, its version, the other class changed, its version, when costed
    heap: list[tuple[float, int, int, int, int]] = []

    def push(classes: np.ndarray) -> None:
        for a, o in zip(classes.tolist(), state.options(classes), strict=True):
            fresh[a] = int(version[a])
            if o is not None:
                b = state.partner(o)
                heapq.heappush(heap, (o[0], a, int(version[a]), b, int(version[b])))
                chosen[a] = o

    chosen: dict[int, _Option] = {}  # the latest option costed for each class
    fresh: dict[int, int] = {}  # the version of each class when it was last costed

    def current(entry: tuple[float, int, int, int, int]) -> bool | None:
        """None: drop the entry; False: cost it again; True: carry it out."""
        _, a, seen_a, b, seen_b = entry
        if not state.alive[a] or not state.unsafe_one(a) or seen_a != fresh[a]:
            return None  # safe by now, or an entry superseded by a later costing
        o = chosen[a]
        # a steal's cost depends on the class and the tuple only: it holds while the tuple
        # can still be spared; a merge's depends on the partner too
        if o[2]:
            stale = int(state.cls[o[3]]) != b or not state.spare[o[3]]
        else:
            stale = seen_b != version[b] or not state.alive[b]
        return not (seen_a != version[a] or stale)

    push(np.flatnonzero(state.unsafe(np.arange(state.n_cls))))
    while heap:
        entry = heapq.heappop(heap)
        verdict = current(entry)
        if verdict is None:
            continue
        if not verdict:  # stale: cost it again, with the stale entries next in line
            again = [entry[1]]
            while heap and len(again) < _RECOST:
                nxt = current(heap[0])
                if nxt:
                    break
                again.extend([] if nxt is None else [heap[0][1]])
                heapq.heappop(heap)
            push(np.array(again))
            continue
        _, a, _, b, _ = entry
        o = chosen[a]
        state.apply(a, o)
        version[[a, b]] += 1
        fixed = a if o[2] else b
        if state.alive[fixed] and state.unsafe_one(fixed):
            push(np.array([fixed]))
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
        value_cost = [_value_cost(c.ancestor, c.cost) for c in columns]
        # per QI, level index and leaf: what a known leaf costs there (one gather, not two)
        self.at_cost = [vc[anc] for vc, anc in zip(value_cost, self.anc, strict=True)]
        self.meet = [_meet_table(anc) for anc in self.anc]
        pub = np.stack([self.anc[j][self.pos[:, j], self.leaves[:, j]] for j in range(m)], 1)
        alone = np.where(left, np.arange(n) + 1, 0)[:, None]
        cls, n_cls = keys.row_classes(np.concatenate([pub, alone], axis=1))
        self.cls, self.n_cls = cls, n_cls
        self.w = np.bincount(cls, weights=self.tw, minlength=n_cls)
        # int32: numpy's int64 arithmetic on the (classes x candidates) matrices was ~30x
        # slower here (allocation-bound), and level indexes are tiny
        self.top = np.zeros((n_cls, m), dtype=np.int32)
        np.maximum.at(self.top, cls, self.pos.astype(np.int32))
        self.rep = first_index(cls, n_cls)  # a member tuple of each class
        self.cnt = np.stack([np.bincount(cls, weights=self.tw * self.tbits[:, b], minlength=n_cls)
                             for b in range(self.bits)], axis=1)  # fmt: skip
        self.known = np.stack([np.bincount(cls, weights=self.tw * self.tknown[:, j],
                                           minlength=n_cls) for j in range(m)], axis=1)  # fmt: skip
        self.cmask = self._mask_from_counts(np.arange(n_cls))
        self.spent = self._cost(np.arange(n_cls), self.top)
        self.alive = np.ones(n_cls, dtype=bool)
        self.touched = np.zeros(n_cls, dtype=bool)
        self.own = self._tuple_cost(np.arange(n))  # each tuple's loss per record
        self.spare = np.zeros(n, dtype=bool)
        self._spare(np.arange(n))

    def mask(self, c: np.ndarray) -> np.ndarray:
        """Witness mask of classes ``c`` (kept by :meth:`apply` for the classes it changes:
        every block reads the masks of all classes, ~0.05 s of the repair on Adult when
        derived from the counts each time)."""
        return self.cmask[c]

    def _mask_from_counts(self, c: np.ndarray) -> np.ndarray:
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
            out += known * self.at_cost[j][pos[:, j], rep[:, j]]
        return out

    def _tuple_cost(self, t: np.ndarray) -> np.ndarray:
        out = np.zeros(len(t))
        for j in range(self.m):
            out += self.cost[j][self.pos[t, j], self.leaves[t, j]]
        return out

    def options(self, classes: np.ndarray) -> list[_Option | None]:
        """The cheapest way to fix each of ``classes``: steal a tuple that brings what the
        class lacks from a class that stays safe without it, or merge with another class
        whole. One that makes the class safe beats one that only helps; a steal wins a tie.
        Computed for many classes at once (a matrix per block of them), since the Python
        calls, not the arithmetic, are what a class-by-class search would pay for."""
        spare = np.flatnonzero(self.spare)
        others = np.flatnonzero(self.alive)
        lacking = self.mask(classes)
        out: list[_Option | None] = [None] * len(classes)
        # classes lacking the same witnesses share their candidates (on Adult: two groups);
        # many different lacks (36 flag columns) are costed together, on the candidates
        # that bring something some class lacks (each class's own are masked in _block)
        kinds = np.unique(lacking)
        groups = [lacking == x for x in kinds.tolist()] if len(kinds) <= _GROUPS else [None]
        for group in groups:
            rows = np.arange(len(classes)) if group is None else np.flatnonzero(group)
            common = int(np.bitwise_and.reduce(lacking[rows]))  # witnesses all of them hold
            cand = spare[(self.tmask[spare] & ~common) != 0]
            # a merge helps a class with k records only if the partner brings a witness
            short = bool((self.w[classes[rows]] < self.k).any())
            partners = others if short else others[(self.mask(others) & ~common) != 0]
            step = max(1, _BLOCK_CELLS // (max(len(cand), len(partners), 1) * 4))
            for i in range(0, len(rows), step):
                block = rows[i : i + step]
                got = self._block(classes[block], cand, partners)
                for r, o in zip(block.tolist(), got, strict=True):
                    out[r] = o
        return out

    def _meet_rows(self, j: int, leaves: np.ndarray) -> np.ndarray:
        """Per leaf in ``leaves`` and per leaf of QI j: the level index where they meet."""
        table = self.meet[j]
        if table is not None:
            return table[leaves]  # symmetric; rows keep the matrices C-ordered (~10x faster)
        anc = self.anc[j]
        rows = [np.argmax(anc == anc[:, [y]], axis=0) for y in leaves.tolist()]
        return np.stack(rows).astype(np.int32)

    def _block(self, a: np.ndarray, cand: np.ndarray, others: np.ndarray) -> list[_Option | None]:
        k, m, b = self.k, self.m, len(a)
        lacking = self.mask(a)
        ra = self.leaves[self.rep[a]]
        meets = [self._meet_rows(j, ra[:, j]) for j in range(m)]  # (b, leaves of QI j)
        rows = np.arange(b)[:, None]
        # The (classes x candidates) matrices are built in place: in this sandbox a fresh
        # multi-MB temporary costs page faults, and `x * 2 + y` ran ~10x slower than the
        # same arithmetic into a buffer.
        c, o_n = len(cand), len(others)
        f_buf = np.empty((b, max(c, o_n)))
        i_buf = np.empty((b, max(c, o_n)), dtype=np.int32)
        # steal: each candidate tuple to each class
        s_cost, own = np.zeros((b, c)), np.zeros((b, c))
        tmp = f_buf[:, :c]
        s_lv = []
        for j in range(m):
            lv = np.maximum(meets[j], self.top[a, j][:, None])  # (b, leaves): small
            a_at = self.known[a, j][:, None] * self.at_cost[j][lv, ra[:, [j]]]
            own_at = self.cost[j][lv, np.arange(lv.shape[1])]
            x = self.leaves[cand, j]
            s_lv.append(lv)
            np.add(s_cost, np.take(a_at, x, axis=1, out=tmp), out=s_cost)
            np.add(own, np.take(own_at, x, axis=1, out=tmp), out=own)
        s_best = np.subtract(own, self.own[cand], out=np.empty((b, c)))
        np.multiply(s_best, self.tw[cand], out=s_best)
        np.add(s_best, s_cost, out=s_best)
        np.subtract(s_best, self.spent[a][:, None], out=s_best)  # the added loss
        adds = (self.tmask[cand] & ~lacking[:, None]) != 0
        s_valid = adds & (self.cls[cand] != a[:, None])
        union = lacking[:, None] | self.tmask[cand]
        s_fits = s_valid & (self.w[a][:, None] + self.tw[cand] >= k)
        s_fits &= self.witness.ok(union.ravel()).reshape(union.shape)
        # merge: each class with each other class
        m_cost = np.zeros((b, o_n))
        ro = self.leaves[self.rep[others]].astype(np.int32)
        lv_o, top_o, known_o = i_buf[:, :o_n], np.empty((b, o_n), np.int32), f_buf[:, :o_n]
        for j in range(m):
            np.take(meets[j], ro[:, j], axis=1, out=lv_o)
            np.maximum(self.top[others, j], self.top[a, j][:, None], out=top_o)
            np.maximum(lv_o, top_o, out=lv_o)
            np.multiply(lv_o, np.int32(self.at_cost[j].shape[1]), out=lv_o)
            np.add(lv_o, ro[:, j], out=lv_o)  # a flat index into the cost table
            np.add(self.known[others, j], self.known[a, j][:, None], out=known_o)
            np.multiply(known_o, np.take(self.at_cost[j].ravel(), lv_o), out=known_o)
            np.add(m_cost, known_o, out=m_cost)
        m_best = np.subtract(m_cost, self.spent[others], out=np.empty((b, o_n)))
        np.subtract(m_best, self.spent[a][:, None], out=m_best)  # the added loss
        m_valid = others != a[:, None]
        union = self.mask(others) | lacking[:, None]
        m_fits = m_valid & (self.w[others] + self.w[a][:, None] >= k)
        m_fits &= self.witness.ok(union.ravel()).reshape(union.shape)
        m_helps = m_valid & (m_fits | (union != lacking[:, None]) | (self.w[a] < k)[:, None])
        # per class: the cheapest that fits, of either kind; else the cheapest that helps
        fits_any = s_fits.any(axis=1) | m_fits.any(axis=1)
        s_best[~np.where(fits_any[:, None], s_fits, s_valid)] = np.inf
        m_best[~np.where(fits_any[:, None], m_fits, m_helps)] = np.inf
        si = s_best.argmin(axis=1) if len(cand) else np.zeros(b, dtype=np.int64)
        mi = m_best.argmin(axis=1) if len(others) else np.zeros(b, dtype=np.int64)
        s_val = s_best[rows[:, 0], si] if len(cand) else np.full(b, np.inf)
        m_val = m_best[rows[:, 0], mi] if len(others) else np.full(b, np.inf)
        out: list[_Option | None] = []
        for r in range(b):
            if np.isinf(s_val[r]) and np.isinf(m_val[r]):
                out.append(None)
            elif s_val[r] <= m_val[r]:
                i = int(si[r])
                t = int(cand[i])
                new = np.array([s_lv[j][r, self.leaves[t, j]] for j in range(m)])
                out.append((float(s_val[r]), bool(s_fits[r, i]), True, t,
                            new, float(s_cost[r, i]), float(own[r, i])))  # fmt: skip
            else:
                i = int(mi[r])
                o = int(others[i])
                new = np.maximum(
                    [meets[j][r, ro[i, j]] for j in range(m)],
                    np.maximum(self.top[o], self.top[a[r]]),
                )
                out.append((float(m_val[r]), bool(m_fits[r, i]), False, o,
                            new, float(m_cost[r, i]), 0.0))  # fmt: skip
        return out

    def partner(self, o: _Option) -> int:
        """The other class an option changes: the donor of a steal, the partner of a merge."""
        return int(self.cls[o[3]]) if o[2] else o[3]

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
        self.cmask[changed] = self._mask_from_counts(np.array(changed))
        members = np.flatnonzero(self.cls == into)
        self.pos[members] = self.top[into]
        self.own[members] = self._tuple_cost(members)
        self._spare(np.flatnonzero((self.cls == changed[0]) | (self.cls == changed[-1])))

    def levels(self) -> np.ndarray:
        """Level per tuple: touched classes at their new levels, unsafe ones -1."""
        c = self.cls
        placed = self.alive[c] & ~self.unsafe(c)
        out = np.stack([a[self.pos[:, j]] for j, a in enumerate(self.allowed)], axis=1)
        return np.where(placed[:, None], out, -1).astype(np.int8)


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
    return np.argmax(eq, axis=0).astype(np.int32)


def _value_cost(ancestor: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Cost of a known leaf published as each value id (a tree: the value decides it)."""
    out = np.ones(int(ancestor.max()) + 1)
    out[ancestor[:-1, 1:].ravel()] = cost[:-1, 1:].ravel()
    out[0] = 1.0  # the root: suppressed
    return out
