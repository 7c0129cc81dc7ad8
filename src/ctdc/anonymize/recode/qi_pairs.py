"""Costing merges of super-classes for the QI-flag repair (:mod:`.qi_flags`), many at once.

For each unsafe super-class ``a`` the repair needs the partner ``b`` that makes the union
safe at the least added loss (else the cheapest that brings a key ``a`` lacks). Merging
publishes both, per demographic column, at ``max(meet(a, b), top_a, top_b)``; since a
hierarchy is a tree the union's loss there is its known weight times one value's cost.

Every pair is costed, but cheaply: per column and per unsafe ``a``, the cost of one value
depends on ``b`` only through ``b``'s (leaf, level) code, of which there are at most
leaves x levels (251 x 4 for a country), so it is a small table gathered once per pair,
instead of comparing ancestors level by level. Whether ``b`` helps or fits ``a`` depends
on their lacked/offered keys only, so it is a table over the few distinct key patterns.
The floating-point operations are those of the pairwise formula, in the same order, so
ties (and the release) are exactly those of costing each pair alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: cells (unsafe super-classes x partners) of one block of costing: ~32 MB per buffer
_BLOCK_CELLS = 4_000_000

#: searches of fewer pairs cost every pair: bucketing would cost more than it saves
_PRUNE_CELLS = 4_000_000

#: unsafe super-classes (of neighbouring buckets) searched together in the pruned search
_PRUNE_BLOCK = 8

#: partners remembered per unsafe super-class, best first, for the rounds after
SHORTLIST = 8

#: status of a partner for an unsafe super-class
NONE, HELPS, FITS = 0, 1, 2


_FIELDS = ("best", "tier", "cost", "ids", "costs", "tiers", "thr0", "thr1")


@dataclass
class Found:
    """Per unsafe super-class: its best partner (``-1``: none helps), that partner's tier
    (0 fits, 1 only helps) and added loss; and a *shortlist*: its best partners in order
    of (tier, loss, id), ``-1`` padded, with how far it is complete: every partner that
    fits at a loss below ``thr0``, and every one that only helps at a loss below
    ``thr1``, is on it. The rounds after use the shortlist while some of it is left."""

    best: np.ndarray
    tier: np.ndarray
    cost: np.ndarray
    ids: np.ndarray  # (n, SHORTLIST)
    costs: np.ndarray
    tiers: np.ndarray
    thr0: np.ndarray
    thr1: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Found:
        """Nothing found yet: no partner, nothing known to be complete."""
        pad = (n, SHORTLIST)
        return cls(
            np.full(n, -1, np.int64), np.ones(n, np.int64), np.full(n, np.inf),
            np.full(pad, -1, np.int64), np.full(pad, np.inf), np.full(pad, 2, np.int64),
            np.full(n, -np.inf), np.full(n, -np.inf),
        )  # fmt: skip

    def put(self, rows: np.ndarray | slice, other: Found) -> None:
        """Copy ``other``'s rows into ``rows``."""
        for name in _FIELDS:
            getattr(self, name)[rows] = getattr(other, name)

    def rows(self, rows: np.ndarray) -> Found:
        """A copy of some rows."""
        return Found(*(getattr(self, n)[rows] for n in _FIELDS))

    def relabel(self, ids: np.ndarray) -> Found:
        """The same, with partner ``i`` renamed ``ids[i]`` (order kept: ``ids`` ascending)."""
        out = self.rows(np.arange(len(self.best)))
        if len(ids):  # else no partner was found: nothing to rename
            out.best = np.where(self.best >= 0, ids[np.maximum(self.best, 0)], -1)
            out.ids = np.where(self.ids >= 0, ids[np.maximum(self.ids, 0)], -1)
        return out


