"""What each way of fixing an unsafe class costs: the repair's cost matrices.

For a block of unsafe classes, :func:`options` prices every steal (a candidate
tuple moved into the class) and every merge (the class with another one, both
widened to where they meet) as a (classes x candidates) and a (classes x partners)
matrix, and keeps the cheapest way per class (:func:`_choose`).

The repair costs again, one or a few at a time, every class whose chosen way went
stale (its partner changed, its tuple can no longer be spared): on Adult (k = 10,
l = 2) 430 such costings for 494 moves, each a fixed ~150 NumPy operations, ~45% of
the repair. Yet the class itself has not changed, and what a steal or a merge costs
splits into its part and the other side's:

* a steal of a tuple with leaf ``y`` in QI j costs the class ``g[j][y]`` (its records
  at the level where its value meets ``y``) and the tuple ``o[j][y]``;
* a merge with a class published at level ``t`` with leaf ``y`` costs, per record of
  either, ``f[j][t, y]`` (the value where they meet, at ``t`` or above).

The first costing computes these tables on the way (:class:`Tables` keeps them per
class until :meth:`State.apply` changes the class), and a later costing of the same
class reads them with one gather per matrix: the other side's state (levels, known
cells, who can be spared) is read afresh, so every entry is the float the full
costing computes, summed in the same order, and the options (and the release) are the
same (``tests/anonymize/test_anonymize_repair_tables.py`` checks it against the full
costing on random data). ``_TABLE_CELLS`` bounds their memory; classes past it are
costed in full. A stale class is priced only against the columns that changed since its
last costing, its list of cheapest options bounding the rest (:mod:`.repair_bound`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ctdc.anonymize.recode import repair_bound

if TYPE_CHECKING:
    from ctdc.anonymize.recode.repair import Option, State
    from ctdc.anonymize.recode.repair_bound import Listed

#: cells (classes x candidates x 4) of one block of :func:`options`: ~12 MB. On Adult the
#: first costing (494 classes) ran ~14% faster in blocks of ~100 than in one, with the
#: full costing's matrices; with the tables' row gathers, blocks of ~50 were faster still
#: (best of 25 alternated: 42-57 ms against 62-64 ms at ~100; ~25 and ~200 were slower).
#: Each class is costed on its own, so the result is the same
_BLOCK_CELLS = 250_000

#: at most this many groups of classes by what they lack are costed apart
_GROUPS = 4

#: costings of at most this many classes gather from the tables by a flat index
_FEW = 8

#: cells of per-class tables kept between costings (~1,300 a class on Adult: ~10 KB);
#: 0 costs every class in full every time (the plain path the tests compare with)
_TABLE_CELLS = 1 << 22


#: a class's tables: g, o, lv (the steal levels), f
_Row = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Tables:
    """Each unsafe class's cost tables (``g``, ``o``, the steal levels ``lv``, ``f``),
    flat over the QIs, as rows of the arrays of the block that computed them."""

    def __init__(self, m: int, n_leaves: list[int], n_levels: list[int]) -> None:
        self.rows: dict[int, _Row] = {}
        #: per class: its block's lists (repair_bound) and its row there
        self.lists: dict[int, tuple[Listed, int]] = {}
        self.goff = np.cumsum([0, *n_leaves])[:m]  # where QI j starts in g, o, lv
        sizes = [a * b for a, b in zip(n_levels, n_leaves, strict=True)]
        self.foff = np.cumsum([0, *sizes])[:m]  # and in f
        self.width = 3 * sum(n_leaves) + sum(sizes)
        self.used = 0  # cells ever kept: views keep their block alive, so never given back

    def room(self, b: int) -> bool:
        return self.used + b * self.width <= _TABLE_CELLS

    def keep(self, a: np.ndarray, g: np.ndarray, o: np.ndarray, lv: np.ndarray,
             f: np.ndarray) -> None:  # fmt: skip
        self.used += len(a) * self.width
        for r, c in enumerate(a.tolist()):
            self.rows[c] = (g[r], o[r], lv[r], f[r])

    def drop(self, classes: list[int]) -> None:
        for c in classes:
            self.rows.pop(c, None)
            self.lists.pop(c, None)


def options(st: State, classes: np.ndarray) -> list[Option | None]:
    """The cheapest way to fix each of ``classes``: steal a tuple that brings what the
    class lacks from a class that stays safe without it, or merge with another class
    whole. One that makes the class safe beats one that only helps; a steal wins a tie.
    Classes listed by their last costing are priced against what changed since
    (:mod:`.repair_bound`); the rest, and those the lists cannot decide, in full."""
    out: list[Option | None] = [None] * len(classes)
    listed, cand, partners = repair_bound.changed(st, classes)
    if len(listed):
        a = classes[listed]
        costed, judged, rows = _price(st, a, cand, partners)
        for r, o in zip(listed.tolist(), repair_bound.decide(st, costed, judged, rows),
                        strict=True):  # fmt: skip
            out[r] = o
    # undecided: not listed, or the lists could not tell (None from a listed class is
    # "undecided" too: a class nothing fits is never listed)
    todo = np.array([r for r in range(len(classes)) if out[r] is None], dtype=np.int64)
    if not len(todo):
        return out
    for r, o in zip(todo.tolist(), _full(st, classes[todo]), strict=True):
        out[r] = o
    return out


def _full(st: State, classes: np.ndarray) -> list[Option | None]:
    """:func:`options` of every column. Computed for many classes at once (a matrix per
    block of them), since the Python calls, not the arithmetic, are what a class-by-class
    search would pay for."""
    lacking = st.mask(classes)
    out: list[Option | None] = [None] * len(classes)
    # classes lacking the same witnesses share their candidates (on Adult: two groups);
    # many different lacks (36 flag columns) are costed together, on the candidates
    # that bring something some class lacks (each class's own are masked in _judge)
    if not len(classes):
        return out
    kinds = lacking[:1] if (lacking == lacking[0]).all() else np.unique(lacking)
    groups = [lacking == x for x in kinds.tolist()] if 1 < len(kinds) <= _GROUPS else [None]
    for group in groups:
        rows = np.arange(len(classes)) if group is None else np.flatnonzero(group)
        common = int(np.bitwise_and.reduce(lacking[rows]))  # witnesses all of them hold
        cand = np.flatnonzero(st.spare & st.brings(common))
        # a merge helps a class with k records only if the partner brings a witness
        short = bool((st.w[classes[rows]] < st.k).any())
        helps = st.alive if short else st.alive & ((st.cmask & ~common) != 0)
        partners = np.flatnonzero(helps)
        step = max(1, _BLOCK_CELLS // (max(len(cand), len(partners), 1) * 4))
        for i in range(0, len(rows), step):
            block = rows[i : i + step]
            a = classes[block]
            new = [c for c in a.tolist() if c not in st.tables.rows]
            if new and st.tables.room(len(new)):
                st.tables.keep(np.array(new), *_tables(st, np.array(new)))
            if all(c in st.tables.rows for c in a.tolist()):
                got = _from_tables(st, a, cand, partners)
            else:  # past the budget: the full costing, nothing kept
                got = _block(st, a, cand, partners)
            for r, o in zip(block.tolist(), got, strict=True):
                out[r] = o
    return out


def _meet_rows(st: State, j: int, leaves: np.ndarray) -> np.ndarray:
    """Per leaf in ``leaves`` and per leaf of QI j: the level index where they meet."""
    table = st.meet[j]
    if table is not None:
        return table[leaves]  # symmetric; rows keep the matrices C-ordered (~10x faster)
    anc = st.anc[j]
    rows = [np.argmax(anc == anc[:, [y]], axis=0) for y in leaves.tolist()]
    return np.stack(rows).astype(np.int32)


def _block(st: State, a: np.ndarray, cand: np.ndarray, others: np.ndarray) -> list[Option | None]:
    """The full costing of classes ``a``; keeps their tables when there is room."""
    m, b = st.m, len(a)
    ra = st.leaves[st.rep[a]]
    meets = [_meet_rows(st, j, ra[:, j]) for j in range(m)]  # (b, leaves of QI j)
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
        lv = np.maximum(meets[j], st.top[a, j][:, None])  # (b, leaves): small
        a_at = st.known[a, j][:, None] * st.at_cost[j][lv, ra[:, [j]]]
        own_at = st.cost[j][lv, np.arange(lv.shape[1])]
        x = st.leaves[cand, j]
        s_lv.append(lv)
        np.add(s_cost, np.take(a_at, x, axis=1, out=tmp), out=s_cost)
        np.add(own, np.take(own_at, x, axis=1, out=tmp), out=own)
    # merge: each class with each other class
    m_cost = np.zeros((b, o_n))
    ro = st.leaves[st.rep[others]].astype(np.int32)
    lv_o, top_o, known_o = i_buf[:, :o_n], np.empty((b, o_n), np.int32), f_buf[:, :o_n]
    for j in range(m):
        np.take(meets[j], ro[:, j], axis=1, out=lv_o)
        np.maximum(st.top[others, j], st.top[a, j][:, None], out=top_o)
        np.maximum(lv_o, top_o, out=lv_o)
        np.multiply(lv_o, np.int32(st.at_cost[j].shape[1]), out=lv_o)
        np.add(lv_o, ro[:, j], out=lv_o)  # a flat index into the cost table
        np.add(st.known[others, j], st.known[a, j][:, None], out=known_o)
        np.multiply(known_o, np.take(st.at_cost[j].ravel(), lv_o), out=known_o)
        np.add(m_cost, known_o, out=m_cost)

    def steal_levels(r: int, t: int) -> np.ndarray:
        return np.array([s_lv[j][r, st.leaves[t, j]] for j in range(m)])

    def merge_levels(r: int, i: int) -> np.ndarray:
        return np.maximum(
            [meets[j][r, ro[i, j]] for j in range(m)],
            np.maximum(st.top[others[i]], st.top[a[r]]),
        )

    costed = _Costed(a, cand, others, s_cost, own, m_cost)
    return _choose(costed, _judge(st, costed), steal_levels, merge_levels)


def _tables(st: State, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Classes ``a``'s tables ``g``, ``o``, ``lv`` and ``f``: the class's side of every
    steal and merge, as :func:`_block` computes it on the way."""
    ra = st.leaves[st.rep[a]]
    g, o, s_lv = [], [], []
    for j in range(st.m):
        lv = np.maximum(_meet_rows(st, j, ra[:, j]), st.top[a, j][:, None])
        g.append(st.known[a, j][:, None] * st.at_cost[j][lv, ra[:, [j]]])
        o.append(st.cost[j][lv, np.arange(lv.shape[1])])
        s_lv.append(lv)
    cat = np.concatenate
    return cat(g, axis=1), cat(o, axis=1), cat(s_lv, axis=1), _merge_table(st, s_lv)


