"""Protected flags that are quasi-identifiers: no flag certain from the demographics.

A flag ``f`` that is a QI has one published value per class, so "every record TRUE"
is just its published value. The rule is over the *demographics* D instead (every
QI that is not a protected flag): every group of released rows that share their
published D values holds a row where ``f`` is not TRUE (FALSE, NA). The adversary
knows a victim's age, nationality, year..., not her type of exploitation. Grouping
over all QIs but ``f`` instead cannot be met when the types are one-hot (most
records have exactly one): knowing the seven other types are FALSE gives the
eighth, whatever is published (measured on the demo: 7,583 of 7,840 records removed).

How it is fixed, without a pattern that gives ``f`` away: the protected flags are
never touched here (suppressing ``f`` only where a group is all TRUE would read as
"TRUE" to anyone who knows the rule). Only the other QIs -- the *demographics* D,
every QI that is not a protected flag -- are generalized, and only for whole
*super-classes* (the classes sharing their published D values). Two super-classes
merge by publishing both, per D column, at the lowest allowed level (not below any
member's) where their values meet. Every D group of either is then part of one
group of the union, for every protected flag at once: groups
only merge, so the rule never breaks for a flag it held for, classes only merge
(strict k, l and the per-class protected rule hold), and the union gains the
siblings the other side brings.

The bookkeeping is in *keys*: for a class and a protected flag ``f``, the key is
``f``. A class TRUE on ``f`` *needs* that key; a class not TRUE on ``f`` *offers*
it. A super-class is safe when it offers every key it needs. A key that no class anywhere offers can
never be met by generalizing D, so the classes that need it are removed (and then
their offers too, until nothing changes): "records that nothing can make safe".
The rest merge in rounds: each unsafe super-class picks the partner that makes it
safe at the least added loss (else the cheapest that brings a missing key), and
the cheapest picks whose super-classes are still untouched are carried out.
Classes and super-classes are numbered in order of their published values, so the
result does not depend on the order of the rows.
"""

from __future__ import annotations

import numpy as np

from ctdc.anonymize.hierarchy import Encoded
from ctdc.anonymize.recode.keys import Keys, first_index
from ctdc.anonymize.recode.repair import _value_cost

#: cells (unsafe super-classes x partners x key words) of one block of costing
_BLOCK_CELLS = 4_000_000


def repair_qi_flags(
    columns: list[Encoded],
    allowed: list[tuple[int, ...]],
    level: np.ndarray,
    flags: dict[int, np.ndarray],
) -> np.ndarray:
    """Levels per row (``-1`` rows: removed) meeting the QI-flag rule for ``flags``.

    ``level``: (n, m) published levels, ``-1`` rows removed; ``flags`` maps a QI index to
    the value ids that publish TRUE. Only the other QIs' levels change, and only up.
    """
    state = _Classes(columns, allowed, level, flags)
    if state.n_cls == 0:
        return level
    state.remove_unmeetable()
    while state.merge_round():
        pass
    return state.row_levels(level)


