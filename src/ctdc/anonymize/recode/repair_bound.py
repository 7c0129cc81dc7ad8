"""Lower bounds from a class's last costing, so that a stale costing prices only what changed.

The repair costs a class again whenever the option it chose goes stale (its partner
changed, its tuple can no longer be spared): on Adult (k = 10, l = 2) 430 costings of
a class against ~1,100 candidate tuples and ~1,050 partner classes, about half the
repair, bound by NumPy's per-operation cost on those ~2,200 columns. Yet the class
itself has not changed since its last costing, and neither have most columns: what a
steal or a merge adds depends on the class and on the other side's state only (its
levels, known cells, weight, witnesses; a tuple's class and whether it can be
spared), and that state changes only when a move changes the other side's class.

So every costing of a class from its tables (:func:`keep`) lists its options that fit
at less than a threshold ``thr`` (any threshold is exact, given every option below it is
listed; one that lists about ``_LIST``, drawn from every few columns).
For a column that has not changed since, that is a lower bound of what it adds: its
listed value if listed, else ``thr``. A later costing (:func:`decide`) prices exactly
only the columns whose class changed since (``State.ctime``, ``State.ttime``: a clock
of moves), and takes the cheapest of those and of the listed ones still unchanged;
when that is below ``thr`` no other column can be as cheap, so it is the option the
full costing would choose, ties included (the least id among the least values, a
steal before a merge). Otherwise the class is costed in full. Values are the floats the
full costing computes (the same elementwise operations in the same order), so the
release is the same (``tests/anonymize/test_anonymize_repair_bound.py``).

On Adult the new best option of a stale class was the 1st-20th least of its last
costing, and a median 250 of its ~2,200 columns had changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ctdc.anonymize.recode.repair import Option, State
    from ctdc.anonymize.recode.repair_cost import _Costed, _Judged, _Row

#: options listed per class: those cheaper than the (_LIST + 1)-th least; 0 lists none
#: (every stale class costed in full: the unbounded path the tests compare with)
_LIST = 24

#: columns of a costing the listing threshold is drawn from
_SAMPLE = 256


@dataclass(frozen=True)
class Listed:
    """The options that fit below their class's threshold, for a block of classes costed
    together when the clock read ``at``, concatenated class after class (``s_cut``,
    ``m_cut``): steals (tuple ids, added loss, the class's and the tuple's side) and
    merges (partner ids, added loss, the merged cost). One per block, not per class:
    building ~500 small records cost the first costing more than the lists saved."""

    at: int
    thr: np.ndarray
    s_cut: np.ndarray
    s_ids: np.ndarray
    s_val: np.ndarray
    s_cost: np.ndarray
    s_own: np.ndarray
    m_cut: np.ndarray
    m_ids: np.ndarray
    m_val: np.ndarray
    m_cost: np.ndarray


def _fitting(judged: _Judged) -> tuple[np.ndarray, np.ndarray]:
    """Added loss of each steal and merge that fits, +inf elsewhere (already so when
    something fits every class: on Adult, always)."""
    s_best, s_fits, m_best, m_fits, every = judged
    if every:
        return s_best, m_best
    return np.where(s_fits, s_best, np.inf), np.where(m_fits, m_best, np.inf)


def keep(st: State, costed: _Costed, judged: _Judged) -> None:
    """List each costed class's options that fit below its threshold (a class that
    nothing fits is not listed: it is costed in full again)."""
    if not _LIST:
        return
    sv, mv = _fitting(judged)
    b, width = len(sv), sv.shape[1] + mv.shape[1]
    # any threshold lists exactly: every column below it is listed. One that lists about
    # _LIST options, from every step-th column: a partition of the whole block (~2,200
    # columns) and its copy were most of what listing cost the first costing
    step = max(1, width // _SAMPLE)
    sample = np.concatenate([sv[:, ::step], mv[:, ::step]], axis=1)
    nth = max(1, _LIST // step)
    if sample.shape[1] > nth:
        sample.partition(nth, axis=1)
        thr = sample[:, nth].copy()
    else:
        thr = np.full(b, np.inf)
    s_r, s_c = np.nonzero(sv < thr[:, None])
    m_r, m_c = np.nonzero(mv < thr[:, None])
    block = Listed(
        st.clock, thr,
        np.searchsorted(s_r, np.arange(b + 1)), costed.cand[s_c], sv[s_r, s_c],
        costed.s_cost[s_r, s_c], costed.own[s_r, s_c],
        np.searchsorted(m_r, np.arange(b + 1)), costed.others[m_c], mv[m_r, m_c],
        costed.m_cost[m_r, m_c],
    )  # fmt: skip
    lists = st.tables.lists
    listed = np.isfinite(thr) | (block.s_cut[1:] > block.s_cut[:-1])
    listed |= block.m_cut[1:] > block.m_cut[:-1]
    for r, c, ok in zip(range(b), costed.a.tolist(), listed.tolist(), strict=True):
        if ok:
            lists[c] = (block, r)
        else:
            lists.pop(c, None)


def changed(st: State, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of ``classes``, the rows that are listed; and the candidates and partners that
    changed since the earliest of their lists (a superset of each one's: a column priced
    again that has not changed gives its listed value, so duplicates are harmless)."""
    lists = st.tables.lists
    rows = np.array([i for i, c in enumerate(classes.tolist()) if c in lists], dtype=np.int64)
    if not len(rows):
        return rows, rows, rows
    a = classes[rows]
    since = min(lists[c][0].at for c in a.tolist())
    held = st.mask(a)
    common = int(np.bitwise_and.reduce(held))  # witnesses all of them hold
    cand = np.flatnonzero(st.spare & st.brings(common) & (st.ttime > since))
    short = bool((st.w[a] < st.k).any())
    helps = st.alive if short else st.alive & ((st.cmask & ~common) != 0)
    return rows, cand, np.flatnonzero(helps & (st.ctime > since))