def _merge_table(st: State, s_lv: list[np.ndarray]) -> np.ndarray:
    """Per class, QI j, level index t and leaf y: what a known leaf of a merge costs,
    ``at_cost[max(lv[y], t), y]`` (lv: where the class meets ``y``, at its level or above)."""
    out = []
    for j, lv in enumerate(s_lv):
        n_lv, n_leaf = st.at_cost[j].shape
        at = np.maximum(lv[:, None, :], np.arange(n_lv, dtype=np.int32)[None, :, None])
        at *= np.int32(n_leaf)
        at += np.arange(n_leaf, dtype=np.int32)
        out.append(np.take(st.at_cost[j].ravel(), at).reshape(len(lv), n_lv * n_leaf))
    return np.concatenate(out, axis=1)


def _from_tables(
    st: State, a: np.ndarray, cand: np.ndarray, others: np.ndarray
) -> list[Option | None]:
    """The costing of classes ``a`` from their kept tables: the same floats as
    :func:`_block`, summed QI by QI in the same order; what fits cheapest is listed
    (:func:`.repair_bound.keep`)."""
    costed, judged, rows = _price(st, a, cand, others)
    repair_bound.keep(st, costed, judged)

    def steal_levels(r: int, t: int) -> np.ndarray:
        return rows[r][2][st.gidx_t[t]]

    def merge_levels(r: int, i: int) -> np.ndarray:
        p = int(others[i])
        return np.maximum(rows[r][2][st.gidx_t[st.rep[p]]], st.top[p])

    return _choose(costed, judged, steal_levels, merge_levels)


