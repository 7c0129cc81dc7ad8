"""The climb: what the sweep left rises one QI level at a time until it is safe.

The sweep only finds classes at nodes it could afford to visit; on wide
lattices (many QIs) the leftovers need combinations it never reached. Here
every leftover tuple climbs from its lowest allowed level. Each step tries
raising each QI by one level in all leftovers: if some become safe (alone or by
joining a finalized class), the QI rescuing the most records (then adding the
least loss) is raised *only in those* and they are finalized; if none would,
the QI bringing leftovers closest to ``k`` is raised in all of them. Tuples
still unsafe at the top are left to the reopen. Fewer than ``k`` leftover
records cannot form a class of their own, and joining a finalized one is what
the reopen does best (it also considers widening the class), so they are left
to it directly.
"""

from __future__ import annotations

import numpy as np

from ctdc.anonymize.recode.keys import dot
from ctdc.anonymize.recode.placement import Placement

#: per QI raised one level: each tuple's new level, published id and added cost
_Step = tuple[np.ndarray, np.ndarray, np.ndarray]


def climb(p: Placement) -> None:
    """Finalize what the climb can of the tuples still remaining in ``p``."""
    if p.cache is not None:
        p.cache.clear()  # the climb groups tuples at their own levels, not at nodes
    p.compact(p.weights > 0)
    if p.weights.sum() < p.k:
        return
    t = p.tuples
    allowed = [np.asarray(a, dtype=np.int64) for a in p.allowed]
    pos = np.zeros((len(t.weights), p.m), dtype=np.int64)  # index into allowed
    level = np.stack([np.full(len(pos), a[0]) for a in allowed], axis=1)
    ids = t.ids_at(level)  # kept up to date step by step, not rebuilt
    steps: dict[int, _Step] = {}  # per QI, see step()

    def step(q: int) -> _Step | None:
        """QI q one level up: the levels, the published ids and the added cost, per
        tuple (unchanged where q is at the top); None when all are at the top."""
        if q not in steps:
            can = pos[:, q] + 1 < len(allowed[q])
            if not can.any():
                return None
            idx = np.arange(len(pos))
            up = level[:, q].copy()
            up[can] = allowed[q][pos[can, q] + 1]
            added = t.cost[q][up, idx] - t.cost[q][level[:, q], idx]
            steps[q] = (up, t.anc[q][up, idx], added)
        return steps[q]

    def drop(gone: np.ndarray) -> None:
        nonlocal pos, level, ids
        pos, level, ids = pos[~gone], level[~gone], [i[~gone] for i in ids]
        for q, (up, up_ids, added) in steps.items():
            steps[q] = (up[~gone], up_ids[~gone], added[~gone])

    def classes(key: np.ndarray | None, ids: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        if key is not None:
            return p.finalized.key_classes(key, t.weights, t.mask)
        return p.classes(ids)

    while t.weights.size:
        w = t.weights
        key = dot(ids, p.radix) if p.radix is not None else None
        cls, size, safe = classes(key, ids)
        done = safe[cls]
        if done.any():
            p.finalize(level, done, lazy=False)
            drop(done)
            continue
        baseline = float((w * np.minimum(size[cls], p.k)).sum())
        rescue: tuple[tuple[float, float, int], int, np.ndarray] | None = None
        escalate: tuple[tuple[float, float, int], int] | None = None
        for q in range(p.m):
            raised = step(q)
            if raised is None:
                continue
            _, up_ids, added = raised
            if key is not None:  # only QI q's part of the key changes
                assert p.radix is not None  # key is set on the radix path only
                cls, size, safe = classes(key + (up_ids - ids[q]) * p.radix[q], ids)
            else:
                cls, size, safe = classes(None, [*ids[:q], up_ids, *ids[q + 1 :]])
            rescued = safe[cls]
            if rescued.any():
                saved = float(w[rescued].sum())
                loss = float((w * added)[rescued].sum())
                score = (saved / (loss + 1e-3 * saved), saved, -q)
                if rescue is None or score > rescue[0]:
                    rescue = (score, q, rescued)
            elif rescue is None:
                gain = float((w * np.minimum(size[cls], p.k)).sum()) - baseline
                loss = float((w * added).sum())
                score = (gain / (loss + 1e-3 * max(gain, 1.0)), gain, -q)
                if escalate is None or score > escalate[0]:
                    escalate = (score, q)
        if rescue is not None:
            _, q, rescued = rescue
            trial = level.copy()
            trial[:, q] = steps[q][0]
            p.finalize(trial, rescued, lazy=False)
            drop(rescued)
        elif escalate is not None:
            q = escalate[1]
            pos[:, q] = np.minimum(pos[:, q] + 1, len(allowed[q]) - 1)
            level[:, q], ids[q] = steps.pop(q)[:2]
        else:
            break  # all at the root and still unsafe
