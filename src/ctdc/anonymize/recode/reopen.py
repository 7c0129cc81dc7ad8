"""The reopen: a tuple still unplaced joins the finalized class cheapest to widen.

A leftover and a finalized class can always share a published tuple: per QI,
the lowest allowed level at which the leftover's leaf and the class's values
have the same ancestor (the root at worst). Widening the whole class to that
tuple keeps it >= k and l-diverse (it only gains records), so the leftover can
be placed instead of removed. The class to widen is the one adding the least
loss, the leftover's own cells included; if even that costs more than removing
the leftover (one per cell), it is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ctdc.anonymize.recode.keys import first_index
from ctdc.anonymize.recode.placement import Placement


@dataclass(frozen=True)
class _Classes:
    """The finalized tuples as the reopen needs them, regrouped after every merge."""

    done: np.ndarray  # index of each finalized tuple
    leaves: np.ndarray  # their leaves
    w: np.ndarray  # their weights
    spent: np.ndarray  # loss of each class
    cls: np.ndarray  # class of each finalized tuple
    #: per QI and class: which allowed levels it may be widened to (not below any member's),
    #: and its value at each
    ancestors: list[tuple[np.ndarray, np.ndarray]]


def reopen(p: Placement) -> None:
    """Merge each tuple still remaining in ``p`` into a finalized class, or leave it removed."""
    allowed = [np.asarray(a, dtype=np.int64) for a in p.allowed]
    classes = None  # the finalized classes, regrouped only after a merge
    for t in p.tuples.remaining.tolist():
        if classes is None:
            classes = _finalized_classes(p, allowed)
        n_cls = len(classes.spent)
        if not n_cls:
            return
        own_w, own = p.all_weights[t], p.all_leaves[t]
        # per QI, the lowest allowed level (not below the class's own) where the leftover's
        # leaf and the class's values meet; the root always fits, so argmax finds one
        new = np.empty((n_cls, p.m), dtype=np.int64)
        for j, col in enumerate(p.columns):
            up, anc = classes.ancestors[j]
            meet = up & (anc == col.ancestor[allowed[j], own[j]][:, None])
            new[:, j] = allowed[j][np.argmax(meet, axis=0)]
        cls, leaves = classes.cls, classes.leaves
        cost = sum(col.cost[new[cls, j], leaves[:, j]] for j, col in enumerate(p.columns))
        added = np.bincount(cls, weights=classes.w * cost, minlength=n_cls) - classes.spent
        added += own_w * sum(col.cost[new[:, j], own[j]] for j, col in enumerate(p.columns))
        best = int(np.argmin(added))
        if added[best] > own_w * p.m:
            continue  # widening costs more than removing the leftover: remove it
        p.level[classes.done[cls == best]] = new[best]
        p.level[t] = new[best]
        classes = None


def _finalized_classes(p: Placement, allowed: list[np.ndarray]) -> _Classes:
    """The finalized tuples grouped into their published classes (see :class:`_Classes`)."""
    done = np.flatnonzero(p.level[:, 0] >= 0)
    lv = p.level[done].astype(np.int64)
    leaves, w = p.all_leaves[done], p.all_weights[done]
    pub = np.stack([c.ancestor[lv[:, j], leaves[:, j]] for j, c in enumerate(p.columns)], axis=1)
    cls, n_cls = p.keys.row_classes(pub)
    top = np.zeros((n_cls, p.m), dtype=np.int64)
    np.maximum.at(top, cls, lv)  # members may sit at different levels with equal values
    rep = leaves[first_index(cls, n_cls)]
    cost = sum(col.cost[lv[:, j], leaves[:, j]] for j, col in enumerate(p.columns))
    spent = np.bincount(cls, weights=w * cost, minlength=n_cls)
    ancestors = [
        (levels[:, None] >= top[:, j], col.ancestor[levels][:, rep[:, j]])
        for j, (col, levels) in enumerate(zip(p.columns, allowed, strict=True))
    ]
    return _Classes(done, leaves, w, spent, cls, ancestors)