class _Classes:
    """The release's classes, their D levels and need/offer key bits, as merges change them."""

    def __init__(
        self,
        columns: list[Encoded],
        allowed: list[tuple[int, ...]],
        level: np.ndarray,
        flags: dict[int, np.ndarray],
    ) -> None:
        n, m = level.shape
        self.kept = np.flatnonzero(level[:, 0] >= 0) if n else np.zeros(0, np.int64)
        self.flag_cols = sorted(flags)
        self.d_cols = [j for j in range(m) if j not in flags]
        self.allowed = [np.asarray(a, dtype=np.int64) for a in allowed]
        self.anc = [c.ancestor[a] for c, a in zip(columns, self.allowed, strict=True)]
        self.vcost = [_value_cost(c.ancestor, c.cost) for c in columns]
        lv = level[self.kept].astype(np.int64)
        leaves = np.stack([c.codes[self.kept] for c in columns], axis=1) if m else lv
        pub = np.stack([columns[j].ancestor[lv[:, j], leaves[:, j]] for j in range(m)], 1)
        cls, n_cls = Keys().row_classes(pub)
        cls, n_cls = _canonical(cls, n_cls, pub)
        self.cls, self.n_cls = cls, n_cls
        first = first_index(cls, n_cls)
        self.rep = leaves[first]  # a member's leaves: ancestors at or above its level agree
        pos = np.stack([np.searchsorted(a, lv[:, j]) for j, a in enumerate(self.allowed)], 1)
        self.top = np.zeros((n_cls, m), dtype=np.int64)
        np.maximum.at(self.top, cls, pos)
        self.start = self.top.copy()
        self.w = np.bincount(cls, minlength=n_cls).astype(float)
        self.known = np.stack(
            [np.bincount(cls, weights=(leaves[:, j] > 0).astype(float), minlength=n_cls)
             for j in range(m)], axis=1) if m else np.zeros((n_cls, 0))  # fmt: skip
        self.alive = np.ones(n_cls, dtype=bool)
        # per class and flag: TRUE?, and the key (flag, the other flags' published values)
        sig = pub[first][:, self.flag_cols]
        self.true = np.stack(
            [np.isin(sig[:, i], flags[j]) for i, j in enumerate(self.flag_cols)], axis=1
        )
        p = len(self.flag_cols)
        # the key is the flag alone: groups are over the demographics D (see the docstring)
        self.key, self.n_keys = np.broadcast_to(np.arange(p)[None, :], (n_cls, p)).copy(), p

    def pub_d(self) -> np.ndarray:
        """Published values of the D columns per class (its rep's ancestors at its levels)."""
        out = np.zeros((self.n_cls, len(self.d_cols)), dtype=np.int64)
        for i, j in enumerate(self.d_cols):
            out[:, i] = self.anc[j][self.top[:, j], self.rep[:, j]]
        return out

    def remove_unmeetable(self) -> None:
        """Remove the classes whose needed keys no alive class offers, until none is left."""
        while True:
            offered = np.zeros(self.n_keys, dtype=bool)
            offered[self.key[self.alive[:, None] & ~self.true]] = True
            bad = self.alive & (self.true & ~offered[self.key]).any(axis=1)
            if not bad.any():
                return
            self.alive &= ~bad

    def merge_round(self) -> bool:
        """One round of merges of unsafe super-classes; False when every one is safe."""
        live = np.flatnonzero(self.alive)
        if not len(live):
            return False
        d_pub = self.pub_d()[live]
        sc, n_sc = (
            Keys().row_classes(d_pub) if d_pub.shape[1] else (np.zeros(len(live), np.int64), 1)
        )
        sc, n_sc = _canonical(sc, n_sc, d_pub)
        # the keys some super-class lacks, as bits
        true, key = self.true[live], self.key[live]
        pair = np.broadcast_to(sc[:, None], true.shape) * self.n_keys + key
        need, offer = np.unique(pair[true]), np.unique(pair[~true])
        lack = need[~np.isin(need, offer)]
        if not len(lack):
            return False
        universe = np.unique(lack % self.n_keys)
        bit = np.full(self.n_keys, -1, dtype=np.int64)
        bit[universe] = np.arange(len(universe))
        words = (len(universe) + 63) // 64
        sc_need = _bits(lack // self.n_keys, bit[lack % self.n_keys], n_sc, words)
        useful = offer[bit[offer % self.n_keys] >= 0]
        sc_offer = _bits(useful // self.n_keys, bit[useful % self.n_keys], n_sc, words)
        unsafe = np.flatnonzero((sc_need & ~sc_offer).any(axis=1))
        # per super-class: D levels, a rep leaf, known weight, current loss
        dj = np.asarray(self.d_cols, dtype=np.int64)
        top = np.zeros((n_sc, len(dj)), dtype=np.int64)
        np.maximum.at(top, sc, self.top[live][:, dj])
        rep = self.rep[live][first_index(sc, n_sc)][:, dj]
        known = np.zeros((n_sc, len(dj)))
        np.add.at(known, sc, self.known[live][:, dj])
        spent = self._cost(known, top, rep)
        picks: list[tuple[float, int, int, np.ndarray]] = []
        step = max(1, _BLOCK_CELLS // max(1, n_sc * words))
        for i in range(0, len(unsafe), step):
            a = unsafe[i : i + step]
            picks.extend(self._options(a, sc_need, sc_offer, top, rep, known, spent))
        used = np.zeros(n_sc, dtype=bool)
        merged = 0
        new_top = top.copy()
        for _, x, y, lv in sorted(picks, key=lambda p: (p[0], p[1])):
            if used[x] or used[y]:
                continue
            used[x] = used[y] = True
            new_top[x] = new_top[y] = lv
            merged += 1
        if not merged:  # cannot happen after remove_unmeetable; never loop forever
            self.alive[live[np.isin(sc, unsafe)]] = False
            return True
        rows = live[used[sc]]
        self.top[np.ix_(rows, dj)] = np.maximum(self.top[np.ix_(rows, dj)], new_top[sc[used[sc]]])
        return True

    def _cost(self, known: np.ndarray, top: np.ndarray, rep: np.ndarray) -> np.ndarray:
        out = np.zeros(len(known))
        for i, j in enumerate(self.d_cols):
            out += known[:, i] * self.vcost[j][self.anc[j][top[:, i], rep[:, i]]]
        return out

    def _options(
        self,
        a: np.ndarray,
        need: np.ndarray,
        offer: np.ndarray,
        top: np.ndarray,
        rep: np.ndarray,
        known: np.ndarray,
        spent: np.ndarray,
    ) -> list[tuple[float, int, int, np.ndarray]]:
        """Per unsafe super-class of ``a``: (added loss, it, its partner, the D levels)."""
        lack_a = need[a] & ~offer[a]  # (b, words)
        helps = (offer[None, :, :] & lack_a[:, None, :]).any(axis=2)  # (b, n_sc)
        union_need = need[None, :, :] | need[a][:, None, :]
        union_offer = offer[None, :, :] | offer[a][:, None, :]
        fits = helps & ~(union_need & ~union_offer).any(axis=2)
        cost = np.zeros(helps.shape)
        levels = []
        for i, j in enumerate(self.d_cols):
            anc = self.anc[j]
            x, y = rep[a, i][:, None], rep[None, :, i]
            meet = np.full(helps.shape, anc.shape[0] - 1, dtype=np.int64)
            for lv in range(anc.shape[0] - 2, -1, -1):
                meet = np.where(anc[lv][x] == anc[lv][y], lv, meet)
            lv_ab = np.maximum(meet, np.maximum(top[a, i][:, None], top[None, :, i]))
            levels.append(lv_ab)
            cost += (known[a, i][:, None] + known[None, :, i]) * self.vcost[j][anc[lv_ab, x]]
        cost -= spent[a][:, None] + spent[None, :]
        out = []
        for r in range(len(a)):
            allowed = fits[r] if fits[r].any() else helps[r]
            if not allowed.any():
                continue
            b = int(np.argmin(np.where(allowed, cost[r], np.inf)))
            new = np.array([levels[i][r, b] for i in range(len(self.d_cols))], dtype=np.int64)
            out.append((float(cost[r, b]), int(a[r]), b, new))
        return out

    def row_levels(self, level: np.ndarray) -> np.ndarray:
        """The input's levels with the merged classes' D columns raised, removed rows -1."""
        out = level.copy()
        rows = self.kept
        changed = (self.top != self.start).any(axis=1)[self.cls]
        for j in self.d_cols:
            raised = self.allowed[j][self.top[self.cls, j]]
            out[rows[changed], j] = raised[changed]
        out[rows[~self.alive[self.cls]]] = -1
        return out


def _bits(rows: np.ndarray, bits: np.ndarray, n: int, words: int) -> np.ndarray:
    """An (n, words) uint64 bitset with bit ``bits[i]`` set in row ``rows[i]``."""
    out = np.zeros((n, words), dtype=np.uint64)
    np.bitwise_or.at(
        out, (rows, bits // 64), np.left_shift(np.uint64(1), (bits % 64).astype(np.uint64))
    )
    return out


def _canonical(cls: np.ndarray, n_cls: int, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Class ids renumbered in lexicographic order of their rows (not of first appearance)."""
    if n_cls == 0 or rows.shape[1] == 0:
        return cls, n_cls
    keys = rows[first_index(cls, n_cls)]
    order = np.lexsort(keys.T[::-1])
    rank = np.empty_like(order)
    rank[order] = np.arange(n_cls)
    return rank[cls], n_cls
