"""The tighten: a class that suppresses a QI its members agree on publishes their value.

The climb raises a QI in *all* leftovers at once, and the reopen and the repairs
widen whole classes to where they meet another; none of them ever lowers a level.
A class can therefore end up suppressing a QI that its members all share at a lower
level: every record of the class has "not recorded", or the same value, or values
under one ancestor (a class of adults whose age band is NA where ``18+`` would do).

Lowering a QI in a class to a level where every member still publishes one value
keeps the class whole: it either stays as it is or merges with a class that already
publishes the lowered values. Strict k, distinct l and the per-class protected rule
hold for merged classes (they only gain records), and each lowered cell loses less
(a hierarchy's cost never falls as it climbs). Each QI and class is judged on its own:
lowering one QI never changes who is in the class, so the lowerings combine. Only
suppressed cells are lowered (:func:`_lowest_agreed` says why).

Protected flags that are QIs are never lowered (a suppressed flag may be what hides a
TRUE one), and their rule is over groups sharing the *other* QIs' published values
(:mod:`.qi_flags`), which a lowering moves a class between. So with such flags the
groups are checked after the lowering: a class that left a group, or joined one, that
now has a flag TRUE throughout goes back to its levels, until every group passes (at
worst, to the levels the repairs left). Lowering one QI at a time instead, so that a
class put back keeps what its other QIs gained, did not lose less: on the sample's
hotline alone (196 records, k = 10) LM 0.2846 against 0.2815.
"""

from __future__ import annotations

import numpy as np

from ctdc.anonymize.hierarchy import Encoded
from ctdc.anonymize.recode.keys import Keys


def tighten(
    columns: list[Encoded],
    allowed: list[tuple[int, ...]],
    level: np.ndarray,
    flags: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Levels per row (``-1`` rows: removed) with every class's QIs lowered where its
    members agree; ``flags`` maps a protected QI flag's index to its TRUE value ids."""
    flags = flags or {}
    kept = np.flatnonzero(level[:, 0] >= 0) if level.size else np.zeros(0, np.int64)
    if not len(kept):
        return level
    m = len(columns)
    lv = level[kept].astype(np.int64)
    codes = np.stack([c.codes[kept] for c in columns], axis=1)
    pub = np.stack([columns[j].ancestor[lv[:, j], codes[:, j]] for j in range(m)], axis=1)
    keys = Keys()
    cls, n_cls = keys.row_classes(pub)
    lowered = {j: _lowest_agreed(col, allowed[j], lv[:, j], codes[:, j], cls, n_cls)
               for j, col in enumerate(columns) if j not in flags}  # fmt: skip
    new = lv.copy()
    for j, levels in lowered.items():
        new[:, j] = levels
    if flags and (new != lv).any():
        true = np.stack([np.isin(pub[:, j], flags[j]) for j in sorted(flags)], axis=1)
        d_cols = [j for j in range(m) if j not in flags]
        new = _keep_flag_rule(columns, d_cols, true, codes, lv, new, cls, n_cls, keys)
    out = level.copy()
    out[kept] = new.astype(level.dtype)
    return out


def _lowest_agreed(
    col: Encoded,
    allowed: tuple[int, ...],
    lv: np.ndarray,
    codes: np.ndarray,
    cls: np.ndarray,
    n_cls: int,
) -> np.ndarray:
    """Per row, its level of ``col``, lowered for the classes that suppress ``col`` to the
    lowest allowed level where every member publishes one value. Only suppressed cells:
    lowering generalized ones too would also change releases that suppress nothing
    needlessly (on Adult: LM 0.029488 -> 0.029232, a different release)."""
    top = col.levels - 1
    low = np.full(n_cls, np.iinfo(np.int64).max)
    np.minimum.at(low, cls, lv)
    target = low.copy()
    for a in sorted(allowed, reverse=True):  # the lowest agreeing level is assigned last
        ids = col.ancestor[a, codes]
        lo = np.full(n_cls, np.iinfo(np.int64).max)
        hi = np.full(n_cls, -1)
        np.minimum.at(lo, cls, ids)
        np.maximum.at(hi, cls, ids)
        target = np.where((lo == hi) & (a < target), a, target)
    target[low < top] = top  # a class that publishes a value keeps its levels
    return np.minimum(lv, target[cls])


def _keep_flag_rule(
    columns: list[Encoded],
    d_cols: list[int],
    true: np.ndarray,
    codes: np.ndarray,
    old: np.ndarray,
    new: np.ndarray,
    cls: np.ndarray,
    n_cls: int,
    keys: Keys,
) -> np.ndarray:
    """``new`` with lowered classes put back to ``old`` until every group of rows sharing
    the published demographics (``d_cols``) holds, per protected QI flag, a row that is not
    TRUE (``true``: per row and flag; flags are never lowered, so it does not change)."""

    def d_pub(lv: np.ndarray) -> np.ndarray:
        return np.stack([columns[j].ancestor[lv[:, j], codes[:, j]] for j in d_cols], axis=1)

    n = len(old)
    before = d_pub(old)
    back = np.zeros(n_cls, dtype=bool)  # classes put back to their old levels
    while True:
        lv = np.where(back[cls][:, None], old, new)
        moved = (lv != old).any(axis=1)
        if not moved.any():
            return lv
        # old and new groups numbered together: a group a class left keeps its number
        group, n_groups = keys.row_classes(np.concatenate([before, d_pub(lv)]))
        was, now = group[:n], group[n:]
        offered = np.zeros((n_groups, true.shape[1]), dtype=bool)
        np.logical_or.at(offered, now, ~true)
        bad = np.asarray(~offered.all(axis=1))
        culprits = np.unique(cls[moved & (bad[now] | bad[was])])
        if not len(culprits):
            return lv
        back[culprits] = True