def merge(
    ids: np.ndarray,
    costs: np.ndarray,
    tiers: np.ndarray,
    thr0: np.ndarray,
    thr1: np.ndarray,
    new: Found,
) -> Found:
    """A shortlist (what is left of an old one, its thresholds) merged with ``new``'s:
    together they cover what both cover, best first, cut to :data:`SHORTLIST`. Only
    the shortlist is set: the caller knows the best."""
    all_ids = np.concatenate([ids, new.ids], axis=1)
    all_costs = np.concatenate([np.where(ids >= 0, costs, np.inf), new.costs], axis=1)
    all_tiers = np.concatenate([np.where(ids >= 0, tiers, 2), new.tiers], axis=1)
    order = np.lexsort((np.where(all_ids >= 0, all_ids, np.iinfo(np.int64).max),
                        all_costs, all_tiers), axis=1)  # fmt: skip
    all_ids = np.take_along_axis(all_ids, order, axis=1)
    all_costs = np.take_along_axis(all_costs, order, axis=1)
    all_tiers = np.take_along_axis(all_tiers, order, axis=1)
    t0, t1 = np.minimum(thr0, new.thr0), np.minimum(thr1, new.thr1)
    # what is cut off is no longer known to be on the list
    cut_t, cut_c = all_tiers[:, SHORTLIST], all_costs[:, SHORTLIST]
    cut = all_ids[:, SHORTLIST] >= 0
    t1 = np.where(cut & (cut_t == 0), -np.inf, np.where(cut, np.minimum(t1, cut_c), t1))
    t0 = np.where(cut & (cut_t == 0), np.minimum(t0, cut_c), t0)
    n = len(ids)
    out = Found.empty(n)
    out.ids, out.costs, out.tiers = (all_ids[:, :SHORTLIST], all_costs[:, :SHORTLIST],
                                     all_tiers[:, :SHORTLIST])  # fmt: skip
    out.thr0, out.thr1 = t0, t1
    out.best, out.tier, out.cost = (
        out.ids[:, 0].copy(),
        out.tiers[:, 0].copy(),
        out.costs[:, 0].copy(),
    )
    return out