def _price(
    st: State, a: np.ndarray, cand: np.ndarray, others: np.ndarray
) -> tuple[_Costed, _Judged, list[_Row]]:
    """Classes ``a``'s costs against ``cand`` and ``others`` from their tables, judged."""
    rows = [st.tables.rows[x] for x in a.tolist()]
    gather = _gather_rows if len(a) > _FEW else _gather_flat
    costed = _Costed(a, cand, others, *gather(st, a, cand, others, rows))
    return costed, _judge(st, costed), rows


def _gather_rows(
    st: State, a: np.ndarray, cand: np.ndarray, others: np.ndarray, rows: list[_Row]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cost matrices of many classes: built (columns x classes), where each gather
    takes whole rows of b floats from the tables stacked (table x classes) -- ~3x faster
    than gathering columns of (classes x table) for the first costing's blocks of ~100 --
    then copied to (classes x columns) for :func:`_judge`."""
    b, c, o_n = len(a), len(cand), len(others)
    g, o, f = (np.stack([r[i] for r in rows], axis=1) for i in (0, 1, 3))
    s_cost, own = np.zeros((c, b)), np.zeros((c, b))
    for x in st.gidx_t[cand].T:
        s_cost += g[x]
        own += o[x]
    known_o, known_a = st.known[others], st.known[a]
    m_cost, pair = np.zeros((o_n, b)), np.empty((o_n, b))
    for j, x in enumerate(st.fidx_t[others].T):
        np.add(known_o[:, j : j + 1], known_a[:, j], out=pair)
        pair *= f[x]
        m_cost += pair
    return tuple(np.ascontiguousarray(x.T) for x in (s_cost, own, m_cost))  # type: ignore[return-value]


def _gather_flat(
    st: State, a: np.ndarray, cand: np.ndarray, others: np.ndarray, rows: list[_Row]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cost matrices of a few classes (on Adult 1-3 at a time, ~1,100 columns): one
    gather of every QI's entries through a flat index, then one add per QI."""
    b, c, o_n, m = len(a), len(cand), len(others), st.m
    if b == 1:
        g, o, f = (rows[0][i][None, :] for i in (0, 1, 3))
    else:
        g, o, f = (np.stack([r[i] for r in rows]) for i in (0, 1, 3))
    at = (np.arange(b) * g.shape[1])[:, None, None] + st.gidx_t[cand].T  # (b, QIs, c)
    g_at, o_at = g.ravel()[at], o.ravel()[at]
    s_cost, own = np.zeros((b, c)), np.zeros((b, c))
    for j in range(m):
        s_cost += g_at[:, j]
        own += o_at[:, j]
    at = (np.arange(b) * f.shape[1])[:, None, None] + st.fidx_t[others].T
    f_at = f.ravel()[at]
    known_o, known_a = st.known[others], st.known[a]
    m_cost, pair = np.zeros((b, o_n)), np.empty((b, o_n))
    for j in range(m):
        np.add(known_o[:, j], known_a[:, j : j + 1], out=pair)
        pair *= f_at[:, j]
        m_cost += pair
    return s_cost, own, m_cost


#: per class: (added loss, fits) of each steal, then of each merge, +inf where not
#: allowed; and whether something fits every class (then +inf wherever nothing fits)
_Judged = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]


