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

What each round costs is not all pairs of super-classes (which grew with the square of
the records: 244 s against 26 s for the k search at 392,000 records): each unsafe one
keeps a shortlist of its best partners between rounds and is costed again only against
the new super-classes while some of it is left, and the first costing skips the buckets
of partners that cannot beat the best found (:mod:`.qi_pairs`). Both are exact: the
release is the one of costing every pair every round (tests/anonymize/test_anonymize_qi_pairs.py).
"""

from __future__ import annotations

import numpy as np

from ctdc.anonymize.hierarchy import Encoded
from ctdc.anonymize.recode.keys import Keys, first_index
from ctdc.anonymize.recode.qi_pairs import (
    SHORTLIST,
    Found,
    Supers,
    Tables,
    best_partners,
    merge,
    status_table,
    usable,
)
from ctdc.anonymize.recode.repair import _known, _value_cost


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
        known = _known(columns, leaves)
        self.known = np.stack(
            [np.bincount(cls, weights=known[:, j], minlength=n_cls) for j in range(m)], axis=1
        ) if m else np.zeros((n_cls, 0))  # fmt: skip
        self.alive = np.ones(n_cls, dtype=bool)
        # per class and flag: TRUE?, and the key (flag, the other flags' published values)
        sig = pub[first][:, self.flag_cols]
        self.true = np.stack(
            [np.isin(sig[:, i], flags[j]) for i, j in enumerate(self.flag_cols)], axis=1
        )
        self.tables = Tables.build([self.anc[j] for j in self.d_cols],
                                   [self.vcost[j] for j in self.d_cols])  # fmt: skip
        # per class (the first of an unsafe super-class): its shortlist of partners (their
        # first classes), as last costed; and the classes that moved last round
        self.listed = np.zeros(n_cls, dtype=bool)
        self.sl_ids = np.full((n_cls, SHORTLIST), -1, dtype=np.int64)
        self.sl_costs = np.full((n_cls, SHORTLIST), np.inf)
        self.sl_tiers = np.full((n_cls, SHORTLIST), 2, dtype=np.int64)
        self.thr0, self.thr1 = np.full(n_cls, -np.inf), np.full(n_cls, -np.inf)
        self.moved: np.ndarray | None = None

    def pub_d(self) -> np.ndarray:
        """Published values of the D columns per class (its rep's ancestors at its levels)."""
        out = np.zeros((self.n_cls, len(self.d_cols)), dtype=np.int64)
        for i, j in enumerate(self.d_cols):
            out[:, i] = self.anc[j][self.top[:, j], self.rep[:, j]]
        return out

    def remove_unmeetable(self) -> None:
        """Remove the classes whose needed keys no alive class offers, until none is left."""
        while True:
            # the key is the flag alone: groups are over the demographics D (the docstring)
            offered = np.any(self.alive[:, None] & ~self.true, axis=0)
            bad = self.alive & (self.true & ~offered[None, :]).any(axis=1)
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
        # per super-class and key: needed (a class TRUE on the flag), offered (one not TRUE)
        true = self.true[live]
        need = np.stack([np.bincount(sc, weights=t, minlength=n_sc) > 0 for t in true.T], 1)
        offer = np.stack([np.bincount(sc, weights=~t, minlength=n_sc) > 0 for t in true.T], 1)
        lack = need & ~offer
        unsafe = np.flatnonzero(lack.any(axis=1))
        if not len(unsafe):
            return False
        pattern, status = status_table(lack, offer)
        # per super-class: D levels, a rep leaf, known weight, current loss
        dj = np.asarray(self.d_cols, dtype=np.int64)
        top = np.zeros((n_sc, len(dj)), dtype=np.int64)
        np.maximum.at(top, sc, self.top[live][:, dj])
        first = live[first_index(sc, n_sc)]  # a super-class's first class: who it is
        rep = self.rep[first][:, dj]
        known = np.zeros((n_sc, len(dj)))
        np.add.at(known, sc, self.known[live][:, dj])
        sup = Supers(top, rep, known, self._cost(known, top, rep), pattern, status)
        best, cost = self._best(sup, sc, live, first, unsafe)
        picks = np.flatnonzero(best >= 0)
        x, y, cost = unsafe[picks], best[picks], cost[picks]
        lv = self.tables.levels(sup, x, y)
        used = np.zeros(n_sc, dtype=bool)
        merged = 0
        new_top = top.copy()
        for r in np.lexsort((x, cost)).tolist():  # cheapest first, ties by super-class
            if used[x[r]] or used[y[r]]:
                continue
            used[x[r]] = used[y[r]] = True
            new_top[x[r]] = new_top[y[r]] = lv[r]
            merged += 1
        self.moved = np.zeros(self.n_cls, dtype=bool)
        if not merged:  # cannot happen after remove_unmeetable; never loop forever
            self.alive[live[np.isin(sc, unsafe)]] = False
            self.moved = None
            return True
        rows = live[used[sc]]
        self.top[np.ix_(rows, dj)] = np.maximum(self.top[np.ix_(rows, dj)], new_top[sc[used[sc]]])
        self.moved[rows] = True
        return True

    def _best(
        self, sup: Supers, sc: np.ndarray, live: np.ndarray, first: np.ndarray, unsafe: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per unsafe super-class: its best partner (``-1``: none helps) and the added loss.

        A merge's cost depends only on the two super-classes, so a super-class no class
        of which moved last round keeps its shortlist (:class:`.qi_pairs.Found`) minus
        the partners that moved; while that still knows the best of what is left, only
        the new super-classes (last round's merges) are costed against it. Exactly the
        answer of costing every pair every round, at a fraction of it: the partners
        that many unsafe super-classes would pick are taken in the first rounds.
        """
        n_sc = len(first)
        changed = np.ones(n_sc, dtype=bool)
        if self.moved is not None:
            changed[:] = False
            changed[sc[self.moved[live]]] = True
        of_class = np.full(self.n_cls, -1, dtype=np.int64)
        of_class[live] = sc
        found = Found.empty(len(unsafe))
        cached = np.flatnonzero(~changed[unsafe] & self.listed[first[unsafe]])
        who = first[unsafe[cached]]
        ids = self.sl_ids[who]
        ids = np.where(ids >= 0, of_class[np.maximum(ids, 0)], -1)
        ids = np.where((ids >= 0) & ~changed[np.maximum(ids, 0)], ids, -1)
        ok, pos = usable(ids, self.sl_costs[who], self.sl_tiers[who], self.thr0[who],
                         self.thr1[who])  # fmt: skip
        cached, who, ids, pos = cached[ok], who[ok], ids[ok], pos[ok]
        full = np.ones(len(unsafe), dtype=bool)
        full[cached] = False
        rows = np.flatnonzero(full)
        found.put(rows, best_partners(self.tables, sup, unsafe[rows], np.arange(n_sc)))
        if len(cached):
            new = np.flatnonzero(changed)
            got = best_partners(self.tables, sup, unsafe[cached], new)
            r = np.arange(len(cached))
            p = np.where(pos >= 0, ids[r, np.maximum(pos, 0)], -1)
            pt = self.sl_tiers[who][r, np.maximum(pos, 0)]
            pc = self.sl_costs[who][r, np.maximum(pos, 0)]
            i, t, c = got.best, got.tier, got.cost
            # the better of what is left of the shortlist and the new: (tier, cost, id)
            better = (pt < t) | ((pt == t) & ((pc < c) | ((pc == c) & (p < i))))
            keep = (p >= 0) & ((i < 0) | better)
            both = merge(ids, self.sl_costs[who], self.sl_tiers[who], self.thr0[who],
                         self.thr1[who], got)  # fmt: skip
            both.best, both.tier = np.where(keep, p, i), np.where(keep, pt, t)
            both.cost = np.where(keep, pc, c)
            found.put(cached, both)
        who = first[unsafe]
        self.listed[who] = True
        self.sl_ids[who] = np.where(found.ids >= 0, first[np.maximum(found.ids, 0)], -1)
        self.sl_costs[who], self.sl_tiers[who] = found.costs, found.tiers
        self.thr0[who], self.thr1[who] = found.thr0, found.thr1
        return found.best, found.cost

    def _cost(self, known: np.ndarray, top: np.ndarray, rep: np.ndarray) -> np.ndarray:
        out = np.zeros(len(known))
        for i, j in enumerate(self.d_cols):
            out += known[:, i] * self.vcost[j][self.anc[j][top[:, i], rep[:, i]]]
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


def _canonical(cls: np.ndarray, n_cls: int, rows: np.ndarray) -> tuple[np.ndarray, int]:
    """Class ids renumbered in lexicographic order of their rows (not of first appearance)."""
    if n_cls == 0 or rows.shape[1] == 0:
        return cls, n_cls
    keys = rows[first_index(cls, n_cls)]
    order = np.lexsort(keys.T[::-1])
    rank = np.empty_like(order)
    rank[order] = np.arange(n_cls)
    return rank[cls], n_cls