def usable(
    ids: np.ndarray, costs: np.ndarray, tiers: np.ndarray, thr0: np.ndarray, thr1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whether a shortlist (its gone partners set to ``-1``) still knows the best of what
    is left, and where on it that is (``-1``: no partner that helps is left)."""
    valid = ids >= 0
    first = valid.argmax(axis=1)
    has = valid.any(axis=1)
    r = np.arange(len(ids))
    t, c = tiers[r, first], costs[r, first]
    exact = has & (((t == 0) & (c < thr0)) | ((t == 1) & np.isposinf(thr0) & (c < thr1)))
    none = ~has & np.isposinf(thr0) & np.isposinf(thr1)
    return exact | none, np.where(has, first, -1)


@dataclass(frozen=True)
class Supers:
    """One round's super-classes: D levels (allowed indexes), a member's D leaves, known
    weights, current loss, and a key-pattern id each, with the pattern status table."""

    top: np.ndarray  # (n, d) int
    rep: np.ndarray  # (n, d) int
    known: np.ndarray  # (n, d) float
    spent: np.ndarray  # (n,) float
    pattern: np.ndarray  # (n,) int: row of ``status``' second axis
    status: np.ndarray  # (patterns, patterns) int8: NONE, HELPS or FITS, a row per unsafe a


@dataclass(frozen=True)
class Tables:
    """Per demographic column: the level index where two leaves meet, and what a known
    leaf costs published at each level index; the columns (and levels) whose values
    put partners in buckets for the pruned search."""

    anc: list[np.ndarray]  # (levels, leaves) value ids
    meet: list[np.ndarray]  # (leaves, leaves) int
    at_cost: list[np.ndarray]  # (levels, leaves) float
    buckets: list[tuple[int, int]]  # (column, level) whose values put partners in buckets

    @classmethod
    def build(cls, anc: list[np.ndarray], vcost: list[np.ndarray]) -> Tables:
        """``anc``: per column, ancestors at the allowed levels (levels, leaves)."""
        meet = []
        for a in anc:
            eq = a[:, :, None] == a[:, None, :]
            meet.append(np.where(eq.any(axis=0), eq.argmax(axis=0), a.shape[0] - 1))
        at_cost = [v[a] for a, v in zip(anc, vcost, strict=True)]
        # the bound needs costs that never fall as a value generalizes (Iyengar's do)
        monotone = all(bool((np.diff(c, axis=0) >= 0).all()) for c in at_cost)
        # as recorded or suppressed: a partner with another value costs every record 1
        buckets = [(i, 0) for i, a in enumerate(anc) if a.shape[0] == 2]
        return cls(anc, meet, at_cost, buckets if monotone else [])

    def levels(self, sup: Supers, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """D levels (allowed indexes) at which pairs ``a[i], b[i]`` meet: (len(a), d)."""
        out = np.maximum(sup.top[a], sup.top[b])
        for i, meet in enumerate(self.meet):
            out[:, i] = np.maximum(out[:, i], meet[sup.rep[a, i], sup.rep[b, i]])
        return out

    def bucket_keys(self, sup: Supers, ids: np.ndarray) -> np.ndarray:
        """One int64 per super-class: its ancestors at the bucketing levels."""
        key = np.zeros(len(ids), dtype=np.int64)
        for i, lv in self.buckets:
            key = key * (int(self.anc[i].max()) + 1) + self.anc[i][lv, sup.rep[ids, i]]
        return key

    def bucket_of(self, sup: Supers, ids: np.ndarray) -> tuple[np.ndarray, int]:
        """Bucket per super-class of ``ids`` (numbered in key order), and how many."""
        uniq, inverse = np.unique(self.bucket_keys(sup, ids), return_inverse=True)
        return inverse.reshape(-1), len(uniq)

    def bound(self, sup: Supers, a: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """(len(a), buckets): a lower bound of what merging ``a`` with any member of each
        bucket (``reps``: one member each) adds -- ``a``'s own loss in the bucketing
        columns, at the meet above the bucket level (exact) or ``a``'s level (below)."""
        out = np.zeros((len(a), len(reps)))
        for i, lv in self.buckets:
            ra, rb, top = sup.rep[a, i], sup.rep[reps, i], sup.top[a, i]
            same = self.anc[i][lv, ra][:, None] == self.anc[i][lv, rb][None, :]
            up = np.maximum(np.where(same, 0, self.meet[i][ra][:, rb]), top[:, None])
            at = self.at_cost[i]
            out += sup.known[a, i][:, None] * (at[up, ra[:, None]] - at[top, ra][:, None])
        return out


def status_table(lack: np.ndarray, offer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pattern id per super-class and the (patterns x patterns) status table.

    ``lack``/``offer``: (n, keys) booleans. ``b`` helps ``a`` when it offers a key ``a``
    lacks; it fits when, moreover, the union lacks nothing.
    """
    both = np.concatenate([lack, offer], axis=1)
    uniq, pattern = np.unique(both, axis=0, return_inverse=True)
    p = lack.shape[1]
    la, of = uniq[:, :p], uniq[:, p:]
    helps = (la[:, None, :] & of[None, :, :]).any(axis=2)
    union_lacks = ((la[:, None, :] | la[None, :, :]) & ~(of[:, None, :] | of[None, :, :])).any(
        axis=2
    )
    status = np.where(helps, np.where(union_lacks, HELPS, FITS), NONE).astype(np.int8)
    return pattern.reshape(-1), status


def best_partners(tables: Tables, sup: Supers, a: np.ndarray, partners: np.ndarray) -> Found:
    """Per super-class of ``a``: its best partner among ``partners`` (ascending ids), and
    its shortlist (:class:`Found`; partners named by their ids, the values of ``partners``).

    Best: among those that fit, the least added loss; if none fits, among those that
    help; ties to the lowest id.
    """
    if len(a) * len(partners) < _PRUNE_CELLS or not tables.buckets:
        return _dense(tables, sup, a, partners).relabel(partners)
    return _pruned(tables, sup, a, partners)


def _dense(tables: Tables, sup: Supers, a: np.ndarray, partners: np.ndarray) -> Found:
    """:func:`best_partners` by costing every pair (partners as indexes of ``partners``)."""
    out = Found.empty(len(a))
    if not len(a):
        return out
    if not len(partners):  # nothing helps, and that is complete
        out.thr0[:], out.thr1[:] = np.inf, np.inf
        return out
    step = max(1, _BLOCK_CELLS // len(partners))
    codes = _codes(tables, sup, partners)
    for s in range(0, len(a), step):
        block = slice(s, s + step)
        out.put(block, _block(tables, sup, a[block], partners, codes))
    return out


def _pruned(tables: Tables, sup: Supers, a: np.ndarray, partners: np.ndarray) -> Found:
    """:func:`best_partners`, costing only the pairs that could be best.

    Partners are put in *buckets* by their values in the columns published as recorded
    or suppressed (data source, gender, the majority flags...): merging with a partner
    of another value suppresses the column, which costs each of ``a``'s records 1, so
    what a merge adds to ``a``'s own records there bounds the whole added loss from
    below, per bucket. ``a``s are costed first against the buckets that cost them
    nothing there (the same values), in blocks that share them; a partner outside costs
    at least its bucket's bound, so the best found is exact when below every other
    bound, and the shortlist complete below them (``thr0``). The few others are costed
    again against every bucket whose bound is not above their best so far.
    """
    if not len(a) or not len(partners):
        return _dense(tables, sup, a, partners)
    bucket, n_b = tables.bucket_of(sup, partners)
    order = np.lexsort((partners, bucket))
    starts = np.searchsorted(bucket[order], np.arange(n_b + 1))
    bound = tables.bound(sup, a, partners[order[starts[:-1]]])  # (len(a), buckets)
    free = bound <= 0.0
    _, block = np.unique(free, axis=0, return_inverse=True)
    block = block.reshape(-1)
    by = np.argsort(block, kind="stable")
    out = Found.empty(len(a))
    wide: list[np.ndarray] = []  # rows for which nothing fits in their free buckets
    for rows in np.split(by, np.flatnonzero(np.diff(block[by])) + 1):
        chosen = free[rows[0]]
        while len(rows):
            cand = _members(chosen, order, starts, partners)
            found = _dense(tables, sup, a[rows], cand).relabel(cand)
            rest = np.where(chosen[None, :], np.inf, bound[rows]).min(axis=1)
            rest = rest - np.where(np.isfinite(rest), 1e-7 * (1.0 + np.abs(rest)), 0.0)
            found.thr0 = np.minimum(found.thr0, rest)  # float slack: never above a bound
            found.thr1 = np.minimum(found.thr1, rest)
            fits = found.tier == 0
            exact = (fits & (found.cost < rest)) | np.isposinf(rest)
            out.put(rows[exact], found.rows(np.flatnonzero(exact)))
            wide.append(rows[~exact & ~fits])
            rows, limit = rows[~exact & fits], found.cost[~exact & fits]
            need = bound[rows] <= (limit + 1e-7 * (1.0 + np.abs(limit)))[:, None]
            grown = chosen | np.any(need, axis=0)
            if (grown == chosen).all():  # float ties at the slack: cost these against all
                wide.append(rows)
                break
            chosen = grown
    rest = np.concatenate(wide) if wide else np.zeros(0, dtype=np.int64)
    if len(rest):
        out.put(rest, _dense(tables, sup, a[rest], partners).relabel(partners))
    return out


def _members(
    chosen: np.ndarray, order: np.ndarray, starts: np.ndarray, partners: np.ndarray
) -> np.ndarray:
    """The partners (ascending ids) of the chosen buckets."""
    b = np.flatnonzero(chosen)
    if not len(b):
        return np.zeros(0, dtype=np.int64)
    lengths = starts[b + 1] - starts[b]
    pos = np.repeat(starts[b] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    return np.sort(partners[order[pos]])


def _codes(tables: Tables, sup: Supers, partners: np.ndarray) -> list[np.ndarray]:
    """Per column: each partner's (leaf, level) code into an unsafe class's cost table."""
    out = []
    for i, at_cost in enumerate(tables.at_cost):
        out.append(sup.rep[partners, i] * at_cost.shape[0] + sup.top[partners, i])
    return out


def _block(
    tables: Tables, sup: Supers, a: np.ndarray, p: np.ndarray, codes: list[np.ndarray]
) -> Found:
    b, n = len(a), len(p)
    cost = np.zeros((b, n))
    gathered, weight = np.empty((b, n)), np.empty((b, n))
    for i, (meet, at_cost) in enumerate(zip(tables.meet, tables.at_cost, strict=True)):
        n_lv = at_cost.shape[0]
        ra = sup.rep[a, i]
        # (b, leaves, levels): the level where a meets a leaf that sits at a level index
        lv = np.maximum(meet[ra][:, :, None], sup.top[a, i][:, None, None])
        lv = np.maximum(lv, np.arange(n_lv)[None, None, :])
        table = at_cost[lv, ra[:, None, None]].reshape(b, -1)
        np.take(table, codes[i], axis=1, out=gathered)
        np.add(sup.known[a, i][:, None], sup.known[p, i][None, :], out=weight)
        np.multiply(weight, gathered, out=weight)
        np.add(cost, weight, out=cost)
    np.add(sup.spent[a][:, None], sup.spent[p][None, :], out=weight)
    np.subtract(cost, weight, out=cost)
    status = np.take(sup.status[sup.pattern[a]], sup.pattern[p], axis=1)
    fits = (status == FITS).any(axis=1)
    allowed = status >= np.where(fits, FITS, HELPS)[:, None]
    cost[~allowed] = np.inf
    out = Found.empty(b)
    j = cost.argmin(axis=1)
    found = allowed.any(axis=1)
    out.best = np.where(found, j, -1)
    out.tier = np.where(fits, 0, 1)
    out.cost = np.where(found, cost[np.arange(b), j], np.inf)
    # the shortlist: the SHORTLIST least losses of the row's tier, best first
    keep = min(SHORTLIST, n)
    part = np.argpartition(cost, keep - 1, axis=1)[:, :keep] if n > keep else (
        np.broadcast_to(np.arange(n), (b, n)))  # fmt: skip
    vals = np.take_along_axis(cost, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    part, vals = np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)
    ok = np.isfinite(vals)
    out.ids[:, :keep] = np.where(ok, part, -1)
    out.costs[:, :keep] = vals
    out.tiers[:, :keep] = np.where(ok, out.tier[:, None], 2)
    # complete below the last value kept, or wholly when the row had no more
    thr = np.where(allowed.sum(axis=1) > keep, vals[:, -1], np.inf)
    out.thr0 = np.where(fits, thr, np.inf)
    out.thr1 = np.where(fits, -np.inf, thr)
    return out