@dataclass(frozen=True)
class _Costed:
    """The costs of one block: classes ``a`` (b), steal candidates ``cand`` (c) and merge
    partners ``others`` (p); ``s_cost`` and ``own`` (b x c), the class's and the tuple's
    side of each steal; ``m_cost`` (b x p), each merge."""

    a: np.ndarray
    cand: np.ndarray
    others: np.ndarray
    s_cost: np.ndarray
    own: np.ndarray
    m_cost: np.ndarray


def _judge(st: State, costed: _Costed) -> _Judged:
    """Added loss of each steal and merge, +inf where not allowed: the cheapest that
    fits, of either kind, wins; else the cheapest that helps."""
    a, cand, others, own = costed.a, costed.cand, costed.others, costed.own
    k, b = st.k, len(a)
    lacking = st.mask(a)
    s_best = np.subtract(own, st.own[cand], out=np.empty((b, len(cand))))
    np.multiply(s_best, st.tw[cand], out=s_best)
    np.add(s_best, costed.s_cost, out=s_best)
    np.subtract(s_best, st.spent[a][:, None], out=s_best)  # the added loss
    # what a class lacks is one row for a block that lacks the same (on Adult: every block),
    # so what a candidate or partner brings is judged once per column, not per cell
    lack = lacking[:1, None] if b and (lacking == lacking[0]).all() else lacking[:, None]
    # classes of k records stay at k whatever joins them (weights are whole counts), so
    # then only the witnesses decide whether a steal or merge fits (on Adult: always)
    short = st.w[a] < k
    tmask = st.tmask[cand]
    adds = (tmask & ~lack) != 0
    s_valid = adds & (st.cls[cand] != a[:, None])
    union = lack | tmask
    s_fits = s_valid & st.ok(union.ravel()).reshape(union.shape)
    if short.any():
        s_fits &= st.w[a][:, None] + st.tw[cand] >= k
    m_best = np.subtract(costed.m_cost, st.spent[others], out=np.empty((b, len(others))))
    np.subtract(m_best, st.spent[a][:, None], out=m_best)  # the added loss
    m_valid = others != a[:, None]
    union = st.mask(others) | lack
    m_ok = st.ok(union.ravel()).reshape(union.shape)
    if short.any():
        m_fits = m_valid & m_ok & (st.w[others] + st.w[a][:, None] >= k)
        m_helps = m_valid & (m_fits | (union != lack) | short[:, None])
    else:
        m_fits = m_valid & m_ok
        m_helps = m_valid & (m_ok | (union != lack))
    # per class: the cheapest that fits, of either kind; else the cheapest that helps
    fits_any = s_fits.any(axis=1) | m_fits.any(axis=1)
    every = bool(fits_any.all())
    if every:
        s_best[~s_fits] = np.inf
        m_best[~m_fits] = np.inf
    else:
        s_best[~np.where(fits_any[:, None], s_fits, s_valid)] = np.inf
        m_best[~np.where(fits_any[:, None], m_fits, m_helps)] = np.inf
    return s_best, s_fits, m_best, m_fits, every