def decide(st: State, costed: _Costed, judged: _Judged, rows: list[_Row]) -> list[Option | None]:
    """Per listed class of ``costed`` (priced against the changed columns only): its
    option, exactly the full costing's, or None when the lists cannot tell (costed in
    full then, and listed again)."""
    sv, mv = _fitting(judged)
    out: list[Option | None] = []
    for r, c in enumerate(costed.a.tolist()):
        lst, i = st.tables.lists[c]
        s, m = slice(lst.s_cut[i], lst.s_cut[i + 1]), slice(lst.m_cut[i], lst.m_cut[i + 1])
        s_ids, m_ids = lst.s_ids[s], lst.m_ids[m]
        s_old = st.ttime[s_ids] <= lst.at  # listed columns still as they were
        m_old = st.ctime[m_ids] <= lst.at
        s_val = np.concatenate([sv[r], lst.s_val[s][s_old]])
        m_val = np.concatenate([mv[r], lst.m_val[m][m_old]])
        vs = float(s_val.min()) if len(s_val) else np.inf
        vm = float(m_val.min()) if len(m_val) else np.inf
        if not min(vs, vm) < lst.thr[i]:
            out.append(None)
        elif vs <= vm:  # a steal wins a tie, then the least tuple id
            ids = np.concatenate([costed.cand, s_ids[s_old]])
            j, n = _least_id(s_val, ids, vs), len(costed.cand)
            t = int(ids[j])
            cost = costed.s_cost[r, j] if j < n else lst.s_cost[s][s_old][j - n]
            own = costed.own[r, j] if j < n else lst.s_own[s][s_old][j - n]
            out.append((vs, True, True, t, rows[r][2][st.gidx_t[t]], float(cost), float(own)))
        else:
            ids = np.concatenate([costed.others, m_ids[m_old]])
            j, n = _least_id(m_val, ids, vm), len(costed.others)
            p = int(ids[j])
            cost = costed.m_cost[r, j] if j < n else lst.m_cost[m][m_old][j - n]
            lv = np.maximum(rows[r][2][st.gidx_t[st.rep[p]]], st.top[p])
            out.append((vm, True, False, p, lv, float(cost), 0.0))
    return out


def _least_id(val: np.ndarray, ids: np.ndarray, least: float) -> int:
    """Where in ``val`` the least id of value ``least`` sits (the full costing's argmin
    takes the first of equal values, and its columns are in ascending id order)."""
    at = np.flatnonzero(val == least)
    return int(at[ids[at].argmin()])