def _choose(
    costed: _Costed,
    judged: _Judged,
    steal_levels: Callable[[int, int], np.ndarray],
    merge_levels: Callable[[int, int], np.ndarray],
) -> list[Option | None]:
    """Per class, the cheapest option (a steal wins a tie), or None."""
    s_best, s_fits, m_best, m_fits, _ = judged
    cand, others, s_cost, own, m_cost = (costed.cand, costed.others, costed.s_cost,
                                         costed.own, costed.m_cost)  # fmt: skip
    b = len(costed.a)
    rows = np.arange(b)
    si = s_best.argmin(axis=1) if len(cand) else np.zeros(b, dtype=np.int64)
    mi = m_best.argmin(axis=1) if len(others) else np.zeros(b, dtype=np.int64)
    s_val = s_best[rows, si] if len(cand) else np.full(b, np.inf)
    m_val = m_best[rows, mi] if len(others) else np.full(b, np.inf)
    out: list[Option | None] = []
    for r in range(b):
        if np.isinf(s_val[r]) and np.isinf(m_val[r]):
            out.append(None)
        elif s_val[r] <= m_val[r]:
            i = int(si[r])
            t = int(cand[i])
            out.append((float(s_val[r]), bool(s_fits[r, i]), True, t,
                        steal_levels(r, t), float(s_cost[r, i]), float(own[r, i])))  # fmt: skip
        else:
            i = int(mi[r])
            out.append((float(m_val[r]), bool(m_fits[r, i]), False, int(others[i]),
                        merge_levels(r, i), float(m_cost[r, i]), 0.0))  # fmt: skip
    return out
